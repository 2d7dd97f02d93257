"""Per-pair score dumps of a training run, for the score-distribution figures.

* ``snapshots.parquet`` (Figure 7): the scores of the valid candidates the trainer evaluates
  on, at stage "init" (step 0, before any update), "step{N}" for every configured
  ``training.snapshot_steps`` N that training reaches, and "final": the model after the last
  step ("at the completion of 300,000 steps of training", C.3), whose ``step`` is that step;
  under early stopping the step it stopped at, not the early-stopped best that the job outputs.
  Labels are the valid qrels' relevance, 0 for unjudged pairs. The stages taken so far travel in the checkpoint, so a
  resumed run writes the same file as an uninterrupted one.
* ``train-scores.parquet`` (Figure 5): the output model's scores of every document of the fixed
  subset of training groups the trainer measures train MRR@10 on, with their labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from collections.abc import Iterable

from dualrank.data import contracts
from dualrank.training.groups import Groups


class Snapshots:
    def __init__(self, steps: Iterable[int], qrels: pd.DataFrame):
        self.steps = set(steps)
        self.qrels = qrels[["query_id", "doc_id", "relevance"]]
        self.frames: list[pd.DataFrame] = []

    def _frame(self, stage: str, step: int, run: pd.DataFrame) -> pd.DataFrame:
        df = run[["query_id", "doc_id", "score"]].merge(self.qrels, on=["query_id", "doc_id"], how="left")
        df = df.assign(stage=stage, step=step, label=df["relevance"].fillna(0).astype("int8"))
        return df.drop(columns="relevance")

    def taken(self) -> set[int]:
        return {int(f["step"].iat[0]) for f in self.frames if len(f)}

    def wants(self, step: int) -> bool:
        return (step == 0 or step in self.steps) and step not in self.taken()

    def offer(self, step: int, run: pd.DataFrame) -> None:
        """Keep ``run``'s scores (query_id, doc_id, score) if ``step`` is a snapshot step."""
        if self.wants(step):
            self.frames.append(self._frame("init" if step == 0 else f"step{step}", step, run))

    # The checkpoint holds the frames column by column (numbers as tensors, ids as lists of
    # strings): a weights_only checkpoint cannot hold a DataFrame.
    def state(self) -> list[dict]:
        return [{"dtypes": {c: str(t) for c, t in f.dtypes.items()},
                 "columns": {c: torch.from_numpy(f[c].to_numpy().copy()) if t.kind in "biuf"
                             else f[c].astype(str).tolist() for c, t in f.dtypes.items()}}
                for f in self.frames]

    def restore(self, state: list[dict] | None) -> None:
        self.frames = [pd.DataFrame({c: v.cpu().numpy() if isinstance(v, torch.Tensor) else v
                                     for c, v in s["columns"].items()}).astype(s["dtypes"])
                       for s in state or []]

    def write(self, path, last_run: pd.DataFrame, last_step: int) -> None:
        """The stages taken, and "final": ``last_run``, the scores after the last step."""
        final = self._frame("final", last_step, last_run)
        contracts.write(pd.concat([*self.frames, final], ignore_index=True), path, "snapshots")


def score_group_rows(model, groups: Groups, idx: np.ndarray, batch_size: int) -> np.ndarray:
    """[len(idx), K] scores of groups ``idx``, in eval mode (padding slots scored, not masked)."""
    scores = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(idx), batch_size):
            b = idx[i:i + batch_size]
            s = model.score_groups([groups.query_ids[j] for j in b], [groups.doc_ids[j] for j in b])
            scores.append(s.float().cpu().numpy())
    model.train()
    return np.concatenate(scores) if scores else np.zeros((0, groups.k), np.float32)


def train_scores(model, groups: Groups, idx: np.ndarray, groups_path, batch_size: int) -> pd.DataFrame:
    """Scores of the documents of groups ``idx`` (rows of ``groups_path``), padding dropped."""
    # Arrow, then only rows ``idx`` as pandas: the whole file as pandas objects would be tens of
    # GB for a triplet run's ~40M groups.
    table = contracts.open_parquet(groups_path, "groups").read(columns=["query_id", "doc_ids", "labels"])
    ids = table.take(pa.array(np.asarray(idx, np.int64))).to_pandas()
    s = score_group_rows(model, groups, idx, batch_size)
    rows = [(q, d, y, s[r, k]) for r, (q, docs, labels) in enumerate(ids.itertuples(index=False))
            for k, (d, y) in enumerate(zip(docs, labels))]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "label", "score"])
