"""MRR@10 and nDCG@10 of a run file against qrels, printed as JSON (trec_eval via ir_measures).

    dualrank metrics --run RUN --qrels QRELS [--rel-level 2] [--per-query OUT]

The run may be TREC ('qid Q0 docid rank score tag'), MS MARCO ('qid pid rank') or a run
Parquet table; the qrels TREC ('qid iter docid rel') or a qrels Parquet table. An empty run,
or one with no judged query, is refused (it would score 0); judged queries missing from the
run are counted in a warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point


@dataclass(frozen=True)
class Args:
    run: Path = option("run: TREC 'qid Q0 docid rank score tag', MS MARCO 'qid pid rank', or .parquet")
    qrels: Path = option("qrels: TREC 'qid iter docid rel' (space or tab separated) or .parquet")
    rel_level: int = option("minimum grade counted relevant for MRR@10 (1 for MS MARCO, 2 for TREC DL); "
                            "nDCG@10 always uses the graded labels", 1)
    per_query: Path | None = option("also write the per-query values here (.parquet, else tab-separated text)",
                                    None)


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.data import readers
    from dualrank.data.io import atomic_output
    from dualrank.retrieval import metrics

    a = parse(Args, argv, "metrics", __doc__)
    run = readers.load(a.run, "run")
    qrels = readers.load(a.qrels, "qrels")
    metrics.check_coverage(run, qrels, str(a.run), str(a.qrels))
    aggregate, per_query = metrics.evaluate(run, qrels, a.rel_level, run_name=str(a.run), qrels_name=str(a.qrels))
    if a.per_query is not None:
        with atomic_output(a.per_query) as tmp:
            if a.per_query.suffix == ".parquet":
                per_query.to_parquet(tmp, index=False)
            else:
                per_query.to_csv(tmp, sep="\t", index=False)
    print(json.dumps(aggregate))
    return 0


if __name__ == "__main__":
    main()
