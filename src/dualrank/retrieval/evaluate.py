"""Evaluate a ranker (or the BM25 candidates themselves) on re-ranking and retrieval
(``dualrank evaluate``).

The evaluations are a list (the command's ``--evals`` JSON), one entry per evaluation::

    {"name": "dl19", "mode": "rerank" | "retrieval", "queries": Q, "qrels": R,
     "candidates": RUN (rerank only), "rel_level": 2, "depth": 1000, "run_out": OUT}

Re-ranking scores each query's top-``depth`` candidates with the model (without a model the
candidates' own order is evaluated: the BM25 row). Retrieval is exact and streamed over the
corpus in chunks of ``chunk_size`` passages (retrieval/stream.py), or searches a FAISS index
when one is given (config ``index: {persistent: true}``). Each
run is written to ``run_out`` and scored with ir_measures (MRR@10, nDCG@10; DL19 counts
grade >= 2 relevant for MRR). The metrics file maps each name to its figures.
"""

from __future__ import annotations

import json
import logging
import os

from dualrank.data import contracts
from dualrank.data.io import write_text
from dualrank.retrieval.metrics import evaluate

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
        cands = cands[cands["rank"] <= spec.get("depth", 1000)]
        cands = cands[cands["query_id"].isin(set(qrels["query_id"]))]
        if model is None:
            run = cands
        else:
            from dualrank.retrieval.rerank import score_candidates
            from dualrank.text.cache import for_model

            queries = for_model(spec["queries"], "queries", model, set(cands["query_id"]))
            docs = for_model(corpus, "corpus", model, set(cands["doc_id"]))
            run = score_candidates(model, cands, queries, docs, batch_size)
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
