"""What a finished training job leaves (rank 0 writes, each file atomically): the best model's
directory, the learning curve (Figure 4), train.json (the best step's metrics and the spec)
and, if asked for, the score dumps of dualrank.training.snapshots (Figures 5 and 7)."""

from __future__ import annotations

import json

import pandas as pd

from dualrank.data import contracts
from dualrank.data.io import atomic_output, write_text
from dualrank.models import Ranker
from dualrank.spec import TrainJob, TrainSpec
from dualrank.training.snapshots import Snapshots, train_scores
from dualrank.training.validation import Validation


def write_outputs(job: TrainJob, spec: TrainSpec, model: Ranker, validation: Validation,
                  snapshots: Snapshots, summary: dict) -> None:
    """Load the best weights into ``model`` and write every output of ``job``."""
    model.load_state_dict(validation.best_state)
    with atomic_output(job.model_out, directory=True) as tmp:
        model.save(tmp)
    with atomic_output(job.curve_out) as tmp:
        pd.DataFrame(validation.curve).to_parquet(tmp, index=False)
    if job.snapshots_out:
        snapshots.write(job.snapshots_out, validation.score(model), validation.stopping.best_step)
    if job.train_scores_out:
        scores = train_scores(model, validation.groups, validation.train_eval_idx, job.groups, validation.per_batch)
        contracts.write(scores, job.train_scores_out, "train_scores")
    write_text(job.summary_out, json.dumps({**summary, "spec": spec.to_dict()}, indent=1))
