#!/usr/bin/env bash
# infra/: shellcheck over every shell script, the cloud-init schema, vm-manage.sh
# in --dry-run and against a fake az/ssh/scp (failures and signals must destroy
# what was created), and provision.sh's idempotence and exit statuses.
# Nothing here talks to Azure; see infra/README.md for what only runs there.
# shellcheck disable=SC2016 # the bash -c scripts take their arguments as $1, $2
. "$(dirname "$0")/lib.sh"
VM=infra/vm-manage.sh
G='casbench-[a-z0-9-]+-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}'

# ---- shellcheck: every shell script in the repository ----
# *.sh, .ci/run, and any file whose first line names bash or sh, found in the
# tree itself (build/ and results/ hold no sources); plus the script that
# cloud-init.yaml carries inline.
scripts=()
while IFS= read -r -d '' f; do
  case "$f" in *.sh|./.ci/run) scripts+=("$f"); continue ;; esac
  if head -n 1 "$f" 2>/dev/null | grep -Eq '^#!.*\b(ba)?sh\b'; then scripts+=("$f"); fi
done < <(find . -path ./.git -prune -o -path ./build -prune -o -path ./results -prune -o -type f -print0)
check_eq "the script finder sees .ci/run, provision.sh, vm-manage.sh and this test" 4 \
  "$(printf '%s\n' "${scripts[@]}" | grep -cxE '\./\.ci/run|\./infra/provision\.sh|\./infra/vm-manage\.sh|\./tests/test_infra\.sh')"
"$PY" -c '
import sys, yaml
doc = yaml.safe_load(open("infra/cloud-init.yaml"))
for f in doc["write_files"]:
    if f["content"].startswith("#!/bin/bash"):
        open(sys.argv[1], "w").write(f["content"])
' "$TMPD/cloud-init-runner.sh"
echo "# shellcheck covers: ${scripts[*]} + cloud-init.yaml's runner"
check "cloud-init.yaml carries the VM runner script" test -s "$TMPD/cloud-init-runner.sh"
check "shellcheck passes on ${#scripts[@]} scripts + the cloud-init runner" \
  shellcheck -x --source-path=SCRIPTDIR "${scripts[@]}" "$TMPD/cloud-init-runner.sh"
printf '#!/bin/bash\necho $undefined_var $1\n' >"$TMPD/bad.sh"
check_eq "shellcheck (control) rejects a bad script" 1 "$(shellcheck "$TMPD/bad.sh" >/dev/null 2>&1; echo $?)"

# ---- cloud-init ----
check "cloud-init schema accepts infra/cloud-init.yaml" cloud-init schema --config-file infra/cloud-init.yaml
sed 's/^packages:$/packages: 3/; /^  - git$/d; /^  - make$/d; /^  - ca-certificates$/d' infra/cloud-init.yaml >"$TMPD/bad-ci.yaml"
check_eq "cloud-init schema (control) rejects a broken copy" 1 \
  "$(cloud-init schema --config-file "$TMPD/bad-ci.yaml" >/dev/null 2>&1; echo $?)"
check "cloud-init.yaml starts with #cloud-config" test "$(head -n 1 infra/cloud-init.yaml)" = "#cloud-config"

# ---- the VM side: cloud-init's runner script, run here with a fake make ----
mkdir -p "$TMPD/vmbin"
cat >"$TMPD/vmbin/make" <<'EOF'
#!/bin/bash
echo "make $*" >>"$VM_LOG"
mkdir -p results/casbench-vmtest-20261126T000000Z && echo ok >results/casbench-vmtest-20261126T000000Z/matrix.tsv
exit "${FAKE_MAKE_RC:-0}"
EOF
chmod +x "$TMPD/vmbin/make"
head=$(git rev-parse HEAD)
# vm_run NAME URL COMMIT: runs the runner in $TMPD/vm-NAME; the marker's fields land in $marker.
vm_run() {
  local d=$TMPD/vm-$1
  mkdir -p "$d"
  printf 'CASBENCH_REPO_URL=%q\nCASBENCH_COMMIT=%q\nCASBENCH_BENCH_ARGS=%q\n' "$2" "$3" "--quick --payload config" >"$d/source.env"
  env PATH="$TMPD/vmbin:$PATH" VM_LOG="$d/make.log" CASBENCH_VM_STATE="$d/state" CASBENCH_VM_SRC="$d/src" \
    CASBENCH_VM_SOURCE_ENV="$d/source.env" bash "$TMPD/cloud-init-runner.sh" >/dev/null 2>&1
  marker=$(grep -E '^(status|run_dir)=' "$d/state/done" 2>/dev/null | paste -sd'|')
}
vm_run clone "$PWD" "$head"
check_eq "VM runner, clone mode: marker status 0 and the new run directory" \
  "status=0|run_dir=$TMPD/vm-clone/src/tree/results/casbench-vmtest-20261126T000000Z" "$marker"
