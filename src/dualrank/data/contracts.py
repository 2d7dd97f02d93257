"""The Parquet contracts between stages, declared once (DESIGN.md, "Stages and data contracts").

Every stage reads and writes through :func:`read` and :func:`write`: ``write`` validates the
columns, casts to the declared types and replaces the target atomically
(:func:`~dualrank.data.io.atomic_output`), so a killed job never leaves a half-written table at
an output path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dualrank.data.io import InputError, atomic_output

#: The Arrow type of every contract column: a column name means the same in every table.
COLUMN_TYPES: dict[str, pa.DataType] = {
    "query_id": pa.string(),
    "doc_id": pa.string(),
    "text": pa.string(),
    "relevance": pa.int8(),
    "score": pa.float32(),
    "rank": pa.int32(),
    "label": pa.int8(),
    "teacher_score": pa.float32(),
    "pos_id": pa.string(),
    "neg_id": pa.string(),
    "pos_score": pa.float32(),
    "neg_score": pa.float32(),
    "doc_ids": pa.list_(pa.string()),
    "labels": pa.list_(pa.int8()),
    "teacher_scores": pa.list_(pa.float32()),
    "stage": pa.string(),
    "step": pa.int64(),
}

#: Each table kind's columns, in order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "corpus": ("doc_id", "text"),
    "queries": ("query_id", "text"),
    "qrels": ("query_id", "doc_id", "relevance"),
    "run": ("query_id", "doc_id", "score", "rank"),
    # Labelled (query, doc) pairs to be scored by a teacher; teacher_score is null until scored.
    "pairs": ("query_id", "doc_id", "label", "teacher_score"),
    # One (query, positive, negative) training triple a row, in the order of the upstream file
    # (MS MARCO's triples.train.small with the published teacher scores; null without a teacher).
    "triples": ("query_id", "pos_id", "neg_id", "pos_score", "neg_score"),
    "groups": ("query_id", "doc_ids", "labels", "teacher_scores"),
    # Scores of a run's valid candidates at init, snapshot steps and the end (Figure 7).
    "snapshots": ("stage", "step", "query_id", "doc_id", "label", "score"),
    # The final model's scores of the documents of a fixed subset of training groups (Figure 5).
    "train_scores": ("query_id", "doc_id", "label", "score"),
}

SCHEMAS: dict[str, pa.Schema] = {
    kind: pa.schema([(name, COLUMN_TYPES[name]) for name in names]) for kind, names in COLUMNS.items()
}


def schema(kind: str) -> pa.Schema:
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise InputError(f"unknown table kind {kind!r}; known: {sorted(SCHEMAS)}") from None


def to_table(data: pd.DataFrame | pa.Table, kind: str, where: str = "<memory>") -> pa.Table:
    """Select and cast the contract's columns; fail naming the missing ones."""
    sch = schema(kind)
    table = pa.Table.from_pandas(data, preserve_index=False) if isinstance(data, pd.DataFrame) else data
    missing = [n for n in sch.names if n not in table.column_names]
    if missing:
        raise InputError(f"{where}: a {kind} table needs columns {missing} (has {table.column_names})")
    table = table.select(sch.names)
    try:
        return table.cast(sch)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        raise InputError(f"{where}: columns do not match the {kind} contract {sch}: {e}") from e


def write(data: pd.DataFrame | pa.Table, path: str | os.PathLike, kind: str) -> Path:
    """``data`` as a ``kind`` table at ``path``, its columns checked and cast, atomically."""
    table = to_table(data, kind, where=str(path))
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def write_chunks(chunks: Iterable[pd.DataFrame], path: str | os.PathLike, kind: str) -> Path:
    """DataFrame chunks as one ``kind`` Parquet table, atomically (a streamed :func:`write`)."""
    with atomic_output(path) as tmp, pq.ParquetWriter(tmp, schema(kind)) as writer:
        for chunk in chunks:
            writer.write_table(to_table(chunk, kind, where=str(path)))
    return Path(path)


def open_parquet(path: str | os.PathLike, kind: str) -> pq.ParquetFile:
    """A contract table opened for streamed reading (``iter_batches``), its columns checked.

    ``pre_buffer=False``: a pre-buffering reader keeps every column chunk it has read until it
    is closed -- the whole file after one pass (3 GB of MS MARCO text), unbounding memory.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file (expected a {kind} table)")
    try:
        pf = pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file: {e}") from e
    to_table(pf.schema_arrow.empty_table(), kind, where=str(path))  # names and types
    return pf


def read(path: str | os.PathLike, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file (expected a {kind} table)")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file: {e}") from e
    table = to_table(table, kind, where=str(path))
    if columns is not None:
        table = table.select(columns)
    return table.to_pandas()


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    """A run from (query_id, doc_id, score): rank 1..n per query by descending score, ties by
    doc id so that the order is deterministic."""
    df = df.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, True], kind="stable")
    df = df.reset_index(drop=True)
    df["rank"] = df.groupby("query_id").cumcount().astype("int32") + 1
    return df[["query_id", "doc_id", "score", "rank"]]
