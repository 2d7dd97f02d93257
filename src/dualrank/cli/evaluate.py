"""Re-rank and retrieval evaluation of a trained model (or of BM25's candidates), MRR@10 and nDCG@10.

    dualrank evaluate --evals JSON --metrics-out metrics.json [--model DIR] [--corpus C.parquet]
        [--index DIR] [--chunk-size 65536] [--batch-size 256] [--threads N]

--evals is a JSON list, one entry per evaluation:

    {"name": "dl19", "mode": "rerank" | "retrieval", "queries": Q, "qrels": R,
     "candidates": RUN (rerank only), "rel_level": 2, "depth": 1000, "run_out": OUT}

Without --model the candidates' own order is evaluated (the BM25 row). Retrieval searches
--index when given, else encodes the corpus --chunk-size passages at a time and keeps each
query's exact top-depth (the same run as a Flat index, without one; dualrank.retrieval.stream).
Re-ranking scores whole queries --chunk-size candidates at a time.
Each run is written to its run_out, and the metrics file maps each name to its figures
(dualrank.retrieval.evaluate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS, Encoding


@dataclass(frozen=True, kw_only=True)
class Args(Encoding):
    evals: str = option("JSON list of evaluations (see above)")
    metrics_out: str = option("metrics JSON to write: name -> figures")
    model: str | None = option("the trained model's directory (default: no model, the candidates' order)", None)
    corpus: str | None = option(CORPUS + "; needed to re-rank with a model", None)
    index: str | None = option("the model's FAISS index directory (default: exact retrieval streamed "
                               "over --corpus)", None)
    chunk_size: int = option("passages encoded and searched at a time by streamed retrieval, and candidates "
                             "scored at a time by re-ranking (memory: chunk x hidden x 4 bytes, plus the "
                             "queries' running top lists)", 65536)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "evaluate", __doc__)
    from dualrank.retrieval.evaluate import evaluate_all

    model = None
    if a.model:  # torch is imported only when there is a model to run (not for BM25)
        from dualrank.retrieval.rerank import load_ranker

        model = load_ranker(a.model, a.threads)
    evaluate_all(json.loads(a.evals), a.metrics_out, model, a.corpus, a.index, a.batch_size, a.chunk_size)
    return 0


if __name__ == "__main__":
    main()
