#!/usr/bin/env bash
# vm-manage.sh - run the casbench matrix on an Azure VM and bring the results home.
#
# usage: infra/vm-manage.sh [FLAGS] COMMAND [ARGS]
#
# commands:
#   create              checks that SIZE is offered to you in --location and that your
#                       vCPU quota holds it, then makes a NEW resource group (tagged
#                       project=casbench, casbench-run=<id>, expires=<time>), an NSG that
#                       opens port 22 to your public address alone (/32), the VM
#                       (Ubuntu 24.04, SSH key only, infra/cloud-init.yaml as custom
#                       data) and an auto-shutdown schedule; then, unless --repo-url
#                       is given, copies the project (git archive of HEAD) over SSH.
#                       Prints the resource group's name.
#   wait  --group RG    until the VM's marker /var/lib/casbench/done exists
#   fetch --group RG    the run directories (make bench's, make reproduce's) into
#                       results/, the VM's log beside them, and azure.tsv in each;
#                       with no marker yet, whatever finished rows the VM has
#   ssh   --group RG [CMD...]   a shell (or CMD) on the VM
#   destroy --group RG  delete a resource group this tool made (tag project=casbench),
#                       cancelling its running deployments first, and wait until it is gone
#   run                 create + wait + fetch + destroy
#   matrix SIZE...      `run` for every SIZE (--parallel at once), after one pre-flight
#                       of all sizes; a per-size summary table at the end
#   list                the resource groups this tool made that still exist
#   price SIZE...       Azure's pay-as-you-go Linux price per hour of each SIZE in
#                       --location, from Azure's public Retail Prices API (no login)
#
# flags:
#   --size SIZE         VM size (default Standard_D2s_v5)
#   --location LOC      Azure region (default eastus)
#   --group RG          resource group (create, run: default casbench-<size>-<UTC time>-<random>);
#                       create refuses a group that already exists
#   --ssh-key FILE      use this public key (FILE; the private key is FILE without .pub)
#                       instead of a fresh ed25519 key made for the run
#   --my-ip ADDR        your public IPv4 address (default: asked of https://api.ipify.org)
#   --repo-url URL      the VM clones URL at --commit instead of receiving a copy
#   --commit SHA        the commit to check out (with --repo-url; 7 to 40 hex digits)
#   --bench-args ARGS   passed to `make bench` as BENCH_ARGS (default: make's own)
#   --expire-hours N    expiry tag, N hours from now (default 4); below 24 also the
#                       time of the daily auto-shutdown
#   --parallel N        matrix: at most N VMs at once (default: all sizes)
#   --timeout SECONDS   how long `wait` waits for the marker (default 10800)
#   --poll SECONDS      how often `wait` looks (default 30)
#   --results DIR       where fetched run directories go (default results/ of this repo)
#   --keep              on failure or interrupt, keep what was created (default: destroy it)
#   --dry-run           print every az, ssh, scp (and git) command instead of running it
#   -h, --help          this text
#
# It uses the az CLI's own login (`az login`); it never writes a credential or a
# subscription id anywhere. Environment: CASBENCH_STATE_DIR (default
# ~/.local/state/casbench) holds, per group, in a directory only you can read, the
# run's SSH key and known_hosts; destroy removes it.
#
# exit status: 0 done; 1 usage; 2 bad input (a bad size, address, commit, URL, a
# group that exists already or that this tool did not make); 3 environment (az,
# ssh, scp or git missing or failing, not logged in, SSH refused, no quota, wait
# timed out); 4 the benchmark on the VM failed (its log and any results are still
# fetched); 129/130/143 hung up/interrupted/terminated (what was created is
# destroyed unless --keep, after fetching what the VM finished; after a hang-up
# the messages go to CASBENCH_STATE_DIR/hangup.log).
set -uo pipefail

PROG="vm-manage.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AZ_JSON=$ROOT/infra/az_json.py
IMAGE=Canonical:ubuntu-24_04-lts:server:latest
ADMIN=casbench
MARKER=/var/lib/casbench/done
VM_STATE=/var/lib/casbench
VM_SRC=/opt/casbench
DRY_IP_CALLER=203.0.113.7   # RFC 5737 documentation address, used by --dry-run
DRY_IP_VM=192.0.2.10        # likewise, the VM's address in --dry-run
PRICES_URL=https://prices.azure.com/api/retail/prices
# Pinned: from this version on, filter values are case-sensitive and meterRegion
# selects the primary meters (Azure Retail Prices overview).
PRICES_API_VERSION=2023-01-01-preview
DELETE_TRIES=3
DELETE_WAIT=${CASBENCH_DELETE_WAIT:-1800}   # seconds az group wait --deleted waits, per try
SSH_BOOT_WAIT=600                            # how long a new VM may refuse connections

