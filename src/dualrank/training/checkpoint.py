"""Training checkpoints that survive SIGKILL at any instant.

One file, ``last.pt``, holds everything a resumed job needs to continue bit for bit: model,
optimizer, scheduler, sampler position, the RNG states of every rank (torch CPU and CUDA,
numpy, python), the learning curve, the losses since the last evaluation, early-stopping
state and the best model so far. Keeping the best weights inside the same file (rather than
a ``best.pt`` beside it) means no kill between two writes can pair a checkpoint with a best
model of another step. The file is written to a temporary name, flushed to disk and renamed
over the old one, so a reader sees the old checkpoint or the new one, never half of one.

The directory may be shared with the user's own files: the job removes only what it wrote
(``last.pt`` and its interrupted writes), and the directory itself only once that leaves it
empty. A ``last.pt`` of another spec, or one that cannot be read, is moved aside
(``last.pt.foreign-<time>``, ``last.pt.corrupt-<time>``) with a warning, never deleted. The
payload holds tensors and plain containers, numbers and strings only (RNG states as tensors
and lists), so it loads with ``torch.load(weights_only=True)``: no pickled code runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from dualrank.data.io import InputError, atomic_output
from dualrank.spec import TrainJob, TrainSpec

log = logging.getLogger("dualrank.training.checkpoint")

NAME = "last.pt"
PARTIAL = ".last.*.tmp"  # what an interrupted save leaves (atomic_output's temporary names)


def spec_hash(spec: TrainSpec | dict) -> str:
    """Which spec a checkpoint belongs to: its result keys only (not ExecutionSpec's, so that
    a job resumed with other processes or checkpoint_every finds its checkpoint); a plain dict
    (a pre-training job's spec) as it is."""
    d = spec if isinstance(spec, dict) else spec.to_dict()
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def rng_state() -> dict:
    """This process's random streams as tensors and plain lists (weights_only-loadable)."""
    _, key, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)},
             "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()  # this rank's device
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"].cpu())
    n, p = state["numpy"], state["python"]
    np.random.set_state(("MT19937", n["key"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"].cpu())


def restore_rng(state: dict, dist, seed: int) -> None:
    """This rank's random streams as the checkpoint left them. Resumed by another number of
    processes, other ranks draw other dropout masks: the run is equivalent in distribution."""
    if state["world"] == dist.world:
        set_rng_state(state["rng"][dist.rank])
        return
    log.warning("checkpoint of %d process(es) resumed by %d: random streams reseeded", state["world"], dist.world)
    set_rng_state(state["rng"][0])
    dist.reseed(seed + state["step"])


def cpu_copy(state_dict: dict) -> dict:
    """A detached CPU copy of a state dict (the best model, kept while training goes on)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}


def plain(obj):
    """``obj`` with numpy values made torch tensors and Python numbers, so that the checkpoint
    holds nothing ``torch.load(weights_only=True)`` refuses."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def check_layout(job: TrainJob) -> None:
    """Refuse, before any training, outputs inside the checkpoint directory (the job empties it
    at the end) and a checkpoint directory inside the model's (which is replaced whole)."""
    ckpt = Path(job.checkpoint_dir).resolve()
    if ckpt.exists() and not ckpt.is_dir():
        raise InputError(f"--checkpoint-dir {job.checkpoint_dir}: exists and is not a directory")
    outputs = {"model_out": job.model_out, "curve_out": job.curve_out, "summary_out": job.summary_out,
               "snapshots_out": job.snapshots_out, "train_scores_out": job.train_scores_out}
    for key, value in outputs.items():
        if value is None:
            continue
        flag, out = "--" + key.replace("_", "-"), Path(value).resolve()
        if out == ckpt or ckpt in out.parents:
            raise InputError(f"{flag} {value} is inside --checkpoint-dir {job.checkpoint_dir}, which holds the "
                             f"job's temporary checkpoint: give an output path outside it")
        if key == "model_out" and out in ckpt.parents:
            raise InputError(f"--checkpoint-dir {job.checkpoint_dir} is inside {flag} {value}, which is "
                             f"replaced whole when the model is written: give a checkpoint directory outside it")


def save(directory: str | Path, state: dict) -> Path:
    """Write ``state`` to ``directory/last.pt`` atomically and durably."""
    directory = Path(directory)
    path = directory / NAME
    with atomic_output(path) as tmp:
        torch.save(plain(state), tmp)
    # The rename itself must reach the disk before a later write may be trusted to replace it.
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def load(directory: str | Path, device: torch.device, clean: bool = True) -> dict | None:
    """The last checkpoint in ``directory``, or None. Removes temporary files a kill in the
    middle of :func:`save` left behind (they are never read). A file that is not a checkpoint
    raises (pickle.UnpicklingError, RuntimeError, ...); :func:`load_matching` moves it aside."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    for partial in directory.glob(PARTIAL) if clean else ():
        log.info("removing %s, a checkpoint write that was interrupted", partial)
        partial.unlink(missing_ok=True)
    path = directory / NAME
    if not path.exists():
        return None
    state = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(state, dict) or "spec_hash" not in state:
        raise ValueError(f"not a dualrank checkpoint (a {type(state).__name__})")
    return state


def move_aside(path: Path, why: str) -> Path:
    """Rename ``path`` to ``path.WHY-<UTC time>`` (a free name) and return the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.{why}-{stamp}")
    n = 1
    while aside.exists():
        aside, n = path.with_name(f"{path.name}.{why}-{stamp}.{n}"), n + 1
    os.rename(path, aside)
    return aside


def load_matching(directory: str | Path, spec: TrainSpec | dict, dist) -> dict | None:
    """Collective: the last checkpoint in ``directory`` if it belongs to ``spec``; one of
    another configuration, or one that cannot be read, is moved aside (by rank 0, once every
    rank has read it) with a warning, and training starts afresh."""
    path = Path(directory) / NAME
    try:
        state = load(directory, dist.device, clean=dist.is_main)
    except OSError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever torch.load makes of a damaged file
        state, why, what = None, "corrupt", f"cannot be read as a checkpoint ({type(e).__name__}: {e})"
    else:
        if state is None or state["spec_hash"] == spec_hash(spec):
            return state
        why, what = "foreign", f"belongs to another configuration (spec hash {state['spec_hash']})"
    dist.barrier()
    if dist.is_main:
        aside = move_aside(path, why)
        log.warning("%s %s: moved aside to %s; starting afresh", path, what.splitlines()[0][:300], aside)
    dist.barrier()
    return None


def remove(directory: str | Path) -> None:
    """Remove what the job wrote in ``directory`` (``last.pt``, interrupted writes) and the
    directory if that leaves it empty; anything else in it stays, and is named."""
    directory = Path(directory)
    (directory / NAME).unlink(missing_ok=True)
    for partial in directory.glob(PARTIAL):
        partial.unlink(missing_ok=True)
    try:
        directory.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        others = sorted(p.name for p in directory.iterdir())
        log.info("kept %s: it holds files this job did not write (%s)", directory, ", ".join(others[:5]))
