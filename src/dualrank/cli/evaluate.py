"""Re-rank and retrieval evaluation of a trained model (or of BM25's candidates), MRR@10 and nDCG@10.

    dualrank evaluate --evals JSON --metrics-out metrics.json [--model DIR] [--corpus C.parquet]
        [--index DIR] [--batch-size 256] [--threads N]

--evals is a JSON list, one entry per evaluation:

    {"name": "dl19", "mode": "rerank" | "retrieval", "queries": Q, "qrels": R,
     "candidates": RUN (rerank only), "rel_level": 2, "depth": 1000, "run_out": OUT}

Without --model the candidates' own order is evaluated (the BM25 row); retrieval needs --index.
Each run is written to its run_out, and the metrics file maps each name to its figures
(dualrank.retrieval.evaluate).
"""

from __future__ import annotations

import argparse
import json

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--evals", required=True, help="JSON list of evaluations (see above)")
    p.add_argument("--metrics-out", required=True, help="metrics JSON to write: name -> figures")
    p.add_argument("--model", help="the trained model's directory (default: no model, the candidates' order)")
    p.add_argument("--corpus", help="corpus Parquet (doc_id, text); needed to re-rank with a model")
    p.add_argument("--index", help="the model's FAISS index directory; needed for retrieval")
    p.add_argument("--batch-size", type=int, default=256, help="pairs or texts per forward pass (default 256)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.retrieval.evaluate import evaluate_all

    a = parser().parse_args(argv)
    model = None
    if a.model:  # torch is imported only when there is a model to run (not for BM25)
        from dualrank.retrieval.rerank import load_ranker

        model = load_ranker(a.model, a.threads)
    evaluate_all(json.loads(a.evals), a.metrics_out, model, a.corpus, a.index, a.batch_size)
    return 0


if __name__ == "__main__":
    main()
