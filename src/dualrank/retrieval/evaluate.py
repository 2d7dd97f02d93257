"""Evaluate a ranker (or the BM25 candidates themselves) on re-ranking and retrieval.

    python -m dualrank.retrieval.evaluate --evals JSON --metrics-out metrics.json \
        [--model DIR] [--corpus C.parquet] [--index DIR]

``--evals`` is a JSON list, one entry per evaluation::

    {"name": "dl19", "mode": "rerank" | "retrieval", "queries": Q, "qrels": R,
     "candidates": RUN (rerank only), "rel_level": 2, "depth": 1000, "run_out": OUT}

Re-ranking scores each query's top-``depth`` candidates with the model (without a model the
candidates' own order is evaluated: the BM25 row). Retrieval searches the FAISS index. Each
run is written to ``run_out`` and scored with ir_measures (MRR@10, nDCG@10; DL19 counts
grade >= 2 relevant for MRR). The metrics file maps each name to its figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os

from dualrank.data import contracts
from dualrank.cli.logs import entry_point
from dualrank.retrieval.metrics import evaluate

log = logging.getLogger("dualrank.retrieval.evaluate")


def run_one(spec: dict, model, corpus: str | None, index: str | None, batch_size: int) -> dict:
    qrels = contracts.read(spec["qrels"], "qrels")
    if spec["mode"] == "retrieval":
        from dualrank.retrieval.index import retrieve
        from dualrank.text.cache import for_model

        wanted = sorted(set(qrels["query_id"]))
        table = for_model(spec["queries"], "queries", model, wanted)
        run = retrieve(model, index, {q: table[q] for q in wanted}, spec.get("depth", 1000), batch_size)
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


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--evals", required=True)
    p.add_argument("--metrics-out", required=True)
    p.add_argument("--model")
    p.add_argument("--corpus")
    p.add_argument("--index")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args(argv)
    model = None
    if a.model:  # torch is imported only when there is a model to run (not for BM25)
        import torch

        from dualrank.models import load_model

        if a.threads:
            torch.set_num_threads(a.threads)
        model = load_model(a.model, "cuda" if torch.cuda.is_available() else "cpu")
    results = {e["name"]: run_one(e, model, a.corpus, a.index, a.batch_size) for e in json.loads(a.evals)}
    path, tmp = contracts.atomic_path(a.metrics_out)
    tmp.write_text(json.dumps(results, indent=1))
    os.replace(tmp, path)


if __name__ == "__main__":
    entry_point(main)()
