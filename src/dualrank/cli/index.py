"""A FAISS index of a corpus encoded by a trained dual-encoder (Table 1's retrieval column).

    dualrank index --model DIR --corpus C.parquet --out DIR [--batch-size 256] [--threads N]
        [--index-spec '{"factory": "Flat"}']

The index scores by inner product; exact (Flat) unless --index-spec names another FAISS factory
string with search-time parameters (config.yaml's `index` key, dualrank.retrieval.ann). The
directory (index.faiss, index.json, doc_ids.txt) is written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS, Encoding, json_flag
from dualrank.retrieval import ann


@dataclass(frozen=True, kw_only=True)
class Args(Encoding):
    model: Path = option("the trained dual-encoder's model directory")
    corpus: Path = option(CORPUS)
    out: Path = option("index directory to write (replaced atomically)")
    index_spec: str = option('JSON: {"factory": FAISS factory string, "search": FAISS ParameterSpace string}',
                             json.dumps(ann.EXACT))


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "index", __doc__)
    spec = json_flag(a.index_spec, "--index-spec")
    # After parsing: --help needs no torch.
    from dualrank.retrieval.index import build_index
    from dualrank.retrieval.rerank import load_ranker

    build_index(load_ranker(a.model, a.threads), a.corpus, a.out, a.batch_size, spec)
    return 0


if __name__ == "__main__":
    main()
