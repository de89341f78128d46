#!/usr/bin/env bash
# infra/: shellcheck over every shell script, the cloud-init schema, the VM-side
# runner with fakes of what only a VM has, vm-manage.sh in --dry-run and against
# tests/fakes/ (an az that keeps the subscription's state and answers like the
# service, an ssh that logs in only with the VM's key): never a group it did not
# create, failures and signals destroy what was created after fetching what
# finished, under gawk and mawk; and provision.sh. Nothing here talks to Azure;
# see infra/README.md for what only runs there.
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
sed 's/^runcmd:$/runcmd: 3/; /^  - \[systemd-run/d' infra/cloud-init.yaml >"$TMPD/bad-ci.yaml"
check_eq "cloud-init schema (control) rejects a broken copy" 1 \
  "$(cloud-init schema --config-file "$TMPD/bad-ci.yaml" >/dev/null 2>&1; echo $?)"
check "cloud-init.yaml starts with #cloud-config" test "$(head -n 1 infra/cloud-init.yaml)" = "#cloud-config"
check_eq "cloud-init: bootcmd stops and masks apt-daily*, unattended-upgrades before cloud-init's own steps" \
  "mask --now apt-daily-upgrade.service apt-daily-upgrade.timer apt-daily.service apt-daily.timer unattended-upgrades.service" \
  "$("$PY" -c '
import yaml
c = yaml.safe_load(open("infra/cloud-init.yaml"))["bootcmd"][0]
print(" ".join(c[1:3] + sorted(c[3:])) if c[0] == "systemctl" else c)')"

# ---- the VM side: cloud-init's runner script, run here with fakes of what only a VM has ----
# Every fake logs to $VM_LOG, so the order of the steps can be read back.
mkdir -p "$TMPD/vmbin"
cat >"$TMPD/vmbin/make" <<'EOF'
#!/bin/bash
echo "make $*" >>"$VM_LOG"
case "$1" in
  -n) [ "$2" = reproduce ] && [ -z "${FAKE_MAKE_NO_REPRODUCE:-}" ] && exit 0
      echo "make: *** No rule to make target '$2'.  Stop." >&2; exit 2 ;;
  bench) mkdir -p results/casbench-vmtest-20261126T000000Z && echo ok >results/casbench-vmtest-20261126T000000Z/matrix.tsv
         echo "cpu 190 0 100 800 0 0 0 10 0 0" >"$CASBENCH_VM_PROC_STAT"   # 10 of 100 jiffies stolen
         exit "${FAKE_MAKE_RC:-0}" ;;
  reproduce) mkdir -p results/casbench-vmtest-20261126T000100Z-python && echo ok >results/casbench-vmtest-20261126T000100Z-python/matrix.tsv ;;
esac
EOF
for t in systemctl cloud-init dpkg apt-get; do
  printf '#!/bin/bash\necho "%s $*" >>"$VM_LOG"\n' "$t" >"$TMPD/vmbin/$t"
done
cat >"$TMPD/vmbin/lscpu" <<'EOF'
#!/bin/bash
printf 'Architecture:        x86_64\nModel name:          Fake Xeon 8370C\nThread(s) per core:  2\n'
EOF
# sleep: the load settles while the runner waits.
cat >"$TMPD/vmbin/sleep" <<'EOF'
#!/bin/bash
echo "sleep $*" >>"$VM_LOG"
echo "0.05 0.50 0.60 1/100 4242" >"$CASBENCH_VM_LOADAVG"
EOF
# dpkg-query: the VM's packages all installed (provision.sh then has nothing to do).
printf '#!/bin/bash\necho "ii "\n' >"$TMPD/vmbin/dpkg-query"
chmod +x "$TMPD/vmbin/"*
# metaflow's repository, with the PR's head where GitHub keeps it.
mf=$TMPD/metaflow.git
if ! { git init -q "$mf" && git -C "$mf" -c user.name=t -c user.email=t@t commit -q --allow-empty -m master \
  && git -C "$mf" -c user.name=t -c user.email=t@t commit -q --allow-empty -m pr3090 \
  && git -C "$mf" update-ref refs/pull/3090/head HEAD && git -C "$mf" reset -q --hard HEAD~1; }; then fail "metaflow fixture"; fi
head=$(git rev-parse HEAD)
# Debian's awk is mawk, but installing gawk makes it the awk: both run here,
# the runner (AWK=mawk|gawk vm_run ...) and vm-manage.sh (below).
for a in gawk mawk; do
  mkdir -p "$TMPD/awk-$a"; ln -sf "$(command -v "$a")" "$TMPD/awk-$a/awk"
done
# [AWK=gawk|mawk] vm_run NAME URL COMMIT BENCH_ARGS: runs the runner in $TMPD/vm-NAME; the marker's fields land in $marker.
vm_run() {
  local d=$TMPD/vm-$1
  mkdir -p "$d"
  printf 'CASBENCH_REPO_URL=%q\nCASBENCH_COMMIT=%q\nCASBENCH_BENCH_ARGS=%q\n' "$2" "$3" "$4" >"$d/source.env"
  echo "0.90 0.50 0.60 1/100 4242" >"$d/loadavg"
  echo "cpu 100 0 100 800 0 0 0 0 0 0" >"$d/stat"
  env PATH="$TMPD/vmbin:$TMPD/awk-${AWK:-mawk}:$PATH" VM_LOG="$d/vm.log" CASBENCH_VM_STATE="$d/state" CASBENCH_VM_SRC="$d/src" \
    CASBENCH_VM_SOURCE_ENV="$d/source.env" CASBENCH_VM_METAFLOW_URL="${MF_URL:-file://$mf}" \
    CASBENCH_VM_LOADAVG="$d/loadavg" CASBENCH_VM_PROC_STAT="$d/stat" CASBENCH_VM_LOAD_POLL=1 \
    bash "$TMPD/cloud-init-runner.sh" >/dev/null 2>&1
  marker=$(grep -E '^(status|run_dir|more_dirs)=' "$d/state/done" 2>/dev/null | paste -sd'|')
  makes=$(grep '^make ' "$d/vm.log" 2>/dev/null | paste -sd'|')
}
vmfact() { awk -F'\t' -v k="$2" '$1 == k { print $2 }' "$TMPD/vm-$1/state/vm.tsv"; }
vm_run clone "$PWD" "$head" ""
d=$TMPD/vm-clone/src/tree/results
check_eq "VM runner, clone mode: marker status 0, make bench's run directory, make reproduce's" \
  "status=0|run_dir=$d/casbench-vmtest-20261126T000000Z|more_dirs=$d/casbench-vmtest-20261126T000100Z-python" "$marker"
