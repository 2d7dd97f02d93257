"""Evaluate a ranker (or the BM25 candidates themselves) on re-ranking and retrieval
(``dualrank evaluate``).

The evaluations are a list (the command's ``--evals`` JSON), one entry per evaluation::

    {"name": "dl19", "mode": "rerank" | "retrieval", "queries": Q, "qrels": R,
     "candidates": RUN (rerank only), "rel_level": 2, "depth": 1000, "run_out": OUT}

Re-ranking scores each query's top-``depth`` candidates with the model, whole queries
``chunk_size`` candidates at a time (without a model the candidates' own order is evaluated:
the BM25 row). Retrieval is exact and streamed over the
corpus in chunks of ``chunk_size`` passages (retrieval/stream.py), or searches a FAISS index
when one is given (config ``index: {persistent: true}``). Each
run is written to ``run_out`` and scored with ir_measures (MRR@10, nDCG@10; DL19 counts
grade >= 2 relevant for MRR). The metrics file maps each name to its figures. Candidates that
are empty, or hold no query the qrels judge (the wrong qrels?), are refused rather than scored
0; judged queries without candidates are counted in a warning (they score 0).
"""

from __future__ import annotations

import json
import logging
import os

import pandas as pd

from dualrank.data import contracts
from dualrank.data.io import atomic_output, write_text
from dualrank.retrieval.metrics import check_coverage, evaluate

log = logging.getLogger(__name__)


def run_one(spec: dict, model, corpus: str | None, index: str | None, batch_size: int,
            chunk_size: int = 65536) -> dict:
    qrels = contracts.read(spec["qrels"], "qrels")
    if spec["mode"] == "retrieval":
        from dualrank.retrieval import index as faiss_index, stream
        from dualrank.text.cache import for_model

        wanted = sorted(set(qrels["query_id"]))
        table = for_model(spec["queries"], "queries", model, wanted)
        queries, depth = {q: table[q] for q in wanted}, spec.get("depth", 1000)
        if index:
            run = faiss_index.retrieve(model, index, queries, depth, batch_size)
        else:
            run = stream.retrieve(model, corpus, queries, depth, batch_size, chunk_size)
    else:
        cands = contracts.read(spec["candidates"], "run")
        check_coverage(cands, qrels, f"{spec['name']}: {spec['candidates']}", spec["qrels"])
        cands = cands[cands["rank"] <= spec.get("depth", 1000)]
        cands = cands[cands["query_id"].isin(set(qrels["query_id"]))]
        if model is None:
            run = cands
        else:
            from dualrank.retrieval.rerank import score_candidates
            from dualrank.text.cache import for_model

            queries = for_model(spec["queries"], "queries", model, set(cands["query_id"]))
            docs = for_model(corpus, "corpus", model, set(cands["doc_id"]))
            run = score_candidates(model, cands, queries, docs, batch_size, chunk_size)
    contracts.write(run, spec["run_out"], "run")
    agg, _ = evaluate(run, qrels, rel_level=spec.get("rel_level", 1))
    log.info("%s (%s): MRR@10 %.4f nDCG@10 %.4f over %d queries", spec["name"], spec["mode"],
             agg["mrr@10"], agg["ndcg@10"], agg["queries"])
    return {"mode": spec["mode"], **agg}


def evaluate_all(evals: list[dict], metrics_out: str | os.PathLike, model, corpus: str | None,
                 index: str | None, batch_size: int, chunk_size: int = 65536) -> dict:
    """Every evaluation of ``evals`` (see the module doc) with ``model`` (None: the candidates'
    own order), its runs written to their ``run_out``; the metrics file maps each name to its
    figures. Retrieval searches ``index`` if given, else streams ``corpus``."""
    results = {e["name"]: run_one(e, model, corpus, index, batch_size, chunk_size) for e in evals}
    write_text(metrics_out, json.dumps(results, indent=1))
    return results


def per_query_scores(evals: list[dict], out: str | os.PathLike) -> pd.DataFrame:
    """Per judged query, RR@10 and nDCG@10 of each evaluation's written run (its ``run_out``,
    scored against its ``qrels`` as :func:`run_one` scores it), one Parquet table: evaluation,
    query_id, mrr@10, ndcg@10. The paired significance tests of the report read it
    (dualrank.report.significance); it reads the runs, so nothing is re-ranked again."""
    parts = []
    for e in evals:
        run = contracts.read(e["run_out"], "run")
        qrels = contracts.read(e["qrels"], "qrels")
        _, per_query = evaluate(run, qrels, rel_level=e.get("rel_level", 1), run_name=str(e["run_out"]),
                                qrels_name=str(e["qrels"]))
        parts.append(per_query.assign(evaluation=e["name"]))
    cols = ["evaluation", "query_id", "mrr@10", "ndcg@10"]
    df = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    with atomic_output(out) as tmp:
        df.to_parquet(tmp, index=False)
    return df
