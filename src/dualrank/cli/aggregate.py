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

import argparse

from dualrank.cli.logs import entry_point
from dualrank.pairs.aggregate import BATCH_ROWS, BUCKET_ROWS, aggregate_file, log_summary
from dualrank.pairs.triples import triples_file


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank aggregate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", required=True, help="pairs Parquet (query_id, doc_id, label, teacher_score)")
    p.add_argument("--k", type=int, help="passages per group (>= 2); not with --triples")
    p.add_argument("--triples", action="store_true",
                   help="one group [positive, negative] per triple of --pairs (a triples or pairs table)")
    p.add_argument("--negatives-per-query", type=int,
                   help="with --triples from a pairs table: only each query's first N negatives")
    p.add_argument("--labels-only", action="store_true",
                   help="no teacher: positives, then the first negatives in file order")
    p.add_argument("--out", required=True, help="groups Parquet (query_id, doc_ids, labels, teacher_scores)")
    p.add_argument("--bucket-rows", type=int, default=BUCKET_ROWS, help="pairs per bucket (memory knob)")
    p.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help="rows per streamed record batch")
    p.add_argument("--tmp-dir", help="where the buckets go (default: beside --out)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    p = parser()
    a = p.parse_args(argv)
    if a.triples:
        if a.k not in (None, 2):
            p.error("--triples makes groups of 2 passages: --k must be 2 or absent")
        st = triples_file(a.pairs, a.out, a.labels_only, a.negatives_per_query, a.batch_rows)
        log_summary(st, a.pairs, 2)
        return 0
    if a.k is None or a.negatives_per_query is not None:
        p.error("top-K groups need --k (and take no --negatives-per-query)")
    st = aggregate_file(a.pairs, a.out, a.k, a.labels_only, a.bucket_rows, a.batch_rows, a.tmp_dir)
    log_summary(st, a.pairs, a.k)
    return 0


if __name__ == "__main__":
    main()
