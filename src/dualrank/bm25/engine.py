"""Anserini's ``SearchCollection`` run on one chunk of queries at a time, inside pyserini's JVM.

``SearchCollection`` is the Java program behind Anserini's BM25 regressions: multi-threaded
search and TREC run output, all in the JVM. Its run (scores printed with 6 decimals) is read
back as a run table. pyserini's ``LuceneSearcher`` answers the same queries identically but is
about twice slower, because every hit crosses into Python through pyjnius; it serves only the
few queries ``SearchCollection`` leaves out.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dualrank.bm25 import jvm
from dualrank.data import contracts
from dualrank.data.io import InputError

log = logging.getLogger(__name__)


class Engine:
    """BM25 top-``k`` (Lucene ``BM25Similarity(k1, b)``) over one index, a chunk at a time.

    ``LuceneSearcher.batch_search`` alone gives the same hits and scores but converts every
    hit into a Python object through pyjnius (about 5 us per hit, single-threaded), which
    doubles the time of a top-1000 search on 2 cores and dominates it on 16.
    """

    def __init__(self, index_dir: Path, k: int, k1: float, b: float, threads: int):
        self.index_dir, self.k, self.k1, self.b, self.threads = index_dir, k, k1, b, threads
        ns = jvm.pyserini_lucene()
        jvm.set_anserini_log_level()
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
        table = read_trec_run(output, where=f"Anserini's run for {self.index_dir}")
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


def read_trec_run(path: Path, where: str) -> pa.Table:
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
