#!/usr/bin/env bash
# vm-manage.sh - run the casbench matrix on an Azure VM and bring the results home.
#
# usage: infra/vm-manage.sh [FLAGS] COMMAND [ARGS]
#
# commands:
#   create              a resource group (tagged with an expiry time), an NSG that
#                       opens port 22 to your public address alone (/32), the VM
#                       (Ubuntu 24.04, SSH key only, infra/cloud-init.yaml as custom
#                       data) and an auto-shutdown schedule; then, unless --repo-url
#                       is given, copies the project (git archive of HEAD) over SSH.
#                       Prints the resource group's name.
#   wait  --group RG    until the VM's marker /var/lib/casbench/done exists
#   fetch --group RG    the run directory into results/ (and the VM's log beside it;
#                       `run` adds azure.tsv: size, location, image, group, commit)
#   ssh   --group RG [CMD...]   a shell (or CMD) on the VM
#   destroy --group RG  delete the resource group and everything in it
#   run                 create + wait + fetch + destroy
#   matrix SIZE...      `run` for every SIZE in parallel: one run directory per size
#   list                the resource groups this tool made that still exist
#   price SIZE...       Azure's pay-as-you-go Linux price per hour of each SIZE in
#                       --location, from Azure's public Retail Prices API (no login)
#
# flags:
#   --size SIZE         VM size (default Standard_D2s_v5)
#   --location LOC      Azure region (default eastus)
#   --group RG          resource group (create, run: default casbench-<size>-<UTC time>-<random>)
#   --ssh-key FILE      public key (default ~/.ssh/id_ed25519.pub, else ~/.ssh/id_rsa.pub);
#                       the private key is FILE without .pub
#   --my-ip ADDR        your public IPv4 address (default: asked of https://api.ipify.org)
#   --repo-url URL      the VM clones URL at --commit instead of receiving a copy
#   --commit SHA        the commit to check out (with --repo-url; 7 to 40 hex digits)
#   --bench-args ARGS   passed to `make bench` as BENCH_ARGS
#   --expire-hours N    expiry tag and auto-shutdown time, N hours from now (default 4)
#   --timeout SECONDS   how long `wait` waits for the marker (default 10800)
#   --poll SECONDS      how often `wait` looks (default 30)
#   --results DIR       where fetched run directories go (default results/ of this repo)
#   --keep              on failure or interrupt, keep what was created (default: destroy it)
#   --dry-run           print every az, ssh, scp (and git) command instead of running it
#   -h, --help          this text
#
# It uses the az CLI's own login (`az login`); it never writes a credential, a
# subscription id or a key anywhere. Environment: CASBENCH_STATE_DIR (default
# ~/.local/state/casbench) holds per-group SSH known_hosts files.
#
# exit status: 0 done; 1 usage; 2 bad input (a bad size, address, commit, URL);
# 3 environment (az, ssh, scp or git missing or failing, not logged in, wait
# timed out); 4 the benchmark on the VM failed (its log and any results are
# still fetched); 130/143 interrupted (what was created is destroyed unless --keep).
set -uo pipefail

PROG="vm-manage.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=Canonical:ubuntu-24_04-lts:server:latest
ADMIN=casbench
MARKER=/var/lib/casbench/done
VM_SRC=/opt/casbench
DRY_IP_CALLER=203.0.113.7   # RFC 5737 documentation address, used by --dry-run
DRY_IP_VM=192.0.2.10        # likewise, the VM's address in --dry-run

SIZE=Standard_D2s_v5
LOCATION=eastus
GROUP=
SSH_KEY=
MY_IP=
REPO_URL=
COMMIT=
BENCH_ARGS=
EXPIRE_HOURS=4
TIMEOUT=10800
POLL=30
RESULTS=$ROOT/results
KEEP=0
DRY=0
STATE_DIR=${CASBENCH_STATE_DIR:-${HOME:-/tmp}/.local/state/casbench}