check_eq "VM runner, clone mode: the commit asked for is checked out" "$head" "$(git -C "$TMPD/vm-clone/src/tree" rev-parse HEAD)"
check_eq "VM runner, no bench args: 'make bench' with the Makefile's own BENCH_ARGS, then the reproduction" \
  "make bench|make -n reproduce|make reproduce METAFLOW=$TMPD/vm-clone/src/metaflow METAFLOW_PR=$TMPD/vm-clone/src/metaflow-pr3090" "$makes"
check_eq "VM runner: metaflow master and refs/pull/3090/head checked out" \
  "$(git -C "$mf" rev-parse HEAD) $(git -C "$mf" rev-parse refs/pull/3090/head)" \
  "$(git -C "$TMPD/vm-clone/src/metaflow" rev-parse HEAD) $(git -C "$TMPD/vm-clone/src/metaflow-pr3090" rev-parse HEAD)"
check "VM runner: provision.sh ran (its log line)" grep -q "^provision.sh: " "$TMPD/vm-clone/state/bench.log"
# at_vm NAME ERE: the line number of the first VM-side call matching ERE.
at_vm() { grep -nE "$2" "$TMPD/vm-$1/vm.log" | head -n 1 | cut -d: -f1; }
order="$(at_vm clone '^cloud-init status --wait') $(at_vm clone '^systemctl stop .*apt-daily\.timer.*unattended-upgrades') $(at_vm clone '^systemctl mask .*apt-daily-upgrade\.timer')"
order+=" $(at_vm clone '^dpkg --configure -a') $(at_vm clone '^sleep 1') $(at_vm clone '^make bench')"
check "VM runner: cloud-init waited for, apt timers stopped and masked, dpkg finished, load waited for, then make bench" \
  bash -c 'p=0; n=0; for x in $1; do [ "$x" -gt "$p" ] || exit 1; p=$x; n=$((n + 1)); done; [ "$n" = 6 ]' _ "$order"
check_eq "VM runner: vm.tsv has the CPU model, SMT siblings, load before timing, steal during the bench" \
  "Fake Xeon 8370C|yes|0.05|1|10.00|masked|$head|ok" \
  "$(for k in cpu_model vcpus_smt_siblings load_before_bench load_wait_bench_s steal_pct_during_bench apt_timers commit reproduce; do vmfact clone $k; done | paste -sd'|')"
# Why the runner must leave BENCH_ARGS out: on make's command line an empty value
# overrides the Makefile's `BENCH_ARGS ?=` default (checked on the real Makefile).
check "the Makefile: an empty BENCH_ARGS= on the command line changes what make bench runs" bash -c \
  'a=$(make -n bench 2>/dev/null | grep -m1 "casbench run"); b=$(make -n bench BENCH_ARGS= 2>/dev/null | grep -m1 "casbench run")
   [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]'
AWK=gawk vm_run args "$PWD" "$head" "--quick --payload config"
check_eq "VM runner (under gawk; mawk above), bench args given: make bench BENCH_ARGS=..., the same load and steal" \
  "make bench BENCH_ARGS=--quick --payload config|0.05|10.00" \
  "$(cut -d'|' -f1 <<<"$makes")|$(vmfact args load_before_bench)|$(vmfact args steal_pct_during_bench)"
FAKE_MAKE_NO_REPRODUCE=1 vm_run norepro "$PWD" "$head" ""
check_eq "VM runner, a Makefile without 'reproduce': make bench, the reproduction skipped and said so, status 0" \
  "make bench|make -n reproduce|status=0|absent (no make target)" \
  "$makes|${marker%%|*}|$(vmfact norepro reproduce)"
check "VM runner, no 'reproduce': the log says the reproduction is skipped" \
  grep -q "no 'reproduce' target: the Python reproduction is skipped" "$TMPD/vm-norepro/state/bench.log"
MF_URL=file://$TMPD/nowhere.git vm_run nometaflow "$PWD" "$head" ""
check_eq "VM runner, metaflow cannot be cloned: make bench still runs, no reproduce, status 3" \
  "make bench|status=3" "$makes|${marker%%|*}"
vm_run badcommit "$PWD" 0000000 ""
check_eq "VM runner, a commit that does not exist: status 3, no run directory, no make" "status=3|run_dir=|more_dirs=|" \
  "$marker|$makes"
FAKE_MAKE_RC=2 vm_run makefails "$PWD" "$head" ""
check_eq "VM runner, make bench failing: its status, and the run directory it left" \
  "status=2|run_dir=$TMPD/vm-makefails/src/tree/results/casbench-vmtest-20261126T000000Z" "$(cut -d'|' -f1-2 <<<"$marker")"
mkdir -p "$TMPD/vm-copy/src/tree"
git archive HEAD | tar -x -C "$TMPD/vm-copy/src/tree" && touch "$TMPD/vm-copy/src/.copied"
vm_run copy "" "$head" ""
check_eq "VM runner, copy mode: status 0, make told the commit (no .git in a copy)" \
  "status=0|make bench GIT_COMMIT=${head:0:12}" "${marker%%|*}|$(cut -d'|' -f1 <<<"$makes")"

