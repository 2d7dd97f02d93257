"""Query samples the trainer measures on and no result reports (issue 12, items 5 and 6).

* ``valid`` (early stopping): MS MARCO's dev queries outside dev-small; NQ's held-out slice
  of the DPR training questions, which then leave the training data.
* ``train-eval`` (the train MRR@10 of Table 2, Table 8 and Figures 1, 3, 4): a sample of the
  training queries with their training labels as qrels, re-ranked on BM25's candidates, the
  same for every model of a dataset.

Both are seeded samples of judged queries (at least one qrel with relevance > 0), so that a
split's ids depend on the upstream files, its size and its seed only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Sample:
    """How many judged queries to draw, and the seed of the draw."""

    queries: int
    seed: int


def judged_sample(queries: pd.DataFrame, qrels: pd.DataFrame, sample: Sample,
                  exclude: Iterable[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``sample.queries`` of the judged queries not in ``exclude`` (all if fewer), drawn with
    ``sample.seed`` from their ids in sorted order; their queries and qrels, in input order."""
    judged = set(qrels.loc[qrels["relevance"] > 0, "query_id"])
    ids = sorted(judged.intersection(queries["query_id"]).difference(exclude))
    rng = np.random.default_rng(sample.seed)
    keep = {ids[i] for i in rng.choice(len(ids), min(sample.queries, len(ids)), replace=False)}
    return queries[queries["query_id"].isin(keep)], qrels[qrels["query_id"].isin(keep)]


def sample_file(queries: str, qrels: str, sample: Sample, queries_out: str, qrels_out: str) -> None:
    """The judged sample of a split's tables, written as a split of its own (``dualrank
    sample-queries``)."""
    from dualrank.data import contracts

    q, r = judged_sample(contracts.read(queries, "queries"), contracts.read(qrels, "qrels"), sample)
    contracts.write(q, queries_out, "queries")
    contracts.write(r, qrels_out, "qrels")
