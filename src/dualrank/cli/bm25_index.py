"""A Lucene BM25 index of a corpus table, through pyserini (the candidates stage).

    dualrank bm25-index --corpus data/x/corpus.parquet --index DIR [--threads N] [--batch-size 10000]
        [--no-optimize]

The index directory is replaced atomically and holds dualrank-index.json (corpus, counts,
software versions). Needs a Java >= 21 (see dualrank.bm25.java); exit code 2 when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS


@dataclass(frozen=True)
class Args:
    corpus: str = option(CORPUS)
    index: str = option("index directory to create (replaced atomically)")
    threads: int | None = option("indexing threads (default: all cores)", None)
    batch_size: int = option("documents per batch", 10_000)
    no_optimize: bool = option("keep several segments (skip the final merge into one)", False)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "bm25-index", __doc__)
    from dualrank.bm25.index import build_index

    build_index(a.corpus, a.index, threads=a.threads, batch_size=a.batch_size, optimize=not a.no_optimize)
    return 0


if __name__ == "__main__":
    main()
