"""BM25 top-k per query into a run table, with Lucene through pyserini (the candidates stage).

    dualrank bm25-search --index DIR --queries Q.parquet --out RUN.parquet --k 1000 [--k1 0.9 --b 0.4]
        [--threads N] [--chunk-size N]

The run (query_id, doc_id, score, rank) lists each query's hits in the queries' order, rank 1
first, with Anserini's scores; a query without an indexable term has no rows. Needs a
Java >= 21 (see dualrank.bm25.java); exit code 2 when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.bm25.search import DEFAULT_B, DEFAULT_K1, search_to_parquet
from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import QUERIES, RUN


@dataclass(frozen=True)
class Args:
    index: str = option("index directory (from `dualrank bm25-index`)")
    queries: str = option(QUERIES)
    out: str = option(RUN)
    k: int = option("hits per query", 1000)
    k1: float = option("BM25 k1", DEFAULT_K1)
    b: float = option("BM25 b", DEFAULT_B)
    threads: int | None = option("search threads (default: all cores)", None)
    chunk_size: int | None = option("queries per batch (default: about 1M hits per batch)", None)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "bm25-search", __doc__)
    search_to_parquet(a.index, a.queries, a.out, k=a.k, k1=a.k1, b=a.b, threads=a.threads,
                      chunk_size=a.chunk_size)
    return 0


if __name__ == "__main__":
    main()
