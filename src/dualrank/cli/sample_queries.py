"""A seeded sample of a split's judged queries, with their qrels, as a split of its own.

    dualrank sample-queries --queries queries-train.parquet --qrels qrels-train.parquet \\
        --n 1000 --seed 0 --queries-out queries-train-eval.parquet \\
        --qrels-out qrels-train-eval.parquet

The pipeline's ``train-eval`` split: the training queries every model of a dataset is scored
on for its train MRR@10 (Table 2, Table 8, Figures 1, 3, 4), on BM25's candidates
(:mod:`dualrank.data.splits`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import UsageError, option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import QRELS, QUERIES
from dualrank.data.splits import Sample, sample_file


@dataclass(frozen=True)
class Args:
    queries: str = option("the split's " + QUERIES)
    qrels: str = option("the split's " + QRELS)
    queries_out: str = option("the sample's queries table")
    qrels_out: str = option("the sample's qrels table")
    n: int = option("judged queries to draw (all if fewer)")
    seed: int = option("seed of the draw")

    def __post_init__(self):
        if self.n < 1:
            raise UsageError(f"--n must be at least 1, got {self.n}")


@entry_point
def main(argv: list[str] | None = None) -> None:
    a = parse(Args, argv, "sample-queries", __doc__)
    sample_file(a.queries, a.qrels, Sample(a.n, a.seed), a.queries_out, a.qrels_out)


if __name__ == "__main__":
    main()