# ---- fakes of az, ssh, scp that keep Azure's state (tests/fakes/) ----
mkdir -p "$TMPD/bin" "$TMPD/state" "$TMPD/results" "$TMPD/nohome"
export FAKE_LOG=$TMPD/calls.log CASBENCH_STATE_DIR=$TMPD/state FAKE_AZ_STATE=$TMPD/az-state
FAKEPATH=$PWD/tests/fakes:$TMPD/bin:$PATH
# vm-manage.sh reads az's JSON with the first python3 on PATH: Debian's here
# (the pyenv shim ahead of it on some machines costs a third of a second a call).
ln -s "$PY" "$TMPD/bin/python3"
# (Not for a command whose pid a test signals: a function runs in a subshell.)
fake() { env PATH="$FAKEPATH" HOME="$TMPD/nohome" "$@"; }
FLAGS=(--my-ip 198.51.100.77 --results "$TMPD/results" --poll 1 --timeout 5)
fresh() { : >"$FAKE_LOG"; rm -rf "$TMPD/results"/* "$TMPD/state"/* "$FAKE_AZ_STATE"; }
# a user's own group, as az group create would have made it
user_group() { mkdir -p "$FAKE_AZ_STATE/groups"; printf '{"name": "%s", "location": "%s", "tags": {"owner": "me"}}' "$1" "$2" >"$FAKE_AZ_STATE/groups/$1.json"; }
groups_left() { find "$FAKE_AZ_STATE/groups" -name '*.json' -printf '%f\n' 2>/dev/null | sed 's/\.json$//' | sort | paste -sd' '; }
at() { grep -nE "$1" "$FAKE_LOG" | head -n 1 | cut -d: -f1; }
in_order() { bash -c 'p=0; n=0; for x in $1; do [ "$x" -gt "$p" ] || exit 1; p=$x; n=$((n + 1)); done; [ "$n" = "$2" ]' _ "$1" "$2"; }

# ---- --dry-run matrix, on a machine with no ~/.ssh ----
fresh
fake "$VM" --dry-run --results "$TMPD/results" matrix Standard_D2s_v5 Standard_D4s_v5 >"$TMPD/dry.out" 2>"$TMPD/dry.err"
check_eq "dry-run matrix, no ~/.ssh: exits 0" 0 "$?"
check_eq "dry-run runs no az, ssh or scp" "" "$(cat "$FAKE_LOG")"
check "dry-run prints the public-address lookup once and uses 203.0.113.7" \
  test "$(grep -c '^+ curl .*203\.0\.113\.7' "$TMPD/dry.out")" = 1
check "dry-run: one pre-flight for all sizes, before any run" bash -c \
  'grep -q "^+ az vm list-usage --location eastus" "$1" && grep -q "^+ az vm list-skus --location eastus --size Standard_D4s_v5 .*--all" "$1"' _ "$TMPD/dry.out"
for s in Standard_D2s_v5 Standard_D4s_v5; do
  out=$(grep -F "[$s] + " "$TMPD/dry.out")
  grp=$(grep -oE "az group create --name $G" <<<"$out" | awk '{print $5}')
  check "dry-run $s: checks the name is free, then creates the group with the casbench tags" \
    grep -Eq "az group create --name $grp --location eastus --tags project=casbench casbench-run=[0-9a-f]{12} expires=[0-9-]{10}T[0-9:]{8}Z" <<<"$out"
  check "dry-run $s: a fresh ed25519 key for the run" grep -Eq "ssh-keygen -q -t ed25519 -N '' -C $grp -f $TMPD/state/$grp/id_ed25519" <<<"$out"
  check "dry-run $s: vm create with size $s, Ubuntu 24.04 and the run's key" \
    grep -Eq -- "az vm create --resource-group $grp .*--size $s --image Canonical:ubuntu-24_04-lts:server:latest .*--authentication-type ssh --ssh-key-values $TMPD/state/$grp/id_ed25519.pub" <<<"$out"
  check "dry-run $s: vm create uses the NSG and the cloud-init file" \
    grep -Eq -- "az vm create .*--nsg $grp-nsg .*--custom-data [^ ]+/cloud-init\.yaml" <<<"$out"
  check_eq "dry-run $s: exactly one NSG rule, port 22 from one /32 address" 1 \
    "$(grep -E -- "az network nsg rule create --resource-group $grp --nsg-name $grp-nsg .*--source-address-prefixes 203\.0\.113\.7/32 .*--destination-port-ranges 22( |$)" <<<"$out" | grep -vc -- '--source-address-prefixes [^ ]* [0-9]')"
  check_eq "dry-run $s: no other NSG rule" 1 "$(grep -c 'nsg rule create' <<<"$out")"
  check "dry-run $s: auto-shutdown scheduled" grep -Eq "az vm auto-shutdown --resource-group $grp --name [^ ]+ --time [0-9]{4}" <<<"$out"
  check "dry-run $s: the project copied over scp with IdentitiesOnly" grep -Eq "scp -i $TMPD/state/$grp/id_ed25519 -o IdentitiesOnly=yes .*casbench\.tar\.gz casbench@192\.0\.2\.10:" <<<"$out"
  check "dry-run $s: waits for the marker" grep -Fq "casbench@192.0.2.10 test -e /var/lib/casbench/done" <<<"$out"
  check "dry-run $s: fetches the run directory into results" \
    grep -Eq "scp -r .*casbench@192\.0\.2\.10:/opt/casbench/tree/results/[^ ]+ $TMPD/results/" <<<"$out"
  check "dry-run $s: ends checking its tag, cancelling deployments, deleting and waiting for the deletion" bash -c \
    'grep -A5 "az group show --name $2 --output json" <<<"$1" | tr "\n" " " | grep -Eq "deployment group list --resource-group $2 .*az group delete --name $2 --yes --no-wait .*az group wait --name $2 --deleted .*az group exists --name $2"' _ "$out" "$grp"
done
check_eq "dry-run: two different groups" 2 "$(grep -oE "az group create --name $G" "$TMPD/dry.out" | sort -u | wc -l)"
check_eq "dry-run: nothing written to results or the state directory" "" "$(find "$TMPD/results" "$TMPD/state" -mindepth 1)"
fake "$VM" --dry-run --my-ip 198.51.100.5 --expire-hours 30 run >"$TMPD/dry2.out" 2>"$TMPD/dry2.err"
check "dry-run with --my-ip: no lookup, that address /32" \
  bash -c '! grep -q curl "$1" && grep -q -- "--source-address-prefixes 198.51.100.5/32" "$1"' _ "$TMPD/dry2.out"
check "--expire-hours 30: no daily auto-shutdown (it would fire before the expiry), and a warning says so" bash -c \
  '! grep -q "auto-shutdown" "$1" && grep -q "no auto-shutdown: it is daily" "$2"' _ "$TMPD/dry2.out" "$TMPD/dry2.err"
fake "$VM" --dry-run --my-ip 198.51.100.5 --repo-url https://example.org/casbench.git --commit 0123abc run >"$TMPD/dry3.out" 2>/dev/null
check "dry-run with --repo-url: no copy over scp" bash -c '! grep -q "casbench.tar.gz" "$1" && grep -q "az vm create" "$1"' _ "$TMPD/dry3.out"

# ---- the rendered custom data, under gawk and under mawk ----
# `awk -v` processes backslash escapes (gawk warns and drops them), so the
# shell-quoted values must reach awk another way. Both awks render here.
args='--quick --payload config,weights --out "a b" x\y'
for a in gawk mawk; do
  fresh
  env PATH="$TMPD/awk-$a:$FAKEPATH" HOME="$TMPD/nohome" "$VM" "${FLAGS[@]}" --repo-url https://example.org/casbench.git \
    --commit 0123abc --bench-args "$args" create >/dev/null 2>&1
  check "$a: the rendered cloud-init passes the schema" cloud-init schema --config-file "$TMPD/custom-data.yaml"
  "$PY" -c '
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
print([f for f in doc["write_files"] if f["path"] == "/etc/casbench/source.env"][0]["content"], end="")
' "$TMPD/custom-data.yaml" >"$TMPD/source.env"
  check_eq "$a: the VM sources the URL, commit and bench args exactly as given" \
    "https://example.org/casbench.git|0123abc|$args" \
    "$(bash -c '. "$1"; echo "$CASBENCH_REPO_URL|$CASBENCH_COMMIT|$CASBENCH_BENCH_ARGS"' _ "$TMPD/source.env")"
  fresh
  env PATH="$TMPD/awk-$a:$FAKEPATH" HOME="$TMPD/nohome" "$VM" "${FLAGS[@]}" run >/dev/null 2>&1
  check_eq "$a: a whole fake run exits 0" 0 "$?"
  "$PY" -c '
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
print([f for f in doc["write_files"] if f["path"] == "/etc/casbench/source.env"][0]["content"], end="")
' "$TMPD/custom-data.yaml" >"$TMPD/source.env"
  check_eq "$a: no --bench-args: the VM gets an empty CASBENCH_BENCH_ARGS (so make bench keeps its default)" \
    "|" "$(bash -c '. "$1"; echo "$CASBENCH_REPO_URL|$CASBENCH_BENCH_ARGS"' _ "$TMPD/source.env")"
done

# ---- a fake run end to end ----
fresh
fake "$VM" "${FLAGS[@]}" run >"$TMPD/run.out" 2>"$TMPD/run.err"
check_eq "fake run exits 0" 0 "$?"
grp=$(grep -oE "az group create --name $G" "$FAKE_LOG" | awk '{print $5}')
run_dir=$TMPD/results/casbench-vm2-20261126T000000Z
check "fake run: the run directory is under results/" test -s "$run_dir/matrix.tsv"
check "fake run: make reproduce's directory too" test -s "$TMPD/results/casbench-vm2-20261126T000000Z-python/matrix.tsv"
check "fake run: the VM's log is fetched beside the results" test -s "$run_dir/vm-bench.log"
check_eq "fake run: azure.tsv has the size, resolved image version, security type, zone, disk, CPU model, SMT" \
  "Standard_D2s_v5|24.04.202611180|TrustedLaunch|2|Premium_LRS|Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz|yes|$grp" \
  "$(awk -F'\t' '{v[$1] = $2} END {print v["vm_size"] "|" v["image_version"] "|" v["security_type"] "|" v["zone"] "|" v["os_disk_type"] "|" v["cpu_model"] "|" v["vcpus_smt_siblings"] "|" v["resource_group"]}' "$run_dir/azure.tsv")"
check "fake run: azure.tsv in make reproduce's directory as well" test -s "$TMPD/results/casbench-vm2-20261126T000000Z-python/azure.tsv"
order="$(at '^az vm list-usage') $(at '^az group exists') $(at '^az group create') $(at '^az network nsg rule create') $(at '^az vm create') $(at '^az vm auto-shutdown')"
order+=" $(at '^scp .*casbench\.tar\.gz') $(at '^ssh .* test -e /var/lib/casbench/done') $(at '^scp -r') $(at '^az group show') $(at '^az group delete') $(at '^az group wait .*--deleted')"
check "fake run: preflight, name free, group, NSG rule, VM, shutdown, copy, wait, fetch, tag check, delete, confirm: in order" \
  in_order "$order" 12
check_eq "fake run: the group is gone, and so is the run's key" "|" "$(groups_left)|$(find "$TMPD/state" -mindepth 1)"
check "fake run: the VM was given a key made for the run, under the state directory" \
  grep -Eq -- "--ssh-key-values $TMPD/state/$grp/id_ed25519.pub" "$FAKE_LOG"
check_eq "fake run: nothing on stdout" "" "$(cat "$TMPD/run.out")"

# ---- defect 1: never touch a group casbench did not create ----
fresh; user_group mine westus
rc=0; fake "$VM" "${FLAGS[@]}" --group mine --location eastus run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "--group naming the user's group (another region): refused (exit 2), nothing created or deleted" \
  "2|0|0|mine" "$rc|$(grep -c '^az group create' "$FAKE_LOG")|$(grep -c '^az group delete' "$FAKE_LOG")|$(groups_left)"
fresh; user_group mine eastus
rc=0; fake "$VM" "${FLAGS[@]}" --group mine run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "--group naming the user's group (same region): refused, its tags untouched, nothing deleted" \
  '2|0|{"owner": "me"}' "$rc|$(grep -cE '^az group (create|delete)' "$FAKE_LOG")|$("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["tags"]))' "$FAKE_AZ_STATE/groups/mine.json")"
# The race the check cannot close: the group appears between `exists` and `create`.
fresh
rc=0; fake env FAKE_AZ_RACE="mine:westus" "$VM" "${FLAGS[@]}" --group mine run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "a group made by someone else (another region) between the check and the create: create fails, nothing deleted" \
  "3|1|0|mine" "$rc|$(grep -c '^az group create' "$FAKE_LOG")|$(grep -c '^az group delete' "$FAKE_LOG")|$(groups_left)"
check "... and the message is Azure's (InvalidResourceGroupLocation), the key made for it removed" \
  bash -c 'grep -q "InvalidResourceGroupLocation" "$1" && [ -z "$(find "$2" -mindepth 1)" ]' _ "$TMPD/err" "$TMPD/state"
fresh; user_group mine eastus
rc=0; fake "$VM" destroy --group mine >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "destroy of a group without the project=casbench tag: refused (exit 2), not deleted" \
  "2|0|mine" "$rc|$(grep -c '^az group delete' "$FAKE_LOG")|$(groups_left)"

# ---- injected failures: whatever fails after our create, our group is deleted ----
for failing in "network nsg rule create" "vm create" "vm list-ip-addresses"; do
  fresh
  rc=0; fake env FAKE_AZ_FAIL="$failing" "$VM" "${FLAGS[@]}" run >/dev/null 2>"$TMPD/err" || rc=$?
  check_eq "failing 'az $failing': exit 3, the group deleted and confirmed gone" "3|1|" \
    "$rc|$(grep -c '^az group wait .*--deleted' "$FAKE_LOG")|$(groups_left)"
done
# ---- defect 10: auto-shutdown is a safety net ----
fresh
rc=0; fake env FAKE_AZ_NO_DEVTESTLAB=1 "$VM" "${FLAGS[@]}" run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "auto-shutdown refused (Microsoft.DevTestLab not registered): the run goes on and fetches (exit 0)" \
  "0|yes" "$rc|$([ -s "$TMPD/results/casbench-vm2-20261126T000000Z/matrix.tsv" ] && echo yes)"
check "auto-shutdown refused: a warning says so" grep -q "warning: az vm auto-shutdown failed; going on" "$TMPD/err"
before=$(date -u -d '+4 hours' +%H%M); fresh
fake "$VM" "${FLAGS[@]}" --expire-hours 4 run >/dev/null 2>&1
after=$(date -u -d '+4 hours' +%H%M)
check "--expire-hours 4: the daily shutdown is at the expiry's time of day" \
  grep -Eq -- "^az vm auto-shutdown .*--time ($before|$after)( |$)" "$FAKE_LOG"

fresh
rc=0; fake env FAKE_SCP_FAIL=1 "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 || rc=$?
check_eq "failing scp: exit 3, group deleted" "3|" "$rc|$(groups_left)"
fresh
rc=0; fake env FAKE_NO_MARKER=1 "$VM" "${FLAGS[@]}" --timeout 1 run >/dev/null 2>&1 || rc=$?
check_eq "wait timing out: exit 3, group deleted" "3|" "$rc|$(groups_left)"
fresh
rc=0; fake env FAKE_STATUS=2 "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 || rc=$?
check_eq "benchmark failing on the VM: exit 4, results and log fetched, group deleted" "4|yes|" \
  "$rc|$(ls "$TMPD/results"/*/vm-bench.log >/dev/null 2>&1 && echo yes)|$(groups_left)"
