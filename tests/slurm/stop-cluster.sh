#!/usr/bin/env bash
# Stops the daemons tests/slurm/start-cluster.sh started, by the PIDs it recorded.
set -euo pipefail
STATE=${DUALRANK_SLURM_STATE:-/var/lib/dualrank-slurm}
[ -f "$STATE/pids" ] || { echo "stop-cluster: no $STATE/pids, nothing to stop"; exit 0; }
mapfile -t pids < "$STATE/pids"
# Jobs still running (a test that failed mid-run) would outlive slurmd in their slurmstepd.
jobs=$(squeue -h -t PENDING,RUNNING,COMPLETING -o %i 2>/dev/null || true)
if [ -n "$jobs" ]; then
    echo "stop-cluster: cancelling jobs" $jobs
    scancel $jobs || true
    for _ in $(seq 60); do
        [ -z "$(squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null)" ] && break
        sleep 1
    done
fi
# slurmd and slurmctld first, munged (which they authenticate through) last.
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
done
for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop-cluster: PID $pid ignored SIGTERM for 10 s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
done
rm -f "$STATE/pids"
# Remove the configuration start-cluster.sh wrote: with a slurm.conf naming a controller that
# is gone, every SLURM client call (the Snakemake plugin's `scontrol show config` when any
# snakemake command starts) waits ~10 s for it; without one it fails at once.
for f in /etc/slurm/slurm.conf /etc/slurm/gres.conf; do
    if [ -f "$f" ] && head -1 "$f" | grep -qF "# Written by tests/slurm/start-cluster.sh"; then
        rm -f "$f"
    fi
done
echo "stop-cluster: stopped PIDs ${pids[*]}"
