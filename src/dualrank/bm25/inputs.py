"""What BM25 indexing and search share: their input tables, checked for Lucene and TREC runs,
the default thread count, and progress lines."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dualrank.data import contracts
from dualrank.data.io import InputError


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_ids_and_text(table: pa.Table, id_col: str, where: str, row0: int) -> None:
    for col in (id_col, "text"):
        nulls = pc.is_null(table[col])
        if pc.any(nulls).as_py():
            first = pc.index(nulls, True).as_py()
            raise InputError(f"{where}: row {row0 + first}: {col} is null")


def check_unique(ids: pa.ChunkedArray | pa.Array, id_col: str, where: str) -> None:
    counts = pc.value_counts(ids)
    dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(dup):
        shown = ", ".join(repr(x) for x in dup.to_pylist()[:5])
        raise InputError(f"{where}: {len(dup)} duplicate {id_col} value(s), e.g. {shown}")


def check_trec_ids(ids: pa.ChunkedArray | pa.Array, id_col: str, where: str, row0: int) -> None:
    """Ids go into TREC run files (space separated): no whitespace, not empty."""
    bad = pc.or_(pc.match_substring_regex(ids, r"\s"), pc.equal(pc.utf8_length(ids), 0))
    if pc.any(bad).as_py():
        first = pc.index(bad, True).as_py()
        raise InputError(
            f"{where}: row {row0 + first}: {id_col} {ids[first].as_py()!r} is empty "
            f"or contains whitespace (not allowed in TREC runs)"
        )


def corpus_batches(
    corpus: str | os.PathLike | pd.DataFrame, batch_size: int
) -> tuple[int, str, Iterator[pa.Table]]:
    """(rows, description, batches in the corpus contract) for a corpus Parquet path or
    DataFrame; doc ids are checked unique up front, nulls and TREC-unsafe ids batch by batch
    by the caller."""
    if isinstance(corpus, pd.DataFrame):
        table = contracts.to_table(corpus, "corpus", where="<corpus DataFrame>")
        where = "<corpus DataFrame>"
        check_unique(table["doc_id"], "doc_id", where)

        def gen():
            for start in range(0, table.num_rows, batch_size):
                yield table.slice(start, batch_size)

        return table.num_rows, where, gen()

    path = Path(corpus)
    where = str(path)
    pf = contracts.open_parquet(path, "corpus")
    check_unique(pf.read(columns=["doc_id"])["doc_id"], "doc_id", where)

    def gen():
        for batch in pf.iter_batches(batch_size=batch_size, columns=["doc_id", "text"]):
            yield contracts.to_table(pa.Table.from_batches([batch]), "corpus", where=where)

    return pf.metadata.num_rows, where, gen()


def read_queries(queries: str | os.PathLike | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The queries table (checked: ids and texts not null, ids unique and TREC-safe) and a
    description of where it came from."""
    if isinstance(queries, pd.DataFrame):
        where = "<queries DataFrame>"
        table = contracts.to_table(queries, "queries", where=where)
    else:
        where = str(queries)
        table = pa.Table.from_pandas(contracts.read(queries, "queries"), preserve_index=False)
    check_ids_and_text(table, "query_id", where, 0)
    check_unique(table["query_id"], "query_id", where)
    qdf = table.to_pandas()
    check_trec_ids(pa.array(qdf["query_id"], pa.string()), "query_id", where, 0)
    return qdf, where


def rate(n: int, seconds: float, unit: str) -> str:
    return f"{n / seconds:,.0f} {unit}/s" if seconds > 0 else f"- {unit}/s"


class Progress:
    """Elapsed time of a long loop, and when to log it: every 10 s and at the end."""

    def __init__(self, total: int):
        self.total = total
        self.t0 = self.last = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def due(self, done: int) -> float | None:
        """Seconds since the start when a progress line is due after ``done`` items, else None."""
        now = time.perf_counter()
        if now - self.last >= 10 or done == self.total:
            self.last = now
            return now - self.t0
        return None
