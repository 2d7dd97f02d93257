"""Exact inner-product retrieval streamed over the corpus: Table 1's retrieval column without a
corpus matrix or an index on disk (config ``index: {persistent: false}``, the default).

The corpus is encoded ``chunk_size`` passages at a time; each chunk is searched by a FAISS
Flat index of its own (fp32 inner products, the paper's score, bit for bit those of a Flat
index of the whole corpus) and merged into each query's running best list, so peak memory is
set by the chunk and the queries, never by the corpus (MS MARCO as one fp32 matrix would be
27 GB, and a Flat index a second copy of it). ``python -m tools.bench stream`` measures both.

The result is the same as a FAISS ``Flat`` (``IndexFlatIP``) search over the whole corpus,
ties included. FAISS scans rows in order through a size-k heap that admits a row only if it
beats the heap's worst strictly, and evicts, among equal worst scores, the smallest row. Of
the rows tied at the k-th score T it therefore keeps the last ``m`` (the free places) of those
that came while fewer than k rows scoring >= T had been seen. That needs only the rows scoring
above T and the first k rows tied at T, i.e. each query's best 2k rows under the total order
(score descending, row ascending), which the stream keeps whatever order the chunks come in;
:func:`flat_order` then picks FAISS's k and returns them in its order (score descending, ties
by row descending).
"""

from __future__ import annotations

import ctypes
import logging
import time

import faiss
import numpy as np
import pandas as pd
import torch

from dualrank.text import cache as tokens
from dualrank.retrieval.rerank import encode, ranked

log = logging.getLogger(__name__)

#: Queries searched at once (their per-chunk results and merge: 256 x 4k x ~40 bytes, 40 MB at
#: k = 1000).
QUERY_BLOCK = 256
_NO_ROW = np.iinfo(np.int64).max  # an empty place: sorts after every real row


class RunningBest:
    """Each query's best ``capacity`` (score, row) pairs so far under the total order score
    descending, row ascending; chunks may come in any order."""

    def __init__(self, n_queries: int, capacity: int):
        self.scores = np.full((n_queries, capacity), -np.inf, dtype=np.float32)
        self.rows = np.full((n_queries, capacity), _NO_ROW, dtype=np.int64)

    def add(self, q: np.ndarray, emb: np.ndarray, rows: np.ndarray) -> None:
        """Score the chunk ``emb`` [c, d] (corpus rows ``rows``, ascending) against the queries
        ``q`` [Q, d] (every query, in this object's order) and merge its best into the lists.
        Every score comes from FAISS's own Flat kernel, so that it is bit for bit the one a Flat
        index of the whole corpus computes (another matmul differs in the last bit and would
        reorder near-ties)."""
        m = min(self.scores.shape[1], len(rows))
        chunk = faiss.IndexFlatIP(emb.shape[1])
        chunk.add(emb)
        rows = np.asarray(rows, dtype=np.int64)
        for i, j in _blocks(len(q), QUERY_BLOCK):
            # The chunk's best m, whatever the order FAISS gives ties, are among its results
            # when the last result scores below the m-th (or the results are the whole chunk):
            # search deeper until that holds for every query of the block (ties at the cut
            # are common: fp32 scores of similar passages collide).
            k = min(m + 1, len(rows))
            while True:
                d, ix = chunk.search(q[i:j], k)
                if k == len(rows) or (d[:, k - 1] < d[:, m - 1]).all():
                    break
                k = min(2 * k, len(rows))
            self._merge(i, j, d, rows[ix])

    def _merge(self, i: int, j: int, cs: np.ndarray, cr: np.ndarray) -> None:
        both_s = np.concatenate([self.scores[i:j], cs], 1)
        both_r = np.concatenate([self.rows[i:j], cr], 1)
        o = np.lexsort((both_r, -both_s), axis=1)[:, :self.scores.shape[1]]  # score desc, row asc
        self.scores[i:j], self.rows[i:j] = np.take_along_axis(both_s, o, 1), np.take_along_axis(both_r, o, 1)


