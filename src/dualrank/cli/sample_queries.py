"""A seeded sample of a split's judged queries, with their qrels, as a split of its own.

    dualrank sample-queries --queries queries-train.parquet --qrels qrels-train.parquet \\
        --n 1000 --seed 0 --queries-out queries-train-eval.parquet \\
        --qrels-out qrels-train-eval.parquet

The pipeline's ``train-eval`` split: the training queries every model of a dataset is scored
on for its train MRR@10 (Table 2, Table 8, Figures 1, 3, 4), on BM25's candidates
(:mod:`dualrank.data.splits`).
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank sample-queries", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queries", required=True, help="the split's queries table (queries.parquet)")
    p.add_argument("--qrels", required=True, help="the split's qrels table (qrels.parquet)")
    p.add_argument("--n", type=int, required=True, help="judged queries to draw (all if fewer)")
    p.add_argument("--seed", type=int, required=True, help="seed of the draw")
    p.add_argument("--queries-out", required=True, help="the sample's queries table")
    p.add_argument("--qrels-out", required=True, help="the sample's qrels table")
    return p


@entry_point
def main(argv: list[str] | None = None) -> None:
    from dualrank.data import contracts
    from dualrank.data.splits import Sample, judged_sample

    a = parser().parse_args(argv)
    queries, qrels = judged_sample(contracts.read(a.queries, "queries"), contracts.read(a.qrels, "qrels"),
                                   Sample(a.n, a.seed))
    contracts.write(queries, a.queries_out, "queries")
    contracts.write(qrels, a.qrels_out, "qrels")


if __name__ == "__main__":
    main()