fresh
rc=0; fake env FAKE_AZ_FAIL="vm create" "$VM" "${FLAGS[@]}" --keep run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "--keep: exit 3, nothing deleted" "3|0" "$rc|$(grep -c 'group delete' "$FAKE_LOG")"
check "--keep: the delete command printed" grep -q "destroy --group casbench-" "$TMPD/err"

# ---- defect 5: SSH failures fail fast; what finished is fetched before the delete ----
fresh
rc=0; fake env FAKE_SSH_MODE=wait255 FAKE_NO_MARKER=1 FAKE_PARTIAL=1 "$VM" "${FLAGS[@]}" --timeout 600 run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "ssh exit 255 (login refused) while waiting: exit 3 after one poll, not at the timeout" \
  "3|1" "$rc|$(grep -c 'test -e /var/lib/casbench/done' "$FAKE_LOG")"
check "... the unfinished run directory and the VM's log fetched, then the group deleted" \
  in_order "$(at '^scp -r .*/results/casbench-vm2-') $(at '^scp .*bench\.log') $(at '^az group delete')" 3
check "... the error names the refusal" grep -q "SSH login refused while waiting" "$TMPD/err"
fresh
rc=0; fake env FAKE_SSH_MODE=waitdown FAKE_NO_MARKER=1 "$VM" "${FLAGS[@]}" --timeout 600 run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "connections timing out while waiting: exit 3 after three polls in a row, not at the timeout" \
  "3|3" "$rc|$(grep -c 'test -e /var/lib/casbench/done' "$FAKE_LOG")"
