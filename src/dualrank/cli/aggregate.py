"""Scored (query, passage) pairs -> each query's top-K training group (paper §5).

    dualrank aggregate --pairs P.parquet --k 20 --out G.parquet [--labels-only]
        [--bucket-rows 2000000] [--batch-rows 1048576] [--tmp-dir DIR]

A group holds the query's positives and the K - |P| negatives with the highest teacher scores
(with --labels-only, for one-hot training: the first negatives in the pairs' order). The pairs
are streamed in bounded memory through buckets of about BUCKET_ROWS pairs
(dualrank.pairs.aggregate).
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import PAIRS
from dualrank.pairs.aggregate import BATCH_ROWS, BUCKET_ROWS, aggregate_file, log_summary


@dataclass(frozen=True)
class Args:
    pairs: str = option(PAIRS)
    k: int = option("passages per group (>= 2)")
    out: str = option("groups Parquet (query_id, doc_ids, labels, teacher_scores)")
    labels_only: bool = option("no teacher: positives, then the first negatives in file order", False)
    bucket_rows: int = option("pairs per bucket (memory knob)", BUCKET_ROWS)
    batch_rows: int = option("rows per streamed record batch", BATCH_ROWS)
    tmp_dir: str | None = option("where the buckets go (default: beside --out)", None)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "aggregate", __doc__)
    st = aggregate_file(a.pairs, a.out, a.k, a.labels_only, a.bucket_rows, a.batch_rows, a.tmp_dir)
    log_summary(st, a.pairs, a.k)
    return 0


if __name__ == "__main__":
    main()
