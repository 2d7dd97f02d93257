"""MRR@10 and nDCG@10 with ir_measures' pytrec_eval provider (trec_eval semantics).

Definitions
-----------
* ``mrr@10``: reciprocal rank of the first relevant passage in the top 10, 0 if none -- the
  official MS MARCO MRR@10. A passage is relevant when its grade is ``>= rel_level``: 1 for MS
  MARCO (binary qrels), 2 for TREC DL 2019 (the track's convention for MRR).
* ``ndcg@10``: trec_eval's ``ndcg_cut_10``: gains are the graded labels, discount
  ``log2(rank + 1)``, ideal ranking from all judged passages of the query.

Averaging
---------
Both are averaged over **every query in the qrels**, as the official MS MARCO script does
(``MRR / len(qids_to_relevant_passageids)``): a judged query with no relevant passage in its
top 10 scores 0, and so does a judged query that is absent from the run. Queries of the run
that have no judgments are ignored. (trec_eval without ``-c`` would instead average over the
judged queries present in the run; the two agree whenever the run covers every judged query.)
``queries`` in the aggregate is that number of judged queries.

Ties
----
trec_eval orders a query's documents by score, descending, then by doc id, descending
(``strcmp``), ignoring the run's rank column; pytrec_eval does the same. pytrec_eval has no
cutoff for the reciprocal rank, and ir_measures would route ``RR@10`` to its ``msmarco``
provider, which breaks ties by doc id *ascending*; so the run is truncated here to each
query's top 10 in trec_eval order and both measures are computed by pytrec_eval on that
(``recip_rank`` on the top 10 is RR@10, and ``ndcg_cut_10`` only sees the top 10). On runs
without tied scores this equals ir_measures' ``RR@10`` and the official script.
"""

from __future__ import annotations

import logging

import ir_measures
import pandas as pd
from ir_measures import RR, nDCG

from dualrank.data.io import InputError

CUTOFF = 10

log = logging.getLogger(__name__)


def check_coverage(run: pd.DataFrame, qrels: pd.DataFrame, run_name: str = "run",
                   qrels_name: str = "qrels") -> None:
    """Refuse a run that cannot be evaluated against ``qrels`` -- an empty one, or one with no
    judged query (wrong qrels?) -- which would score 0 silently; warn, with the counts, when
    some judged queries are missing from it (they score 0)."""
    judged = set(qrels["query_id"].astype(str))
    ran = set(run["query_id"].astype(str))
    if not judged:
        raise InputError(f"{qrels_name}: no judgments")
    if not ran:
        raise InputError(f"{run_name}: an empty run (0 rows) to evaluate against {len(judged)} judged queries "
                         f"of {qrels_name}")
    common = len(ran & judged)
    if common == 0:
        raise InputError(f"{run_name}: none of its {len(ran)} queries is judged in {qrels_name} ({len(judged)} "
                         f"judged queries): a run of another query set, or the wrong qrels?")
    if common < len(judged):
        log.warning("%s: %d of the %d judged queries of %s have no results and score 0 (%d of its %d queries "
                    "are judged)", run_name, len(judged) - common, len(judged), qrels_name, common, len(ran))


def _check(df: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{name}: needs columns {missing} (has {list(df.columns)})")
    nulls = [c for c in columns if df[c].isna().any()]
    if nulls:
        raise InputError(f"{name}: null values in column(s) {nulls}")


def _first_duplicate(df: pd.DataFrame, name: str) -> None:
    dup = df.duplicated(["query_id", "doc_id"])
    if dup.any():
        row = df[dup.to_numpy()].iloc[0]
        raise InputError(
            f"{name}: duplicate (query_id {row['query_id']!r}, doc_id {row['doc_id']!r}); "
            f"{int(dup.sum())} duplicate rows in all"
        )


def top_k(run: pd.DataFrame, k: int = CUTOFF) -> pd.DataFrame:
    """Each query's first ``k`` rows in trec_eval order (score desc, then doc id desc)."""
    ordered = run.sort_values(
        ["query_id", "score", "doc_id"], ascending=[True, False, False], kind="stable"
    )
    return ordered.groupby("query_id", sort=False).head(k)


def evaluate(
    run: pd.DataFrame,
    qrels: pd.DataFrame,
    rel_level: int = 1,
    *,
    cutoff: int = CUTOFF,
    run_name: str = "run",
    qrels_name: str = "qrels",
) -> tuple[dict[str, float | int], pd.DataFrame]:
    """Evaluate a run (run contract) against qrels (qrels contract).

    Returns ``({"mrr@10": ..., "ndcg@10": ..., "queries": n}, per_query)`` where ``per_query``
    has one row per judged query: ``query_id, mrr@10, ndcg@10`` (sorted by query id). See the
    module docstring for the definitions, the averaging and the tie-breaking.
    """
    if int(rel_level) < 1:
        raise InputError(f"rel_level must be >= 1, not {rel_level}")
    _check(run, ["query_id", "doc_id", "score"], run_name)
    _check(qrels, ["query_id", "doc_id", "relevance"], qrels_name)
    if qrels.empty:
        raise InputError(f"{qrels_name}: no judgments")
    _first_duplicate(run, run_name)
    _first_duplicate(qrels, qrels_name)

    run = run[["query_id", "doc_id", "score"]].astype(
        {"query_id": str, "doc_id": str, "score": "float64"}
    )
    qrels = qrels[["query_id", "doc_id", "relevance"]].astype(
        {"query_id": str, "doc_id": str, "relevance": "int64"}
    )
    judged = sorted(set(qrels["query_id"]))
    run = top_k(run[run["query_id"].isin(judged)], cutoff)

    qrels_dict: dict[str, dict[str, int]] = {}
    for q, d, r in zip(qrels["query_id"], qrels["doc_id"], qrels["relevance"]):
        qrels_dict.setdefault(q, {})[d] = int(r)
    run_dict: dict[str, dict[str, float]] = {}
    for q, d, s in zip(run["query_id"], run["doc_id"], run["score"]):
        run_dict.setdefault(q, {})[d] = float(s)

    rr = RR(rel=int(rel_level))
    ndcg = nDCG @ cutoff
    names = {rr: f"mrr@{cutoff}", ndcg: f"ndcg@{cutoff}"}
    evaluator = ir_measures.pytrec_eval.evaluator([rr, ndcg], qrels_dict)
    values: dict[str, dict[str, float]] = {n: {} for n in names.values()}
    for m in evaluator.iter_calc(run_dict):
        values[names[m.measure]][m.query_id] = float(m.value)

    per_query = pd.DataFrame({"query_id": pd.Series(judged, dtype="str")})
    for name, by_query in values.items():
        # ir_measures already reports 0 for judged queries absent from the run; be explicit.
        per_query[name] = per_query["query_id"].map(by_query).fillna(0.0).astype("float64")
    aggregate: dict[str, float | int] = {n: float(per_query[n].mean()) for n in values}
    aggregate["queries"] = len(judged)
    return aggregate, per_query
