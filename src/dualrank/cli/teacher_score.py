"""Score the training pairs with a trained CA teacher (datasets without published scores).

    dualrank teacher-score --model DIR --pairs P.parquet --corpus C.parquet --queries Q.parquet
        --out OUT.parquet [--batch-size 256] [--threads N]

Every (query, passage) pair of the pairs table gets the teacher's score; a pair left unscored
fails the job. Runs on the GPU when one is visible (see `dualrank gpu`).
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank teacher-score", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the trained CA teacher's model directory")
    p.add_argument("--pairs", required=True, help="pairs Parquet to score (query_id, doc_id, label, ...)")
    p.add_argument("--corpus", required=True, help="corpus Parquet (doc_id, text)")
    p.add_argument("--queries", required=True, help="queries Parquet (query_id, text)")
    p.add_argument("--out", required=True, help="scored pairs Parquet")
    p.add_argument("--batch-size", type=int, default=256, help="pairs per forward pass (default 256)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    from dualrank.pairs.teacher import score_file  # after parsing: --help needs no torch

    score_file(a.model, a.pairs, a.corpus, a.queries, a.out, a.batch_size, a.threads)
    return 0


if __name__ == "__main__":
    main()
