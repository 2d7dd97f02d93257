"""Data-parallel training: 2 processes under torchrun (gloo, CPU) follow the 1-process loss
curve at the same global batch (7 groups: slices of 4 and 3, a listwise loss), and a
2-process job stopped by SIGTERM through torchrun resumes to the very same result."""

import json
import os
import weakref
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_train import T, args, data, flags, spec  # noqa: F401  (data: the module's fixture)

from dualrank.models.saved import read_weights
from dualrank.training import distributed
from dualrank.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
STEPS = 20


def ddp_spec():
    # Dropout off: with dropout, ranks draw other masks than one process (equal in distribution).
    s = spec("softmax_ce", STEPS)
    s["training"].update(batch_size=7, eval_every=1, dropout=0.0, train_eval_groups=10)
    return s


def command(d, out, processes):
    cmd = [sys.executable, "-m", "dualrank.cli.train", "--spec", json.dumps(ddp_spec()), "--threads", "2",
           "--processes", str(processes), "--checkpoint-every", "4"]
    return cmd + flags(args(d, out))


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


@pytest.mark.timeout(600)  # 1.5 minutes on 2 loaded CPU cores
def test_two_processes_follow_the_one_process_loss_curve_and_resume(data, tmp_path):  # noqa: F811
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each of the 2 ranks below (--threads 2)
    try:
        one = Trainer(T(ddp_spec()), args(data, tmp_path / "one"))
        one.write_outputs(one.run())
    finally:
        torch.set_num_threads(threads)
    reference = pd.read_parquet(tmp_path / "one/curve.parquet")

    proc = subprocess.run(command(data, tmp_path / "two", 2), capture_output=True, text=True, env=env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "torch.distributed.run --standalone --nproc-per-node=2" in proc.stderr
    two = pd.read_parquet(tmp_path / "two/curve.parquet")
    assert list(two["step"]) == list(range(STEPS + 1))
    rel = (two["loss"] - reference["loss"]).abs()[1:] / reference["loss"].abs()[1:]
    print(f"2 processes vs 1: max relative loss difference {rel.max():.2e} over {STEPS} steps")
    assert rel.max() < 1e-5
    assert json.loads((tmp_path / "two/train.json").read_text())["processes"] == 2
    # Not a vacuous match: the loss moved by far more than the tolerance. (Unscaled rank
    # losses, a plain mean of the 4- and 3-group means, drift by 7e-4 here.)
    assert np.ptp(reference["loss"][1:]) > 1e-3

    # SIGTERM to torchrun (it forwards it to the ranks, which agree on a step and save).
    out = tmp_path / "term"
    p = subprocess.Popen(command(data, out, 2), stderr=subprocess.PIPE, text=True, env=env())
    lines = []
    for line in p.stderr:
        lines.append(line)
        m = re.search(r"dualrank\.training\.validation: step (\d+): loss", line)
        if m and int(m[1]) >= 9:
            p.send_signal(signal.SIGTERM)
            break
    lines.append(p.stderr.read())
    assert p.wait() != 0, "a preempted job must fail so that its retry resumes"
    state = torch.load(out / "ckpt/last.pt", weights_only=False)
    assert state["world"] == 2 and len(state["rng"]) == 2 and 9 <= state["step"] < STEPS, "".join(lines)
    resumed = subprocess.run(command(data, out, 2), capture_output=True, text=True, env=env())
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {out / 'ckpt'} at step {state['step']}" in resumed.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "curve.parquet"), two, check_exact=True)
    wa, wb = read_weights(out / "model"), read_weights(tmp_path / "two/model")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_the_ddp_wrapper_is_freed_before_the_process_group(data, tmp_path):  # noqa: F811
    """Its Reducer must never be the group's last holder: destroyed through it, a gloo group joins
    its worker threads with the GIL held, and a worker freeing a finished collective's tensors
    waits for the GIL (a deadlock seen at the end of the two-process run above). The group's
    own Python object releases the GIL in its destructor."""
    seen = []

    class Recording(distributed.Context):
        def close(self):
            seen.append(wrapper() is not None)

    trainer = Trainer(T(ddp_spec()), args(data, tmp_path))
    wrapper = weakref.ref(trainer.parts.scorer)
    trainer.dist = Recording(world=2)  # as a rank of two processes would see it
    trainer.close()
    assert seen == [False] and trainer.parts.scorer is None
