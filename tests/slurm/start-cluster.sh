#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for tests/test_slurm.py and for trying the SLURM
# profile (Debian 12, run as root). Installs munge, slurmctld, slurmd and slurm-client from
# Debian if missing, writes /etc/slurm/slurm.conf and gres.conf, starts munged, slurmctld and
# slurmd, and waits until sinfo shows the node idle (it refuses to replace a slurm.conf it did
# not write). Rerunnable: it first stops the daemons a
# previous run started. Their PIDs go to $STATE/pids; tests/slurm/stop-cluster.sh stops them.
#
#   sudo tests/slurm/start-cluster.sh && sinfo && tests/slurm/stop-cluster.sh
set -euo pipefail

STATE=${DUALRANK_SLURM_STATE:-/var/lib/dualrank-slurm}
HERE=$(cd "$(dirname "$0")" && pwd)
# The plugin's inner srun runs without SLURM_CONF, so the config must be at the default path.
CONF_DIR=/etc/slurm

die() { echo "start-cluster: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    echo "start-cluster: installing munge slurmctld slurmd slurm-client from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d on this kind of machine stops the packages' own service starts; we start them.
    apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
fi

[ -f "$STATE/pids" ] && "$HERE/stop-cluster.sh"
# Never overwrite a real cluster's configuration, only one this script wrote.
MARK="# Written by tests/slurm/start-cluster.sh"
if [ -f "$CONF_DIR/slurm.conf" ] && ! head -1 "$CONF_DIR/slurm.conf" | grep -qF "$MARK"; then
    die "$CONF_DIR/slurm.conf exists and was not written by this script; not touching it"
fi
mkdir -p "$STATE" /var/log/slurm /var/spool/slurmctld /var/spool/slurmd "$CONF_DIR"
rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*

# This machine's CPUs and memory as slurmd sees them; more would leave the node drained.
hw=$(slurmd -C | head -1)
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$hw"; }
cpus=$(field CPUs); sockets=$(field SocketsPerBoard); cores=$(field CoresPerSocket)
threads=$(field ThreadsPerCore); mem=$(field RealMemory)
[ -n "$cpus" ] && [ -n "$mem" ] || die "could not read CPUs/RealMemory from 'slurmd -C': $hw"
ctl_host=$(hostname -s)  # slurmctld only runs on the host SlurmctldHost names

cat > "$CONF_DIR/slurm.conf" <<CONF
$MARK: a one-node test cluster on 127.0.0.1.
ClusterName=dualrank-test
SlurmctldHost=${ctl_host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
# No cgroups: the machine may not delegate them; processes are tracked through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# No accounting database: sacct has nothing to read, so the profile polls with squeue, which
# sees a finished job for MinJobAge seconds (longer than the plugin's 180 s longest poll).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# One GPU that is /dev/null: GPU requests (--gpus=1) are scheduled as on a real GPU node.
GresTypes=gpu
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=${cpus} SocketsPerBoard=${sockets} CoresPerSocket=${cores} ThreadsPerCore=${threads} RealMemory=${mem} Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
printf '%s\nNodeName=localhost Name=gpu File=/dev/null\n' "$MARK" > "$CONF_DIR/gres.conf"

# munged runs as the munge user (it refuses root-owned sockets otherwise).
install -d -o munge -g munge -m 0755 /run/munge
runuser -u munge -- munged --pid-file=/run/munge/munged.pid
slurmctld -c          # -c: start from a clean state, no jobs left from an earlier cluster
slurmd -N localhost   # the node's name in slurm.conf, whatever this host is called

# Wait for the PID files (the daemons fork), then record them for stop-cluster.sh.
for i in $(seq 50); do
    [ -s /run/munge/munged.pid ] && [ -s "$STATE/slurmctld.pid" ] && [ -s "$STATE/slurmd.pid" ] && break
    sleep 0.2
done
cat /run/munge/munged.pid "$STATE/slurmctld.pid" "$STATE/slurmd.pid" > "$STATE/pids" \
    || die "a daemon did not write its PID file; see /var/log/slurm/ and /var/log/munge/"

for i in $(seq 60); do
    state=$(sinfo -h -N -n localhost -o %T 2>/dev/null || true)
    if [ "$state" = idle ]; then
        echo "start-cluster: node localhost idle (${cpus} CPUs, ${mem} MB, gpu:1); PIDs $(tr '\n' ' ' < "$STATE/pids")"
        exit 0
    fi
    sleep 1
done
echo "start-cluster: node not idle after 60 s (state: '${state}')" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
