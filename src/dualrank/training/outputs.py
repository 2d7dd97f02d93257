"""What a finished training job leaves (rank 0 writes, each file atomically): the output model's
directory (the early-stopped best, or the last step's without early stopping), the learning
curve (Figure 4), train.json (the output model's metrics and the spec) and, if asked for, the
score dumps of dualrank.training.snapshots (Figure 7: the last step; Figure 5: the output model)."""

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
                  snapshots: Snapshots, summary: dict) -> dict:
    """Write every output of ``job``; ``model`` holds the last step's weights, and the output
    model's (validation.output_model) once Figure 7's last panel has scored them. Returns the
    summary as written (with the output model's train MRR@10 if measured only now)."""
    # Figure 7's bottom row is "at the completion of ... training" (C.3): the last step's model.
    last_run = validation.score(model) if job.snapshots_out else None
    validation.output_model(model)
    validation.output_train_mrr(model)
    summary = {**summary, "train_mrr@10": validation.summary()["train_mrr@10"]}
    with atomic_output(job.model_out, directory=True) as tmp:
        model.save(tmp)
    with atomic_output(job.curve_out) as tmp:
        pd.DataFrame(validation.curve).to_parquet(tmp, index=False)
    if job.snapshots_out:
        snapshots.write(job.snapshots_out, last_run, summary["steps"])
    if job.train_scores_out:
        scores = train_scores(model, validation.groups, validation.train_eval_idx, job.groups, validation.per_batch)
        contracts.write(scores, job.train_scores_out, "train_scores")
    write_text(job.summary_out, json.dumps({**summary, "spec": spec.to_dict()}, indent=1))
    return summary
