"""Encode the corpus with a trained dual-encoder and build a FAISS index (Table 1, retrieval;
``dualrank index``), and retrieve from it.

The index scores by inner product, the paper's dot-product score. By default it is exact
(``Flat``: on MS MARCO, 8.84M x 768 fp32, ~27 GB); config.yaml's ``index`` key may name any
FAISS index factory string with search-time parameters instead (:mod:`dualrank.retrieval.ann`). The
directory holds ``index.faiss``, ``index.json`` (the spec) and ``doc_ids.txt`` (row i of the
index is doc_ids line i) and is written atomically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import torch

from dualrank.retrieval import ann
from dualrank.text import cache as tokens
from dualrank.data.io import InputError, atomic_output
from dualrank.retrieval.rerank import encode, ranked

log = logging.getLogger(__name__)


def encode_corpus(model, corpus_path: str, batch_size: int = 256) -> tuple[torch.Tensor, list[str]]:
    """Every passage's embedding [N, H] from the token cache, and the doc ids in row order."""
    table = tokens.load(corpus_path, "corpus", model.tokenizer, model.doc_token_length)
    rows = table.all()
    return encode(model.encode_docs, rows, batch_size, "passages", rows.lengths), list(table.ids)


def build_index(model, corpus_path: str, out: str | Path, batch_size: int = 256,
                spec: dict | None = None) -> Path:
    if not hasattr(model, "encode_docs"):
        raise InputError(f"{model.arch} models score pairs jointly and cannot be indexed for retrieval")
    # Checked before the encoding, which is the long part.
    spec = ann.check_spec(spec or ann.EXACT, model.backbone.config.hidden_size)
    emb, ids = encode_corpus(model, corpus_path, batch_size)
    index = ann.build(spec, np.ascontiguousarray(emb.numpy(), dtype=np.float32))
    out = Path(out)
    with atomic_output(out, directory=True) as tmp:
        faiss.write_index(index, str(tmp / "index.faiss"))
        (tmp / "index.json").write_text(json.dumps(spec))
        (tmp / "doc_ids.txt").write_text("\n".join(ids) + "\n")
    log.info("indexed %d passages of dimension %d (%s) -> %s", index.ntotal, index.d, spec["factory"], out)
    return out


@torch.inference_mode()
def retrieve(model, index_dir: str | Path, queries: Mapping, k: int = 1000,
             batch_size: int = 256) -> pd.DataFrame:
    index_dir = Path(index_dir)
    index = faiss.read_index(str(index_dir / "index.faiss"))
    spec_path = index_dir / "index.json"
    # Search-time parameters (efSearch, nprobe) are not stored in the FAISS file.
    ann.set_search_params(index, json.loads(spec_path.read_text()) if spec_path.exists() else ann.EXACT)
    doc_ids = np.array((index_dir / "doc_ids.txt").read_text().split("\n")[:-1])
    qids = sorted(queries)
    q = encode(model.encode_queries, [queries[i] for i in qids], batch_size, "queries")
    scores, rows = index.search(np.ascontiguousarray(q.numpy(), dtype=np.float32), min(k, index.ntotal))
    # An approximate index may find fewer than k passages; it pads with row -1.
    found = rows.ravel() >= 0
    df = pd.DataFrame({
        "query_id": np.repeat(qids, rows.shape[1])[found],
        "doc_id": doc_ids[rows.ravel()[found]],
        "score": scores.ravel()[found].astype(np.float32),
    })
    return ranked(df)