def _blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``n`` queries in blocks of about ``size``, all of the same size give or take one: FAISS
    scores fewer than ``distance_compute_blas_threshold`` queries with another kernel, so a
    block is that small only when all the queries are (as in the whole-corpus search)."""
    size = max(size, 2 * faiss.cvar.distance_compute_blas_threshold, 1)
    parts = -(-n // size)
    bounds = np.linspace(0, n, parts + 1).round().astype(int) if n else [0]
    return list(zip(bounds[:-1], bounds[1:]))


def flat_order(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS Flat's top-``k`` (see the module doc) from each query's best 2k (score descending,
    row ascending; empty places last): [Q, k] scores and rows, score descending, ties by row
    descending, as ``IndexFlatIP.search`` returns them."""
    k = min(k, int((rows[0] != _NO_ROW).sum())) if len(rows) else k
    out_s, out_r = scores[:, :k].copy(), rows[:, :k].copy()
    # Only a query whose (k+1)-th best ties its k-th has a choice to make.
    ambiguous = np.flatnonzero(scores[:, k] == scores[:, k - 1]) if scores.shape[1] > k and k else []
    for i in ambiguous:
        t = scores[i, k - 1]
        above = rows[i][scores[i] > t]  # all of them are among the best 2k
        tied = rows[i][scores[i] == t]  # the first ties by row, ascending
        seen_before = np.searchsorted(np.sort(above), tied) + np.arange(len(tied))
        came = tied[seen_before < k]
        kept = came[len(came) - (k - len(above)):]
        out_r[i] = np.concatenate([above, kept])
        out_s[i] = np.concatenate([scores[i][scores[i] > t], np.full(len(kept), t, scores.dtype)])
    # Score descending, ties by row descending: sort by row (descending), then stably by score.
    o = np.argsort(-out_r, axis=1, kind="stable")
    out_s, out_r = np.take_along_axis(out_s, o, 1), np.take_along_axis(out_r, o, 1)
    o = np.argsort(-out_s, axis=1, kind="stable")
    return np.take_along_axis(out_s, o, 1), np.take_along_axis(out_r, o, 1)


def search(q, chunks, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product of the queries ``q`` [Q, d] over ``chunks``, an iterable
    of (corpus rows [c] ascending, embeddings [c, d]): the (scores, rows) a FAISS Flat index of
    all the rows would return, without ever holding more than one chunk."""
    best = RunningBest(len(q), 2 * k)
    q = _f32(q)
    for rows, emb in chunks:
        best.add(q, _f32(emb), rows)
        _release_freed()
    return flat_order(best.scores, best.rows, k)


def _release_freed() -> None:
    """Hand the memory freed by the last chunk back to the system: glibc keeps freed blocks of
    a few MB (a chunk's scores, sort buffers) in its heap, where the next chunk's, allocated in
    another order, do not fit, and a process's RSS would creep up chunk after chunk."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        pass


def _f32(x) -> np.ndarray:
    x = x.cpu().numpy() if isinstance(x, torch.Tensor) else x
    return np.ascontiguousarray(x, dtype=np.float32)


def encoded_chunks(model, table: tokens.TokenTable, chunk_size: int, batch_size: int):
    """The corpus encoded ``chunk_size`` passages at a time, as (rows ascending, embeddings).
    The chunks follow one length order of the whole corpus, cut at a multiple of the batch
    size, so every batch (and so every embedding) is the one an all-at-once encoding makes."""
    order = np.argsort(table.lengths, kind="stable")
    step = max(batch_size, chunk_size // batch_size * batch_size)
    for start in range(0, len(order), step):
        sel = order[start:start + step]
        emb = encode(model.encode_docs, tokens.Sequences(table, sel), batch_size, "passages", table.lengths[sel])
        o = np.argsort(sel, kind="stable")
        yield sel[o], emb[o]
        log.info("searched %d/%d passages", min(start + step, len(order)), len(order))


@torch.inference_mode()
def retrieve(model, corpus_path: str, queries, k: int = 1000, batch_size: int = 256,
             chunk_size: int = 65536) -> pd.DataFrame:
    """The run of every query of ``queries`` (id -> text or token ids): its exact top-``k``
    passages of the corpus by the DE's inner product, streamed (see the module doc)."""
    table = tokens.load(corpus_path, "corpus", model.tokenizer, model.doc_token_length)
    qids = sorted(queries)
    t0 = time.time()
    q = encode(model.encode_queries, [queries[i] for i in qids], batch_size, "queries")
    scores, rows = search(q, encoded_chunks(model, table, chunk_size, batch_size), k)
    log.info("streamed retrieval of %d queries over %d passages in %.1fs", len(qids), len(table), time.time() - t0)
    df = pd.DataFrame({"query_id": np.repeat(qids, rows.shape[1]),
                       "doc_id": table.ids.take(rows.ravel()),
                       "score": scores.ravel().astype(np.float32)})
    return ranked(df)