fresh
rc=0; fake env FAKE_SSH_MODE=refuse "$VM" "${FLAGS[@]}" --timeout 600 run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "SSH refused from the start (wrong key, passphrase): exit 3 at the first try, group deleted" \
  "3|1|" "$rc|$(grep -cE '^ssh [0-9.]+ true$' "$FAKE_LOG")|$(groups_left)"
ssh-keygen -q -t ed25519 -N '' -C other -f "$TMPD/otherkey" || fail "ssh-keygen"
fresh
rc=0; fake "$VM" "${FLAGS[@]}" --ssh-key "$TMPD/otherkey.pub" run >/dev/null 2>&1 || rc=$?
check_eq "--ssh-key FILE: the VM gets that key, the run logs in with it" "0|1" \
  "$rc|$(grep -c -- "--ssh-key-values $TMPD/otherkey.pub" "$FAKE_LOG")"

# ---- step by step: create, wait, fetch (azure.tsv on fetch too), destroy ----
fresh
grp=$(fake "$VM" "${FLAGS[@]}" create 2>/dev/null)
check "create prints the group; its key is kept, readable by the user alone" \
  bash -c '[ -n "$1" ] && [ "$(stat -c %a "$2/$1")" = 700 ] && [ -s "$2/$1/id_ed25519" ]' _ "$grp" "$TMPD/state"
