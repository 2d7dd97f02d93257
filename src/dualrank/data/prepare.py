"""Real datasets -> the Parquet contract under one directory (stage 1, after the downloads).

MS MARCO: dev is dev-small (the queries judged in qrels.dev.small), DL19 the 43 judged TREC
2019 queries with graded qrels; ``official-{dev,dl19}`` are the official BM25 top-1000
candidate sets (those files carry no scores: rank is file order, score -rank; only their
membership matters for re-ranking). The training pairs come with the teacher scores.
NQ (DPR): training pairs are each question's first positive and its first ``hard_negatives``
BM25 hard negatives (Appendix B: "19 BM-25 hard-negative passages for each question along with
a positive passage"; DPR's first positive is the one its own training uses); ``official-dev``
holds the positives, the BM25 hard negatives and the random negatives DPR ships with each dev
question (the paper config re-ranks ``mixed-dev`` instead: Appendix B's 100 BM25 + up to 100
random negatives, dualrank.pairs.candidates.mix).
Validation reads no reported query (:mod:`dualrank.data.splits`): ``queries-valid`` /
``qrels-valid`` are a seeded sample of MS MARCO's dev queries outside dev-small, or of NQ's
training questions, which then leave NQ's training tables. ``qrels-train`` (MS MARCO's
qrels.train, NQ's positives) is what the train-eval split is drawn from.

The command line is ``dualrank prepare msmarco|nq`` (:mod:`dualrank.cli.prepare`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.contracts import ranked
from dualrank.data.formats.dpr import DprData, iter_dpr_json, iter_dpr_passages
from dualrank.data.formats.lines import check_ids
from dualrank.data.formats.msmarco import iter_unique_collection, read_queries, read_top1000
from dualrank.data.formats.trec import read_qrels
from dualrank.data.splits import Sample, judged_sample

log = logging.getLogger("dualrank.prepare")


def _file(what: str):
    # The help of the command-line flag that gives the file (dualrank prepare).
    return field(metadata={"help": what})


@dataclass(frozen=True)
class MsmarcoFiles:
    """The upstream MS MARCO files (downloaded, archive members extracted)."""

    collection: str | Path = _file("collection.tsv (pid<TAB>text)")
    queries_train: str | Path = _file("queries.train.tsv")
    queries_dev: str | Path = _file("queries.dev.small.tsv (only the queries judged in --qrels-dev are kept)")
    qrels_dev: str | Path = _file("qrels.dev.small.tsv")
    top1000_dev: str | Path = _file("top1000.dev (qid<TAB>pid<TAB>query<TAB>passage): the official candidates")
    queries_dl19: str | Path = _file("msmarco-test2019-queries.tsv(.gz) (only the judged queries are kept)")
    qrels_dl19: str | Path = _file("2019qrels-pass.txt (graded TREC qrels)")
    top1000_dl19: str | Path = _file("msmarco-passagetest2019-top1000.tsv(.gz): the official candidates")
    queries_dev_all: str | Path = _file("queries.dev.tsv: every dev query (the valid split is drawn "
                                        "from those outside dev-small)")
    qrels_dev_all: str | Path = _file("qrels.dev.tsv: the judgements of every dev query")
    qrels_train: str | Path = _file("qrels.train.tsv: the training labels (qrels-train, for train-eval)")


@dataclass(frozen=True)
class NqFiles:
    """The upstream DPR Natural Questions files."""

    passages: str | Path = _file("DPR psgs_w100.tsv(.gz) (header id<TAB>text<TAB>title)")
    train: str | Path = _file("DPR biencoder-nq-train.json(.gz)")
    dev: str | Path = _file("DPR biencoder-nq-dev.json(.gz)")


def judged(queries: pd.DataFrame, qrels: pd.DataFrame, path) -> pd.DataFrame:
    check_ids(qrels, queries["query_id"], "query_id", path, "the queries file")
    return queries[queries["query_id"].isin(set(qrels["query_id"]))]


def msmarco(files: MsmarcoFiles, out_dir: str | Path, valid: Sample) -> None:
    out = Path(out_dir)
    collection = f"the collection ({files.collection})"
    contracts.write_chunks(iter_unique_collection(Path(files.collection)), out / "corpus.parquet", "corpus")
    # The collection's ids (an Arrow-backed index: ~9M short strings) to check every other file's.
    doc_ids = pd.Index(pq.read_table(out / "corpus.parquet", columns=["doc_id"])["doc_id"].to_pandas())
    contracts.write(read_queries(files.queries_train), out / "queries-train.parquet", "queries")
    for split, queries, qrels, top in (
        ("dev", files.queries_dev, files.qrels_dev, files.top1000_dev),
        ("dl19", files.queries_dl19, files.qrels_dl19, files.top1000_dl19),
    ):
        r = read_qrels(qrels)
        check_ids(r, doc_ids, "doc_id", qrels, collection)
        contracts.write(judged(read_queries(queries), r, qrels), out / f"queries-{split}.parquet", "queries")
        contracts.write(r, out / f"qrels-{split}.parquet", "qrels")
        cands = read_top1000(top)
        check_ids(cands, doc_ids, "doc_id", top, collection)
        contracts.write(cands[cands["query_id"].isin(set(r["query_id"]))], out / f"official-{split}.parquet", "run")
        log.info("%s: %d judged queries, %d qrels", split, r["query_id"].nunique(), len(r))
    msmarco_valid(files, out, valid, doc_ids)
    msmarco_train_qrels(files, out, doc_ids)


def msmarco_valid(files: MsmarcoFiles, out: Path, valid: Sample, doc_ids: pd.Index) -> None:
    """``queries-valid`` / ``qrels-valid``: a seeded sample of the judged dev queries outside
    dev-small (and DL19), so that early stopping never reads a reported query."""
    reported = set(read_queries(files.queries_dev)["query_id"]) | set(read_queries(files.queries_dl19)["query_id"])
    r = read_qrels(files.qrels_dev_all)
    check_ids(r, doc_ids, "doc_id", files.qrels_dev_all, f"the collection ({files.collection})")
    queries, qrels = judged_sample(judged(read_queries(files.queries_dev_all), r, files.qrels_dev_all), r, valid,
                                   exclude=reported)
    contracts.write(queries, out / "queries-valid.parquet", "queries")
    contracts.write(qrels, out / "qrels-valid.parquet", "qrels")
    log.info("valid: %d dev queries outside dev-small, %d qrels", len(queries), len(qrels))


def msmarco_train_qrels(files: MsmarcoFiles, out: Path, doc_ids: pd.Index) -> None:
    """``qrels-train``: qrels.train.tsv, the labels the train-eval split is drawn with."""
    r = read_qrels(files.qrels_train)
    check_ids(r, doc_ids, "doc_id", files.qrels_train, f"the collection ({files.collection})")
    contracts.write(r, out / "qrels-train.parquet", "qrels")


def _hard_negatives(pairs: pd.DataFrame, n: int) -> pd.DataFrame:
    """Each query's first positive and first ``n`` hard negatives, in file order."""
    negatives = pairs[pairs["label"] == 0]
    keep = negatives.groupby("query_id").cumcount() < n
    positives = pairs[pairs["label"] > 0]
    first = positives.groupby("query_id").cumcount() == 0
    return pd.concat([positives[first], negatives[keep]]).sort_index(kind="stable")


