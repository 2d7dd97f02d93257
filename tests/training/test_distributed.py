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
HANG = 240  # s: a two-process job takes ~30 s on 2 loaded cores


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
    # PYTHONFAULTHANDLER: a SIGABRT makes every Python process of the job print its stacks.
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONFAULTHANDLER": "1"}


def start(cmd, **kwargs) -> subprocess.Popen:
    """The job in a process group of its own (torchrun and its ranks), so that a hang can be ended whole."""
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True, **kwargs)


def finish(p: subprocess.Popen, timeout: float = HANG) -> tuple[int, str]:
    """(exit status, stderr) of the job; a job still running after ``timeout`` s is a hang: it
    fails the test at once with every process's Python stack (not at the test's time limit,
    with only this process's stack, leaving the ranks behind)."""
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGABRT)
        _, err = p.communicate()
        pytest.fail(f"{' '.join(p.args[2:4])} hung for {timeout:.0f} s; the stacks of its processes:\n{err[-8000:]}")
    return p.returncode, err


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

    status, stderr = finish(start(command(data, tmp_path / "two", 2), stdout=subprocess.DEVNULL))
    assert status == 0, stderr[-3000:]
    assert "torch.distributed.run --standalone --nproc-per-node=2" in stderr
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
    p = start(command(data, out, 2))
    lines = []
    for line in p.stderr:
        lines.append(line)
        m = re.search(r"dualrank\.training\.validation: step (\d+): loss", line)
        if m and int(m[1]) >= 9:
            p.send_signal(signal.SIGTERM)
            break
    status, rest = finish(p)
    lines.append(rest)
    assert status != 0, "a preempted job must fail so that its retry resumes"
    state = torch.load(out / "ckpt/last.pt", weights_only=False)
    assert state["world"] == 2 and len(state["rng"]) == 2 and 9 <= state["step"] < STEPS, "".join(lines)
    status, stderr = finish(start(command(data, out, 2), stdout=subprocess.DEVNULL))
    assert status == 0, stderr[-3000:]
    assert f"resumed from {out / 'ckpt'} at step {state['step']}" in stderr
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


def test_a_hung_job_fails_with_the_stacks_of_its_processes():
    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
            "time.sleep(60)"
    p = start([sys.executable, "-c", child])
    with pytest.raises(pytest.fail.Exception) as failed:
        finish(p, timeout=3)
    # Both processes, the job and its child, printed their stacks and ended (SIGABRT to the group).
    # They write to one pipe at once, so count faulthandler's writes, not lines they may interleave.
    msg = str(failed.value)
    assert "hung for 3 s" in msg and msg.count("Fatal Python error: ") == 2 and msg.count("Aborted") == 2
    assert p.poll() is not None
