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
def encode(fn, seqs, batch_size: int, what: str, lengths=None, quiet: bool = False) -> torch.Tensor:
    """Encode texts or token-id sequences (anything indexable) in length-sorted batches (little
    attention padding, similar batches), returned in the input order; ``lengths`` saves
    measuring them; ``quiet`` logs nothing (a caller that reports its own progress)."""
    n = len(seqs)
    lengths = np.asarray([len(s) for s in seqs] if lengths is None else lengths)
    order = np.argsort(lengths, kind="stable")
    parts, t0, last = [], time.time(), time.time()
    for i in range(0, n, batch_size):
        parts.append(fn([seqs[j] for j in order[i:i + batch_size]]).float().cpu())
        if time.time() - last > 60 and not quiet:
            last = time.time()
            done = i + len(parts[-1])
            log.info("encoded %d/%d %s (%s)", done, n, what, progress(done, n - done, last - t0, what))
    if not n:
        return torch.empty(0)
    emb = torch.cat(parts)
    out = torch.empty_like(emb)
    out[torch.from_numpy(order)] = emb
    if not quiet:
        log.info("encoded %d %s in %.1fs (%.0f/s)", n, what, time.time() - t0, n / max(time.time() - t0, 1e-9))
    return out


def query_chunks(qids: np.ndarray, max_pairs: int):
    """Slices of ``qids`` (sorted, so each query's rows are contiguous) holding whole queries
    and, unless one query alone is larger, at most ``max_pairs`` rows."""
    bounds = np.flatnonzero(qids[1:] != qids[:-1]) + 1
    bounds = np.concatenate([[0], bounds, [len(qids)]]).astype(np.int64)
    lo = 0
    while lo < len(qids):
        # The last query start at or before lo + max_pairs (at least the next one).
        j = np.searchsorted(bounds, lo + max(max_pairs, 1), side="right") - 1
        hi = int(bounds[j]) if bounds[j] > lo else int(bounds[np.searchsorted(bounds, lo, side="right")])
        yield slice(lo, hi)
        lo = hi


def _sequences(table: Mapping, ids: list) -> tuple:
    """(sequences, lengths) of ``ids``: rows of a token table, read from its memory map batch
    by batch, or the mapping's values (lengths None: measured by :func:`encode`)."""
    if hasattr(table, "rows"):
        seqs = table.rows(ids)
        return seqs, seqs.lengths
    return [table[i] for i in ids], None


@torch.inference_mode()
def _score_chunk(model: Ranker, qids: np.ndarray, dids: np.ndarray, queries: Mapping, docs: Mapping,
                 batch_size: int) -> np.ndarray:
    if hasattr(model, "encode_queries"):
        # Dual-encoder: encode each of the chunk's queries and passages once, then dot products.
        uq, qi = np.unique(qids, return_inverse=True)
        ud, di = np.unique(dids, return_inverse=True)
        (qs, ql), (ds, dl) = _sequences(queries, uq.tolist()), _sequences(docs, ud.tolist())
        q = encode(model.encode_queries, qs, batch_size, "queries", ql, quiet=True)
        d = encode(model.encode_docs, ds, batch_size, "passages", dl, quiet=True)
        return (q[torch.from_numpy(qi)] * d[torch.from_numpy(di)]).sum(-1).numpy()
    # Pairs in length-sorted batches, like the passages of a DE.
    (qs, _), (ds, _) = _sequences(queries, list(qids)), _sequences(docs, list(dids))
    pairs = [(qs[i], ds[i]) for i in range(len(qids))]
    return encode(lambda b: model.score_pairs([p[0] for p in b], [p[1] for p in b]), pairs,
                  batch_size, "pairs", [len(q) + len(d) for q, d in pairs], quiet=True).numpy()


@torch.inference_mode()
def score_candidates(model: Ranker, cands: pd.DataFrame, queries: Mapping, docs: Mapping,
                     batch_size: int = 128, chunk_pairs: int = 65536) -> pd.DataFrame:
    """Re-rank ``cands`` (query_id, doc_id) with ``model``; returns the run contract.
    ``queries`` and ``docs`` map ids to texts or to token ids (a :class:`dualrank.text.cache.TokenTable`).

    Whole queries are scored ``chunk_pairs`` candidates at a time, so that the encoded passages,
    the pairs and their token sequences are held for one chunk, never for all candidates
    (MS MARCO dev's 6,980 x 1,000 passages at 768 dimensions would be ~20 GB). A passage that
    several chunks' queries share is encoded once per chunk."""
    model.eval()
    cands = cands[["query_id", "doc_id"]]
    if not cands["query_id"].is_monotonic_increasing:  # a run is sorted already; a chunk needs whole queries
        cands = cands.sort_values("query_id", kind="stable")
    qids, dids = cands["query_id"].to_numpy(), cands["doc_id"].to_numpy()
    scores = np.empty(len(qids), dtype=np.float32)
    t0, last = time.time(), time.time()
    for part in query_chunks(qids, chunk_pairs):
        scores[part] = _score_chunk(model, qids[part], dids[part], queries, docs, batch_size)
        if time.time() - last > 60:
            last = time.time()
            log.info("scored %d/%d pairs (%s)", part.stop, len(qids),
                     progress(part.stop, len(qids) - part.stop, last - t0, "pairs"))
    log.info("scored %d pairs in %.1fs (%.0f pairs/s)", len(qids), time.time() - t0,
             len(qids) / max(time.time() - t0, 1e-9))
    return ranked(pd.DataFrame({"query_id": qids, "doc_id": dids, "score": scores}))