SIZE=Standard_D2s_v5
LOCATION=eastus
GROUP=
SSH_KEY=
MY_IP=
REPO_URL=
COMMIT=
BENCH_ARGS=
EXPIRE_HOURS=4
PARALLEL=0
TIMEOUT=10800
POLL=30
RESULTS=$ROOT/results
KEEP=0
DRY=0
STATE_DIR=${CASBENCH_STATE_DIR:-${HOME:-/tmp}/.local/state/casbench}

P=""            # prefix of every line this run prints: "[SIZE] "
RUN_ID=""       # this process's casbench-run tag value
PENDING=""      # the group this process is creating: ours only if it carries RUN_ID
CREATED=""      # the group this process created, for cleanup
VM_MADE=0       # az vm create returned: there is a VM to fetch from
CHILD=""        # the command running now, killed on interrupt
FETCHED=""      # the run directories fetch brought home
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

# Like run, but with the command's stdout captured into the named variable and
# its stderr into ERR_OUT (also passed on to ours); in --dry-run the variable
# receives the placeholder $2.
ERR_OUT=""
run_capture() {
  local _var=$1 _placeholder=$2; shift 2
  if [ "$DRY" = 1 ]; then
    local _q; _q=$(printf '%q ' "$@"); echo "${P}+ ${_q% }"
    printf -v "$_var" '%s' "$_placeholder"; ERR_OUT=""; return 0
  fi
  local _out _err _rc
  _out=$(mktemp "$TMP/out.XXXXXX"); _err=$(mktemp "$TMP/err.XXXXXX")
  "$@" >"$_out" 2>"$_err" &
  CHILD=$!
  wait "$CHILD"; _rc=$?
  CHILD=""
  printf -v "$_var" '%s' "$(cat "$_out")"
  ERR_OUT=$(cat "$_err")
  [ -z "$ERR_OUT" ] || printf '%s\n' "$ERR_OUT" >&2
  rm -f "$_out" "$_err"
  return "$_rc"
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

# az_json COMMAND...: infra/az_json.py (any python3 reads JSON).
az_json() { python3 "$AZ_JSON" "$@"; }

# ---- SSH: a key per run, in a directory only the user can read ----
group_dir() { echo "$STATE_DIR/$GROUP"; }

# The key pair a new VM gets: --ssh-key, else a fresh ed25519 key in the group's
# state directory (kept until destroy, so that wait/fetch/ssh find it).
make_key() {
  if [ -n "$SSH_KEY" ]; then check_key; return 0; fi
  local dir; dir=$(group_dir)
  SSH_KEY=$dir/id_ed25519.pub
  if [ "$DRY" = 1 ]; then run ssh-keygen -q -t ed25519 -N '' -C "$GROUP" -f "${SSH_KEY%.pub}"; return 0; fi
  need ssh-keygen
  (umask 077 && mkdir -p "$dir") || env_error "$dir: cannot create"
  chmod 700 "$dir"
  [ -e "${SSH_KEY%.pub}" ] || ssh-keygen -q -t ed25519 -N '' -C "$GROUP" -f "${SSH_KEY%.pub}" </dev/null \
    || env_error "ssh-keygen failed"
}

# The key of an existing group's VM: --ssh-key, else the one create made.
find_key() {
  if [ -n "$SSH_KEY" ]; then check_key; return 0; fi
  SSH_KEY=$(group_dir)/id_ed25519.pub
  [ "$DRY" = 1 ] || [ -r "${SSH_KEY%.pub}" ] \
    || env_error "$GROUP: no key of this run in $(group_dir) (made on another machine?); pass --ssh-key FILE"
}

check_key() {
  # --dry-run makes no key: the one it names is not there to read.
  [ "$DRY" = 1 ] && [ -n "$GROUP" ] && [ "$SSH_KEY" = "$(group_dir)/id_ed25519.pub" ] && return 0
  [[ "$SSH_KEY" == *.pub ]] || input_error "$SSH_KEY: --ssh-key wants the public key file (*.pub)"
  [ -r "$SSH_KEY" ] || env_error "$SSH_KEY: cannot read the public key"
  [ -r "${SSH_KEY%.pub}" ] || env_error "${SSH_KEY%.pub}: cannot read the private key beside the public one"
}

ssh_opts() {
  SSH_OPTS=(-i "${SSH_KEY%.pub}" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=15
            -o ServerAliveInterval=15 -o ServerAliveCountMax=4
            -o StrictHostKeyChecking=accept-new -o "UserKnownHostsFile=$(group_dir)/known_hosts")
}

# An ssh exit 255 that waiting cannot mend: the key, the host key, or the
# address rule (a refused login), as opposed to a VM still booting.
ssh_refused() { grep -Eqi 'permission denied|host key verification failed|identification has changed|too many authentication failures|passphrase|no such identity' <<<"$1"; }

# Until the VM accepts our SSH login once: a refused login fails at once; a
# connection that is refused or times out is retried for SSH_BOOT_WAIT seconds.
ssh_check() {
  [ "$DRY" = 1 ] && { run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" true; return 0; }
  local start=$SECONDS out rc step=$((POLL < 15 ? POLL : 15))
  say "checking SSH to $VM_IP"
  while :; do
    run_capture out "" ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" true 2>/dev/null; rc=$?
    [ "$rc" = 0 ] && return 0
    ssh_refused "$ERR_OUT" && env_error "$VM_IP: SSH login refused: $(tail -n 1 <<<"$ERR_OUT")"
    [ $((SECONDS - start)) -ge "$SSH_BOOT_WAIT" ] && env_error "$VM_IP: SSH not reachable after $SSH_BOOT_WAIT s (exit $rc)"
    run sleep "$step"
  done
}

check_az_login() {
  need az "install the Azure CLI and run az login"
  need python3 "the az answers are read with python3"
  run az account show --output none 2>/dev/null \
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

# The cloud-init file with this run's source filled in (shell-quoted: the VM
# sources it). The values reach awk through the environment: `awk -v` would
# process the backslashes of %q's quoting (gawk does; mawk happens not to).
render_cloud_init() {
  local out=$1 url_q="" commit_q="" args_q=""
  [ -z "$REPO_URL" ] || url_q=$(printf '%q' "$REPO_URL")
  [ -z "$COMMIT" ] || commit_q=$(printf '%q' "$COMMIT")
  [ -z "$BENCH_ARGS" ] || args_q=$(printf '%q' "$BENCH_ARGS")
  CI_URL=$url_q CI_COMMIT=$commit_q CI_ARGS=$args_q awk '
    /^ +CASBENCH_REPO_URL=$/   { sub(/=$/, ""); $0 = $0 "=" ENVIRON["CI_URL"] }
    /^ +CASBENCH_COMMIT=$/     { sub(/=$/, ""); $0 = $0 "=" ENVIRON["CI_COMMIT"] }
    /^ +CASBENCH_BENCH_ARGS=$/ { sub(/=$/, ""); $0 = $0 "=" ENVIRON["CI_ARGS"] }
    { print }' "$ROOT/infra/cloud-init.yaml" >"$out"
}

# Is SIZE (every SIZE of a matrix) offered to this subscription in LOCATION, and
# does the vCPU quota hold PARALLEL of them at once? Nothing is created before.
preflight() {
  local n=$1; shift
  local dir=$TMP/preflight s usage table
  [ "$DRY" = 1 ] || mkdir -p "$dir"
  run_capture usage '[]' az vm list-usage --location "$LOCATION" --output json \
    || env_error "az vm list-usage --location $LOCATION failed"
  [ "$DRY" = 1 ] || printf '%s\n' "$usage" >"$dir/usage.json"
  for s in "$@"; do
    local skus
    run_capture skus '[]' az vm list-skus --location "$LOCATION" --size "$s" --resource-type virtualMachines --all --output json \
      || env_error "az vm list-skus --size $s --location $LOCATION failed"
    [ "$DRY" = 1 ] || printf '%s\n' "$skus" >"$dir/$s.json"
  done
  [ "$DRY" = 1 ] && return 0
  table=$(az_json preflight "$LOCATION" "$n" "$dir/usage.json" "$dir" "$@") \
    || env_error "preflight: nothing was created (see the lines above; az vm list-usage --location $LOCATION -o table shows the quotas)"
  while IFS=$'\t' read -r s fam v st; do say "preflight: $s  family $fam  $v vCPUs  $st"; done <<<"$table"
}

group_exists() {
  local ans
  run_capture ans false az group exists --name "$1" || env_error "az group exists --name $1 failed"
  [ "$ans" = true ]
}

cmd_create() {
  valid_size "$SIZE" || input_error "$SIZE: not a VM size name (like Standard_D2s_v5)"
  check_az_login
  find_my_ip
  local slug stamp expires shutdown=""
  slug=$(size_slug "$SIZE")
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  [ -n "$GROUP" ] || GROUP="casbench-$slug-$stamp-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
  RUN_ID=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  expires=$(utc_in_hours "$EXPIRE_HOURS" %Y-%m-%dT%H:%M:%SZ) || env_error "date cannot add $EXPIRE_HOURS hours"
  # az vm auto-shutdown is a daily schedule: at 24 h or more its first stop
  # would come before the expiry, in the middle of the run.
  [ "$EXPIRE_HOURS" -lt 24 ] && { shutdown=$(utc_in_hours "$EXPIRE_HOURS" %H%M) || env_error "date cannot add $EXPIRE_HOURS hours"; }
  local vm="casbench-$slug" nsg="$GROUP-nsg"

  if [ -z "$REPO_URL" ]; then
    need git
    COMMIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null) || env_error "$ROOT: not a git checkout; pass --repo-url and --commit"
    [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] \
      || say "warning: uncommitted changes are not copied; the VM runs commit ${COMMIT:0:12}"
  fi
  local ci="$TMP/cloud-init.yaml"
  render_cloud_init "$ci"

  [ -n "${CASBENCH_PREFLIGHT_DONE:-}" ] || preflight 1 "$SIZE"
  # Never a group the user already has: az group create would fail on one in
  # another region and quietly adopt (and retag) one in the same region.
  group_exists "$GROUP" && input_error "$GROUP: a resource group of that name exists; vm-manage.sh only uses groups it creates (leave out --group)"
  make_key

  say "creating $GROUP ($SIZE, $LOCATION, expires $expires)"
  PENDING=$GROUP
  run az group create --name "$GROUP" --location "$LOCATION" \
    --tags project=casbench "casbench-run=$RUN_ID" "expires=$expires" "size=$SIZE" --output none \
    || env_error "$GROUP: az group create failed"
  CREATED=$GROUP; PENDING=""
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
    --tags project=casbench "casbench-run=$RUN_ID" "expires=$expires" --output none \
    || env_error "$GROUP: az vm create failed"
  VM_MADE=1
  # A safety net, not a step: a policy or an unregistered Microsoft.DevTestLab
  # provider refuses it, and the run goes on.
  if [ -z "$shutdown" ]; then
    say "warning: no auto-shutdown: it is daily, and --expire-hours $EXPIRE_HOURS >= 24 would stop the VM before then"
  elif ! run az vm auto-shutdown --resource-group "$GROUP" --name "$vm" --time "$shutdown" --output none; then
    say "warning: az vm auto-shutdown failed; going on without it (the group still carries expires=$expires)"
  fi

  if [ -z "$REPO_URL" ]; then copy_project; fi
  if [ "$COMMAND" = create ]; then echo "$GROUP"; fi
}

# Copy mode: the committed tree, as git archive makes it, untarred on the VM.
copy_project() {
  vm_ip
  ssh_opts
  local tarball="$TMP/casbench.tar.gz"
  run git -C "$ROOT" archive --format=tar.gz -o "$tarball" "$COMMIT" || env_error "git archive failed"
  ssh_check
  run scp "${SSH_OPTS[@]}" "$tarball" "$ADMIN@$VM_IP:/tmp/casbench.tar.gz" || env_error "$VM_IP: scp of the project failed"
  run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" \
    "sudo mkdir -p $VM_SRC/tree && sudo tar -xzf /tmp/casbench.tar.gz -C $VM_SRC/tree && sudo touch $VM_SRC/.copied" \
    || env_error "$VM_IP: unpacking the project failed"
}

need_group() { [ -n "$GROUP" ] || usage_error "$1 needs --group RG"; }

# Polls the marker. ssh exits 0 (there), 1 (not yet) or 255 (ssh itself failed):
# a refused login fails at once, three failed connections in a row fail too.
cmd_wait() {
  need_group wait
  find_key
  vm_ip
  ssh_opts
  ssh_check
  local start=$SECONDS rc out lost=0
  if [ "$DRY" = 1 ]; then
    run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" test -e "$MARKER"
    echo "${P}  (repeated every $POLL s until $MARKER exists, at most $TIMEOUT s)"
    return 0
  fi
  say "waiting for $MARKER on $VM_IP (at most $TIMEOUT s)"
  while :; do
    run_capture out "" ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" test -e "$MARKER" 2>/dev/null; rc=$?
    case "$rc" in
      0) break ;;
      1) lost=0 ;;
      255) ssh_refused "$ERR_OUT" && env_error "$VM_IP: SSH login refused while waiting: $(tail -n 1 <<<"$ERR_OUT")"
           lost=$((lost + 1))
           [ "$lost" -ge 3 ] && env_error "$VM_IP: SSH failed $lost times in a row while waiting: $(tail -n 1 <<<"$ERR_OUT")" ;;
      *) env_error "$VM_IP: 'test -e $MARKER' over SSH exited $rc" ;;
    esac
    [ $((SECONDS - start)) -ge "$TIMEOUT" ] && env_error "$GROUP: no marker after $TIMEOUT s"
    run sleep "$POLL"
  done
  say "the run finished after $((SECONDS - start)) s of waiting"
}

