#!/usr/bin/env bash
# Start a one-node SLURM 22.05 test cluster on localhost, every file under BASE.
#
#   bash .ci/slurm/start-cluster.sh BASE      (e.g. /tmp/slurm; needs root, Debian/Ubuntu)
#   source BASE/env.sh                        (SLURM_CONF and PATH for sinfo, sbatch, snakemake)
#   bash .ci/slurm/stop-cluster.sh BASE
#
# Installs munge + slurm from apt only when they are missing, then starts munged, slurmctld and
# slurmd from their pid files (a daemon already running is left alone, so a second call is
# harmless), waits until the node is idle and runs one batch job through it. Follows
# the tested one-node recipe of docs/cluster.md ("Pitfalls"); every wait is bounded.
set -euo pipefail

BASE=${1:?usage: start-cluster.sh BASE (a directory for config, state, logs and pid files)}
# Seconds to wait for the node to become idle, and for the smoke-test job to finish.
READY_TIMEOUT=${SLURM_READY_TIMEOUT:-60}
SMOKE_TIMEOUT=${SLURM_SMOKE_TIMEOUT:-60}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
  echo "start-cluster.sh: error: $*" >&2
  for log in "$BASE/munge/munged.log" "$BASE/log/slurmctld.log" "$BASE/log/slurmd.log"; do
    if [ -s "$log" ]; then
      echo "--- last lines of $log" >&2
      tail -n 15 "$log" >&2
    fi
  done
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, the munge user, slurmd); running as $(id -un)"
mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)
# munged runs as the munge user and must reach BASE/munge (mktemp -d makes BASE 0700).
chmod 0755 "$BASE"

# --- packages --------------------------------------------------------------------------------
missing=0
for exe in munged munge unmunge slurmctld slurmd sinfo sbatch srun squeue scancel; do
  command -v "$exe" >/dev/null 2>&1 || [ -x "/usr/sbin/$exe" ] || missing=1
done
if [ "$missing" -eq 1 ]; then
  echo "start-cluster.sh: installing munge and slurm (apt-get)" >&2
  # Without systemd the packages' postinst would try to start the daemons with a default config
  # and fail; policy-rc.d answering 101 tells invoke-rc.d not to start anything.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  status=0
  {
    timeout 300 apt-get update -qq &&
      timeout 600 apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client
  } >"$BASE/apt.log" 2>&1 || status=$?
  [ "$made_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$BASE/apt.log" >&2
    die "apt-get install of munge slurmctld slurmd slurm-client failed (exit $status); log in $BASE/apt.log"
  fi
fi
id munge >/dev/null 2>&1 || die "the munge package did not create the 'munge' user"

# --- layout ----------------------------------------------------------------------------------
mkdir -p "$BASE"/{munge,etc,spool/ctld,spool/d,log,run,bin}
# munged refuses a key or socket directory that others can write; it runs as the munge user.
chown munge:munge "$BASE/munge"
chmod 0755 "$BASE/munge"
if [ ! -s "$BASE/munge/munge.key" ]; then
  dd if=/dev/urandom bs=1 count=1024 of="$BASE/munge/munge.key" status=none
fi
chown munge:munge "$BASE/munge/munge.key"
chmod 0400 "$BASE/munge/munge.key"

HOST=$(hostname -s)
NCPU=$(nproc)
# RealMemory above the machine's memory would leave the node INVAL; 4000 MB unless less is free.
mem_total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
REAL_MEMORY=$((mem_total_mb * 9 / 10 < 4000 ? mem_total_mb * 9 / 10 : 4000))
CONF="$BASE/etc/slurm.conf"
cat >"$CONF" <<EOF
# Written by .ci/slurm/start-cluster.sh: a one-node test cluster on localhost.
ClusterName=localcluster
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$BASE/munge/munge.socket.2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$BASE/spool/ctld
SlurmdSpoolDir=$BASE/spool/d
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
# No cgroups without systemd.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# No accounting database, so sacct fails and the profile asks squeue; finished jobs must stay
# visible to squeue for at least 3 status intervals.
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$REAL_MEMORY State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

# The slurm-jobstep plugin strips every SLURM_* variable before the nested srun inside a job, so
# that srun would not find a slurm.conf outside /etc/slurm: this wrapper, first on PATH, finds it
# from its own location (BASE/bin/../etc/slurm.conf).
install -m 0755 "$HERE/srun" "$BASE/bin/srun"

cat >"$BASE/env.sh" <<EOF
# Source this file to use the test cluster under $BASE.
export SLURM_CONF=$CONF
export PATH=$BASE/bin:\$PATH
EOF
export SLURM_CONF="$CONF"
export PATH="$BASE/bin:$PATH"

# --- daemons ---------------------------------------------------------------------------------
alive() { # alive PIDFILE: the process named in PIDFILE is running
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

if ! alive "$BASE/munge/munged.pid"; then
  runuser -u munge -- /usr/sbin/munged --socket="$BASE/munge/munge.socket.2" \
    --key-file="$BASE/munge/munge.key" --log-file="$BASE/munge/munged.log" \
    --pid-file="$BASE/munge/munged.pid" --seed-file="$BASE/munge/munged.seed" ||
    die "munged did not start"
fi
for _ in $(seq 1 20); do
  [ -S "$BASE/munge/munge.socket.2" ] && break
  sleep 0.5
done
munge -n --socket="$BASE/munge/munge.socket.2" | unmunge --socket="$BASE/munge/munge.socket.2" \
  >/dev/null 2>&1 || die "munge cannot encode/decode a credential through $BASE/munge/munge.socket.2"

if ! alive "$BASE/run/slurmctld.pid"; then
  /usr/sbin/slurmctld || die "slurmctld did not start"
fi
if ! alive "$BASE/run/slurmd.pid"; then
  /usr/sbin/slurmd || die "slurmd did not start"
fi

state=""
for second in $(seq 1 "$READY_TIMEOUT"); do
  state=$(timeout 10 sinfo -h -N -n "$HOST" -o '%t' 2>/dev/null || true)
  case "$state" in
    idle | mix | alloc) break ;;
  esac
  # After a few seconds each daemon has written its pid file; a missing process has exited.
  if [ "$second" -ge 3 ]; then
    for daemon in slurmctld slurmd; do
      alive "$BASE/run/$daemon.pid" ||
        die "$daemon exited (another SLURM on ports 6817/6818? see $BASE/log/$daemon.log below)"
    done
  fi
  sleep 1
done
case "$state" in
  idle | mix | alloc) ;;
  *) die "node $HOST not idle after ${READY_TIMEOUT}s (sinfo state: '${state:-no answer}')" ;;
esac

# --- smoke test: one batch job with a nested srun (pitfall 2) --------------------------------
smoke_out="$BASE/log/smoke.out"
rm -f "$smoke_out"
timeout "$SMOKE_TIMEOUT" sbatch -W --quiet --output="$smoke_out" --time=1 --mem=100 \
  --wrap 'hostname; env -u SLURM_CONF srun hostname' ||
  die "smoke-test job (sbatch -W --wrap 'hostname; srun hostname') failed or took over ${SMOKE_TIMEOUT}s"
[ "$(grep -c . "$smoke_out")" -ge 2 ] || die "smoke-test job printed '$(cat "$smoke_out")', not two host names"

echo "start-cluster.sh: SLURM cluster up (node $HOST, $NCPU CPUs, ${REAL_MEMORY} MB, partition debug)." >&2
echo "# Use it from a shell with:  source $BASE/env.sh" >&2
grep "^export" "$BASE/env.sh"
