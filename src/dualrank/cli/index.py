"""A FAISS index of a corpus encoded by a trained dual-encoder (Table 1's retrieval column).

    dualrank index --model DIR --corpus C.parquet --out DIR [--batch-size 256] [--threads N]
        [--index-spec '{"factory": "Flat"}']

The index scores by inner product; exact (Flat) unless --index-spec names another FAISS factory
string with search-time parameters (config.yaml's `index` key, dualrank.retrieval.ann). The
directory (index.faiss, index.json, doc_ids.txt) is written atomically.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dualrank.cli.logs import entry_point
from dualrank.data.io import InputError
from dualrank.retrieval import ann


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank index", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help="the trained dual-encoder's model directory")
    p.add_argument("--corpus", type=Path, required=True, help="corpus Parquet (doc_id, text)")
    p.add_argument("--out", type=Path, required=True, help="index directory to write (replaced atomically)")
    p.add_argument("--batch-size", type=int, default=256, help="passages per forward pass (default 256)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--index-spec", default=json.dumps(ann.EXACT),
                   help='JSON: {"factory": FAISS factory string, "search": FAISS ParameterSpace string} '
                        "(default: exact, %(default)s)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        spec = json.loads(a.index_spec)
    except json.JSONDecodeError as e:
        raise InputError(f"--index-spec is not JSON: {e}") from e
    # After parsing: --help needs no torch.
    from dualrank.retrieval.index import build_index
    from dualrank.retrieval.rerank import load_ranker

    build_index(load_ranker(a.model, a.threads), a.corpus, a.out, a.batch_size, spec)
    return 0


if __name__ == "__main__":
    main()