# What the VM has: the marker's fields if it is there, else (an unfinished run)
# every run directory under results/ with finished rows. Sets MARKER_STATUS
# ("" when there is no marker) and REMOTE_DIRS.
remote_runs() {
  local out
  run_capture out $'status=0\nrun_dir=/opt/casbench/tree/results/casbench-'"$(size_slug "$SIZE")"$'-YYYYmmddTHHMMSSZ\nmore_dirs=\n' \
    ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" "cat $MARKER 2>/dev/null || ls -1d $VM_SRC/tree/results/*/matrix.tsv 2>/dev/null; true" \
    || env_error "$GROUP: cannot read $MARKER or the results over SSH"
  if grep -q '^status=' <<<"$out"; then
    MARKER_STATUS=$(sed -n 's/^status=//p' <<<"$out")
    [[ "$MARKER_STATUS" =~ ^[0-9]+$ ]] || env_error "$GROUP: malformed marker: $(tr '\n' ' ' <<<"$out")"
    REMOTE_DIRS="$(sed -n 's/^run_dir=//p' <<<"$out") $(sed -n 's/^more_dirs=//p' <<<"$out")"
  else
    MARKER_STATUS=""
    REMOTE_DIRS=$(sed -n 's|/matrix\.tsv$||p' <<<"$out" | tr '\n' ' ')
  fi
}

cmd_fetch() {
  need_group fetch
  need ssh; need scp
  find_key
  vm_ip
  ssh_opts
  local d name first="" got=()
  remote_runs
  [ "$DRY" = 1 ] || mkdir -p "$RESULTS" || env_error "$RESULTS: cannot create"
  for d in $REMOTE_DIRS; do
    name=$(basename "$d")
    if [ -e "$RESULTS/$name" ]; then
      [ -n "$MARKER_STATUS" ] && env_error "$RESULTS/$name: exists; not overwriting it"
      say "warning: $RESULTS/$name exists; not fetching it again"; continue
    fi
    run scp -r "${SSH_OPTS[@]}" "$ADMIN@$VM_IP:$d" "$RESULTS/$name" || env_error "$GROUP: scp of $d failed"
    got+=("$RESULTS/$name")
  done
  first=${got[0]:-}
  if [ -n "$first" ]; then
    run scp "${SSH_OPTS[@]}" "$ADMIN@$VM_IP:$VM_STATE/bench.log" "$first/vm-bench.log" || say "warning: could not fetch the VM's log"
    run scp "${SSH_OPTS[@]}" "$ADMIN@$VM_IP:$VM_STATE/vm.tsv" "$first/vm.tsv" || say "warning: could not fetch the VM's vm.tsv"
    write_azure_tsv "${got[@]}"
    FETCHED="${got[*]}"
    say "fetched ${got[*]}"
  else
    run scp "${SSH_OPTS[@]}" "$ADMIN@$VM_IP:$VM_STATE/bench.log" "$RESULTS/$GROUP.log" \
      || say "warning: could not fetch the VM's log"
    say "no run directory on the VM; its log is $RESULTS/$GROUP.log"
  fi
  if [ -z "$MARKER_STATUS" ]; then
    echo "$PROG: $GROUP: the run has not finished (no $MARKER); fetched what it had (casbench run --resume continues a run directory)" >&2
    return 3
  fi
  if [ "$MARKER_STATUS" != 0 ]; then
    echo "$PROG: $GROUP: the run on the VM exited $MARKER_STATUS (log fetched)" >&2
    return 4
  fi
}

# azure.tsv in every fetched run directory: what env.tsv cannot know (the Azure
# size, the image version Azure resolved, security type, zone, disk) and what
# the VM recorded in vm.tsv (CPU model, SMT siblings, load, steal, commit).
write_azure_tsv() {
  local vms facts d first=$1
  if run_capture vms '[]' az vm list --resource-group "$GROUP" --output json && [ "$DRY" = 0 ] \
     && facts=$(az_json vm-facts <<<"$vms"); then :
  else
    [ "$DRY" = 1 ] && return 0
    say "warning: az vm list failed; azure.tsv has no Azure facts"
    facts=$(printf 'vm_size\tunknown\nlocation\tunknown\n')
  fi
  for d in "$@"; do
    { printf '%s\n' "$facts"
      printf 'resource_group\t%s\n' "$GROUP"
      [ -s "$first/vm.tsv" ] && grep -v '^#' "$first/vm.tsv"
    } >"$d/azure.tsv"
  done
}

cmd_ssh() {
  need_group ssh
  need ssh
  find_key
  vm_ip
  ssh_opts
  if [ "$DRY" = 1 ]; then run ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" "$@"; return 0; fi
  exec ssh "${SSH_OPTS[@]}" "$ADMIN@$VM_IP" "$@"
}

# Deletes GROUP if its tags say this tool made it (and, with WANT_RUN, this very
# run): running deployments cancelled first (an interrupted az vm create leaves
# its deployment running), then delete, confirmed by az group wait --deleted and
# az group exists, DELETE_TRIES times at most.
delete_group() {
  local want_run=${1:-} json tags project run_tag names d try
  if ! run_capture json '{"tags": {"project": "casbench"}}' az group show --name "$GROUP" --output json; then
    group_exists "$GROUP" || { say "$GROUP does not exist; nothing to delete"; return 0; }
    echo "$PROG: $GROUP: az group show failed; not deleting what I cannot identify" >&2; return 3
  fi
  if [ "$DRY" = 0 ]; then
    tags=$(az_json tags <<<"$json") || return 3
    project=${tags%%$'\t'*}; run_tag=${tags#*$'\t'}
    if [ "$project" != casbench ] || { [ -n "$want_run" ] && [ "$run_tag" != "$want_run" ]; }; then
      echo "$PROG: $GROUP: not made by ${want_run:+this run of }vm-manage.sh (tags project=$project casbench-run=$run_tag); not deleting it" >&2
      return 2
    fi
  fi
  run_capture names "" az deployment group list --resource-group "$GROUP" --output json || names="[]"
  [ "$DRY" = 1 ] || names=$(az_json running-deployments <<<"${names:-[]}") || names=""
  for d in $names; do
    say "cancelling deployment $d"
    run az deployment group cancel --resource-group "$GROUP" --name "$d" || say "warning: could not cancel deployment $d"
  done
  for ((try = 1; try <= DELETE_TRIES; try++)); do
    say "deleting resource group $GROUP (try $try of $DELETE_TRIES)"
    run az group delete --name "$GROUP" --yes --no-wait || { run sleep 5; continue; }
    run az group wait --name "$GROUP" --deleted --timeout "$DELETE_WAIT" --interval 15
    group_exists "$GROUP" || { say "$GROUP is deleted"; return 0; }
  done
  echo "$PROG: $GROUP: still exists after $DELETE_TRIES deletions; delete it by hand: az group delete --name $GROUP --yes" >&2
  return 3
}

cmd_destroy() {
  need_group destroy
  need az "install the Azure CLI"
  need python3 "the az answers are read with python3"
  local rc=0
  delete_group "" || rc=$?
  [ "$rc" = 0 ] && [ "$DRY" = 0 ] && rm -rf "$(group_dir)"
  return "$rc"
}

cmd_list() {
  need az
  run az group list --tag project=casbench --query '[].{name:name, location:location, expires:tags.expires}' --output table
}

# On failure or interrupt: end the running command, fetch what the VM finished,
# then destroy what this process created (checked by its casbench-run tag), unless --keep.
cleanup() {
  local rc=$1 g=${CREATED:-$PENDING} pending=$PENDING
  trap '' INT TERM HUP
  # For matrix's summary table: this run's group and what it fetched.
  [ -z "${CASBENCH_SUMMARY:-}" ] || printf '%s\t%s\n' "${g:-$GROUP}" "${FETCHED:--}" >"$CASBENCH_SUMMARY"
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; CHILD=""; fi
  if [ -n "$g" ] && [ "$rc" != 0 ]; then
    GROUP=$g; CREATED=""; PENDING=""
    if [ "$VM_MADE" = 1 ] && [ -z "$FETCHED" ] && [ "$DRY" = 0 ]; then
      say "fetching what the VM has before anything is deleted"
      ( cmd_fetch ) || true
    fi
    if [ "$KEEP" = 1 ] && [ "$g" != "$pending" ]; then
      say "--keep: leaving $g; delete it with: infra/vm-manage.sh destroy --group $g"
    elif delete_group "$RUN_ID" || [ "$g" = "$pending" ]; then
      # (A group never ours got no VM: the key made for it goes too.)
      [ "$DRY" = 1 ] || rm -rf "$(group_dir)"
    fi
  fi
  [ -n "$TMP" ] && rm -rf "$TMP"
}

on_signal() {
  local rc=$1
  # A closed terminal: what follows (and the az and ssh it runs) must not
  # write to it; the messages go to a log in the state directory instead.
  if [ "$rc" = 129 ]; then
    mkdir -p "$STATE_DIR" && exec >>"$STATE_DIR/hangup.log" 2>&1 </dev/null
    say "$(date -u +%Y-%m-%dT%H:%M:%SZ) hung up"
  fi
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
  local g=$CREATED; CREATED=""; GROUP=$g
  if delete_group "$RUN_ID"; then [ "$DRY" = 1 ] || rm -rf "$(group_dir)"; else rc=3; fi
  return "$rc"
}

# What a run's exit status means, for the matrix summary.
status_word() {
  case "$1" in
    0) echo ok ;; 3) echo "failed (environment)" ;; 4) echo "benchmark failed" ;;
    129|130|143) echo interrupted ;; *) echo "failed ($1)" ;;
  esac
}

cmd_matrix() {
  [ $# -ge 1 ] || usage_error "matrix needs at least one SIZE"
  [ -z "$GROUP" ] || usage_error "matrix makes one group per size: no --group"
  local s seen=" "
  for s in "$@"; do
    valid_size "$s" || input_error "$s: not a VM size name (like Standard_D2s_v5)"
    [[ "$seen" == *" $s "* ]] && input_error "$s: given twice"
    seen+="$s "
  done
  [ "$PARALLEL" -gt 0 ] && [ "$PARALLEL" -le $# ] || PARALLEL=$#
  [ -z "$SSH_KEY" ] || check_key
  check_az_login
  find_my_ip           # once, so every VM opens port 22 to the same address
  preflight "$PARALLEL" "$@"
  local common=(--location "$LOCATION" --my-ip "$MY_IP" --expire-hours "$EXPIRE_HOURS"
                --timeout "$TIMEOUT" --poll "$POLL" --results "$RESULTS")
  [ -n "$SSH_KEY" ] && common+=(--ssh-key "$SSH_KEY")
  [ -n "$REPO_URL" ] && common+=(--repo-url "$REPO_URL" --commit "$COMMIT")
  [ -n "$BENCH_ARGS" ] && common+=(--bench-args "$BENCH_ARGS")
  [ "$KEEP" = 1 ] && common+=(--keep)
  [ "$DRY" = 1 ] && common+=(--dry-run)
  local sizes=("$@") pids=() rcs=() i next=0 running
  # The children are background jobs of a non-interactive shell, so they
  # ignore SIGINT: forward INT, TERM and HUP to them as TERM; each destroys its own.
  stop_all() {
    say "$1: stopping the runs"
    local p; for p in "${pids[@]}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do [ -n "$p" ] && wait "$p"; done
    exit "$2"
  }
  trap 'stop_all interrupted 130' INT
  trap 'stop_all terminated 143' TERM
  trap 'stop_all "hung up" 129' HUP
  while :; do
    running=0
    for i in "${!pids[@]}"; do
      [ -z "${pids[$i]}" ] && continue
      if kill -0 "${pids[$i]}" 2>/dev/null; then running=$((running + 1)); continue; fi
      wait "${pids[$i]}"; rcs[i]=$?; pids[i]=""
    done
    if [ "$next" -lt ${#sizes[@]} ] && [ "$running" -lt "$PARALLEL" ]; then
      CASBENCH_PREFLIGHT_DONE=1 CASBENCH_SUMMARY="$TMP/summary.$next" "$0" "${common[@]}" --size "${sizes[$next]}" run &
      pids[next]=$!; next=$((next + 1)); continue
    fi
    [ "$running" = 0 ] && [ "$next" -ge ${#sizes[@]} ] && break
    sleep 1
  done
  trap - INT TERM HUP
  local rc=0 line group dirs
  printf '%-20s %-22s %-44s %s\n' SIZE STATUS GROUP "RUN DIRECTORIES" >&2
  for i in "${!sizes[@]}"; do
    line=$(cat "$TMP/summary.$i" 2>/dev/null) || line=""
    group=${line%%$'\t'*}; dirs=${line#*$'\t'}
    printf '%-20s %-22s %-44s %s\n' "${sizes[$i]}" "$(status_word "${rcs[$i]}")" "${group:--}" "${dirs:--}" >&2
    [ "${rcs[$i]}" = 0 ] || [ "$rc" -ge "${rcs[$i]}" ] || rc=${rcs[$i]}
  done
  return "$rc"
}

# The Linux pay-as-you-go rows: priceType Consumption, primary meters only (a
# size is billed on one meter per region), every page (the API answers 1,000
# items a page and names the next one in NextPageLink).
cmd_price() {
  [ $# -ge 1 ] || usage_error "price needs at least one SIZE"
  local s arg
  for s in "$@"; do valid_size "$s" || input_error "$s: not a VM size name (like Standard_D2s_v5)"; done
  need curl
  need python3 "the price answer is read with python3"
  for arg in "$@"; do
    s=$(az_json size "$arg") || exit 3
    local filter="serviceName eq 'Virtual Machines' and armRegionName eq '$LOCATION' and armSkuName eq '$s' and priceType eq 'Consumption'"
    local page rows out found=0 pages=0
    run_capture page '{"Items": []}' curl -fsS --max-time 30 -G "$PRICES_URL" \
      --data-urlencode "api-version=$PRICES_API_VERSION" --data-urlencode "meterRegion='primary'" \
      --data-urlencode "\$filter=$filter" || env_error "$s: the price lookup failed"
    [ "$DRY" = 1 ] && continue
    while :; do
      rows=$(az_json price "$s" "$LOCATION" <<<"$page") || exit 3
      out=$(grep -v $'^next\t' <<<"$rows")
      [ -n "$out" ] && { printf '%s\n' "$out"; found=1; }
      local next; next=$(sed -n $'s/^next\t//p' <<<"$rows")
      pages=$((pages + 1))
      if [ -z "$next" ] || [ "$pages" -ge 50 ]; then break; fi
      run_capture page "" curl -fsS --max-time 30 "$next" || env_error "$s: the price lookup failed (page $((pages + 1)))"
    done
    [ "$found" = 1 ] || env_error "$s: no Linux pay-as-you-go price in $LOCATION"
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
    --parallel) need_val "$@"; PARALLEL=$2; shift ;;
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
[[ "$PARALLEL" =~ ^[0-9]{1,3}$ ]] || input_error "$PARALLEL: --parallel wants a positive number"
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
if [ -n "$SSH_KEY" ] && [ "$COMMAND" != price ] && [ "$COMMAND" != list ]; then check_key; fi
P="[$SIZE] "
case "$COMMAND" in create|run) ;; *) P="" ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vm-manage.XXXXXX") || env_error "cannot create a temporary directory"
trap 'cleanup $?' EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

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
