"""Building a Lucene BM25 index of a corpus table (``dualrank bm25-index``).

Indexing goes through pyserini's ``LuceneIndexer`` (Anserini ``SimpleIndexer``, the same
``DefaultLuceneDocumentGenerator`` as ``IndexCollection -collection JsonCollection``), merged
into one segment at the end (``-optimize``). A document whose text is empty is not indexed
(Anserini skips it); it is counted and logged.

The index directory is built in a temporary folder beside it and renamed into place at the
end, so an interrupted job never leaves a half-built index at the output path; it holds
``dualrank-index.json`` with the corpus path, counts and the software versions used.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from dualrank.bm25 import jvm
from dualrank.bm25.inputs import (
    Progress,
    check_ids_and_text,
    check_trec_ids,
    corpus_batches,
    default_threads,
    rate,
)
from dualrank.data.io import atomic_output, write_text
from dualrank.data.io import progress as timing

log = logging.getLogger(__name__)

INDEX_META = "dualrank-index.json"
ANALYZER = "Anserini DefaultEnglishAnalyzer (Porter stemmer, Lucene English stop words)"


def build_index(
    corpus: str | os.PathLike | pd.DataFrame,
    index_dir: str | os.PathLike,
    threads: int | None = None,
    batch_size: int = 10_000,
    optimize: bool = True,
) -> dict:
    """Build a Lucene BM25 index of ``corpus`` (contract ``corpus``: doc_id, text) at
    ``index_dir``, atomically replacing whatever is there. Returns the index metadata.

    ``optimize`` merges the index into one segment at the end (Anserini's ``-optimize``):
    slower to build, faster to search, and scores do not depend on it."""
    threads = threads or default_threads()
    index_dir = Path(index_dir)
    total, where, batches = corpus_batches(corpus, batch_size)
    ns = jvm.pyserini_lucene()
    jvm.set_anserini_log_level()
    log.info("indexing %s (%d docs) with %s, %d thread(s)", where, total, jvm.describe(), threads)
    with atomic_output(index_dir, directory=True) as tmp:
        progress = Progress(total)
        indexer = ns.LuceneIndexer(str(tmp), threads=threads)
        complete = False
        try:
            done = _add_documents(indexer, batches, where, progress)
            complete = True
            if optimize:
                log.info("merging into one segment")
        finally:
            # SimpleIndexer.close(optimize): commit, then forceMerge(1) if optimize.
            indexer.object.close(bool(optimize and complete))
        seconds = progress.elapsed()
        stats = _index_stats(ns, tmp)
        skipped = done - stats["documents"]
        if skipped:
            log.warning("%d of %d documents had empty text and were not indexed", skipped, done)
        meta = {
            "corpus": str(corpus) if not isinstance(corpus, pd.DataFrame) else None,
            "input_documents": done,
            "skipped_empty_documents": skipped,
            **stats,
            "analyzer": ANALYZER,
            "pyserini": ns.version,
            "anserini_jar": ns.jvm.jar.name if ns.jvm.jar else None,
            "java": ns.jvm.java_version,
            "threads": threads,
            "optimized": bool(optimize),
            "seconds": round(seconds, 3),
        }
        write_text(tmp / INDEX_META, json.dumps(meta, indent=2) + "\n")
    log.info(
        "index %s: %d docs, %d unique terms, %d terms in %.1fs (%s)",
        index_dir,
        stats["documents"],
        stats["unique_terms"],
        stats["total_terms"],
        seconds,
        rate(done, seconds, "docs"),
    )
    return meta


def _add_documents(indexer, batches: Iterator[pa.Table], where: str, progress: Progress) -> int:
    """Check and index every batch; returns the number of documents given to Lucene."""
    done = 0
    for batch in batches:
        check_ids_and_text(batch, "doc_id", where, done)
        check_trec_ids(batch["doc_id"], "doc_id", where, done)
        docs = [
            {"id": i, "contents": t}
            for i, t in zip(batch["doc_id"].to_pylist(), batch["text"].to_pylist())
        ]
        indexer.add_batch_dict(docs)
        done += len(docs)
        elapsed = progress.due(done)
        if elapsed is not None:
            log.info("indexed %d/%d docs (%s)", done, progress.total,
                     timing(done, progress.total - done, elapsed, "docs"))
    return done


def _index_stats(ns, index_dir: Path) -> dict[str, int]:
    """Lucene's counts of the finished index (documents, unique_terms, total_terms, ...)."""
    reader = ns.LuceneIndexReader(str(index_dir))
    try:
        return {k: int(v) for k, v in reader.stats().items()}
    finally:
        reader.reader.close()


def read_index_meta(index_dir: str | os.PathLike) -> dict | None:
    p = Path(index_dir) / INDEX_META
    return json.loads(p.read_text()) if p.exists() else None