P=""            # prefix of every line this run prints: "[SIZE] "
CREATED=""      # the group this process created (or began to), for cleanup
CHILD=""        # the command running now, killed on interrupt
FETCHED=""      # the run directory fetch brought home
TMP=""

usage_error() { echo "$PROG: $1" >&2; exit 1; }
input_error() { echo "$PROG: $1" >&2; exit 2; }
env_error()   { echo "$PROG: $1" >&2; exit 3; }
say()         { echo "${P}$*" >&2; }

show_help() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

# Runs a command, or in --dry-run prints it. In the background with `wait`
# so that a signal is handled at once (bash defers traps until a foreground
# child exits); the trap then ends CHILD.
run() {
  if [ "$DRY" = 1 ]; then
    local q; q=$(printf '%q ' "$@"); echo "${P}+ ${q% }"; return 0
  fi
  "$@" &
  CHILD=$!
  wait "$CHILD"
  local rc=$?
  CHILD=""
  return "$rc"
}

# Like run, but with the command's stdout captured into the named variable;
# in --dry-run the variable receives the placeholder $2.
run_capture() {
  local var=$1 placeholder=$2; shift 2
  if [ "$DRY" = 1 ]; then
    local q; q=$(printf '%q ' "$@"); echo "${P}+ ${q% }"
    printf -v "$var" '%s' "$placeholder"; return 0
  fi
  local out rc
  out=$(mktemp "$TMP/out.XXXXXX")
  "$@" >"$out" &
  CHILD=$!
  wait "$CHILD"; rc=$?
  CHILD=""
  printf -v "$var" '%s' "$(cat "$out")"
  rm -f "$out"
  return "$rc"
}

