"""Training checkpoints that survive SIGKILL at any instant.

One file, ``last.pt``, holds everything a resumed job needs to continue bit for bit: model,
optimizer, scheduler, sampler position, the RNG states of every rank (torch CPU and CUDA,
numpy, python), the learning curve, the losses since the last evaluation, early-stopping
state and the best model so far. Keeping the best weights inside the same file (rather than
a ``best.pt`` beside it) means no kill between two writes can pair a checkpoint with a best
model of another step. The file is written to a temporary name, flushed to disk and renamed
over the old one, so a reader sees the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from dualrank.data.io import atomic_output
from dualrank.spec import TrainSpec

log = logging.getLogger("dualrank.training.checkpoint")

NAME = "last.pt"
PARTIAL = ".last.*.tmp"  # what an interrupted save leaves (atomic_output's temporary names)


def spec_hash(spec: TrainSpec) -> str:
    """Which spec a checkpoint belongs to: its result keys only (not ExecutionSpec's, so that
    a job resumed with other processes or checkpoint_every finds its checkpoint)."""
    return hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()  # this rank's device
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"].cpu())
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
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


def save(directory: str | Path, state: dict) -> Path:
    """Write ``state`` to ``directory/last.pt`` atomically and durably."""
    directory = Path(directory)
    path = directory / NAME
    with atomic_output(path) as tmp:
        torch.save(state, tmp)
    # The rename itself must reach the disk before a later write may be trusted to replace it.
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def load(directory: str | Path, device: torch.device, clean: bool = True) -> dict | None:
    """The last checkpoint in ``directory``, or None. Removes temporary files a kill in the
    middle of :func:`save` left behind (they are never read)."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    for partial in directory.glob(PARTIAL) if clean else ():
        log.info("removing %s, a checkpoint write that was interrupted", partial)
        partial.unlink(missing_ok=True)
    path = directory / NAME
    if not path.exists():
        return None
    return torch.load(path, map_location=device, weights_only=False)


def load_matching(directory: str | Path, spec: TrainSpec, dist) -> dict | None:
    """Collective: the last checkpoint in ``directory`` if it belongs to ``spec``; one of
    another configuration is removed (by rank 0, once every rank has read it)."""
    state = load(directory, dist.device, clean=dist.is_main)
    if state is None or state["spec_hash"] == spec_hash(spec):
        return state
    dist.barrier()
    if dist.is_main:
        log.warning("%s belongs to another configuration; starting afresh", directory)
        shutil.rmtree(directory)
    dist.barrier()
    return None
