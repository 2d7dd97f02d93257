"""Per-query RR@10 and nDCG@10 of a run's evaluations, from the runs ``dualrank evaluate`` wrote.

    dualrank per-query --evals JSON --out per-query.parquet

--evals is the evaluate rule's list (each entry's ``name``, ``qrels``, ``rel_level`` and
``run_out``, the written run); nothing is scored by a model again. The output has one line per
(evaluation, judged query): evaluation, query_id, mrr@10, ndcg@10
(:func:`dualrank.retrieval.evaluate.per_query_scores`); the report's paired tests read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point


@dataclass(frozen=True)
class Args:
    evals: str = option("JSON list of evaluations: name, qrels, rel_level, run_out")
    out: str = option("the per-query Parquet table to write")


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "per-query", __doc__)
    from dualrank.retrieval.evaluate import per_query_scores

    per_query_scores(json.loads(a.evals), a.out)
    return 0


if __name__ == "__main__":
    main()
