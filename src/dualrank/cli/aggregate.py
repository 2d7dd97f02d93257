"""Scored (query, passage) pairs -> each query's top-K training group (paper §5), or one
group per training triple for the triplet losses (K = 2).

    dualrank aggregate --pairs P.parquet --k 20 --out G.parquet [--labels-only]
        [--bucket-rows 2000000] [--batch-rows 1048576] [--tmp-dir DIR]
    dualrank aggregate --pairs T.parquet --triples --out G.parquet [--labels-only]
        [--negatives-per-query N] [--batch-rows 1048576]

A group holds the query's positives and the K - |P| negatives with the highest teacher scores
(with --labels-only, for one-hot training: the first negatives in the pairs' order). The pairs
are streamed in bounded memory through buckets of about BUCKET_ROWS pairs
(dualrank.pairs.aggregate). With --triples, --pairs is a triples table (every line of MS
MARCO's published teacher file, streamed) or a pairs table (each negative paired with one of
its query's positives in turn), and each triple is a group [positive, negative] in file order
(dualrank.pairs.triples).
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import UsageError, option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import PAIRS
from dualrank.pairs.aggregate import BATCH_ROWS, BUCKET_ROWS, aggregate_file, log_summary
from dualrank.pairs.triples import triples_file


@dataclass(frozen=True)
class Args:
    pairs: str = option(PAIRS + "; with --triples, a triples or pairs table")
    out: str = option("groups Parquet (query_id, doc_ids, labels, teacher_scores)")
    k: int | None = option("passages per group (>= 2); not with --triples", None)
    triples: bool = option("one group [positive, negative] per triple of --pairs", False)
    negatives_per_query: int | None = option("with --triples from a pairs table: only each query's first N "
                                             "negatives", None)
    labels_only: bool = option("no teacher: positives, then the first negatives in file order", False)
    bucket_rows: int = option("pairs per bucket (memory knob)", BUCKET_ROWS)
    batch_rows: int = option("rows per streamed record batch", BATCH_ROWS)
    tmp_dir: str | None = option("where the buckets go (default: beside --out)", None)

    def __post_init__(self):
        if self.triples and self.k not in (None, 2):
            raise UsageError("--triples makes groups of 2 passages: --k must be 2 or absent")
        if not self.triples and (self.k is None or self.negatives_per_query is not None):
            raise UsageError("top-K groups need --k (and take no --negatives-per-query)")


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "aggregate", __doc__)
    if a.triples:
        st = triples_file(a.pairs, a.out, a.labels_only, a.negatives_per_query, a.batch_rows)
        log_summary(st, a.pairs, 2)
    else:
        st = aggregate_file(a.pairs, a.out, a.k, a.labels_only, a.bucket_rows, a.batch_rows, a.tmp_dir)
        log_summary(st, a.pairs, a.k)
    return 0


if __name__ == "__main__":
    main()
