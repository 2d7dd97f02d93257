"""The checkpoint directory may hold the user's files: a job removes only what it wrote, moves a
foreign or corrupt ``last.pt`` aside (never unpickling it), refuses an output inside the
directory before training, and checkpoints load with ``weights_only=True``. A non-finite loss
stops training at its step, naming the batch's queries, with the last good step's checkpoint."""

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_train import T, args, data, flags, spec  # noqa: F401  (data: the module's fixture)

from dualrank.data.io import InputError
from dualrank.spec import TrainJob
from dualrank.training import checkpoint
from dualrank.training.trainer import Trainer, train

ROOT = Path(__file__).resolve().parents[2]


def cli(d, out, steps=4, **job):
    a = dataclasses.replace(args(d, out), **job)
    return [sys.executable, "-m", "dualrank.cli.train", "--spec", json.dumps(spec(steps=steps)),
            "--threads", "1", "--log-every", "1", *flags(a)]


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def test_user_files_survive_a_foreign_checkpoint_is_moved_aside_and_nested_output_refused(data, tmp_path):  # noqa: F811
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "notes.txt").write_text("mine")
    # Another spec's checkpoint (a different seed): a valid, weights_only-loadable file.
    torch.save({"spec_hash": "0123456789abcdef", "step": 7}, ckpt / "last.pt")

    nested = subprocess.run(cli(data, tmp_path, model_out=str(ckpt / "model")), capture_output=True,
                            text=True, env=env())
    assert nested.returncode == 2, nested.stderr[-2000:]
    assert f"--model-out {ckpt / 'model'} is inside --checkpoint-dir {ckpt}" in nested.stderr
    assert "Traceback" not in nested.stderr and "step 1/" not in nested.stderr, "refused before training"
    assert (ckpt / "last.pt").exists() and not (ckpt / "model").exists()

    ok = subprocess.run(cli(data, tmp_path), capture_output=True, text=True, env=env())
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "belongs to another configuration" in ok.stderr and "moved aside to" in ok.stderr
    left = sorted(p.name for p in ckpt.iterdir())
    assert left[0] == "last.pt.foreign-" + left[0].split("foreign-")[1] and left[1:] == ["notes.txt"], left
    assert torch.load(ckpt / left[0], weights_only=True)["step"] == 7, "moved, not rewritten"
    assert (ckpt / "notes.txt").read_text() == "mine"
    assert (tmp_path / "model" / "model.safetensors").exists()


def test_corrupt_checkpoint_is_moved_aside_not_unpickled(data, tmp_path):  # noqa: F811
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"spec_hash": "x", "evil": Evil()}, ckpt / "last.pt")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "last.pt").write_bytes(b"\x80\x04 truncated")
    for d in (ckpt, tmp_path / "other"):
        job = dataclasses.replace(args(data, tmp_path), checkpoint_dir=str(d))
        trainer = Trainer(T(spec(steps=2)), job)
        trainer.run()
        assert trainer.step == 2
        assert [p.name.split("-")[0] for p in d.iterdir() if p.name != "last.pt"] == ["last.pt.corrupt"]
    assert not marker.exists(), "a checkpoint must never run pickled code"


def test_checkpoint_is_weights_only_loadable_and_finished_job_removes_its_empty_directory(data, tmp_path):  # noqa: F811
    job = args(data, tmp_path)
    trainer = Trainer(T(spec(steps=2)), job)
    trainer.run()
    state = torch.load(Path(job.checkpoint_dir) / "last.pt", weights_only=True)
    assert state["step"] == 2 and state["spec_hash"] == checkpoint.spec_hash(T(spec(steps=2)))
    train(T(spec(steps=2)), job)
    assert not Path(job.checkpoint_dir).exists()


@pytest.mark.parametrize("key", ["curve_out", "summary_out", "checkpoint_dir"])
def test_outputs_inside_the_checkpoint_directory_are_refused(data, tmp_path, key):  # noqa: F811
    job = dataclasses.asdict(args(data, tmp_path))
    if key == "checkpoint_dir":  # the checkpoint directory inside the model's
        job[key] = str(Path(job["model_out"]) / "ckpt")
    else:
        job[key] = str(Path(job["checkpoint_dir"]) / "x")
    with pytest.raises(InputError, match="inside"):
        Trainer(T(spec(steps=2)), TrainJob(**job))


def test_sigint_checkpoints_at_that_step_and_exits_130(data, tmp_path):  # noqa: F811
    proc = subprocess.Popen(cli(data, tmp_path, steps=400), stderr=subprocess.PIPE, text=True, env=env())
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "trainer: step 2/" in line:
            proc.send_signal(signal.SIGINT)
            break
    lines.append(proc.stderr.read())
    log = "".join(lines)
    assert proc.wait() == 130, log
    assert "SIGINT at step" in log and "checkpoint saved" in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    state = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=True)
    assert 2 <= state["step"] < 400
    assert f"SIGINT at step {state['step']}:" in log
    assert not (tmp_path / "model").exists()


class Diverging(Trainer):
    """Its objective's loss becomes NaN at step ``at`` + 1."""

    at = 3

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        objective, trainer = self.objective, self

        def forward(*args, **kwargs):
            loss = type(objective).forward(objective, *args, **kwargs)
            return loss * math.nan if trainer.step == trainer.at else loss

        objective.forward = forward


def test_non_finite_loss_stops_with_step_queries_and_last_good_checkpoint(data, tmp_path):  # noqa: F811
    trainer = Diverging(T(spec(steps=6)), args(data, tmp_path))
    with pytest.raises(InputError) as e:
        trainer.run()
    assert "non-finite loss at step 4" in str(e.value) and "checkpoint of step 3" in str(e.value)
    batch_queries = str(e.value).split("query ids: ")[1].split(", ")
    assert set(batch_queries) <= set(trainer.parts.query_names.to_pylist()) and len(batch_queries) == 8
    state = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=True)
    assert state["step"] == 3 and all(torch.isfinite(v).all() for v in state["model"].values())
    # Resuming replays step 4's batch: the sampler was rewound.
    assert state["sampler"] == {"epoch": 0, "pos": 24}