check "wait --group finds the run's key" fake "$VM" "${FLAGS[@]}" wait --group "$grp"
rc=0; fake "$VM" "${FLAGS[@]}" fetch --group "$grp" >/dev/null 2>&1 || rc=$?
check_eq "fetch --group: exit 0, azure.tsv written by fetch itself" "0|24.04.202611180" \
  "$rc|$(awk -F'\t' '$1 == "image_version" {print $2}' "$TMPD/results/casbench-vm2-20261126T000000Z/azure.tsv" 2>/dev/null)"
rc=0; fake "$VM" "${FLAGS[@]}" fetch --group "$grp" >/dev/null 2>&1 || rc=$?
check_eq "fetch never overwrites a run directory" 3 "$rc"
rc=0; fake "$VM" destroy --group "$grp" >/dev/null 2>&1 || rc=$?
check_eq "destroy --group: exit 0, the group and its key gone" "0||" "$rc|$(groups_left)|$(find "$TMPD/state" -mindepth 1)"
# defect 6, bounded: a deletion that never completes
fresh
grp=$(fake "$VM" "${FLAGS[@]}" create 2>/dev/null)
rc=0; fake env FAKE_AZ_DELETE_LAG=100000 FAKE_AZ_WAIT_LOOKS=1 "$VM" destroy --group "$grp" >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "a deletion that does not complete: 3 tries, then exit 3 with the command to finish it" "3|3|yes" \
  "$rc|$(grep -c '^az group delete' "$FAKE_LOG")|$(grep -q "delete it by hand: az group delete --name $grp" "$TMPD/err" && echo yes)"

# ---- signals during a run: SIGTERM, SIGINT, SIGHUP, and SIGTERM to a matrix ----
# running_deployments N: until az vm create has started N ARM deployments.
running_deployments() {
  local _; for _ in $(seq 1 100); do
    [ "$(grep -l Running "$FAKE_AZ_STATE"/deployments/*/vm_deploy_* 2>/dev/null | wc -l)" -ge "$1" ] && return 0; sleep 0.1
  done; return 1
}
# A shell cannot trap a signal ignored when it started (nohup ignores
# SIGHUP, and a suite started under nohup passed that on): the script is
# started with the signal's default disposition, as a login session has it.
for sig in TERM HUP; do
  fresh
  env PATH="$FAKEPATH" HOME="$TMPD/nohome" FAKE_AZ_SLEEP="vm create" FAKE_AZ_DELETE_LAG=2 "$PY" -c \
    'import os, signal, sys; signal.signal(getattr(signal, "SIG" + sys.argv[1]), signal.SIG_DFL); os.execvp(sys.argv[2], sys.argv[2:])' \
    "$sig" "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 &
  pid=$!
  running_deployments 1 || fail "SIG$sig test: vm create never started"
  kill -"$sig" "$pid"; rc=0; wait "$pid" || rc=$?
  grp=$(grep -oE "az group create --name $G" "$FAKE_LOG" | awk '{print $5}')
  [ "$sig" = HUP ] && check "SIGHUP: the messages after the hang-up are in the state directory's hangup.log" \
    grep -q "is deleted" "$TMPD/state/hangup.log"
  check_eq "SIG$sig during vm create: exit $([ $sig = TERM ] && echo 143 || echo 129), the stalled az ended, not waited for" \
    "$([ $sig = TERM ] && echo 143 || echo 129)|0" "$rc|$(grep -c '^az-finished' "$FAKE_LOG")"
  check "SIG$sig during vm create: the running deployment cancelled, then the group deleted, waited for, gone" \
    bash -c 'in_order() { p=0; n=0; for x in $1; do [ "$x" -gt "$p" ] || return 1; p=$x; n=$((n + 1)); done; [ "$n" = "$2" ]; }
             in_order "$1" 3 && [ -z "$2" ]' _ \
    "$(at "^az deployment group cancel --resource-group $grp --name vm_deploy_") $(at "^az group delete --name $grp") $(at "^az group wait --name $grp --deleted")" "$(groups_left)"
done

