"""Load a trained ranker, score (query, doc) candidates with it and turn scores into a ranked run."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dualrank.data.contracts import ranked
from dualrank.data.io import progress
from dualrank.models import Ranker, load_model

log = logging.getLogger(__name__)


def load_ranker(model_dir: str | Path, threads: int = 0) -> Ranker:
    """A trained model on this job's device: the GPU when one is visible (``dualrank gpu`` gives
    a job its own), else the CPU, with ``threads`` torch threads when given (0: torch's choice)."""
    if threads:
        torch.set_num_threads(threads)
    return load_model(model_dir, "cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def encode(fn, seqs, batch_size: int, what: str, lengths=None) -> torch.Tensor:
    """Encode texts or token-id sequences (anything indexable) in length-sorted batches (little
    attention padding, similar batches), returned in the input order; ``lengths`` saves
    measuring them."""
    n = len(seqs)
    lengths = np.asarray([len(s) for s in seqs] if lengths is None else lengths)
    order = np.argsort(lengths, kind="stable")
    parts, t0, last = [], time.time(), time.time()
    for i in range(0, n, batch_size):
        parts.append(fn([seqs[j] for j in order[i:i + batch_size]]).float().cpu())
        if time.time() - last > 60:
            last = time.time()
            done = i + len(parts[-1])
            log.info("encoded %d/%d %s (%s)", done, n, what, progress(done, n - done, last - t0, what))
    if not n:
        return torch.empty(0)
    emb = torch.cat(parts)
    out = torch.empty_like(emb)
    out[torch.from_numpy(order)] = emb
    log.info("encoded %d %s in %.1fs (%.0f/s)", n, what, time.time() - t0, n / max(time.time() - t0, 1e-9))
    return out


@torch.inference_mode()
def score_candidates(model: Ranker, cands: pd.DataFrame, queries: Mapping, docs: Mapping,
                     batch_size: int = 128) -> pd.DataFrame:
    """Re-rank ``cands`` (query_id, doc_id) with ``model``; returns the run contract.
    ``queries`` and ``docs`` map ids to texts or to token ids (a :class:`dualrank.text.cache.TokenTable`)."""
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
        # Pairs in length-sorted batches, like the passages of a DE.
        pairs = [(queries[q], docs[d]) for q, d in zip(qids, dids)]
        scores = encode(lambda b: model.score_pairs([p[0] for p in b], [p[1] for p in b]), pairs,
                        batch_size, "pairs", [len(q) + len(d) for q, d in pairs]).numpy()
    log.info("scored %d pairs in %.1fs (%.0f pairs/s)", len(qids), time.time() - t0,
             len(qids) / max(time.time() - t0, 1e-9))
    out = pd.DataFrame({"query_id": qids, "doc_id": dids, "score": scores.astype(np.float32)})
    return ranked(out)
