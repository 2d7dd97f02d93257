"""BM25 candidates with Lucene, through pyserini (DESIGN.md stage 2, "candidates").

Index::

    python -m dualrank.bm25.search index --corpus data/x/corpus.parquet --index DIR [--threads N]

Search::

    python -m dualrank.bm25.search search --index DIR --queries Q.parquet --out RUN.parquet \\
        --k 1000 [--k1 0.9 --b 0.4] [--threads N]

What Lucene does here, so that runs are comparable with Anserini's published BM25 baselines:

* Analysis: Anserini's ``DefaultEnglishAnalyzer`` (standard tokeniser, lower case, English
  possessive removal, Lucene's 33 English stop words, Porter stemmer) for documents and
  queries alike; a query is a bag of words (repeated terms weigh more); no query syntax.
* Scoring: Lucene ``BM25Similarity(k1, b)``, ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``,
  ``tf part = tf / (tf + k1 (1 - b + b dl/avgdl))`` (no ``k1 + 1`` factor), where N and avgdl
  count documents with at least one indexed term and dl is stored lossily (SmallFloat).
* Scores and ties: Anserini rounds every score to 4 decimals and breaks ties by ``doc_id``
  (ascending), subtracting 1e-6 per tied document, so ``score`` is strictly decreasing within a
  query and the ranking is deterministic whatever the thread count.
* A document whose text is empty is not indexed (Anserini skips it); a query with no indexable
  term (empty, or stop words only) gets no rows in the run. Both are logged.
* Ids must not contain whitespace (they pass through TREC run files).

Indexing goes through pyserini's ``LuceneIndexer`` (Anserini ``SimpleIndexer``, the same
``DefaultLuceneDocumentGenerator`` as ``IndexCollection -collection JsonCollection``), merged
into one segment at the end (``-optimize``). Search runs Anserini's ``SearchCollection`` (the
Java program behind Anserini's regressions) inside pyserini's JVM, one chunk of queries at a
time, and reads its TREC output (scores printed with 6 decimals); pyserini's
``LuceneSearcher`` answers the same queries identically but is about twice slower because every
hit crosses into Python through pyjnius. The JVM is set up by :mod:`dualrank.bm25.lucene`.

The index directory is built in a temporary folder beside it and renamed into place at the
end, so an interrupted job never leaves a half-built index at the output path; it holds
``dualrank-index.json`` with the corpus path, counts and the software versions used.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.bm25.search import lucene
from dualrank.data.io import InputError

log = logging.getLogger("dualrank.bm25.search")

INDEX_META = "dualrank-index.json"
DEFAULT_K1 = 0.9
DEFAULT_B = 0.4


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- input


def _check_ids_and_text(table: pa.Table, id_col: str, where: str, row0: int) -> None:
    for col in (id_col, "text"):
        nulls = pc.is_null(table[col])
        if pc.any(nulls).as_py():
            first = pc.index(nulls, True).as_py()
            raise InputError(f"{where}: row {row0 + first}: {col} is null")


def _check_unique(ids: pa.ChunkedArray | pa.Array, id_col: str, where: str) -> None:
    counts = pc.value_counts(ids)
    dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(dup):
        shown = ", ".join(repr(x) for x in dup.to_pylist()[:5])
        raise InputError(f"{where}: {len(dup)} duplicate {id_col} value(s), e.g. {shown}")


def _check_trec_ids(ids: pa.ChunkedArray | pa.Array, id_col: str, where: str, row0: int) -> None:
    """Ids go into TREC run files (space separated): no whitespace, not empty."""
    bad = pc.or_(pc.match_substring_regex(ids, r"\s"), pc.equal(pc.utf8_length(ids), 0))
    if pc.any(bad).as_py():
        first = pc.index(bad, True).as_py()
        raise InputError(
            f"{where}: row {row0 + first}: {id_col} {ids[first].as_py()!r} is empty "
            f"or contains whitespace (not allowed in TREC runs)"
        )


def _corpus_batches(
    corpus: str | os.PathLike | pd.DataFrame, batch_size: int
) -> tuple[int, str, Iterator[pa.Table]]:
    """(rows, description, validated batches) for a corpus Parquet path or DataFrame."""
    if isinstance(corpus, pd.DataFrame):
        table = contracts.to_table(corpus, "corpus", where="<corpus DataFrame>")
        where = "<corpus DataFrame>"
        _check_unique(table["doc_id"], "doc_id", where)

        def gen():
            for start in range(0, table.num_rows, batch_size):
                yield table.slice(start, batch_size)

        return table.num_rows, where, gen()

    path = Path(corpus)
    where = str(path)
    pf = contracts.open_parquet(path, "corpus")
    _check_unique(pf.read(columns=["doc_id"])["doc_id"], "doc_id", where)

    def gen():
        for batch in pf.iter_batches(batch_size=batch_size, columns=["doc_id", "text"]):
            yield contracts.to_table(pa.Table.from_batches([batch]), "corpus", where=where)

    return pf.metadata.num_rows, where, gen()


def _read_queries(queries: str | os.PathLike | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(queries, pd.DataFrame):
        where = "<queries DataFrame>"
        table = contracts.to_table(queries, "queries", where=where)
    else:
        where = str(queries)
        table = pa.Table.from_pandas(contracts.read(queries, "queries"), preserve_index=False)
    _check_ids_and_text(table, "query_id", where, 0)
    _check_unique(table["query_id"], "query_id", where)
    return table.to_pandas(), where


# --------------------------------------------------------------------------- index


def _fmt_rate(n: int, seconds: float, unit: str) -> str:
    return f"{n / seconds:,.0f} {unit}/s" if seconds > 0 else f"- {unit}/s"


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
    total, where, batches = _corpus_batches(corpus, batch_size)
    ns = lucene.pyserini_lucene()
    lucene.set_anserini_log_level()
    log.info(
        "indexing %s (%d docs) with %s, %d thread(s)", where, total, lucene.describe(), threads
    )

    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        t0 = time.perf_counter()
        last_log = t0
        indexer = ns.LuceneIndexer(str(tmp), threads=threads)
        done = 0
        complete = False
        try:
            for batch in batches:
                _check_ids_and_text(batch, "doc_id", where, done)
                _check_trec_ids(batch["doc_id"], "doc_id", where, done)
                docs = [
                    {"id": i, "contents": t}
                    for i, t in zip(batch["doc_id"].to_pylist(), batch["text"].to_pylist())
                ]
                indexer.add_batch_dict(docs)
                done += len(docs)
                now = time.perf_counter()
                if now - last_log >= 10 or done == total:
                    last_log = now
                    log.info(
                        "indexed %d/%d docs (%s)", done, total, _fmt_rate(done, now - t0, "docs")
                    )
            complete = True
            if optimize:
                log.info("merging into one segment")
        finally:
            # SimpleIndexer.close(optimize): commit, then forceMerge(1) if optimize.
            indexer.object.close(bool(optimize and complete))
        seconds = time.perf_counter() - t0
        reader = ns.LuceneIndexReader(str(tmp))
        try:
            stats = {k: int(v) for k, v in reader.stats().items()}
        finally:
            reader.reader.close()
        skipped = done - stats["documents"]
        if skipped:
            log.warning("%d of %d documents had empty text and were not indexed", skipped, done)
        meta = {
            "corpus": str(corpus) if not isinstance(corpus, pd.DataFrame) else None,
            "input_documents": done,
            "skipped_empty_documents": skipped,
            **stats,
            "analyzer": "Anserini DefaultEnglishAnalyzer (Porter stemmer, Lucene English stop words)",
            "pyserini": ns.version,
            "anserini_jar": ns.jvm.jar.name if ns.jvm.jar else None,
            "java": ns.jvm.java_version,
            "threads": threads,
            "optimized": bool(optimize),
            "seconds": round(seconds, 3),
        }
        (tmp / INDEX_META).write_text(json.dumps(meta, indent=2) + "\n")
        _replace_dir(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "index %s: %d docs, %d unique terms, %d terms in %.1fs (%s)",
        index_dir,
        stats["documents"],
        stats["unique_terms"],
        stats["total_terms"],
        seconds,
        _fmt_rate(done, seconds, "docs"),
    )
    return meta


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move the finished ``tmp`` folder to ``final``; an old ``final`` is renamed away first
    and removed after, so ``final`` is at every moment either the old or the new index (or,
    for an instant between two renames, absent) — never a partial one."""
    old = None
    if final.exists() or final.is_symlink():
        if not final.is_dir() or final.is_symlink():
            final.unlink()
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.rename(final, old / final.name)
    os.rename(tmp, final)
    os.chmod(final, 0o777 & ~_umask())
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_index_meta(index_dir: str | os.PathLike) -> dict | None:
    p = Path(index_dir) / INDEX_META
    return json.loads(p.read_text()) if p.exists() else None


