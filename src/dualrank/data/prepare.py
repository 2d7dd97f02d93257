"""Real datasets -> the Parquet contract under one directory (stage 1, after the downloads).

    python -m dualrank.data.prepare msmarco --collection collection.tsv \
        --queries-train queries.train.tsv --queries-dev queries.dev.tsv \
        --qrels-dev qrels.dev.small.tsv --top1000-dev top1000.dev \
        --queries-dl19 msmarco-test2019-queries.tsv --qrels-dl19 2019qrels-pass.txt \
        --top1000-dl19 msmarco-passagetest2019-top1000.tsv --out-dir data/msmarco
    python -m dualrank.data.prepare nq --passages psgs_w100.tsv --train biencoder-nq-train.json \
        --dev biencoder-nq-dev.json --hard-negatives 19 --out-dir data/nq

MS MARCO: dev is dev-small (the queries judged in qrels.dev.small), DL19 the 43 judged TREC
2019 queries with graded qrels; ``official-{dev,dl19}`` are the official BM25 top-1000
candidate sets (those files carry no scores: rank is file order, score -rank; only their
membership matters for re-ranking). The training pairs come with the teacher scores.
NQ (DPR): training pairs are each question's positive and its first ``hard_negatives`` BM25
hard negatives (Appendix B: 19); the dev candidates are the positives, the BM25 hard
negatives and the random negatives DPR ships with each dev question.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.contracts import ranked
from dualrank.data.io import InputError
from dualrank.cli.logs import entry_point
from dualrank.data import readers
from dualrank.data.convert import _unique_collection, write_chunks

log = logging.getLogger("dualrank.prepare")


def read_top1000(path: str | Path, chunk_rows: int = readers.CHUNK_ROWS) -> pd.DataFrame:
    """MS MARCO ``top1000`` files: ``qid<TAB>pid<TAB>query<TAB>passage`` (no scores).

    Streamed: only the ids are kept, in chunks (the dev file holds 6.67M lines of text)."""
    chunks, qids, pids = [], [], []
    for line_no, line in readers.iter_lines(path):
        try:
            f = readers._fields(line, 4, "qid, pid, query, passage")
            qids.append(readers._id(f[0], "qid"))
            pids.append(readers._id(f[1], "pid"))
        except readers._LineError as e:
            raise InputError(f"{path}:{line_no}: {e}") from None
        if len(qids) >= chunk_rows:
            chunks.append(pd.DataFrame({"query_id": qids, "doc_id": pids}, dtype="str"))
            qids, pids = [], []
    chunks.append(pd.DataFrame({"query_id": qids, "doc_id": pids}, dtype="str"))
    df = pd.concat(chunks, ignore_index=True).drop_duplicates()
    df["rank"] = df.groupby("query_id").cumcount().astype("int32") + 1
    df["score"] = (-df["rank"]).astype("float32")
    return df[["query_id", "doc_id", "score", "rank"]]


def judged(queries: pd.DataFrame, qrels: pd.DataFrame, path) -> pd.DataFrame:
    readers.check_ids(qrels, queries["query_id"], "query_id", path, "the queries file")
    return queries[queries["query_id"].isin(set(qrels["query_id"]))]


def msmarco(a: argparse.Namespace) -> None:
    out = Path(a.out_dir)
    write_chunks(_unique_collection(Path(a.collection), readers.CHUNK_ROWS), out / "corpus.parquet", "corpus")
    # The collection's ids (an Arrow-backed index: ~9M short strings) to check every other file's.
    doc_ids = pd.Index(pq.read_table(out / "corpus.parquet", columns=["doc_id"])["doc_id"].to_pandas())
    contracts.write(readers.read_queries(a.queries_train), out / "queries-train.parquet", "queries")
    for split, queries, qrels, top in (("dev", a.queries_dev, a.qrels_dev, a.top1000_dev),
                                       ("dl19", a.queries_dl19, a.qrels_dl19, a.top1000_dl19)):
        r = readers.read_qrels(qrels)
        readers.check_ids(r, doc_ids, "doc_id", qrels, f"the collection ({a.collection})")
        contracts.write(judged(readers.read_queries(queries), r, qrels), out / f"queries-{split}.parquet", "queries")
        contracts.write(r, out / f"qrels-{split}.parquet", "qrels")
        cands = read_top1000(top)
        readers.check_ids(cands, doc_ids, "doc_id", top, f"the collection ({a.collection})")
        contracts.write(cands[cands["query_id"].isin(set(r["query_id"]))], out / f"official-{split}.parquet", "run")
        log.info("%s: %d judged queries, %d qrels", split, r["query_id"].nunique(), len(r))


def _hard_negatives(pairs: pd.DataFrame, n: int) -> pd.DataFrame:
    """Positives and each query's first ``n`` hard negatives, in file order."""
    negatives = pairs[pairs["label"] == 0]
    keep = negatives.groupby("query_id").cumcount() < n
    return pd.concat([pairs[pairs["label"] > 0], negatives[keep]]).sort_index(kind="stable")


def _read_dpr(path: str, hard_negatives: int | None = None, **kwargs) -> readers.DprData:
    """A DPR biencoder file streamed question chunk by question chunk, keeping queries, qrels and
    pairs (cut to ``hard_negatives`` per query when given) but not the contexts' text: the
    training file holds ~6M contexts, whose text is in psgs_w100 already."""
    parts = []
    for part in readers.iter_dpr_json(path, **kwargs):
        if hard_negatives is not None:
            part.pairs = _hard_negatives(part.pairs, hard_negatives)
        part.corpus = part.corpus.iloc[:0]
        parts.append(part)
    cat = lambda name: pd.concat([getattr(p, name) for p in parts], ignore_index=True)
    return readers.DprData(*(cat(n) for n in ("queries", "answers", "corpus", "qrels", "pairs")))


def nq(a: argparse.Namespace) -> None:
    out = Path(a.out_dir)
    write_chunks(readers.iter_dpr_passages(a.passages), out / "corpus.parquet", "corpus")
    train = _read_dpr(a.train, a.hard_negatives, query_prefix="train")
    pairs = train.pairs
    contracts.write(train.queries, out / "queries-train.parquet", "queries")
    contracts.write(pairs, out / "train-pairs.parquet", "pairs")
    dev = _read_dpr(a.dev, query_prefix="dev", include_random_negatives=True)
    contracts.write(dev.queries, out / "queries-dev.parquet", "queries")
    contracts.write(dev.qrels, out / "qrels-dev.parquet", "qrels")
    cands = dev.pairs[["query_id", "doc_id"]].copy()
    cands["score"] = -cands.groupby("query_id").cumcount().astype("float32")
    contracts.write(ranked(cands), out / "official-dev.parquet", "run")
    log.info("nq: %d train questions (%d pairs), %d dev questions (%d candidates)",
             len(train.queries), len(pairs), len(dev.queries), len(cands))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="dataset", required=True)
    m = sub.add_parser("msmarco")
    for name in ("collection", "queries-train", "queries-dev", "qrels-dev", "top1000-dev",
                 "queries-dl19", "qrels-dl19", "top1000-dl19", "out-dir"):
        m.add_argument(f"--{name}", required=True)
    n = sub.add_parser("nq")
    for name in ("passages", "train", "dev", "out-dir"):
        n.add_argument(f"--{name}", required=True)
    n.add_argument("--hard-negatives", type=int, default=19)
    a = p.parse_args(argv)
    {"msmarco": msmarco, "nq": nq}[a.dataset](a)


if __name__ == "__main__":
    entry_point(main)()
