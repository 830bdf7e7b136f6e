#!/bin/bash
# End-to-end test of tools/slurm on a one-node Slurm cluster started on this machine.
#
#   tools/slurm/test_slurm.sh [N]        # as root; N shards (default 3)
#
# 1. starts munged, slurmctld and slurmd as root with every file under $WORK (default
#    /tmp/rlhf-slurm-test; set RLHF_SLURM_TEST_DIR), a private munge socket and ports
#    16817/16818 (RLHF_SLURM_PORT), so nothing system-wide is read or changed; waits for the
#    node to be idle;
# 2. runs an unsharded `deno task sweep canonical --preset tiny` as the reference;
# 3. submits tools/slurm/submit.sh N tiny $WORK/sharded (the array and its afterok merge) and
#    waits for both;
# 4. checks with compare_summaries.ts that the merged summary holds the same runs and values
#    as the reference;
# 5. stops the daemons it started (by their PID files) and removes $WORK (KEEP=1 keeps it).
#
# Needs root, Debian's slurm-wlm (slurmctld, slurmd, the client commands) and munge, and deno
# with `deno install` done. Safe to rerun: daemons left by an earlier run under $WORK are
# stopped first. Not part of `deno task test`; takes about a minute on 2 cores.
set -euo pipefail

shards=${1:-3}
work=${RLHF_SLURM_TEST_DIR:-/tmp/rlhf-slurm-test}
port=${RLHF_SLURM_PORT:-16817}
timeout_s=${RLHF_SLURM_TIMEOUT:-600}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
start=$SECONDS

say() { echo "[test_slurm $((SECONDS - start))s] $*"; }
die() { echo "[test_slurm] FAIL: $*" >&2; exit 1; }

[[ $shards =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$shards'"
[[ $(id -u) -eq 0 ]] || die "run as root: slurmd must start jobs, munged must own its key"
for cmd in munged munge slurmctld slurmd sbatch squeue sinfo scontrol deno; do
  command -v "$cmd" >/dev/null ||
    die "$cmd not found; install slurm-wlm and munge (apt-get install slurm-wlm munge) and deno"
done
case "$work" in /tmp/*) ;; *) die "RLHF_SLURM_TEST_DIR must be under /tmp (the tasks write only results/ and /tmp)" ;; esac

# Stop a daemon from its PID file if that PID still runs the named program.
stop_pid() {
  local file=$1 name=$2 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    [[ -d /proc/$pid ]] && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop_all() {
  stop_pid "$work/slurm/slurmd.pid" slurmd
  stop_pid "$work/slurm/slurmctld.pid" slurmctld
  stop_pid "$work/munge/munged.pid" munged
}

show_logs() {
  for f in "$work"/slurm/log/*.log "$work"/sharded/slurm-logs/*.out; do
    [[ -f $f ]] || continue
    echo "---- $f (last 15 lines)" >&2
    tail -n 15 "$f" >&2
  done
}

finish() {
  local code=$?
  [[ $code -ne 0 ]] && show_logs
  stop_all
  if [[ ${KEEP:-0} == 1 ]]; then say "kept $work"; else rm -rf "$work"; fi
  if [[ $code -eq 0 ]]; then say "PASS in $((SECONDS - start)) s"; fi
  exit "$code"
}

# A previous run's daemons, if it was killed before its cleanup.
stop_all
rm -rf "$work"
trap finish EXIT
mkdir -p "$work"/{munge,slurm/state,slurm/spool,slurm/log,reference,sharded}

say "starting munged (private key and socket under $work/munge)"
chmod 755 "$work/munge" # munged wants its socket directory searchable by all
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$work/munge/munge.key"
else
  dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 400 "$work/munge/munge.key"
socket="$work/munge/munge.socket"
munged --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed"
munge -S "$socket" -n | unmunge -S "$socket" >/dev/null || die "munge cannot round-trip a credential"

say "writing slurm.conf for $(hostname -s) on 127.0.0.1:$port"
host=$(hostname -s)
export SLURM_CONF="$work/slurm/slurm.conf"
touch "$work/slurm/plugstack.conf" # keeps the system's plugstack.conf out
cat >"$SLURM_CONF" <<EOF
ClusterName=rlhftest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/log/slurmctld.log
SlurmdLogFile=$work/slurm/log/slurmd.log
PlugStackConfig=$work/slurm/plugstack.conf
# No cgroups in a container: plain process tracking, no task binding, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# "Enough CPUs": 4 slots whatever the machine has, so two 2-CPU shards run side by side.
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

say "starting slurmctld and slurmd (jobs at nice 10)"
slurmctld -c -f "$SLURM_CONF"
slurmd -n 10 -f "$SLURM_CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1 || true)
  [[ $state == idle ]] && break
  sleep 0.5
done
[[ ${state:-} == idle ]] || die "node not idle after 30 s (state: '${state:-none}')"
say "node $host is idle"

say "reference: unsharded tiny sweep"
(cd "$root" && nice -n 10 deno task sweep canonical --preset tiny --results "$work/reference") \
  >"$work/reference.log" 2>&1 || { tail -n 20 "$work/reference.log" >&2; die "reference sweep failed"; }

say "submitting $shards shards and the merge"
read -r array merge < <("$here/submit.sh" "$shards" tiny "$work/sharded") || true
[[ $array =~ ^[0-9]+$ && $merge =~ ^[0-9]+$ ]] || die "submit.sh did not print two job ids"
say "array job $array, merge job $merge"

deadline=$((SECONDS + timeout_s))
while [[ -n $(squeue -h -j "$array,$merge" 2>/dev/null) ]]; do
  ((SECONDS < deadline)) || die "jobs still queued or running after ${timeout_s} s"
  sleep 2
done
states=$(scontrol -o show job "$array" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | xargs)
merged=$(scontrol -o show job "$merge" | grep -o 'JobState=[A-Z_]*')
say "array tasks: $states; merge: $merged"
[[ $states == "$shards JobState=COMPLETED" ]] || die "not every shard completed: $states"
[[ $merged == JobState=COMPLETED ]] || die "the merge did not complete: $merged"

say "comparing the merged summary with the reference"
(cd "$root" && deno run --allow-read tools/slurm/compare_summaries.ts \
  "$work/reference/canonical_tiny/summary.csv" "$work/sharded/canonical_tiny/summary.csv") ||
  die "merged summary differs from the unsharded sweep"
