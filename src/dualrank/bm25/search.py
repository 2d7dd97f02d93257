"""BM25 top-k per query from a Lucene index into run tables (``dualrank bm25-search``).

Queries are searched a chunk at a time by Anserini's ``SearchCollection``
(:class:`~dualrank.bm25.engine.Engine`); each chunk comes back as a run-contract table in the
queries' input order, rank 1 first. A query is a bag of words (repeated terms weigh more, no
query syntax); one with no indexable term (empty, or stop words only) gets no rows in the run,
and such queries are counted in the log. Scores are Anserini's: rounded to 4 decimals, ties
separated by 1e-6 per document in ``doc_id`` order (see :mod:`dualrank.bm25`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dualrank.bm25 import jvm
from dualrank.bm25.engine import Engine
from dualrank.bm25.inputs import Progress, default_threads, rate, read_queries
from dualrank.data.io import progress as timing
from dualrank.data import contracts
from dualrank.data.io import InputError, atomic_output

log = logging.getLogger(__name__)

# Anserini's MS MARCO passage defaults (config.yaml's bm25 key sets them for the pipeline).
DEFAULT_K1 = 0.9
DEFAULT_B = 0.4


def open_index(index_dir: str | os.PathLike) -> Path:
    index_dir = Path(index_dir)
    if not index_dir.is_dir() or not any(index_dir.glob("segments_*")):
        raise InputError(
            f"{index_dir}: not a Lucene index (no segments_* file); build it with `dualrank bm25-index`"
        )
    return index_dir


def _check_parameters(k: int, k1: float, b: float) -> None:
    if k < 1:
        raise InputError(f"k must be >= 1 (got {k})")
    if not (k1 >= 0 and 0 <= b <= 1):
        raise InputError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 (got k1={k1}, b={b})")


def _clean_query(text: str) -> str:
    """One line, single spaces (the TSV topic format); the analyzer ignores the difference."""
    return " ".join(text.split())


def _search_chunk(engine: Engine, qids: list[str], texts: list[str], workdir: Path) -> pa.Table:
    """The hits of one chunk of queries, in the queries' order, then by rank; queries without
    an indexable term are not sent to Lucene."""
    keep = [i for i, t in enumerate(texts) if t]
    table = engine.search([qids[i] for i in keep], [texts[i] for i in keep], workdir)
    order = pc.index_in(table["query_id"], value_set=pa.array(qids, pa.string()))
    return (
        table.append_column("_order", order)
        .sort_by([("_order", "ascending"), ("rank", "ascending")])
        .drop_columns(["_order"])
    )


def iter_search(index_dir: str | os.PathLike, queries: str | os.PathLike | pd.DataFrame, k: int = 1000,
                k1: float = DEFAULT_K1, b: float = DEFAULT_B, threads: int | None = None,
                chunk_size: int | None = None) -> Iterator[pd.DataFrame]:
    """BM25 top-``k`` per query, yielded as run-contract DataFrames, one per chunk of queries,
    in the queries' input order (rank 1 = best)."""
    _check_parameters(k, k1, b)
    threads = threads or default_threads()
    qdf, where = read_queries(queries)
    index_dir = open_index(index_dir)
    engine = Engine(index_dir, k, k1, b, threads)
    n = len(qdf)
    # About 1M hits per chunk: bounded memory, and a progress line per chunk.
    chunk_size = chunk_size or max(threads, 1_000_000 // k)
    log.info(
        "BM25 (k1=%g, b=%g) top-%d for %d queries of %s over %s (%d docs), %d thread(s), "
        "%d queries per chunk; %s",
        k1, b, k, n, where, index_dir, engine.num_docs, threads, chunk_size, jvm.describe(),
    )  # fmt: skip
    progress = Progress(n)
    empty = hits = 0
    qids_all = qdf["query_id"].tolist()
    texts_all = [_clean_query(t) for t in qdf["text"].tolist()]
    with tempfile.TemporaryDirectory(prefix="dualrank-bm25-") as tmp:
        for start in range(0, n, chunk_size):
            qids = qids_all[start : start + chunk_size]
            table = _search_chunk(engine, qids, texts_all[start : start + chunk_size], Path(tmp))
            empty += len(qids) - len(pc.unique(table["query_id"]))
            hits += table.num_rows
            yield contracts.to_table(table, "run").to_pandas()
            done = min(start + chunk_size, n)
            elapsed = progress.due(done)
            if elapsed is not None:
                log.info("searched %d/%d queries (%s, %d hits)", done, n,
                         timing(done, n - done, elapsed, "queries"), hits)  # fmt: skip
    seconds = progress.elapsed()
    if empty:
        log.warning(
            "%d of %d queries matched no document (empty or stop words only, or no "
            "term in the index) and have no rows in the run",
            empty,
            n,
        )
    log.info("searched %d queries in %.1fs (%s), %d hits", n, seconds, rate(n, seconds, "queries"), hits)


def search(index_dir: str | os.PathLike, queries: str | os.PathLike | pd.DataFrame, k: int = 1000,
           k1: float = DEFAULT_K1, b: float = DEFAULT_B, threads: int | None = None) -> pd.DataFrame:
    """BM25 top-``k`` per query as one run-contract DataFrame (query_id, doc_id, score, rank)."""
    parts = list(iter_search(index_dir, queries, k=k, k1=k1, b=b, threads=threads))
    if not parts:
        return contracts.schema("run").empty_table().to_pandas()
    return pd.concat(parts, ignore_index=True)


def search_to_parquet(index_dir: str | os.PathLike, queries: str | os.PathLike | pd.DataFrame,
                      out: str | os.PathLike, k: int = 1000, k1: float = DEFAULT_K1, b: float = DEFAULT_B,
                      threads: int | None = None, chunk_size: int | None = None) -> Path:
    """Like :func:`search`, streamed to a run Parquet file chunk by chunk (constant memory),
    written to a temporary file beside ``out`` and renamed at the end."""
    out = Path(out)
    with atomic_output(out) as tmp, pq.ParquetWriter(tmp, contracts.schema("run")) as writer:
        for part in iter_search(index_dir, queries, k=k, k1=k1, b=b, threads=threads, chunk_size=chunk_size):
            writer.write_table(contracts.to_table(part, "run", where=str(out)))
    log.info("wrote %s", out)
    return out
