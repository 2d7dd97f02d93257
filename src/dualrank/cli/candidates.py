"""Candidate sets from a BM25 run: labelled training pairs, or NQ's mixed dev re-ranking sets.

    dualrank candidates pairs --run R --qrels Q --negatives 30 [--sample-depth 100] [--seed 0]
        [--random 5 --corpus C] --out P.parquet
    dualrank candidates mix --run R --qrels Q --corpus C --bm25 100 --random 100 --seed 0 --out RUN.parquet

pairs: a query's positives (qrels) plus BM25 negatives (its top ones, or a seeded sample of
the top SAMPLE_DEPTH), and RANDOM uniform negatives from the corpus; unscored, for a teacher.
mix: Appendix B's NQ dev sets: each query's positives, its top BM25 hard negatives and random
negatives from the corpus, as a run with BM25's scores.
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank candidates", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pairs = sub.add_parser("pairs", help="positives and BM25 (and random) negatives -> training pairs")
    pairs.add_argument("--negatives", type=int, required=True, help="BM25 negatives per query")
    pairs.add_argument("--sample-depth", type=int, default=None,
                       help="sample the negatives at random from BM25's top SAMPLE_DEPTH")
    pairs.add_argument("--seed", type=int, default=0, help="seed of the sampled and random negatives")
    pairs.add_argument("--random", type=int, default=0, help="uniform random negatives from --corpus")
    pairs.add_argument("--corpus", help="corpus Parquet (doc_id, text); needed with --random")
    mix = sub.add_parser("mix", help="positives, BM25 and random negatives -> a candidates run")
    mix.add_argument("--corpus", required=True, help="corpus Parquet the random negatives come from")
    mix.add_argument("--bm25", type=int, default=100, help="BM25 hard negatives per query")
    mix.add_argument("--random", type=int, default=100, help="random negatives per query (at most)")
    mix.add_argument("--seed", type=int, default=0, help="seed of the random negatives")
    for s in (pairs, mix):
        s.add_argument("--run", required=True, help="BM25 run Parquet (query_id, doc_id, score, rank)")
        s.add_argument("--qrels", required=True, help="qrels Parquet (query_id, doc_id, relevance)")
        s.add_argument("--out", required=True,
                       help="pairs Parquet (pairs) or run Parquet (mix)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.pairs import candidates

    a = parser().parse_args(argv)
    if a.cmd == "pairs":
        candidates.pairs_file(a.run, a.qrels, a.out, a.negatives, a.sample_depth, a.seed, a.random, a.corpus)
    else:
        candidates.mix_file(a.run, a.qrels, a.corpus, a.out, a.bm25, a.random, a.seed)
    return 0


if __name__ == "__main__":
    main()
