"""BM25 top-k per query into a run table, with Lucene through pyserini (the candidates stage).

    dualrank bm25-search --index DIR --queries Q.parquet --out RUN.parquet --k 1000 [--k1 0.9 --b 0.4]
        [--threads N] [--chunk-size N]

The run (query_id, doc_id, score, rank) lists each query's hits in the queries' order, rank 1
first, with Anserini's scores; a query without an indexable term has no rows. Needs a
Java >= 21 (see dualrank.bm25.java); exit code 2 when there is none.
"""

from __future__ import annotations

import argparse

from dualrank.bm25.search import DEFAULT_B, DEFAULT_K1
from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank bm25-search", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", required=True, help="index directory (from `dualrank bm25-index`)")
    p.add_argument("--queries", required=True, help="queries Parquet (query_id, text)")
    p.add_argument("--out", required=True, help="run Parquet (query_id, doc_id, score, rank)")
    p.add_argument("--k", type=int, default=1000, help="hits per query (default 1000)")
    p.add_argument("--k1", type=float, default=DEFAULT_K1, help=f"BM25 k1 (default {DEFAULT_K1})")
    p.add_argument("--b", type=float, default=DEFAULT_B, help=f"BM25 b (default {DEFAULT_B})")
    p.add_argument("--threads", type=int, default=None, help="search threads (default: all cores)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="queries per batch (default: about 1M hits per batch)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.bm25.search import search_to_parquet

    args = parser().parse_args(argv)
    search_to_parquet(args.index, args.queries, args.out, k=args.k, k1=args.k1, b=args.b,
                      threads=args.threads, chunk_size=args.chunk_size)
    return 0


if __name__ == "__main__":
    main()