def _read_dpr(path: str | Path, hard_negatives: int | None = None, **kwargs) -> DprData:
    """A DPR biencoder file streamed question chunk by question chunk, keeping queries, qrels and
    pairs (cut to ``hard_negatives`` per query when given) but not the contexts' text: the
    training file holds ~6M contexts, whose text is in psgs_w100 already."""
    parts = []
    for part in iter_dpr_json(path, **kwargs):
        if hard_negatives is not None:
            part.pairs = _hard_negatives(part.pairs, hard_negatives)
        part.corpus = part.corpus.iloc[:0]
        parts.append(part)
    return DprData.concat(parts)


def nq(files: NqFiles, out_dir: str | Path, hard_negatives: int, valid: Sample) -> None:
    """NQ's tables; the training pairs keep one positive and ``hard_negatives`` BM25 hard
    negatives per question; ``valid`` questions are held out of them."""
    out = Path(out_dir)
    contracts.write_chunks(iter_dpr_passages(files.passages), out / "corpus.parquet", "corpus")
    train = nq_hold_out_valid(_read_dpr(files.train, hard_negatives, query_prefix="train"), out, valid)
    pairs = train.pairs
    contracts.write(train.queries, out / "queries-train.parquet", "queries")
    contracts.write(pairs, out / "train-pairs.parquet", "pairs")
    dev = _read_dpr(files.dev, query_prefix="dev", include_random_negatives=True)
    contracts.write(dev.queries, out / "queries-dev.parquet", "queries")
    contracts.write(dev.qrels, out / "qrels-dev.parquet", "qrels")
    cands = dev.pairs[["query_id", "doc_id"]].copy()
    cands["score"] = -cands.groupby("query_id").cumcount().astype("float32")
    contracts.write(ranked(cands), out / "official-dev.parquet", "run")
    log.info("nq: %d train questions (%d pairs), %d dev questions (%d candidates)",
             len(train.queries), len(pairs), len(dev.queries), len(cands))


def nq_hold_out_valid(train: DprData, out: Path, valid: Sample) -> DprData:
    """Write ``queries-valid`` / ``qrels-valid`` (a seeded sample of the training questions, their
    DPR positives as qrels) and ``qrels-train`` (the other questions' positives, for the
    train-eval split); return the training data without the valid questions."""
    queries, qrels = judged_sample(train.queries, train.qrels, valid)
    contracts.write(queries, out / "queries-valid.parquet", "queries")
    contracts.write(qrels, out / "qrels-valid.parquet", "qrels")
    held = set(queries["query_id"])

    def rest(df: pd.DataFrame) -> pd.DataFrame:
        return df[~df["query_id"].isin(held)]

    train = DprData(rest(train.queries), rest(train.answers), train.corpus, rest(train.qrels), rest(train.pairs))
    contracts.write(train.qrels, out / "qrels-train.parquet", "qrels")
    log.info("nq: %d training questions held out as the valid split", len(held))
    return train