check_eq "VM runner, clone mode: the commit asked for is checked out" "$head" "$(git -C "$TMPD/vm-clone/src/tree" rev-parse HEAD)"
check_eq "VM runner, clone mode: make bench with the bench args" "make bench BENCH_ARGS=--quick --payload config" "$(cat "$TMPD/vm-clone/make.log")"
check "VM runner: provision.sh ran first (its log line)" grep -q "^provision.sh: " "$TMPD/vm-clone/state/bench.log"
vm_run badcommit "$PWD" 0000000
check_eq "VM runner, a commit that does not exist: status 3, no run directory, no make" "status=3|run_dir=|" \
  "$marker|$(cat "$TMPD/vm-badcommit/make.log" 2>/dev/null)"
FAKE_MAKE_RC=2 vm_run makefails "$PWD" "$head"
check_eq "VM runner, make bench failing: its status, and the run directory it left" \
  "status=2|run_dir=$TMPD/vm-makefails/src/tree/results/casbench-vmtest-20261126T000000Z" "$marker"
mkdir -p "$TMPD/vm-copy/src/tree"
git archive HEAD | tar -x -C "$TMPD/vm-copy/src/tree" && touch "$TMPD/vm-copy/src/.copied"
vm_run copy "" "$head"
check_eq "VM runner, copy mode: status 0, make told the commit (no .git in a copy)" \
  "status=0|make bench GIT_COMMIT=${head:0:12} BENCH_ARGS=--quick --payload config" "${marker%%|*}|$(cat "$TMPD/vm-copy/make.log")"

# ---- fakes: az, ssh, scp that log every call ----
mkdir -p "$TMPD/bin" "$TMPD/state" "$TMPD/results"
ssh-keygen -q -t ed25519 -N '' -C casbench-test -f "$TMPD/key" || fail "ssh-keygen"
KEY=$TMPD/key.pub
export FAKE_LOG=$TMPD/calls.log CASBENCH_STATE_DIR=$TMPD/state
cat >"$TMPD/bin/az" <<'EOF'
#!/bin/bash
# Fake az: logs the call; FAKE_AZ_FAIL / FAKE_AZ_SLEEP name a call (prefix) to fail / stall.
echo "az $*" >>"$FAKE_LOG"
prev=""; for a in "$@"; do [ "$prev" = --custom-data ] && cp "$a" "${FAKE_LOG%/*}/custom-data.yaml"; prev=$a; done
if [ -n "${FAKE_AZ_FAIL:-}" ] && [[ "$*" == "$FAKE_AZ_FAIL"* ]]; then echo "ERROR: injected" >&2; exit 1; fi
if [ -n "${FAKE_AZ_SLEEP:-}" ] && [[ "$*" == "$FAKE_AZ_SLEEP"* ]]; then sleep 30; echo "az-finished $*" >>"$FAKE_LOG"; fi
case "$*" in
  "vm list-ip-addresses"*d2s*) echo 198.51.100.2 ;;
  "vm list-ip-addresses"*d4s*) echo 198.51.100.4 ;;
  "vm list-ip-addresses"*) echo 198.51.100.9 ;;
esac
exit 0
EOF
cat >"$TMPD/bin/ssh" <<'EOF'
#!/bin/bash
# Fake ssh: the command after user@host; the marker says run_dir casbench-vm<last octet>-...
while [ $# -gt 0 ] && [[ "$1" != casbench@* ]]; do shift; done
host=${1#casbench@}; shift
echo "ssh $host $*" >>"$FAKE_LOG"
case "$*" in
  "test -e /var/lib/casbench/done") [ -z "${FAKE_NO_MARKER:-}" ] ;;
  "cat /var/lib/casbench/done")
    printf 'status=%s\nrun_dir=/opt/casbench/tree/results/casbench-vm%s-20261126T000000Z\n' "${FAKE_STATUS:-0}" "${host##*.}" ;;
  *) exit 0 ;;