# --------------------------------------------------------------------------- search


def _open_index(index_dir: str | os.PathLike) -> Path:
    index_dir = Path(index_dir)
    if not index_dir.is_dir() or not any(index_dir.glob("segments_*")):
        raise InputError(
            f"{index_dir}: not a Lucene index (no segments_* file); build it with "
            f"`python -m dualrank.bm25.search index`"
        )
    return index_dir


class _Engine:
    """Runs Anserini's ``SearchCollection`` (the Java program behind Anserini's BM25
    regressions: multi-threaded search and TREC run output, all in the JVM) on one chunk of
    queries at a time, and pyserini's ``LuceneSearcher`` for the few queries it leaves out.

    ``LuceneSearcher.batch_search`` alone gives the same hits and scores but converts every
    hit into a Python object through pyjnius (about 5 us per hit, single-threaded), which
    doubles the time of a top-1000 search on 2 cores and dominates it on 16.
    """

    def __init__(self, index_dir: Path, k: int, k1: float, b: float, threads: int):
        self.index_dir, self.k, self.k1, self.b, self.threads = index_dir, k, k1, b, threads
        ns = lucene.pyserini_lucene()
        lucene.set_anserini_log_level()
        from jnius import autoclass

        self._Args = autoclass("io.anserini.search.SearchCollection$Args")
        self._Parser = autoclass("org.kohsuke.args4j.CmdLineParser")
        self._SearchCollection = autoclass("io.anserini.search.SearchCollection")
        self._ArrayList = autoclass("java.util.ArrayList")
        self._ns = ns
        self._searcher = None
        reader = autoclass("io.anserini.index.IndexReaderUtils").getReader(str(index_dir))
        try:
            self.num_docs = int(reader.numDocs())
        finally:
            reader.close()

    def _java_args(self, topics: Path, output: Path):
        argv = [
            "-index",
            str(self.index_dir),
            "-topics",
            str(topics),
            "-topicReader",
            "TsvString",
            "-output",
            str(output),
            "-bm25",
            "-bm25.k1",
            repr(float(self.k1)),
            "-bm25.b",
            repr(float(self.b)),
            "-hits",
            str(self.k),
            "-threads",
            str(self.threads),
            "-quiet",
        ]
        jargv = self._ArrayList()
        for x in argv:
            jargv.add(x)
        args = self._Args()
        self._Parser(args).parseArgument(jargv)
        return args

    def search(self, qids: list[str], texts: list[str], workdir: Path) -> pa.Table:
        """Hits for the given (non-empty) queries: query_id, doc_id, score, rank (any order)."""
        topics, output = workdir / "topics.tsv", workdir / "run.trec"
        with open(topics, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(f"{qid}\t{text}\n" for qid, text in zip(qids, texts))
        output.unlink(missing_ok=True)
        engine = self._SearchCollection(self._java_args(topics, output))
        try:
            engine.run()
        finally:
            engine.close()
        table = _read_trec_run(output, where=f"Anserini's run for {self.index_dir}")
        missing = set(qids) - set(pc.unique(table["query_id"]).to_pylist())
        if missing:  # no hit, or (never seen, but cheap to rule out) a failed search thread
            extra = self._lucene_searcher_hits(
                [q for q in qids if q in missing], [t for q, t in zip(qids, texts) if q in missing]
            )
            if extra.num_rows:
                n = len(pc.unique(extra["query_id"]))
                log.warning(
                    "SearchCollection returned no hits for %d queries that "
                    "LuceneSearcher answers; using LuceneSearcher's hits",
                    n,
                )
                table = pa.concat_tables([table, extra])
        return table

    def _lucene_searcher_hits(self, qids: list[str], texts: list[str]) -> pa.Table:
        if self._searcher is None:
            self._searcher = self._ns.LuceneSearcher(str(self.index_dir))
            self._searcher.set_bm25(float(self.k1), float(self.b))
        results = self._searcher.batch_search(texts, qids, k=self.k, threads=self.threads)
        q, d, s, r = [], [], [], []
        for qid in qids:
            hits = results.get(qid) or []
            q.extend([qid] * len(hits))
            d.extend(h.docid for h in hits)
            s.extend(h.score for h in hits)
            r.extend(range(1, len(hits) + 1))
        return pa.table(
            {
                "query_id": pa.array(q, pa.string()),
                "doc_id": pa.array(d, pa.string()),
                "score": pa.array(s, pa.float32()),
                "rank": pa.array(r, pa.int32()),
            }
        )


def _read_trec_run(path: Path, where: str) -> pa.Table:
    """A TREC run file (``qid Q0 docid rank score tag``) as query_id, doc_id, score, rank."""
    from pyarrow import csv

    if not path.exists() or path.stat().st_size == 0:
        return contracts.schema("run").empty_table()
    try:
        table = csv.read_csv(
            path,
            read_options=csv.ReadOptions(
                column_names=["query_id", "q0", "doc_id", "rank", "score", "tag"]
            ),
            parse_options=csv.ParseOptions(delimiter=" ", quote_char=False),
            convert_options=csv.ConvertOptions(
                column_types={
                    "query_id": pa.string(),
                    "doc_id": pa.string(),
                    "rank": pa.int32(),
                    "score": pa.float32(),
                },
                include_columns=["query_id", "doc_id", "score", "rank"],
            ),
        )
    except pa.ArrowInvalid as e:
        raise InputError(f"{where}: unreadable TREC run {path} (an id with a space?): {e}") from e
    return table


def _clean_query(text: str) -> str:
    """One line, single spaces (the TSV topic format); the analyzer ignores the difference."""
    return " ".join(text.split())


def iter_search(
    index_dir: str | os.PathLike,
    queries: str | os.PathLike | pd.DataFrame,
    k: int = 1000,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    threads: int | None = None,
    chunk_size: int | None = None,
) -> Iterator[pd.DataFrame]:
    """BM25 top-``k`` per query, yielded as run-contract DataFrames, one per chunk of queries,
    in the queries' input order (rank 1 = best)."""
    if k < 1:
        raise InputError(f"k must be >= 1 (got {k})")
    if not (k1 >= 0 and 0 <= b <= 1):
        raise InputError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 (got k1={k1}, b={b})")
    threads = threads or default_threads()
    qdf, where = _read_queries(queries)
    _check_trec_ids(pa.array(qdf["query_id"], pa.string()), "query_id", where, 0)
    index_dir = _open_index(index_dir)
    engine = _Engine(index_dir, k, k1, b, threads)
    n = len(qdf)
    # About 1M hits per chunk: bounded memory, and a progress line per chunk.
    chunk_size = chunk_size or max(threads, 1_000_000 // k)
    log.info(
        "BM25 (k1=%g, b=%g) top-%d for %d queries of %s over %s (%d docs), %d thread(s), "
        "%d queries per chunk; %s",
        k1,
        b,
        k,
        n,
        where,
        index_dir,
        engine.num_docs,
        threads,
        chunk_size,
        lucene.describe(),
    )
    t0 = time.perf_counter()
    last_log = t0
    empty = hits_total = 0
    qids_all = qdf["query_id"].tolist()
    texts_all = [_clean_query(t) for t in qdf["text"].tolist()]
    with tempfile.TemporaryDirectory(prefix="dualrank-bm25-") as tmp:
        for start in range(0, n, chunk_size):
            qids = qids_all[start : start + chunk_size]
            texts = texts_all[start : start + chunk_size]
            keep = [i for i, t in enumerate(texts) if t]
            table = engine.search([qids[i] for i in keep], [texts[i] for i in keep], Path(tmp))
            # input order, then rank
            order = pc.index_in(table["query_id"], value_set=pa.array(qids, pa.string()))
            table = (
                table.append_column("_order", order)
                .sort_by([("_order", "ascending"), ("rank", "ascending")])
                .drop_columns(["_order"])
            )
            empty += len(qids) - len(pc.unique(table["query_id"]))
            hits_total += table.num_rows
            yield contracts.to_table(table, "run").to_pandas()
            done = min(start + chunk_size, n)
            now = time.perf_counter()
            if now - last_log >= 10 or done == n:
                last_log = now
                eta = (n - done) * (now - t0) / done
                log.info(
                    "searched %d/%d queries (%s, %d hits, ETA %.0fs)",
                    done,
                    n,
                    _fmt_rate(done, now - t0, "queries"),
                    hits_total,
                    eta,
                )
    seconds = time.perf_counter() - t0
    if empty:
        log.warning(
            "%d of %d queries matched no document (empty or stop words only, or no "
            "term in the index) and have no rows in the run",
            empty,
            n,
        )
    log.info(
        "searched %d queries in %.1fs (%s), %d hits",
        n,
        seconds,
        _fmt_rate(n, seconds, "queries"),
        hits_total,
    )


def search(
    index_dir: str | os.PathLike,
    queries: str | os.PathLike | pd.DataFrame,
    k: int = 1000,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    threads: int | None = None,
) -> pd.DataFrame:
    """BM25 top-``k`` per query as one run-contract DataFrame (query_id, doc_id, score, rank)."""
    parts = list(iter_search(index_dir, queries, k=k, k1=k1, b=b, threads=threads))
    if not parts:
        return contracts.schema("run").empty_table().to_pandas()
    return pd.concat(parts, ignore_index=True)


def search_to_parquet(
    index_dir: str | os.PathLike,
    queries: str | os.PathLike | pd.DataFrame,
    out: str | os.PathLike,
    k: int = 1000,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    threads: int | None = None,
    chunk_size: int | None = None,
) -> Path:
    """Like :func:`search`, streamed to a run Parquet file chunk by chunk (constant memory),
    written to a temporary file beside ``out`` and renamed at the end."""
    schema = contracts.schema("run")
    out, tmp = contracts.atomic_path(out)
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in iter_search(
                index_dir, queries, k=k, k1=k1, b=b, threads=threads, chunk_size=chunk_size
            ):
                writer.write_table(contracts.to_table(part, "run", where=str(out)))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote %s", out)
    return out


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dualrank.bm25.search", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    pi = sub.add_parser("index", help="build a Lucene index of a corpus table")
    pi.add_argument("--corpus", required=True, help="corpus Parquet (doc_id, text)")
    pi.add_argument(
        "--index", required=True, help="index directory to create (replaced atomically)"
    )
    pi.add_argument(
        "--threads", type=int, default=None, help="indexing threads (default: all cores)"
    )
    pi.add_argument("--batch-size", type=int, default=10_000, help="documents per batch")
    pi.add_argument(
        "--no-optimize",
        action="store_true",
        help="keep several segments (skip the final merge into one)",
    )
    ps = sub.add_parser("search", help="BM25 top-k per query into a run table")
    ps.add_argument("--index", required=True, help="index directory (from `index`)")
    ps.add_argument("--queries", required=True, help="queries Parquet (query_id, text)")
    ps.add_argument("--out", required=True, help="run Parquet (query_id, doc_id, score, rank)")
    ps.add_argument("--k", type=int, default=1000, help="hits per query (default 1000)")
    ps.add_argument("--k1", type=float, default=DEFAULT_K1, help=f"BM25 k1 (default {DEFAULT_K1})")
    ps.add_argument("--b", type=float, default=DEFAULT_B, help=f"BM25 b (default {DEFAULT_B})")
    ps.add_argument("--threads", type=int, default=None, help="search threads (default: all cores)")
    ps.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="queries per batch (default: about 1M hits per batch)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("faiss").setLevel(logging.WARNING)  # pyserini imports faiss; quiet it
    try:
        if args.command == "index":
            build_index(
                args.corpus,
                args.index,
                threads=args.threads,
                batch_size=args.batch_size,
                optimize=not args.no_optimize,
            )
        else:
            search_to_parquet(
                args.index,
                args.queries,
                args.out,
                k=args.k,
                k1=args.k1,
                b=args.b,
                threads=args.threads,
                chunk_size=args.chunk_size,
            )
    except (InputError, lucene.JavaNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
