"""Candidate sets built from a BM25 run: training pairs, and NQ's dev re-ranking sets
(``dualrank candidates pairs|mix``).

``pairs``: a query's positives (qrels) plus its top BM25 negatives, unscored, in BM25 order —
the demo's analogue of MS MARCO's triples.train.small, which a teacher then scores.
``mix``: the NQ dev sets of the paper's Appendix B: "200 passages containing positives, 100
BM-25 hard-negatives and up to 100 random negatives". The run's score is BM25's (passages
BM25 did not retrieve rank below those it did), so the BM25 row is the same candidates.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.contracts import ranked


def _positives(qrels: pd.DataFrame) -> pd.DataFrame:
    return qrels[qrels["relevance"] > 0][["query_id", "doc_id"]]


def _negatives(run: pd.DataFrame, qrels: pd.DataFrame, n: int) -> pd.DataFrame:
    judged = qrels.set_index(["query_id", "doc_id"]).index
    run = run.sort_values(["query_id", "rank"], kind="stable")
    neg = run[~run.set_index(["query_id", "doc_id"]).index.isin(judged)]
    return neg[neg.groupby("query_id").cumcount() < n]


def train_pairs(run: pd.DataFrame, qrels: pd.DataFrame, n_negatives: int, depth: int | None = None,
                seed: int = 0, n_random: int = 0, doc_ids: np.ndarray | None = None) -> pd.DataFrame:
    """Positives, then ``n_negatives`` negatives: BM25's top ones, or with ``depth`` a seeded
    random sample of the top-``depth`` in random order, as triples.train.small samples its
    negatives from BM25's top 1000 (hard negatives that share the query's words, and easier
    ones that do not); ``n_random`` more are drawn uniformly from ``doc_ids`` (the corpus)."""
    pos = _positives(qrels).assign(label=1, _r=-1.0)
    neg = _negatives(run, qrels, depth or n_negatives)[["query_id", "doc_id", "rank"]]
    neg = neg.rename(columns={"rank": "_r"}).assign(label=0)
    rng = np.random.default_rng(seed)
    if depth:
        neg["_r"] = rng.random(len(neg))
        neg = neg.sort_values(["query_id", "_r"], kind="stable")
        neg = neg[neg.groupby("query_id").cumcount() < n_negatives]
    if n_random and doc_ids is not None:
        # Uniform negatives from the whole corpus, shuffled in among the BM25 ones.
        qids = pos["query_id"].unique()
        rand = pd.DataFrame({"query_id": np.repeat(qids, n_random),
                             "doc_id": rng.choice(doc_ids, len(qids) * n_random),
                             "_r": rng.random(len(qids) * n_random), "label": 0})
        judged = qrels.set_index(["query_id", "doc_id"]).index
        rand = rand[~rand.set_index(["query_id", "doc_id"]).index.isin(judged)]
        neg = pd.concat([neg, rand]).drop_duplicates(["query_id", "doc_id"])
    df = pd.concat([pos, neg[neg["query_id"].isin(pos["query_id"])]])
    df = df.sort_values(["query_id", "_r"], kind="stable")
    return df.assign(teacher_score=np.nan)[["query_id", "doc_id", "label", "teacher_score"]]


def mix(run: pd.DataFrame, qrels: pd.DataFrame, doc_ids: np.ndarray, n_bm25: int, n_random: int,
        seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bm25 = _negatives(run, qrels, n_bm25)[["query_id", "doc_id", "score"]]
    floor = float(run["score"].min()) - 1.0
    parts = [bm25]
    # Each query's rows looked up once (NQ dev: ~6,500 questions over a 6.5M-row run; a scan
    # of the whole run per question would take hours).
    bm25_of = {q: set(d) for q, d in bm25.groupby("query_id", sort=False)["doc_id"]}
    run_of = dict(tuple(run[["query_id", "doc_id", "score"]].groupby("query_id", sort=False)))
    empty = run.iloc[:0][["query_id", "doc_id", "score"]]
    for qid, pos in _positives(qrels).groupby("query_id"):
        taken = set(pos["doc_id"]) | bm25_of.get(qid, set())
        pick = [d for d in rng.choice(doc_ids, min(len(doc_ids), n_random + len(taken)), replace=False)
                if d not in taken][:n_random]
        mine = run_of.get(qid, empty)
        scored = mine[mine["doc_id"].isin(pos["doc_id"])]
        unretrieved = sorted(set(pos["doc_id"]) - set(scored["doc_id"]))
        parts += [scored,
                  pd.DataFrame({"query_id": qid, "doc_id": unretrieved + pick, "score": floor})]
    df = pd.concat(parts)
    df = df[df["query_id"].isin(qrels["query_id"])]
    return ranked(df.astype({"score": "float32"}))


def corpus_doc_ids(corpus: str | os.PathLike) -> np.ndarray:
    """Every doc_id of a corpus table, in file order (what random negatives are drawn from)."""
    return pq.read_table(corpus, columns=["doc_id"]).column("doc_id").to_numpy(zero_copy_only=False)


def pairs_file(run: str | os.PathLike, qrels: str | os.PathLike, out: str | os.PathLike, n_negatives: int,
               depth: int | None = None, seed: int = 0, n_random: int = 0,
               corpus: str | os.PathLike | None = None) -> Path:
    """:func:`train_pairs` from a run and a qrels file to a pairs file (``corpus``: needed for
    ``n_random``)."""
    run_df, qrels_df = contracts.read(run, "run"), contracts.read(qrels, "qrels")
    doc_ids = corpus_doc_ids(corpus) if n_random else None
    pairs = train_pairs(run_df, qrels_df, n_negatives, depth, seed, n_random, doc_ids)
    return contracts.write(pairs, out, "pairs")


def mix_file(run: str | os.PathLike, qrels: str | os.PathLike, corpus: str | os.PathLike, out: str | os.PathLike,
             n_bm25: int, n_random: int, seed: int) -> Path:
    """:func:`mix` from a run, a qrels and a corpus file to a run file."""
    run_df, qrels_df = contracts.read(run, "run"), contracts.read(qrels, "qrels")
    return contracts.write(mix(run_df, qrels_df, corpus_doc_ids(corpus), n_bm25, n_random, seed), out, "run")