esac
EOF
cat >"$TMPD/bin/scp" <<'EOF'
#!/bin/bash
# Fake scp: a remote directory arrives as a directory with a matrix.tsv; a file as a file.
echo "scp $*" >>"$FAKE_LOG"
[ -n "${FAKE_SCP_FAIL:-}" ] && exit 1
dst=${*: -1}; src=${*: -2:1}
case "$src" in
  casbench@*:/opt/casbench/tree/results/*) mkdir "$dst" && printf 'payload\tstatus\nconfig\tok\n' >"$dst/matrix.tsv" ;;
  casbench@*:*) echo "fake log" >"$dst" ;;
esac
EOF
chmod +x "$TMPD/bin/"*
FAKEPATH=$TMPD/bin:$PATH
# (Not for a command whose pid a test signals: a function runs in a subshell.)
fake() { env PATH="$FAKEPATH" "$@"; }
FLAGS=(--ssh-key "$KEY" --my-ip 198.51.100.77 --results "$TMPD/results" --poll 1 --timeout 5)

# ---- --dry-run matrix ----
: >"$FAKE_LOG"
fake "$VM" --dry-run --ssh-key "$KEY" --results "$TMPD/results" matrix Standard_D2s_v5 Standard_D4s_v5 >"$TMPD/dry.out" 2>"$TMPD/dry.err"
check_eq "dry-run matrix exits 0" 0 "$?"
check_eq "dry-run runs no az, ssh or scp" "" "$(cat "$FAKE_LOG")"
check "dry-run prints the public-address lookup once and uses 203.0.113.7" \
  test "$(grep -c '^+ curl .*203\.0\.113\.7' "$TMPD/dry.out")" = 1
for s in Standard_D2s_v5 Standard_D4s_v5; do
  out=$(grep -F "[$s] + " "$TMPD/dry.out")
  grp=$(grep -oE "az group create --name $G" <<<"$out" | awk '{print $5}')
  check "dry-run $s: resource group created with an expiry tag" \
    grep -Eq "az group create --name $grp --location eastus --tags project=casbench expires=[0-9-]{10}T[0-9:]{8}Z" <<<"$out"
  check "dry-run $s: vm create with size $s and Ubuntu 24.04" \
    grep -Eq -- "az vm create --resource-group $grp .*--size $s --image Canonical:ubuntu-24_04-lts:server:latest .*--authentication-type ssh --ssh-key-values $KEY" <<<"$out"
  check "dry-run $s: vm create uses the NSG and the cloud-init file" \
    grep -Eq -- "az vm create .*--nsg $grp-nsg .*--custom-data [^ ]+/cloud-init\.yaml" <<<"$out"
  check_eq "dry-run $s: exactly one NSG rule, port 22 from one /32 address" 1 \
    "$(grep -E -- "az network nsg rule create --resource-group $grp --nsg-name $grp-nsg .*--source-address-prefixes 203\.0\.113\.7/32 .*--destination-port-ranges 22( |$)" <<<"$out" | grep -vc -- '--source-address-prefixes [^ ]* [0-9]')"
  check_eq "dry-run $s: no other NSG rule" 1 "$(grep -c 'nsg rule create' <<<"$out")"
  check "dry-run $s: auto-shutdown scheduled" grep -Eq "az vm auto-shutdown --resource-group $grp --name [^ ]+ --time [0-9]{4}" <<<"$out"
  check "dry-run $s: the project copied over scp" grep -Eq "scp .*casbench\.tar\.gz casbench@192\.0\.2\.10:" <<<"$out"
  check "dry-run $s: waits for the marker" grep -Fq "casbench@192.0.2.10 test -e /var/lib/casbench/done" <<<"$out"
  check "dry-run $s: fetches the run directory into results" \
    grep -Eq "scp -r .*casbench@192\.0\.2\.10:/opt/casbench/tree/results/[^ ]+ $TMPD/results/" <<<"$out"
  check "dry-run $s: destroys its group last" bash -c 'tail -n 1 <<<"$1" | grep -Fq "az group delete --name $2 --yes"' _ "$out" "$grp"
done
check_eq "dry-run: two different groups" 2 "$(grep -oE "az group create --name $G" "$TMPD/dry.out" | sort -u | wc -l)"
check_eq "dry-run: nothing written to results" "" "$(ls "$TMPD/results")"
fake "$VM" --dry-run --ssh-key "$KEY" --my-ip 198.51.100.5 run >"$TMPD/dry2.out" 2>/dev/null
check "dry-run with --my-ip: no lookup, that address /32" \
  bash -c '! grep -q curl "$1" && grep -q -- "--source-address-prefixes 198.51.100.5/32" "$1"' _ "$TMPD/dry2.out"
fake "$VM" --dry-run --ssh-key "$KEY" --my-ip 198.51.100.5 --repo-url https://example.org/casbench.git --commit 0123abc run >"$TMPD/dry3.out" 2>/dev/null
check "dry-run with --repo-url: no copy over scp" bash -c '! grep -q "casbench.tar.gz" "$1" && grep -q "az vm create" "$1"' _ "$TMPD/dry3.out"

# The rendered custom data: what the VM will source (the fake az keeps a copy).
: >"$FAKE_LOG"
fake env FAKE_AZ_FAIL="vm auto-shutdown" "$VM" "${FLAGS[@]}" --repo-url https://example.org/casbench.git \
  --commit 0123abc --bench-args "--quick --payload config,weights" create >/dev/null 2>&1
ci=$(grep -oE -- '--custom-data [^ ]+' "$FAKE_LOG" | awk '{print $2}')
check "create deletes its temporary cloud-init copy" test -n "$ci" -a ! -e "$ci"
check "the rendered cloud-init passes the schema" cloud-init schema --config-file "$TMPD/custom-data.yaml"
"$PY" -c '
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
print([f for f in doc["write_files"] if f["path"] == "/etc/casbench/source.env"][0]["content"], end="")
' "$TMPD/custom-data.yaml" >"$TMPD/source.env"
check_eq "the VM sources the URL, commit and bench args as given" \
  "https://example.org/casbench.git|0123abc|--quick --payload config,weights" \
  "$(bash -c '. "$1"; echo "$CASBENCH_REPO_URL|$CASBENCH_COMMIT|$CASBENCH_BENCH_ARGS"' _ "$TMPD/source.env")"

# ---- a fake run end to end ----
: >"$FAKE_LOG"; rm -rf "$TMPD/results"/*
fake "$VM" "${FLAGS[@]}" run >"$TMPD/run.out" 2>"$TMPD/run.err"
check_eq "fake run exits 0" 0 "$?"
grp=$(grep -oE "az group create --name $G" "$FAKE_LOG" | awk '{print $5}')
check "fake run: the run directory is under results/" test -s "$TMPD/results/casbench-vm2-20261126T000000Z/matrix.tsv"
check "fake run: the VM's log is fetched beside the results" test -s "$TMPD/results/casbench-vm2-20261126T000000Z/vm-bench.log"
check_eq "fake run: azure.tsv names the size, image and the commit copied" \
  "Standard_D2s_v5|Canonical:ubuntu-24_04-lts:server:latest|$(git rev-parse HEAD)" \
  "$(awk -F'\t' '{v[$1] = $2} END {print v["vm_size"] "|" v["image"] "|" v["commit"]}' "$TMPD/results/casbench-vm2-20261126T000000Z/azure.tsv")"
# at ERE: the line number of the first logged call matching ERE
at() { grep -nE "$1" "$FAKE_LOG" | head -n 1 | cut -d: -f1; }
order="$(at '^az group create') $(at '^az network nsg rule create') $(at '^az vm create') $(at '^az vm auto-shutdown')"
order+=" $(at '^scp .*casbench\.tar\.gz') $(at '^ssh .* test -e /var/lib/casbench/done') $(at '^scp -r') $(at '^az group delete')"
check "fake run: group, NSG rule, VM, shutdown, copy, wait, fetch, delete: in that order, delete last" \
  bash -c 'p=0; n=0; for x in $1; do [ "$x" -gt "$p" ] || exit 1; p=$x; n=$((n + 1)); done; [ "$n" = 8 ] && [ "$p" = "$2" ]' _ "$order" "$(wc -l <"$FAKE_LOG")"
check "fake run: deletes the group it created" grep -q "^az group delete --name $grp --yes" "$FAKE_LOG"
check_eq "fake run: nothing on stdout" "" "$(cat "$TMPD/run.out")"

# ---- injected failures: whatever fails, the group is deleted ----
for failing in "network nsg rule create" "vm create" "vm auto-shutdown" "vm list-ip-addresses"; do
  : >"$FAKE_LOG"; rm -rf "$TMPD/results"/*
  rc=0; fake env FAKE_AZ_FAIL="$failing" "$VM" "${FLAGS[@]}" run >/dev/null 2>"$TMPD/err" || rc=$?
  grp=$(grep -oE "az group create --name $G" "$FAKE_LOG" | awk '{print $5}')
  check_eq "failing 'az $failing': exit 3" 3 "$rc"
  check_eq "failing 'az $failing': the last call deletes the group" "az group delete --name $grp --yes --no-wait" "$(tail -n 1 "$FAKE_LOG")"
done
: >"$FAKE_LOG"
rc=0; fake env FAKE_SCP_FAIL=1 "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 || rc=$?
check_eq "failing scp: exit 3" 3 "$rc"
check "failing scp: group deleted" bash -c 'tail -n 1 "$1" | grep -q "^az group delete"' _ "$FAKE_LOG"
: >"$FAKE_LOG"
rc=0; fake env FAKE_NO_MARKER=1 "$VM" "${FLAGS[@]}" --timeout 2 run >/dev/null 2>&1 || rc=$?
check_eq "wait timing out: exit 3" 3 "$rc"
check "wait timing out: group deleted" bash -c 'tail -n 1 "$1" | grep -q "^az group delete"' _ "$FAKE_LOG"
: >"$FAKE_LOG"; rm -rf "$TMPD/results"/*
rc=0; fake env FAKE_STATUS=2 "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 || rc=$?
check_eq "benchmark failing on the VM: exit 4" 4 "$rc"
check "benchmark failing on the VM: results and log fetched, group deleted" bash -c \
  'ls "$1"/*/vm-bench.log >/dev/null && tail -n 1 "$2" | grep -q "^az group delete"' _ "$TMPD/results" "$FAKE_LOG"
