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

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS, QRELS, RUN


@dataclass(frozen=True, kw_only=True)
class FromRun:
    """The BM25 run and qrels both modes start from."""

    run: str = option("BM25 " + RUN)
    qrels: str = option(QRELS)


@dataclass(frozen=True, kw_only=True)
class Pairs(FromRun):
    """positives and BM25 (and random) negatives -> training pairs"""

    negatives: int = option("BM25 negatives per query")
    out: str = option("pairs Parquet (query_id, doc_id, label, teacher_score), unscored")
    sample_depth: int | None = option("sample the negatives at random from BM25's top SAMPLE_DEPTH", None)
    seed: int = option("seed of the sampled and random negatives", 0)
    random: int = option("uniform random negatives from --corpus", 0)
    corpus: str | None = option(CORPUS + "; needed with --random", None)


@dataclass(frozen=True, kw_only=True)
class Mix(FromRun):
    """positives, BM25 and random negatives -> a candidates run"""

    corpus: str = option("corpus Parquet the random negatives come from")
    out: str = option(RUN + " of the candidates, with BM25's scores")
    bm25: int = option("BM25 hard negatives per query", 100)
    random: int = option("random negatives per query (at most)", 100)
    seed: int = option("seed of the random negatives", 0)


@entry_point
def main(argv: list[str] | None = None) -> int:
    mode, a = parse({"pairs": Pairs, "mix": Mix}, argv, "candidates", __doc__)
    from dualrank.pairs import candidates

    if mode == "pairs":
        candidates.pairs_file(a.run, a.qrels, a.out, a.negatives, a.sample_depth, a.seed, a.random, a.corpus)
    else:
        candidates.mix_file(a.run, a.qrels, a.corpus, a.out, a.bm25, a.random, a.seed)
    return 0


if __name__ == "__main__":
    main()