# A shell script's background job ignores SIGINT; start it with SIGINT's
# default disposition, as a terminal's foreground job has it.
fresh
env PATH="$FAKEPATH" HOME="$TMPD/nohome" FAKE_AZ_SLEEP="vm create" "$PY" -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  "$VM" "${FLAGS[@]}" run >/dev/null 2>&1 &
pid=$!
running_deployments 1 || fail "SIGINT test: vm create never started"
kill -INT "$pid"; rc=0; wait "$pid" || rc=$?
check_eq "SIGINT (Ctrl-C) during vm create: exit 130, the group deleted" "130|" "$rc|$(groups_left)"

fresh
env PATH="$FAKEPATH" HOME="$TMPD/nohome" FAKE_AZ_SLEEP="vm create" "$VM" "${FLAGS[@]}" matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>&1 &
pid=$!
running_deployments 2 || fail "matrix SIGTERM test: the VMs' creation never started"
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
check_eq "SIGTERM to a matrix: exit 143, both groups deleted" "143|2|" "$rc|$(grep -c '^az group delete' "$FAKE_LOG")|$(groups_left)"

# ---- defect 9: matrix pre-flight, --parallel, summary ----
fresh
fake "$VM" "${FLAGS[@]}" matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>"$TMPD/err"
check_eq "fake matrix exits 0" 0 "$?"
check_eq "fake matrix: one run directory per size (and one per reproduction)" \
  "casbench-vm2-20261126T000000Z casbench-vm2-20261126T000000Z-python casbench-vm4-20261126T000000Z casbench-vm4-20261126T000000Z-python" \
  "$(find "$TMPD/results" -mindepth 2 -name matrix.tsv -printf '%h\n' | xargs -n1 basename | sort | paste -sd' ')"
check_eq "fake matrix: one pre-flight in all (the runs do not repeat it), both groups deleted" "1|2|" \
  "$(grep -c '^az vm list-usage' "$FAKE_LOG")|$(grep -c '^az group delete' "$FAKE_LOG")|$(groups_left)"
check "fake matrix: a summary table, one row per size with its status and run directory" bash -c \
  'grep -Eq "^Standard_D2s_v5 +ok +casbench-d2s-v5-.*casbench-vm2-20261126T000000Z" "$1" && grep -Eq "^Standard_D4s_v5 +ok +casbench-d4s-v5-" "$1"' _ "$TMPD/err"
fresh
rc=0; fake env FAKE_AZ_QUOTA=4 "$VM" "${FLAGS[@]}" matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "quota too small for both sizes at once (6 vCPUs, 4 free): exit 3, nothing created" "3|0" \
  "$rc|$(grep -c '^az group create' "$FAKE_LOG")"
check "quota too small: the message names the quota and the figures" \
  grep -q "quota 'Standard DSv5 Family vCPUs' in eastus: 6 vCPUs needed at once, 4 free" "$TMPD/err"
fresh
rc=0; fake env FAKE_AZ_QUOTA=4 "$VM" "${FLAGS[@]}" --parallel 1 matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>&1 || rc=$?
check_eq "the same quota with --parallel 1: both sizes run, one after the other" "0|2" \
  "$rc|$(find "$TMPD/results" -maxdepth 1 -name 'casbench-vm?-20261126T000000Z' | wc -l)"
check "--parallel 1: the second VM is created after the first group is deleted" \
  in_order "$(at '^az vm create .*--size Standard_D2s_v5') $(at '^az group delete --name casbench-d2s') $(at '^az vm create .*--size Standard_D4s_v5')" 3
fresh
rc=0; fake env FAKE_AZ_RESTRICTED=Standard_D4s_v5 "$VM" "${FLAGS[@]}" matrix Standard_D2s_v5 Standard_D4s_v5 >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "a size not available to the subscription: exit 3, nothing created, the reason given" "3|0|yes" \
  "$rc|$(grep -c '^az group create' "$FAKE_LOG")|$(grep -q 'Standard_D4s_v5: not available to this subscription in eastus (NotAvailableForSubscription)' "$TMPD/err" && echo yes)"
fresh
rc=0; fake "$VM" "${FLAGS[@]}" --size Standard_D3s_v9 run >/dev/null 2>"$TMPD/err" || rc=$?
check_eq "run with a size Azure does not offer: exit 3 before anything is created" "3|0" "$rc|$(grep -c '^az group create' "$FAKE_LOG")"