: >"$FAKE_LOG"
rc=0; fake env FAKE_AZ_FAIL="vm create" "$VM" "${FLAGS[@]}" --keep run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "--keep: exit 3" 3 "$rc"
check "--keep: nothing deleted, the delete command printed" bash -c \
  '! grep -q "group delete" "$1" && grep -q "destroy --group casbench-" "$2"' _ "$FAKE_LOG" "$TMPD/err"

# ---- signals during a run: SIGTERM, SIGINT, and SIGTERM to a matrix ----
# wait_for_log PATTERN: until the fake has logged a call (at most ~10 s).
wait_for_log() { local _; for _ in $(seq 1 100); do grep -q "$1" "$FAKE_LOG" && return 0; sleep 0.1; done; return 1; }
: >"$FAKE_LOG"
env PATH="$FAKEPATH" FAKE_AZ_SLEEP="vm create" "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 &
pid=$!
wait_for_log "^az vm create" || fail "SIGTERM test: vm create never started"
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
grp=$(grep -oE "az group create --name $G" "$FAKE_LOG" | awk '{print $5}')
check_eq "SIGTERM during vm create: exit 143" 143 "$rc"
check_eq "SIGTERM during vm create: the group is deleted" 1 "$(grep -c "^az group delete --name $grp --yes" "$FAKE_LOG")"
check "SIGTERM during vm create: the stalled az was ended, not waited for" bash -c '! grep -q "^az-finished" "$1"' _ "$FAKE_LOG"