valid_ipv4() {
  local ip=$1 o
  [[ "$ip" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  IFS=. read -r -a octets <<<"$ip"
  for o in "${octets[@]}"; do [ "$((10#$o))" -le 255 ] || return 1; done
}

valid_size() { [[ "$1" =~ ^[A-Za-z][A-Za-z0-9_]{2,63}$ ]]; }

# Standard_D2s_v5 -> d2s-v5: the VM (and so host) name, which names the run directory.
size_slug() { local s=${1#Standard_}; s=$(printf '%s' "$s" | tr '[:upper:]_' '[:lower:]-'); echo "$s"; }

# date(1) N hours from now in FORMAT: GNU date, else BSD/macOS date.
utc_in_hours() { date -u -d "+$1 hours" "+$2" 2>/dev/null || date -u -v+"$1"H "+$2"; }

need() { [ "$DRY" = 1 ] || command -v "$1" >/dev/null 2>&1 || env_error "$1: not found on PATH${2:+ ($2)}"; }

ssh_opts() {
  local known=$STATE_DIR/known_hosts.$GROUP
  SSH_OPTS=(-i "${SSH_KEY%.pub}" -o BatchMode=yes -o ConnectTimeout=15
            -o StrictHostKeyChecking=accept-new -o "UserKnownHostsFile=$known")
}

resolve_key() {
  if [ -z "$SSH_KEY" ]; then
    local k
    for k in "${HOME:-}/.ssh/id_ed25519.pub" "${HOME:-}/.ssh/id_rsa.pub"; do
      [ -r "$k" ] && { SSH_KEY=$k; break; }
    done
    [ -n "$SSH_KEY" ] || env_error "no SSH public key in ~/.ssh (id_ed25519.pub, id_rsa.pub); make one with ssh-keygen -t ed25519 or pass --ssh-key FILE"
  fi
  [[ "$SSH_KEY" == *.pub ]] || input_error "$SSH_KEY: --ssh-key wants the public key file (*.pub)"
  [ -r "$SSH_KEY" ] || env_error "$SSH_KEY: cannot read the public key"
  [ -r "${SSH_KEY%.pub}" ] || env_error "${SSH_KEY%.pub}: cannot read the private key beside the public one"
}

check_az_login() {
  need az "install the Azure CLI and run az login"
  run az account show --query name --output none \
    || env_error "az account show failed: run az login first"
}

# The caller's public address, for the NSG rule.
find_my_ip() {
  if [ -n "$MY_IP" ]; then return 0; fi
  if [ "$DRY" = 1 ]; then
    echo "${P}+ curl -fsS --max-time 10 https://api.ipify.org   # then uses the placeholder $DRY_IP_CALLER"
    MY_IP=$DRY_IP_CALLER; return 0
  fi
  need curl
  MY_IP=$(curl -fsS --max-time 10 https://api.ipify.org) || env_error "cannot find your public IP address; pass --my-ip ADDR"
  valid_ipv4 "$MY_IP" || env_error "the address lookup answered '$MY_IP', not an IPv4 address; pass --my-ip ADDR"
}

vm_ip() {
  run_capture VM_IP "$DRY_IP_VM" az vm list-ip-addresses --resource-group "$GROUP" \
    --query '[0].virtualMachine.network.publicIpAddresses[0].ipAddress' --output tsv \
    || env_error "$GROUP: cannot read the VM's public address"
  [ -n "$VM_IP" ] || env_error "$GROUP: the VM has no public address (does the group exist?)"
}

# The cloud-init file with this run's source filled in (shell-quoted: the VM sources it).
render_cloud_init() {
  local out=$1 url_q commit_q args_q
  url_q=$(printf '%q' "$REPO_URL"); commit_q=$(printf '%q' "$COMMIT"); args_q=$(printf '%q' "$BENCH_ARGS")
  [ "$REPO_URL" = "" ] && url_q=""
  [ "$BENCH_ARGS" = "" ] && args_q=""
  awk -v u="$url_q" -v c="$commit_q" -v a="$args_q" '
    /^ +CASBENCH_REPO_URL=$/   { sub(/=$/, "=" u) }
    /^ +CASBENCH_COMMIT=$/     { sub(/=$/, "=" c) }
    /^ +CASBENCH_BENCH_ARGS=$/ { sub(/=$/, "=" a) }
    { print }' "$ROOT/infra/cloud-init.yaml" >"$out"
}

cmd_create() {
  valid_size "$SIZE" || input_error "$SIZE: not a VM size name (like Standard_D2s_v5)"
  resolve_key
  check_az_login
  find_my_ip
  local slug stamp expires shutdown
  slug=$(size_slug "$SIZE")
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  [ -n "$GROUP" ] || GROUP="casbench-$slug-$stamp-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
  expires=$(utc_in_hours "$EXPIRE_HOURS" %Y-%m-%dT%H:%M:%SZ) || env_error "date cannot add $EXPIRE_HOURS hours"
  shutdown=$(utc_in_hours "$EXPIRE_HOURS" %H%M) || env_error "date cannot add $EXPIRE_HOURS hours"
  local vm="casbench-$slug" nsg="$GROUP-nsg"

  if [ -z "$REPO_URL" ]; then
    need git
    COMMIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null) || env_error "$ROOT: not a git checkout; pass --repo-url and --commit"
    [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] \
      || say "warning: uncommitted changes are not copied; the VM runs commit ${COMMIT:0:12}"
  fi
  local ci="$TMP/cloud-init.yaml"
  render_cloud_init "$ci"

  say "creating $GROUP ($SIZE, $LOCATION, expires $expires)"
  CREATED=$GROUP
  run az group create --name "$GROUP" --location "$LOCATION" \
    --tags project=casbench "expires=$expires" "size=$SIZE" --output none \
    || env_error "$GROUP: az group create failed"
  run az network nsg create --resource-group "$GROUP" --name "$nsg" --output none \
    || env_error "$GROUP: az network nsg create failed"
  run az network nsg rule create --resource-group "$GROUP" --nsg-name "$nsg" --name ssh-from-caller \
    --priority 1000 --direction Inbound --access Allow --protocol Tcp \
    --source-address-prefixes "$MY_IP/32" --source-port-ranges '*' --destination-port-ranges 22 \
    --output none \
    || env_error "$GROUP: az network nsg rule create failed"
  run az vm create --resource-group "$GROUP" --name "$vm" --size "$SIZE" --image "$IMAGE" \
    --admin-username "$ADMIN" --authentication-type ssh --ssh-key-values "$SSH_KEY" \
    --nsg "$nsg" --public-ip-sku Standard --custom-data "$ci" \
    --tags project=casbench "expires=$expires" --output none \
    || env_error "$GROUP: az vm create failed"
  run az vm auto-shutdown --resource-group "$GROUP" --name "$vm" --time "$shutdown" --output none \
    || env_error "$GROUP: az vm auto-shutdown failed"

  if [ -z "$REPO_URL" ]; then copy_project; fi
  if [ "$COMMAND" = create ]; then echo "$GROUP"; fi
}

# Copy mode: the committed tree, as git archive makes it, untarred on the VM.
copy_project() {
  vm_ip
  ssh_opts
  [ "$DRY" = 1 ] || mkdir -p "$STATE_DIR" || env_error "$STATE_DIR: cannot create"
  local tarball="$TMP/casbench.tar.gz" i
  run git -C "$ROOT" archive --format=tar.gz -o "$tarball" "$COMMIT" || env_error "git archive failed"
  say "waiting for SSH on $VM_IP"
  for ((i = 0; ; i++)); do
    run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" true && break
    [ "$i" -ge 40 ] && env_error "$VM_IP: SSH not reachable after $((i * 15)) s"
    run sleep 15
  done
  run scp "${SSH_OPTS[@]}" "$tarball" "$ADMIN@$VM_IP:/tmp/casbench.tar.gz" || env_error "$VM_IP: scp of the project failed"
  run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" \
    "sudo mkdir -p $VM_SRC/tree && sudo tar -xzf /tmp/casbench.tar.gz -C $VM_SRC/tree && sudo touch $VM_SRC/.copied" \
    || env_error "$VM_IP: unpacking the project failed"
}

need_group() { [ -n "$GROUP" ] || usage_error "$1 needs --group RG"; }

cmd_wait() {
  need_group wait
  resolve_key
  vm_ip
  ssh_opts
  local start=$SECONDS
  if [ "$DRY" = 1 ]; then
    run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" test -e "$MARKER"
    echo "${P}  (repeated every $POLL s until $MARKER exists, at most $TIMEOUT s)"
    return 0
  fi
  say "waiting for $MARKER on $VM_IP (at most $TIMEOUT s)"
  while ! run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" test -e "$MARKER" 2>/dev/null; do
    [ $((SECONDS - start)) -ge "$TIMEOUT" ] && env_error "$GROUP: no marker after $TIMEOUT s"
    run sleep "$POLL"
  done
  say "the run finished after $((SECONDS - start)) s of waiting"
}

cmd_fetch() {
  need_group fetch
  need ssh; need scp
  resolve_key
  vm_ip
  ssh_opts
  local marker status run_dir name
  run_capture marker $'status=0\nrun_dir=/opt/casbench/tree/results/casbench-'"$(size_slug "$SIZE")"$'-YYYYmmddTHHMMSSZ\n' \
    ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" cat "$MARKER" \
    || env_error "$GROUP: cannot read $MARKER on the VM (has the run finished? see wait)"
  status=$(sed -n 's/^status=//p' <<<"$marker")
  run_dir=$(sed -n 's/^run_dir=//p' <<<"$marker")
  [[ "$status" =~ ^[0-9]+$ ]] || env_error "$GROUP: malformed marker: $(tr '\n' ' ' <<<"$marker")"
  [ "$DRY" = 1 ] || mkdir -p "$RESULTS" || env_error "$RESULTS: cannot create"
  if [ -n "$run_dir" ]; then
    name=$(basename "$run_dir")
    [ -e "$RESULTS/$name" ] && env_error "$RESULTS/$name: exists; not overwriting it"
    run scp -r "${SSH_OPTS[@]}" "$ADMIN@$VM_IP:$run_dir" "$RESULTS/$name" || env_error "$GROUP: scp of $run_dir failed"
    run scp "${SSH_OPTS[@]}" "$ADMIN@$VM_IP:/var/lib/casbench/bench.log" "$RESULTS/$name/vm-bench.log" \
      || say "warning: could not fetch the VM's log"
    FETCHED=$RESULTS/$name
    say "fetched $RESULTS/$name"
  else
    run scp "${SSH_OPTS[@]}" "$ADMIN@$VM_IP:/var/lib/casbench/bench.log" "$RESULTS/$GROUP.log" \
      || say "warning: could not fetch the VM's log"
    say "no run directory on the VM; its log is $RESULTS/$GROUP.log"
  fi
  if [ "$status" != 0 ]; then
    echo "$PROG: $GROUP: the benchmark on the VM exited $status (log fetched)" >&2
    return 4
  fi
}

cmd_ssh() {
  need_group ssh
  need ssh
  resolve_key
  vm_ip
  ssh_opts
  if [ "$DRY" = 1 ]; then run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" "$@"; return 0; fi
  exec ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" "$@"
}

cmd_destroy() {
  need_group destroy
  need az "install the Azure CLI"
  say "deleting resource group $GROUP"
  run az group delete --name "$GROUP" --yes --no-wait || { echo "$PROG: $GROUP: az group delete failed; delete it by hand: az group delete --name $GROUP --yes" >&2; return 3; }
  [ "$DRY" = 1 ] || rm -f "$STATE_DIR/known_hosts.$GROUP"
  say "deletion of $GROUP accepted (az group list --tag project=casbench shows what is left)"
}

cmd_list() {
  need az
  run az group list --tag project=casbench --query '[].{name:name, location:location, expires:tags.expires}' --output table
}

# On failure or interrupt: end the running command and destroy what this
# process created, unless --keep.
cleanup() {
  local rc=$1
  trap '' INT TERM
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; CHILD=""; fi
  if [ -n "$CREATED" ] && [ "$rc" != 0 ]; then
    if [ "$KEEP" = 1 ]; then
      say "--keep: leaving $CREATED; delete it with: infra/vm-manage.sh destroy --group $CREATED"
    else
      GROUP=$CREATED; CREATED=""
      cmd_destroy || true
    fi
  fi
  [ -n "$TMP" ] && rm -rf "$TMP"
}

on_signal() {
  local rc=$1
  say "interrupted"
  cleanup "$rc"
  trap - EXIT
  exit "$rc"
}

cmd_run() {
  local rc=0
  cmd_create || exit $?
  cmd_wait || exit $?
  cmd_fetch || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 4 ] || exit "$rc"
  # What env.tsv cannot know: which Azure size and image the machine was.
  if [ -n "$FETCHED" ] && [ "$DRY" = 0 ]; then
    printf 'vm_size\t%s\nlocation\t%s\nimage\t%s\nresource_group\t%s\ncommit\t%s\n' \
      "$SIZE" "$LOCATION" "$IMAGE" "$GROUP" "$COMMIT" >"$FETCHED/azure.tsv"
  fi
  local g=$CREATED; CREATED=""; GROUP=$g
  cmd_destroy || rc=3
  return "$rc"
}

cmd_matrix() {
  [ $# -ge 1 ] || usage_error "matrix needs at least one SIZE"
  [ -z "$GROUP" ] || usage_error "matrix makes one group per size: no --group"
  local s seen=" " pids=() rc=0 pid
  for s in "$@"; do
    valid_size "$s" || input_error "$s: not a VM size name (like Standard_D2s_v5)"
    [[ "$seen" == *" $s "* ]] && input_error "$s: given twice"
    seen+="$s "
  done
  resolve_key
  find_my_ip           # once, so every VM opens port 22 to the same address
  local common=(--location "$LOCATION" --ssh-key "$SSH_KEY" --my-ip "$MY_IP" --expire-hours "$EXPIRE_HOURS"
                --timeout "$TIMEOUT" --poll "$POLL" --results "$RESULTS")
  [ -n "$REPO_URL" ] && common+=(--repo-url "$REPO_URL" --commit "$COMMIT")
  [ -n "$BENCH_ARGS" ] && common+=(--bench-args "$BENCH_ARGS")
  [ "$KEEP" = 1 ] && common+=(--keep)
  [ "$DRY" = 1 ] && common+=(--dry-run)
  # The children are background jobs of a non-interactive shell, so they
  # ignore SIGINT: forward INT and TERM to them as TERM; each destroys its own.
  trap 'say "interrupted: stopping ${#pids[@]} runs"; kill -TERM "${pids[@]}" 2>/dev/null; for pid in "${pids[@]}"; do wait "$pid"; done; exit 130' INT
  trap 'say "terminated: stopping ${#pids[@]} runs"; kill -TERM "${pids[@]}" 2>/dev/null; for pid in "${pids[@]}"; do wait "$pid"; done; exit 143' TERM
  for s in "$@"; do
    "$0" "${common[@]}" --size "$s" run &
    pids+=($!)
  done
  local sizes=("$@") i r
  for i in "${!pids[@]}"; do
    r=0
    wait "${pids[$i]}" || r=$?
    if [ "$r" != 0 ]; then
      echo "$PROG: matrix: ${sizes[$i]}: run exited $r" >&2
      [ "$rc" -ge "$r" ] || rc=$r
    fi
  done
  trap - INT TERM
  if [ "$rc" = 0 ] && [ "$DRY" = 0 ]; then say "matrix: $# run directories under $RESULTS"; fi
  return "$rc"
}

# The Linux pay-as-you-go row: priceType Consumption, not Spot / Low Priority,
# not a Windows product.
cmd_price() {
  [ $# -ge 1 ] || usage_error "price needs at least one SIZE"
  local s json
  for s in "$@"; do valid_size "$s" || input_error "$s: not a VM size name (like Standard_D2s_v5)"; done
  need curl
  for s in "$@"; do
    local filter="serviceName eq 'Virtual Machines' and armRegionName eq '$LOCATION' and armSkuName eq '$s' and priceType eq 'Consumption'"
    run_capture json '{"Items": []}' curl -fsS --max-time 30 -G https://prices.azure.com/api/retail/prices \
      --data-urlencode "\$filter=$filter" || env_error "$s: the price lookup failed"
    [ "$DRY" = 1 ] && continue
    /usr/bin/python3 -c '
import json, sys
size, loc = sys.argv[1], sys.argv[2]
try:
    items = json.load(sys.stdin)["Items"]
except (ValueError, KeyError) as e:
    sys.exit("vm-manage.sh: %s: unreadable price answer (%s)" % (size, e))
rows = [i for i in items if i.get("unitOfMeasure") == "1 Hour"
        and "Windows" not in i.get("productName", "")
        and not any(w in i.get("meterName", "") for w in ("Spot", "Low Priority"))]
if not rows:
    sys.exit("vm-manage.sh: %s: no Linux pay-as-you-go price in %s" % (size, loc))
for r in rows:
    print("%s\t%s\t%s %s/hour\t%s\t%s" % (size, loc, r["retailPrice"], r.get("currencyCode", "USD"),
          r.get("effectiveStartDate", "")[:10], r.get("productName", "")))
' "$s" "$LOCATION" <<<"$json" || exit 3
  done
}

# ---- command line ----
need_val() { if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi; }
COMMAND=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) show_help; exit 0 ;;
    --dry-run) DRY=1 ;;
    --keep) KEEP=1 ;;
    --size) need_val "$@"; SIZE=$2; shift ;;
    --location) need_val "$@"; LOCATION=$2; shift ;;
    --group) need_val "$@"; GROUP=$2; shift ;;
    --ssh-key) need_val "$@"; SSH_KEY=$2; shift ;;
    --my-ip) need_val "$@"; MY_IP=$2; shift ;;
    --repo-url) need_val "$@"; REPO_URL=$2; shift ;;
    --commit) need_val "$@"; COMMIT=$2; shift ;;
    --bench-args) need_val "$@"; BENCH_ARGS=$2; shift ;;
    --expire-hours) need_val "$@"; EXPIRE_HOURS=$2; shift ;;
    --timeout) need_val "$@"; TIMEOUT=$2; shift ;;
    --poll) need_val "$@"; POLL=$2; shift ;;
    --results) need_val "$@"; RESULTS=$2; shift ;;
    --) shift; ARGS+=("$@"); break ;;
    -*) usage_error "unknown flag '$1' (see --help)" ;;
    *) if [ -z "$COMMAND" ]; then COMMAND=$1; else ARGS+=("$1"); fi ;;
  esac
  shift
