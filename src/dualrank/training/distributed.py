"""Data-parallel training over torch.distributed, and the same interface for one process.

Launched by ``torchrun --standalone --nproc-per-node N -m dualrank.cli.train ...`` (or
``dualrank train --processes N ...``, which execs exactly that). Every rank draws the
same global batch from the same seeded sampler and keeps its contiguous slice of it; its loss is
scaled so that DDP's gradient average equals the gradient of the global-batch mean, i.e. one
process at the same global batch. Rank 0 alone evaluates and writes checkpoints and outputs;
the others wait for it in a collective. Backend: NCCL on GPUs, gloo on CPUs.

With dropout on, rank r > 0 draws its dropout masks from its own seeded stream, so N processes
equal one process in distribution, not bit for bit; with dropout 0 they agree to float rounding.
"""

from __future__ import annotations

import datetime
import gc
import logging
import os
import sys
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

log = logging.getLogger("dualrank.training.distributed")

# Rank 0 evaluates while the others wait in a collective: allow a long evaluation.
WAIT = datetime.timedelta(hours=6)


def launched() -> bool:
    """True inside a torchrun worker."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def torchrun_command(processes: int, argv: list[str]) -> list[str]:
    """The torchrun command line running ``dualrank train`` with ``argv`` on ``processes`` ranks
    of this node (``--standalone``: a private rendezvous on a free port, so that several jobs
    share a node)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc-per-node={processes}", "-m", "dualrank.cli.train", *argv]


class GroupScorer(nn.Module):
    """``forward`` = ``ranker.score_groups``: DDP synchronises gradients only of what runs
    through its wrapper's forward."""

    def __init__(self, ranker: nn.Module):
        super().__init__()
        self.ranker = ranker

    def forward(self, queries: list[str], docs: list[list[str]]) -> torch.Tensor:
        return self.ranker.score_groups(queries, docs)


@dataclass
class Context:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.world > 1

    # -- collectives (no-ops for one process) -------------------------------------------------
    def barrier(self) -> None:
        if self.parallel:
            torch.distributed.barrier()

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if not self.parallel:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.parallel:
            return [obj]
        out = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    def mean(self, x: float) -> float:
        """The mean of ``x`` over the ranks (a rank's scaled loss -> the global-batch loss)."""
        if not self.parallel:
            return x
        t = torch.tensor([x], dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return float(t[0]) / self.world

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any rank."""
        if not self.parallel:
            return flag
        t = torch.tensor([int(flag)], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t[0])

    # -- the batch -----------------------------------------------------------------------------
    def shard(self, idx: np.ndarray) -> np.ndarray:
        """This rank's contiguous slice of the global batch ``idx``."""
        if not self.parallel:
            return idx
        return np.array_split(idx, self.world)[self.rank]

    def loss_scale(self, local: int, total: int) -> float:
        """Factor on a rank's mean loss over its ``local`` queries such that DDP's average of
        the ranks' gradients is the gradient of the mean over all ``total`` queries."""
        return local * self.world / total

    def wrap(self, ranker: nn.Module) -> nn.Module:
        """What the training step calls: ``ranker.score_groups`` through DDP when parallel."""
        scorer = GroupScorer(ranker)
        if not self.parallel:
            return scorer
        ids = [self.device.index] if self.device.type == "cuda" else None
        # find_unused_parameters: e.g. the output LayerNorm is off or a head goes unused.
        return nn.parallel.DistributedDataParallel(scorer, device_ids=ids, find_unused_parameters=True)

    def reseed(self, seed: int) -> None:
        """Rank r > 0 gets its own dropout stream; rank 0 keeps the one-process stream."""
        if self.rank:
            torch.manual_seed(int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0]))

    def close(self) -> None:
        if self.parallel and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def drop_wrapper(parts) -> None:
    """Free ``parts.scorer``, the DDP wrapper, before the process group is destroyed. Its
    Reducer holds the group; were it the last holder, the group (gloo) would be destroyed with
    the GIL held, joining worker threads one of which may need the GIL to free a finished
    collective's tensors: a deadlock at the job's very end (seen in the two-process test).
    Freed first, the group dies in destroy_process_group, whose binding releases the GIL."""
    if parts.scorer is None:
        return
    wrapper = weakref.ref(parts.scorer)
    parts.scorer = None
    gc.collect()  # a module may sit in a reference cycle
    if wrapper() is not None:
        log.warning("the DDP wrapper is still referenced after the job: the process group it holds "
                    "may hang this process at exit (see distributed.drop_wrapper)")


def init() -> Context:
    """The context of this process: torchrun's ranks if launched by it, else one process."""
    cuda = torch.cuda.is_available()
    if not launched():
        return Context(device=torch.device("cuda" if cuda else "cpu"))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ["LOCAL_RANK"])
    device = torch.device("cpu")
    if cuda:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if world > 1:
        torch.distributed.init_process_group("nccl" if cuda else "gloo", timeout=WAIT)
        log.info("rank %d of %d on %s (%s)", rank, world, device, torch.distributed.get_backend())
    return Context(rank, world, local, device)