# ---- defect 11: price: primary meters, every page, a pinned api-version, Azure's case ----
cat >"$TMPD/bin/curl" <<'EOF'
#!/bin/bash
# The Retail Prices API: filter values case-sensitive (api-version 2023-01-01-preview),
# the answer in pages linked by NextPageLink. Made-up prices.
echo "curl $*" >>"$FAKE_LOG"
case "$*" in
  *"page=2"*) cat <<'JSON'
{"Items": [
 {"armSkuName": "Standard_D2s_v5", "type": "Consumption", "retailPrice": 1.25, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5", "productName": "Virtual Machines Dsv5 Series", "effectiveStartDate": "2020-01-01T00:00:00Z"},
 {"armSkuName": "Standard_D2s_v5", "type": "Consumption", "retailPrice": 0.25, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5 Spot", "productName": "Virtual Machines Dsv5 Series"}
], "NextPageLink": null}
JSON
  ;;
  *"armSkuName eq 'Standard_D2s_v5'"*) cat <<'JSON'
{"Items": [
 {"armSkuName": "Standard_D2s_v5", "type": "Consumption", "retailPrice": 2.5, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5", "productName": "Virtual Machines Dsv5 Series Windows"},
 {"armSkuName": "Standard_D2s_v5", "type": "Consumption", "retailPrice": 0.5, "currencyCode": "USD", "unitOfMeasure": "1 Hour", "meterName": "D2s v5 Low Priority", "productName": "Virtual Machines Dsv5 Series"}
], "NextPageLink": "https://prices.azure.com/api/retail/prices?page=2"}
JSON
  ;;
  *) echo '{"Items": [], "NextPageLink": null}' ;;
esac
EOF
chmod +x "$TMPD/bin/curl"
fresh
check_eq "price standard_d2s_v5: the Linux pay-as-you-go row, found on the second page" \
  "$(printf 'Standard_D2s_v5\twestus2\t1.25 USD/hour\t2020-01-01\tVirtual Machines Dsv5 Series')" \
  "$(fake "$VM" --location westus2 price standard_d2s_v5 2>&1)"
check "price: asks with a pinned api-version, primary meters, Azure's spelling of the size, Consumption" bash -c \
  'head -n 1 "$1" | grep -q "api-version=2023-01-01-preview.*meterRegion=.primary..*armRegionName eq .westus2. and armSkuName eq .Standard_D2s_v5. and priceType eq .Consumption."' _ "$FAKE_LOG"
check_eq "price: follows NextPageLink" 2 "$(grep -c '^curl' "$FAKE_LOG")"
check_error_prog "price of a size with no Linux row: one line, exit 3" 3 vm-manage.sh fake "$VM" price Standard_D9s_v9
rm "$TMPD/bin/curl"

# ---- bad flags and environment ----
check_error_prog "unknown flag" 1 vm-manage.sh "$VM" --frobnicate run
check_error_prog "no command" 1 vm-manage.sh "$VM"
check_error_prog "unknown command" 1 vm-manage.sh "$VM" launch
check_error_prog "flag without value" 1 vm-manage.sh "$VM" run --size
check_error_prog "wait without --group" 1 vm-manage.sh "$VM" --dry-run wait
check_error_prog "matrix with --group" 1 vm-manage.sh "$VM" --dry-run --group g1 matrix Standard_D2s_v5
check_error_prog "matrix without sizes" 1 vm-manage.sh "$VM" --dry-run matrix
check_error_prog "--repo-url without --commit" 1 vm-manage.sh "$VM" --dry-run --repo-url https://example.org/x.git run
check_error_prog "bad --my-ip" 2 vm-manage.sh "$VM" --dry-run --my-ip 300.1.2.3 run
check_error_prog "bad --commit" 2 vm-manage.sh "$VM" --dry-run --repo-url https://example.org/x.git --commit xyz run
check_error_prog "URL with a credential" 2 vm-manage.sh "$VM" --dry-run --repo-url https://u:secret@example.org/x.git --commit 0123abc run
check_error_prog "bad size" 2 vm-manage.sh "$VM" --dry-run --size 'D2s v5;rm' run
check_error_prog "a size twice in a matrix" 2 vm-manage.sh "$VM" --dry-run matrix Standard_D2s_v5 Standard_D2s_v5
check_error_prog "bad --timeout" 2 vm-manage.sh "$VM" --dry-run --timeout 0 run
check_error_prog "bad --parallel" 2 vm-manage.sh "$VM" --dry-run --parallel x matrix Standard_D2s_v5
check_error_prog "missing key" 3 vm-manage.sh "$VM" --dry-run --ssh-key "$TMPD/nope.pub" run
check_error_prog "wait for a group whose key this machine does not have" 3 vm-manage.sh fake "$VM" wait --group casbench-elsewhere
check_error_prog "not logged in to az" 3 vm-manage.sh fake env FAKE_AZ_LOGGED_OUT=1 "$VM" "${FLAGS[@]}" run
mkdir -p "$TMPD/noaz"
for t in bash dirname mktemp rm sed cat; do ln -sf "$(command -v "$t")" "$TMPD/noaz/$t"; done
check_error_prog "no az on PATH" 3 vm-manage.sh env PATH="$TMPD/noaz" HOME="$TMPD" "$VM" --my-ip 198.51.100.1 destroy --group g1
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
# Installing: apt-get waits for the dpkg lock instead of failing on a busy VM.
printf '#!/bin/bash\necho "apt-get $*" >>"$FAKE_LOG"\n' >"$TMPD/bin/apt-get"
chmod +x "$TMPD/bin/apt-get"
: >"$FAKE_LOG"
PATH="$TMPD/bin:$PATH" infra/provision.sh >/dev/null 2>&1
check_eq "provision.sh: apt-get update and install both wait up to 600 s for the dpkg lock" 2 \
  "$(grep -cE '^apt-get -o DPkg::Lock::Timeout=600 -qq (update|install -y --no-install-recommends zstd)$' "$FAKE_LOG")"
check "provision.sh: gawk is in the list (Debian's default awk is mawk)" bash -c 'infra/provision.sh --list | grep -qx gawk'
check_eq "provision.sh --list: the package list" "$(infra/provision.sh --list | wc -l)" "$(infra/provision.sh --list | sort -u | wc -l)"
check_error_prog "provision.sh: bad argument" 2 provision.sh infra/provision.sh --frob
printf 'ID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n' >"$TMPD/os-release"
check_error_prog "provision.sh: unsupported system" 3 provision.sh env CASBENCH_OS_RELEASE="$TMPD/os-release" infra/provision.sh
check_error_prog "provision.sh --check: unsupported system" 3 provision.sh env CASBENCH_OS_RELEASE="$TMPD/os-release" infra/provision.sh --check
check "provision.sh: the unsupported message names the system" bash -c \
  'CASBENCH_OS_RELEASE="$1" infra/provision.sh 2>&1 | grep -q "unsupported system .Fedora Linux 40."' _ "$TMPD/os-release"
printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$TMPD/os-noble"
check_eq "provision.sh: Ubuntu 24.04 is supported" 0 "$(CASBENCH_OS_RELEASE="$TMPD/os-noble" infra/provision.sh --check >/dev/null 2>&1; echo $?)"
