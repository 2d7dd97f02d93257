"""Score (query, doc) candidates with a trained ranker and turn scores into a ranked run."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import torch

from .contracts import ranked
from .models import Ranker

log = logging.getLogger(__name__)


@torch.inference_mode()
def encode(fn, texts: list[str], batch_size: int, what: str) -> torch.Tensor:
    """Encode texts in length-sorted batches (less padding), returned in the input order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    out, t0 = [None] * len(texts), time.time()
    for i in range(0, len(texts), batch_size):
        idx = order[i:i + batch_size]
        emb = fn([texts[j] for j in idx]).float().cpu()
        for j, e in zip(idx, emb):
            out[j] = e
    if texts:
        log.info("encoded %d %s in %.1fs (%.0f/s)", len(texts), what, time.time() - t0,
                 len(texts) / max(time.time() - t0, 1e-9))
    return torch.stack(out) if texts else torch.empty(0)


@torch.inference_mode()
def score_candidates(model: Ranker, cands: pd.DataFrame, queries: dict[str, str],
                     docs: dict[str, str], batch_size: int = 128) -> pd.DataFrame:
    """Re-rank ``cands`` (query_id, doc_id) with ``model``; returns the run contract."""
    model.eval()
    qids, dids = cands["query_id"].tolist(), cands["doc_id"].tolist()
    t0 = time.time()
    if hasattr(model, "encode_queries"):
        # Dual-encoder: encode every query and passage once, then dot products.
        uq, ud = sorted(set(qids)), sorted(set(dids))
        q = encode(model.encode_queries, [queries[i] for i in uq], batch_size, "queries")
        d = encode(model.encode_docs, [docs[i] for i in ud], batch_size, "passages")
        qi = torch.as_tensor(pd.Index(uq).get_indexer(qids))
        di = torch.as_tensor(pd.Index(ud).get_indexer(dids))
        scores = (q[qi] * d[di]).sum(-1).numpy()
    else:
        parts = []
        for i in range(0, len(qids), batch_size):
            qs = [queries[x] for x in qids[i:i + batch_size]]
            ds = [docs[x] for x in dids[i:i + batch_size]]
            parts.append(model.score_pairs(qs, ds).float().cpu().numpy())
        scores = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    log.info("scored %d pairs in %.1fs (%.0f pairs/s)", len(qids), time.time() - t0,
             len(qids) / max(time.time() - t0, 1e-9))
    out = pd.DataFrame({"query_id": qids, "doc_id": dids, "score": scores.astype(np.float32)})
    return ranked(out)
