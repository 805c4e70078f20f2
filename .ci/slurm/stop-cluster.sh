#!/usr/bin/env bash
# Stop the test cluster that start-cluster.sh started under BASE: cancel its jobs, then stop
# slurmd, slurmctld and munged by the pids in their pid files (TERM, then KILL after 10 s).
# Harmless when nothing runs; leaves BASE in place (delete it to start from scratch).
set -uo pipefail

BASE=${1:?usage: stop-cluster.sh BASE (the directory given to start-cluster.sh)}
if [ ! -d "$BASE" ]; then
  echo "stop-cluster.sh: $BASE does not exist; nothing to stop" >&2
  exit 0
fi
BASE=$(cd "$BASE" && pwd)

alive() { # alive PIDFILE: the process named in PIDFILE is running
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# Jobs still running would leave slurmstepd processes behind once slurmd is gone.
if alive "$BASE/run/slurmctld.pid" && [ -f "$BASE/etc/slurm.conf" ]; then
  jobs=$(SLURM_CONF="$BASE/etc/slurm.conf" timeout 10 squeue -h -o '%i' 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086  # one job id per word
    SLURM_CONF="$BASE/etc/slurm.conf" timeout 10 scancel $jobs || true
    sleep 2
  fi
fi

status=0
for pidfile in "$BASE/run/slurmd.pid" "$BASE/run/slurmctld.pid" "$BASE/munge/munged.pid"; do
  alive "$pidfile" || continue
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop-cluster.sh: $(basename "$pidfile" .pid) (pid $pid) ignored TERM for 10 s; sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || status=1
  fi
done
echo "stop-cluster.sh: stopped the cluster under $BASE" >&2
exit "$status"
