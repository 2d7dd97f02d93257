"""Score the training pairs with a trained CA teacher (datasets without published scores).

    dualrank teacher-score --model DIR --pairs P.parquet --corpus C.parquet --queries Q.parquet
        --out OUT.parquet [--batch-size 256] [--threads N]

Every (query, passage) pair of the pairs table gets the teacher's score; a pair left unscored
fails the job. Runs on the GPU when one is visible (see `dualrank gpu`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS, PAIRS, QUERIES, Encoding


@dataclass(frozen=True, kw_only=True)
class Args(Encoding):
    model: str = option("the trained CA teacher's model directory")
    pairs: str = option(PAIRS + " to score")
    corpus: str = option(CORPUS)
    queries: str = option(QUERIES)
    out: str = option("the scored pairs Parquet")


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "teacher-score", __doc__)
    from dualrank.pairs.teacher import score_file  # after parsing: --help needs no torch

    score_file(a.model, a.pairs, a.corpus, a.queries, a.out, a.batch_size, a.threads)
    return 0


if __name__ == "__main__":
    main()
