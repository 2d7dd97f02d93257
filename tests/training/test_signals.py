"""The trainer's SIGTERM handler (checkpoint and exit 143, for SLURM preemption) is its own only
while it runs: afterwards, however the run ended, the process's previous handler is back, and a
process that trained a model in-process ends on SIGTERM as any other does."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_train import Interrupted, T, args, data, spec  # noqa: F401  (data: the module's fixture)

from dualrank.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]


def test_run_restores_the_sigterm_handler_and_threads(data, tmp_path):  # noqa: F811
    def mine(signum, frame):
        raise AssertionError("not called")

    before = signal.getsignal(signal.SIGTERM)
    threads = torch.get_num_threads()
    try:
        signal.signal(signal.SIGTERM, mine)
        Trainer(T(spec(steps=2)), args(data, tmp_path / "a")).run()
        assert signal.getsignal(signal.SIGTERM) is mine
        # A run that ends by raising (SIGTERM's own SystemExit here) restores it too.
        with pytest.raises(SystemExit):
            Interrupted(T(spec(steps=4)), args(data, tmp_path / "b")).run()
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)
    assert signal.getsignal(signal.SIGTERM) == before
    assert torch.get_num_threads() == threads


CHILD = """
import json, sys, time
from dualrank.spec import TrainJob, TrainSpec
from dualrank.training.trainer import Trainer
spec, job = json.loads(sys.argv[1]), json.loads(sys.argv[2])
Trainer(TrainSpec.from_dict(spec), TrainJob(**job)).run()
print("trained", flush=True)
time.sleep(300)
"""


def test_sigterm_ends_a_process_that_trained_in_process(data, tmp_path):  # noqa: F811
    job = dataclasses.asdict(args(data, tmp_path))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(spec(steps=2)), json.dumps(job)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line == "trained\n", proc.stderr.read()[-3000:]
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert status == -signal.SIGTERM, "SIGTERM's default action ends the process"
