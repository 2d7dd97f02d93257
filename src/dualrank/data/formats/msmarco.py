"""MS MARCO's TSV files: the collection, queries, ``top1000`` candidates, training triples, and
the published teacher scores of Hofstaetter et al. (2020) over those triples.

The text is returned as stored; MS MARCO's mojibake (``donât``) is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from dualrank.data.formats.lines import (
    CHUNK_ROWS,
    LineError,
    check_unique,
    concat,
    id_text,
    iter_chunks,
    iter_lines,
    parse_float,
    parse_id,
    split_fields,
)
from dualrank.data.io import InputError

_STR2 = {"doc_id": "str", "text": "str"}


def iter_collection(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """MS MARCO ``collection.tsv`` (``pid<TAB>text``) as corpus chunks. Empty text is allowed."""
    return iter_chunks(path, id_text("doc", True), ["doc_id", "text"], _STR2, chunk_rows)


def read_collection(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    df = concat(iter_collection(path, chunk_rows))
    check_unique(df, ["doc_id"], path)
    return df


def iter_unique_collection(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterable[pd.DataFrame]:
    """The collection's chunks, refusing a doc id seen before (in any earlier chunk)."""
    seen: set[str] = set()
    for chunk in iter_collection(path, chunk_rows):
        ids = chunk["doc_id"].tolist()
        new = set(ids)
        if len(new) != len(ids) or not seen.isdisjoint(new):
            check_unique(chunk, ["doc_id"], path)  # names both lines if within chunk
            line = next(i for i, d in zip(chunk.index, ids) if d in seen)
            raise InputError(f"{path}:{line}: duplicate doc_id {chunk.loc[line, 'doc_id']!r}")
        seen |= new
        yield chunk


def read_queries(path: str | Path) -> pd.DataFrame:
    """MS MARCO / TREC DL queries (``qid<TAB>text``) as a queries table."""
    df = concat(
        iter_chunks(
            path,
            id_text("query", False),
            ["query_id", "text"],
            {"query_id": "str", "text": "str"},
            CHUNK_ROWS,
        )
    )
    check_unique(df, ["query_id"], path)
    return df


def read_top1000(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """MS MARCO ``top1000`` files: ``qid<TAB>pid<TAB>query<TAB>passage`` (no scores) as a run.

    Streamed: only the ids are kept, in chunks (the dev file holds 6.67M lines of text). The
    rank is the file order within each query and the score ``-rank``."""
    chunks, qids, pids = [], [], []
    for line_no, line in iter_lines(path):
        try:
            f = split_fields(line, 4, "qid, pid, query, passage")
            qids.append(parse_id(f[0], "qid"))
            pids.append(parse_id(f[1], "pid"))
        except LineError as e:
            raise InputError(f"{path}:{line_no}: {e}") from None
        if len(qids) >= chunk_rows:
            chunks.append(pd.DataFrame({"query_id": qids, "doc_id": pids}, dtype="str"))
            qids, pids = [], []
    chunks.append(pd.DataFrame({"query_id": qids, "doc_id": pids}, dtype="str"))
    df = pd.concat(chunks, ignore_index=True).drop_duplicates()
    df["rank"] = df.groupby("query_id").cumcount().astype("int32") + 1
    df["score"] = (-df["rank"]).astype("float32")
    return df[["query_id", "doc_id", "score", "rank"]]


def _parse_triple(line: str) -> tuple:
    parts = split_fields(line, 3, "query, positive passage, negative passage")
    for name, value in zip(("query", "positive passage", "negative passage"), parts):
        if not value.strip():
            raise LineError(f"empty {name}")
    return tuple(parts)


def iter_triples(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """``triples.train.small.tsv`` (text only) as chunks with ``query, positive, negative``."""
    cols = ["query", "positive", "negative"]
    return iter_chunks(path, _parse_triple, cols, dict.fromkeys(cols, "str"), chunk_rows)


def read_triples(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    return concat(iter_triples(path, chunk_rows))


_TEACHER_COLS = ["query_id", "pos_id", "neg_id", "pos_score", "neg_score"]


def _parse_teacher(line: str) -> tuple:
    pos, neg, qid, pos_id, neg_id = split_fields(
        line, 5, "pos_score, neg_score, query_id, pos_id, neg_id", sep=None
    )
    return qid, pos_id, neg_id, parse_float(pos, "pos_score"), parse_float(neg, "neg_score")


def iter_teacher_scores(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Hofstaetter et al. (2020) teacher scores (Zenodo 4068216), one triple per line:
    ``pos_score<TAB>neg_score<TAB>query_id<TAB>pos_passage_id<TAB>neg_passage_id``."""
    dtypes = {"query_id": "str", "pos_id": "str", "neg_id": "str"}
    dtypes |= {"pos_score": "float64", "neg_score": "float64"}
    return iter_chunks(path, _parse_teacher, _TEACHER_COLS, dtypes, chunk_rows)


def read_teacher_scores(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    return concat(iter_teacher_scores(path, chunk_rows))


def teacher_pairs(triples: pd.DataFrame) -> pd.DataFrame:
    """Teacher-score triples -> the pairs contract (label 1 for the positive, 0 for negatives).

    A (query, passage) pair met in several triples keeps the mean of its teacher scores (a
    deterministic teacher gives the same score up to float noise) and its largest label.
    """
    pos = triples[["query_id", "pos_id", "pos_score"]].set_axis(
        ["query_id", "doc_id", "teacher_score"], axis=1
    )
    neg = triples[["query_id", "neg_id", "neg_score"]].set_axis(
        ["query_id", "doc_id", "teacher_score"], axis=1
    )
    pairs = pd.concat([pos.assign(label=1), neg.assign(label=0)], ignore_index=True)
    pairs = pairs.groupby(["query_id", "doc_id"], sort=True, as_index=False).agg(
        label=("label", "max"), teacher_score=("teacher_score", "mean")
    )
    return pairs.astype({"label": "int8", "teacher_score": "float32"})[
        ["query_id", "doc_id", "label", "teacher_score"]
    ]
