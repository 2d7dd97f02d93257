"""MRR@10 and nDCG@10 of a run file against qrels, printed as JSON (trec_eval via ir_measures).

    dualrank metrics --run RUN --qrels QRELS [--rel-level 2] [--per-query OUT]

The run may be TREC ('qid Q0 docid rank score tag'), MS MARCO ('qid pid rank') or a run
Parquet table; the qrels TREC ('qid iter docid rel') or a qrels Parquet table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank metrics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path,
                   help="run: TREC 'qid Q0 docid rank score tag', MS MARCO 'qid pid rank', or .parquet")
    p.add_argument("--qrels", required=True, type=Path,
                   help="qrels: TREC 'qid iter docid rel' (space or tab separated) or .parquet")
    p.add_argument("--rel-level", type=int, default=1,
                   help="minimum grade counted relevant for MRR@10 (1 for MS MARCO, 2 for TREC DL); "
                        "nDCG@10 always uses the graded labels (default: 1)")
    p.add_argument("--per-query", type=Path, default=None,
                   help="also write the per-query values here (.parquet, else tab-separated text)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.data import readers
    from dualrank.data.io import atomic_output
    from dualrank.retrieval import metrics

    args = parser().parse_args(argv)
    run = readers.load(args.run, "run")
    qrels = readers.load(args.qrels, "qrels")
    aggregate, per_query = metrics.evaluate(
        run, qrels, args.rel_level, run_name=str(args.run), qrels_name=str(args.qrels)
    )
    if args.per_query is not None:
        with atomic_output(args.per_query) as tmp:
            if args.per_query.suffix == ".parquet":
                per_query.to_parquet(tmp, index=False)
            else:
                per_query.to_csv(tmp, sep="\t", index=False)
    print(json.dumps(aggregate))
    return 0


if __name__ == "__main__":
    main()
