"""Train a CA, DE or ColBERT ranker on training groups with one of the paper's losses.

    dualrank train --spec JSON --groups G.parquet --corpus C.parquet \\
        --queries Q.parquet --valid-candidates V.parquet --valid-queries VQ.parquet \\
        --valid-qrels VR.parquet [--tokenizer DIR] --checkpoint-dir DIR \\
        --model-out DIR --curve-out curve.parquet --summary-out train.json \\
        [--snapshots-out snapshots.parquet] [--train-scores-out train-scores.parquet] \\
        [--threads N] [--processes N] [--checkpoint-every N] [--log-every N]

``--spec`` is the job's :class:`dualrank.spec.TrainSpec` as JSON (dualrank.grid.train_spec
builds it from the config); its ``training`` may also hold the execution keys ``processes``
and ``checkpoint_every``, which the flags override. With more than one process the command
re-launches itself under torchrun (dualrank.training.distributed). A job killed or preempted
(SIGTERM: checkpoint, exit 143) resumes from ``--checkpoint-dir`` when rerun; the library is
dualrank.training.trainer.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import json_flag
from dualrank.spec import TrainJob

log = logging.getLogger("dualrank.cli.train")


@dataclass(frozen=True)
class Args:
    """The flags beside the job's files (TrainJob)."""

    spec: str = option("the training spec (JSON), as dualrank.grid.train_spec builds it")
    threads: int = option("CPU threads of the whole job (all processes)", 0)
    processes: int = option("data-parallel processes, one GPU each (default: training.processes, else 1); "
                            "> 1 re-launches this command under torchrun", 0)
    checkpoint_every: int = option("steps between checkpoints (default: training.checkpoint_every, else eval_every)",
                                   0)
    log_every: int = option("log the loss every N steps (0: at evaluations)", 0)


@entry_point
def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    a, job = parse((Args, TrainJob), argv, "train", __doc__)
    import torch

    from dualrank.spec import TrainSpec
    from dualrank.training import distributed
    from dualrank.training.trainer import train

    given = json_flag(a.spec, "--spec")
    spec, execution = TrainSpec.with_execution(given)
    execution = execution.replace(processes=a.processes or execution.processes,
                                  checkpoint_every=a.checkpoint_every or execution.checkpoint_every)
    if execution.processes > 1 and not distributed.launched():
        rest = argv if a.processes else [*argv, "--processes", str(execution.processes)]
        cmd = distributed.torchrun_command(execution.processes, rest)
        log.info("launching %d processes: %s", execution.processes, " ".join(cmd))
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(cmd[0], cmd)
    dist = distributed.init()
    if not dist.is_main:
        logging.getLogger("dualrank").setLevel(logging.WARNING)  # rank 0 reports
    if a.threads:
        torch.set_num_threads(max(1, a.threads // dist.world))
    train(spec, job, execution, dist, log_every=a.log_every)


if __name__ == "__main__":
    main()
