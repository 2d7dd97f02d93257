"""A Lucene BM25 index of a corpus table, through pyserini (the candidates stage).

    dualrank bm25-index --corpus data/x/corpus.parquet --index DIR [--threads N] [--batch-size 10000]
        [--no-optimize]

The index directory is replaced atomically and holds dualrank-index.json (corpus, counts,
software versions). Needs a Java >= 21 (see dualrank.bm25.java); exit code 2 when there is none.
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank bm25-index", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="corpus Parquet (doc_id, text)")
    p.add_argument("--index", required=True, help="index directory to create (replaced atomically)")
    p.add_argument("--threads", type=int, default=None, help="indexing threads (default: all cores)")
    p.add_argument("--batch-size", type=int, default=10_000, help="documents per batch")
    p.add_argument("--no-optimize", action="store_true",
                   help="keep several segments (skip the final merge into one)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.bm25.index import build_index

    args = parser().parse_args(argv)
    build_index(args.corpus, args.index, threads=args.threads, batch_size=args.batch_size,
                optimize=not args.no_optimize)
    return 0


if __name__ == "__main__":
    main()
