"""Preemption: a training job killed with SIGKILL at random steps and rerun ends bitwise
identical (weights, learning curve, summary) to one that was never interrupted; SIGTERM saves
a checkpoint and exits non-zero so that Snakemake's retry resumes. Real subprocesses, dropout
on (so the RNG states must come back too), checkpoints every 3 steps against evaluations every
5, and an uninterrupted reference that checkpoints only at the end: checkpoint_every does not
change the result."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from test_train import args, data, flags, spec  # noqa: F401  (data: the module's fixture)

from dualrank.models.saved import read_weights

ROOT = Path(__file__).resolve().parents[2]
STEPS = 16
# The reference run and seven interrupted or resumed training processes: about a minute on 2 CPU cores.
pytestmark = pytest.mark.timeout(600)


def command(d, out, checkpoint_every):
    a = args(d, out)
    s = spec("softmax_ce", STEPS)
    s["training"].update(eval_every=5, dropout=0.1)
    cmd = [sys.executable, "-m", "dualrank.cli.train", "--spec", json.dumps(s), "--threads", "1",
           "--checkpoint-every", str(checkpoint_every), "--log-every", "1"]
    return cmd + flags(a)


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def run_until(cmd, step, sig, delay):
    """Start ``cmd``, send ``sig`` ``delay`` seconds after its log shows a step >= ``step``;
    returns (exit status, last step logged)."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env())
    last, lines = 0, []
    for line in proc.stderr:
        lines.append(line)
        m = re.search(r"dualrank\.training\.trainer: step (\d+)/\d+: loss", line)
        if m:
            last = int(m[1])
            if last >= step:
                time.sleep(delay)
                proc.send_signal(sig)
                break
    lines.append(proc.stderr.read())
    return proc.wait(), last, "".join(lines)


def outputs(out):
    summary = json.loads((out / "train.json").read_text())
    summary.pop("seconds")
    return (read_weights(out / "model"),
            pd.read_parquet(out / "curve.parquet"), summary)


def assert_same(a, b):
    wa, ca, sa = a
    wb, cb, sb = b
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    pd.testing.assert_frame_equal(ca, cb, check_exact=True)
    assert sa == sb


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):  # noqa: F811
    """The uninterrupted run, checkpointing only at its end."""
    out = tmp_path_factory.mktemp("reference")
    run(command(data, out, checkpoint_every=1000))
    return outputs(out)


def test_sigkill_at_five_random_steps_then_rerun_is_bitwise_identical(data, reference, tmp_path):  # noqa: F811
    """One job killed five times, at seeded random steps, and rerun after each kill (as a
    preempted job is retried): each rerun resumes from the last checkpoint."""
    assert list(reference[1]["step"]) == [0, 5, 10, 15, 16]
    rng = random.Random(5)
    points = sorted(rng.sample(range(1, STEPS - 1), 5))
    killed_at = []
    for point in points:
        point = max(point, killed_at[-1] + 1 if killed_at else 0)
        status, last, log = run_until(command(data, tmp_path, 3), point, signal.SIGKILL, rng.uniform(0.0, 0.05))
        assert status == -signal.SIGKILL, f"the job ended before the kill (status {status})\n{log}"
        assert not (tmp_path / "model").exists()
        if killed_at and killed_at[-1] > 3:  # step 3's checkpoint is written before step 4 is logged
            assert "resumed from" in log, log
        killed_at.append(last)
    print("SIGKILL after steps", killed_at)
    assert len(set(killed_at)) == 5, killed_at
    resumed = run(command(data, tmp_path, 3))
    assert "resumed from" in resumed.stderr
    assert_same(outputs(tmp_path), reference)
    assert not (tmp_path / "ckpt").exists(), "the checkpoint is removed once the outputs exist"


def test_sigterm_saves_a_checkpoint_and_exits_non_zero(data, reference, tmp_path):  # noqa: F811
    status, last, log = run_until(command(data, tmp_path, 1000), 7, signal.SIGTERM, 0.0)
    assert status == 143, log
    assert "checkpoint saved" in log
    state = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=False)
    assert last <= state["step"] < STEPS and state["world"] == 1
    resumed = run(command(data, tmp_path, 1000))
    assert f"resumed from {tmp_path / 'ckpt'} at step {state['step']}" in resumed.stderr
    assert_same(outputs(tmp_path), reference)