done

[ -n "$COMMAND" ] || usage_error "no command (create, wait, fetch, ssh, destroy, run, matrix, list, price; see --help)"
case "$COMMAND" in
  create|wait|fetch|ssh|destroy|run|matrix|list|price) ;;
  *) usage_error "unknown command '$COMMAND' (see --help)" ;;
esac
case "$COMMAND" in matrix|ssh|price) ;; *) [ ${#ARGS[@]} -eq 0 ] || usage_error "$COMMAND: unexpected argument '${ARGS[0]}'" ;; esac

[ -z "$MY_IP" ] || valid_ipv4 "$MY_IP" || input_error "$MY_IP: --my-ip wants an IPv4 address"
[[ "$EXPIRE_HOURS" =~ ^[1-9][0-9]{0,2}$ ]] || input_error "$EXPIRE_HOURS: --expire-hours wants 1..999"
[[ "$TIMEOUT" =~ ^[1-9][0-9]{0,6}$ ]] || input_error "$TIMEOUT: --timeout wants a positive number of seconds"
[[ "$POLL" =~ ^[1-9][0-9]{0,4}$ ]] || input_error "$POLL: --poll wants a positive number of seconds"
[[ "$LOCATION" =~ ^[a-z0-9]{2,40}$ ]] || input_error "$LOCATION: not an Azure region name (like eastus)"
[ -z "$GROUP" ] || [[ "$GROUP" =~ ^[A-Za-z0-9._()-]{1,90}$ ]] || input_error "$GROUP: not a resource group name"
if [ -n "$REPO_URL" ] || [ -n "$COMMIT" ]; then
  if [ -z "$REPO_URL" ] || [ -z "$COMMIT" ]; then usage_error "--repo-url and --commit go together"; fi
  [[ "$COMMIT" =~ ^[0-9a-fA-F]{7,40}$ ]] || input_error "$COMMIT: --commit wants 7 to 40 hex digits"
  [[ "$REPO_URL" =~ ^(https://|git://|ssh://)[^[:space:]]+$ ]] || input_error "$REPO_URL: --repo-url wants an https://, git:// or ssh:// URL"
  [[ "$REPO_URL" =~ ^[a-z]+://[^/@]*:[^/@]*@ ]] && input_error "--repo-url: the URL carries a credential; use a public URL"
fi
[[ "$BENCH_ARGS" != *$'\n'* ]] || input_error "--bench-args: no newlines"
P="[$SIZE] "
case "$COMMAND" in create|run) ;; *) P="" ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vm-manage.XXXXXX") || env_error "cannot create a temporary directory"
trap 'cleanup $?' EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

case "$COMMAND" in
  create)  cmd_create ;;
  wait)    cmd_wait ;;
  fetch)   cmd_fetch ;;
  ssh)     cmd_ssh ${ARGS[@]+"${ARGS[@]}"} ;;
  destroy) cmd_destroy ;;
  run)     cmd_run ;;
  matrix)  cmd_matrix ${ARGS[@]+"${ARGS[@]}"} ;;
  list)    cmd_list ;;
  price)   cmd_price ${ARGS[@]+"${ARGS[@]}"} ;;
esac