# A shell script's background job ignores SIGINT; start it with SIGINT's
# default disposition, as a terminal's foreground job has it.
: >"$FAKE_LOG"
env PATH="$FAKEPATH" FAKE_AZ_SLEEP="vm create" "$PY" -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 &
pid=$!
wait_for_log "^az vm create" || fail "SIGINT test: vm create never started"
kill -INT "$pid"; rc=0; wait "$pid" || rc=$?
check_eq "SIGINT (Ctrl-C) during vm create: exit 130" 130 "$rc"
check "SIGINT during vm create: the group is deleted" grep -q "^az group delete --name casbench-" "$FAKE_LOG"

: >"$FAKE_LOG"
env PATH="$FAKEPATH" FAKE_AZ_SLEEP="vm create" "$VM" "${FLAGS[@]}" matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ "$(grep -c '^az vm create' "$FAKE_LOG")" = 2 ] && break; sleep 0.1; done
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
check_eq "SIGTERM to a matrix: exit 143" 143 "$rc"
for s in d2s-v5 d4s-v5; do
  check_eq "SIGTERM to a matrix: the $s group is deleted" 1 "$(grep -cE "^az group delete --name casbench-$s-" "$FAKE_LOG")"
done

# ---- a matrix with fakes: one run directory per size ----
: >"$FAKE_LOG"; rm -rf "$TMPD/results"/*
fake "$VM" "${FLAGS[@]}" matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>&1
check_eq "fake matrix exits 0" 0 "$?"
check_eq "fake matrix: one run directory per size" "casbench-vm2-20261126T000000Z casbench-vm4-20261126T000000Z" \
  "$(find "$TMPD/results" -mindepth 2 -name matrix.tsv -printf '%h\n' | xargs -n1 basename | sort | paste -sd' ')"
check_eq "fake matrix: both groups deleted" 2 "$(grep -c '^az group delete' "$FAKE_LOG")"
: >"$FAKE_LOG"
rc=0; fake env FAKE_AZ_FAIL="vm auto-shutdown" "$VM" "${FLAGS[@]}" matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>&1 || rc=$?
check_eq "matrix with failing runs: exit 3" 3 "$rc"
check_eq "matrix with failing runs: both groups deleted" 2 "$(grep -c '^az group delete' "$FAKE_LOG")"
: >"$FAKE_LOG"
rc=0; fake "$VM" "${FLAGS[@]}" fetch --group casbench-d2s-v5-x >/dev/null 2>&1 || rc=$?
check_eq "fetch never overwrites a run directory" 3 "$rc"

# ---- price: only the Linux pay-as-you-go row of the API's answer (made-up prices) ----
cat >"$TMPD/bin/curl" <<'EOF'
#!/bin/bash
echo "curl $*" >>"$FAKE_LOG"
cat <<'JSON'
{"Items": [
 {"retailPrice": 1.25, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5", "productName": "Virtual Machines Dsv5 Series", "effectiveStartDate": "2020-01-01T00:00:00Z"},
 {"retailPrice": 2.5, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5", "productName": "Virtual Machines Dsv5 Series Windows"},
 {"retailPrice": 0.25, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5 Spot", "productName": "Virtual Machines Dsv5 Series"},
 {"retailPrice": 0.5, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5 Low Priority", "productName": "Virtual Machines Dsv5 Series"}
]}
JSON
EOF
chmod +x "$TMPD/bin/curl"
: >"$FAKE_LOG"
check_eq "price: the Linux pay-as-you-go row alone" \
  "$(printf 'Standard_D2s_v5\twestus2\t1.25 USD/hour\t2020-01-01\tVirtual Machines Dsv5 Series')" \
  "$(fake "$VM" --location westus2 price Standard_D2s_v5 2>&1)"
check "price: asks for that size, region and Consumption prices" \
  grep -q "armRegionName eq 'westus2' and armSkuName eq 'Standard_D2s_v5' and priceType eq 'Consumption'" "$FAKE_LOG"
rm "$TMPD/bin/curl"

# ---- bad flags and environment ----
check_error_prog "unknown flag" 1 vm-manage.sh "$VM" --frobnicate run
check_error_prog "no command" 1 vm-manage.sh "$VM"
check_error_prog "unknown command" 1 vm-manage.sh "$VM" launch
check_error_prog "flag without value" 1 vm-manage.sh "$VM" run --size
check_error_prog "wait without --group" 1 vm-manage.sh "$VM" --dry-run --ssh-key "$KEY" wait
check_error_prog "matrix with --group" 1 vm-manage.sh "$VM" --dry-run --group g1 matrix Standard_D2s_v5
check_error_prog "matrix without sizes" 1 vm-manage.sh "$VM" --dry-run matrix
check_error_prog "--repo-url without --commit" 1 vm-manage.sh "$VM" --dry-run --repo-url https://example.org/x.git run
check_error_prog "bad --my-ip" 2 vm-manage.sh "$VM" --dry-run --my-ip 300.1.2.3 run
check_error_prog "bad --commit" 2 vm-manage.sh "$VM" --dry-run --repo-url https://example.org/x.git --commit xyz run
check_error_prog "URL with a credential" 2 vm-manage.sh "$VM" --dry-run --repo-url https://u:secret@example.org/x.git --commit 0123abc run
check_error_prog "bad size" 2 vm-manage.sh "$VM" --dry-run --ssh-key "$KEY" --size 'D2s v5;rm' run
check_error_prog "a size twice in a matrix" 2 vm-manage.sh "$VM" --dry-run --ssh-key "$KEY" matrix Standard_D2s_v5 Standard_D2s_v5
check_error_prog "bad --timeout" 2 vm-manage.sh "$VM" --dry-run --timeout 0 run
check_error_prog "missing key" 3 vm-manage.sh "$VM" --dry-run --ssh-key "$TMPD/nope.pub" run
mkdir -p "$TMPD/noaz"
for t in bash dirname mktemp rm sed cat; do ln -sf "$(command -v "$t")" "$TMPD/noaz/$t"; done
check_error_prog "no az on PATH" 3 vm-manage.sh env PATH="$TMPD/noaz" HOME="$TMPD" "$VM" --ssh-key "$KEY" --my-ip 198.51.100.1 destroy --group g1
check "--help exits 0 and documents the exit statuses" bash -c '"$1" --help | grep -q "^exit status:"' _ "$VM"
check "nothing in infra/ carries a subscription id or a private key" bash -c \
  '! grep -rEiq "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|BEGIN [A-Z ]*PRIVATE KEY" infra/'

# ---- provision.sh ----
infra/provision.sh >/dev/null 2>&1; rc1=$?
out2=$(infra/provision.sh 2>&1); rc2=$?
check_eq "provision.sh: first run exits 0" 0 "$rc1"
check_eq "provision.sh: second run exits 0" 0 "$rc2"
check "provision.sh: second run installs nothing" bash -c 'grep -q "nothing to do" <<<"$1" && ! grep -q installing <<<"$1"' _ "$out2"
check_eq "provision.sh --check: 0 when nothing is missing" 0 "$(infra/provision.sh --check >/dev/null 2>&1; echo $?)"
# A dpkg-query that reports one package absent.
cat >"$TMPD/bin/dpkg-query" <<'EOF'
#!/bin/bash
if [ "${*: -1}" = zstd ]; then exit 1; fi
exec /usr/bin/dpkg-query "$@"
EOF
chmod +x "$TMPD/bin/dpkg-query"
rc=0; err=$(PATH="$TMPD/bin:$PATH" infra/provision.sh --check 2>&1 >/dev/null) || rc=$?
check_eq "provision.sh --check: 1 when a package is missing" 1 "$rc"
check_eq "provision.sh --check: names the missing package" "provision.sh: missing: zstd" "${err% }"
check_eq "provision.sh --list: the package list" "$(infra/provision.sh --list | wc -l)" "$(infra/provision.sh --list | sort -u | wc -l)"
check_error_prog "provision.sh: bad argument" 2 provision.sh infra/provision.sh --frob
printf 'ID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n' >"$TMPD/os-release"
check_error_prog "provision.sh: unsupported system" 3 provision.sh env CASBENCH_OS_RELEASE="$TMPD/os-release" infra/provision.sh
check_error_prog "provision.sh --check: unsupported system" 3 provision.sh env CASBENCH_OS_RELEASE="$TMPD/os-release" infra/provision.sh --check
check "provision.sh: the unsupported message names the system" bash -c \
  'CASBENCH_OS_RELEASE="$1" infra/provision.sh 2>&1 | grep -q "unsupported system .Fedora Linux 40."' _ "$TMPD/os-release"
printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$TMPD/os-noble"
check_eq "provision.sh: Ubuntu 24.04 is supported" 0 "$(CASBENCH_OS_RELEASE="$TMPD/os-noble" infra/provision.sh --check >/dev/null 2>&1; echo $?)"
