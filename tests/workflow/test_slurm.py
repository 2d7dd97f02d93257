"""The demo Table 1 through the SLURM profile on a real cluster (tests/slurm/start-cluster.sh
starts a one-node one on this machine; .ci/run does): every job an sbatch job, the training
jobs on a (stand-in) GPU, one training job cancelled with scancel mid-run and retried, and the
table equal to that of a local run with the same seeds."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ["workflow/presets/demo.yaml", "tests/presets/ci.yaml", "tests/presets/slurm.yaml"]
# The profile's default partition; the test cluster names its one partition so.
PARTITION = "main"


def cluster_state() -> str | None:
    """Why the test cannot run, or None when a cluster with the profile's partition is up."""
    if not shutil.which("sinfo") or not shutil.which("sbatch"):
        return "no SLURM client (sinfo, sbatch); start one with `sudo tests/slurm/start-cluster.sh`"
    out = subprocess.run(["sinfo", "-h", "-p", PARTITION, "-o", "%T"], capture_output=True, text=True, timeout=30)
    states = out.stdout.split()
    if out.returncode != 0 or not any(s in ("idle", "mixed") for s in states):
        said = out.stdout.strip() or out.stderr.strip()
        return (f"no SLURM partition '{PARTITION}' with an idle node (sinfo: {said});"
                " start one with `sudo tests/slurm/start-cluster.sh`")
    return None


WHY_NOT = cluster_state()
if WHY_NOT and os.environ.get("DUALRANK_REQUIRE_SLURM"):  # CI started a cluster: its absence is a failure
    raise RuntimeError(f"DUALRANK_REQUIRE_SLURM is set but {WHY_NOT}")
# The local run and the SLURM run: about 6 minutes on 2 CPU cores.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800),
              pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))]


def prepare(workdir: Path) -> Path:
    (workdir / "tests/presets").mkdir(parents=True)
    for name in ("ci.yaml", "slurm.yaml"):
        shutil.copy(ROOT / "tests/presets" / name, workdir / "tests/presets" / name)
    return workdir


def squeue(*args) -> list[list[str]]:
    out = subprocess.run(["squeue", "-h", *args], capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def cancel_a_running_training_job(workdir: Path, proc, timeout=900) -> str:
    """Wait until a training command runs inside a SLURM job, scancel that job; its id."""
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        for jobid, comment in squeue("-t", "RUNNING", "-o", "%i|%k"):
            if not comment.startswith("rule_train_"):
                continue
            # The wrapper's first line in the rule's log: the training command has started.
            started = [p for p in (workdir / "logs/train").rglob("*.log")
                       if f"from SLURM job {jobid}" in p.read_text(errors="replace")]
            if started:
                time.sleep(1)
                subprocess.run(["scancel", jobid], check=True)
                return jobid
        time.sleep(0.5)
    raise AssertionError("no training job ran under SLURM")


@pytest.fixture
def local_table(tmp_path_factory):
    from conftest import copy_workflow
    w = prepare(copy_workflow(tmp_path_factory.mktemp("local")))
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "results/table1.csv", "--configfile", *OVERLAYS],
                   cwd=w, capture_output=True, text=True, check=True)
    print(f"local run: {time.time() - t0:.0f} s")
    return pd.read_csv(w / "results/table1.csv")


def test_demo_table1_through_slurm_equals_the_local_run_and_survives_scancel(workdir, local_table):
    w = prepare(workdir)
    # The training jobs ask for a GPU, the node's stand-in (gres.conf File=/dev/null).
    (w / "gpu.yaml").write_text("resources:\n  train: {gpu: 1}\n")
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
           # Short jobs: poll soon after submitting; keep every job's SLURM log as evidence.
           "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs",
           "results/table1.csv", "--configfile", *OVERLAYS, "gpu.yaml"]
    t0 = time.time()
    with open(w / "snakemake.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=w, stdout=log, stderr=subprocess.STDOUT, text=True)
        cancelled = cancel_a_running_training_job(w, proc)
        rc = proc.wait(timeout=1800)
    print(f"SLURM run: {time.time() - t0:.0f} s; cancelled SLURM job {cancelled}")
    out = (w / "snakemake.log").read_text()
    assert rc == 0, out[-5000:]

    # Every Snakemake job was an sbatch job: one submission per job, plus the retried one.
    total = int(re.search(r"^total\s+(\d+)$", out, re.M)[1])
    subs = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", out)
    assert len({job for job, _, _ in subs}) == total and len(subs) == total + 1, (total, len(subs))
    assert all(Path(log).exists() for _, _, log in subs)
    assert "Job 0 has been submitted" in out and "Finished jobid: 0 (Rule: table1)" in out

    # The cancelled job failed as CANCELLED and the same Snakemake job ran again as a new SLURM job.
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in out
    job = next(j for j, sid, _ in subs if sid == cancelled)
    again = [(sid, log) for j, sid, log in subs if j == job and sid != cancelled]
    assert len(again) == 1
    retry_log = Path(again[0][1]).read_text()
    assert "--attempt 2" in retry_log
    # ... asking for twice the time (the demo's 30 minutes for a training job).
    assert re.search(r"resources: .*runtime=60", retry_log) and re.search(r"resources: .*runtime=30", out)

    # The training jobs ran on the GPU SLURM allocated to them (the wrapper's line in their logs).
    train_logs = list((w / "logs/train").rglob("*.log"))
    assert len(train_logs) == 14
    train_ids = {sid for j, sid, log in subs if "/rule_train/" in log}
    for p in train_logs:
        m = re.search(r"CUDA_VISIBLE_DEVICES=(\S*) from SLURM job (\d+)", p.read_text())
        assert m and m[1] == "0" and m[2] in train_ids, p

    table = pd.read_csv(w / "results/table1.csv")
    assert len(table) == 64 and table["mean"].notna().sum() == 62  # 8 rows, 4 columns, 2 metrics; CA retrieval N/A
    pd.testing.assert_frame_equal(table, local_table, check_exact=True)
