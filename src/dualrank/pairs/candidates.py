"""Candidate sets built from a BM25 run: training pairs, and NQ's dev re-ranking sets.

    python -m dualrank.pairs.candidates pairs --run R --qrels Q --negatives 30 [--sample-depth 100] --out P.parquet
    python -m dualrank.pairs.candidates mix --run R --qrels Q --corpus C --bm25 100 --random 100 \
        --seed 0 --out RUN.parquet

``pairs``: a query's positives (qrels) plus its top BM25 negatives, unscored, in BM25 order —
the demo's analogue of MS MARCO's triples.train.small, which a teacher then scores.
``mix``: the NQ dev sets of the paper's Appendix B: "200 passages containing positives, 100
BM-25 hard-negatives and up to 100 random negatives". The run's score is BM25's (passages
BM25 did not retrieve rank below those it did), so the BM25 row is the same candidates.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.contracts import ranked
from dualrank.cli.logs import entry_point


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
    for qid, pos in _positives(qrels).groupby("query_id"):
        taken = set(pos["doc_id"]) | set(bm25.loc[bm25["query_id"] == qid, "doc_id"])
        pick = [d for d in rng.choice(doc_ids, min(len(doc_ids), n_random + len(taken)), replace=False)
                if d not in taken][:n_random]
        scored = run[(run["query_id"] == qid) & run["doc_id"].isin(pos["doc_id"])]
        unretrieved = sorted(set(pos["doc_id"]) - set(scored["doc_id"]))
        parts += [scored[["query_id", "doc_id", "score"]],
                  pd.DataFrame({"query_id": qid, "doc_id": unretrieved + pick, "score": floor})]
    df = pd.concat(parts)
    df = df[df["query_id"].isin(qrels["query_id"])]
    return ranked(df.astype({"score": "float32"}))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a1 = sub.add_parser("pairs")
    a1.add_argument("--negatives", type=int, required=True)
    a1.add_argument("--sample-depth", type=int, default=None,
                    help="sample the negatives at random from BM25's top SAMPLE_DEPTH")
    a1.add_argument("--seed", type=int, default=0)
    a1.add_argument("--random", type=int, default=0, help="uniform random negatives from --corpus")
    a1.add_argument("--corpus")
    a2 = sub.add_parser("mix")
    a2.add_argument("--corpus", required=True)
    a2.add_argument("--bm25", type=int, default=100)
    a2.add_argument("--random", type=int, default=100)
    a2.add_argument("--seed", type=int, default=0)
    for s in (a1, a2):
        s.add_argument("--run", required=True)
        s.add_argument("--qrels", required=True)
        s.add_argument("--out", required=True)
    a = p.parse_args(argv)
    run, qrels = contracts.read(a.run, "run"), contracts.read(a.qrels, "qrels")
    if a.cmd == "pairs":
        doc_ids = None
        if a.random:
            doc_ids = pq.read_table(a.corpus, columns=["doc_id"]).column("doc_id").to_numpy(zero_copy_only=False)
        pairs = train_pairs(run, qrels, a.negatives, a.sample_depth, a.seed, a.random, doc_ids)
        contracts.write(pairs, a.out, "pairs")
    else:
        doc_ids = pq.read_table(a.corpus, columns=["doc_id"]).column("doc_id").to_numpy(zero_copy_only=False)
        contracts.write(mix(run, qrels, doc_ids, a.bm25, a.random, a.seed), a.out, "run")


if __name__ == "__main__":
    entry_point(main)()
