"""Exact inner-product retrieval streamed over the corpus: Table 1's retrieval column without a
corpus matrix or an index on disk (config ``index: {persistent: false}``, the default).

The corpus is encoded ``chunk_size`` passages at a time; each chunk is scored against every
query (fp32 inner products, the paper's score, by FAISS's Flat kernel) and each query keeps a
running best list, so
peak memory is set by the chunk and the queries, never by the corpus (MS MARCO as one fp32
matrix would be 27 GB, and a Flat index a second copy of it).

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

import logging
import time

import faiss
import numpy as np
import pandas as pd
import torch

from dualrank.text import cache as tokens
from dualrank.retrieval.rerank import encode, ranked

log = logging.getLogger(__name__)

#: Scores held at once while a chunk is searched (2^24: 64 MB of fp32 plus 128 MB of row ids
#: and masks): queries are scored in blocks of about SCORE_BLOCK // chunk.
SCORE_BLOCK = 1 << 24
_NO_ROW = torch.iinfo(torch.int64).max  # an empty place: sorts after every real row


class RunningBest:
    """Each query's best ``capacity`` (score, row) pairs so far under the total order score
    descending, row ascending; chunks may come in any order."""

    def __init__(self, n_queries: int, capacity: int):
        self.scores = torch.full((n_queries, capacity), -torch.inf, dtype=torch.float32)
        self.rows = torch.full((n_queries, capacity), _NO_ROW, dtype=torch.int64)

    def add(self, q: np.ndarray, emb: np.ndarray, rows: np.ndarray) -> None:
        """Score the chunk ``emb`` [c, d] (corpus rows ``rows``, ascending) against the queries
        ``q`` [Q, d] (every query, in this object's order) and merge its best into the lists."""
        capacity = self.scores.shape[1]
        chunk = faiss.IndexFlatIP(emb.shape[1])
        chunk.add(emb)
        rows = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        for i, j in _blocks(len(q), SCORE_BLOCK // max(1, len(rows))):
            # FAISS's own kernel, so that every score is bit for bit the one a Flat index of
            # the whole corpus computes (a range search with no bound returns all of them, in
            # row order); a different matmul differs in the last bit and reorders near-ties.
            lims, s, _ = chunk.range_search(q[i:j], -np.inf)
            if lims[-1] != (j - i) * len(rows):
                raise ValueError("retrieval: a query or passage embedding is not finite (NaN)")
            cs, cr = _best(torch.from_numpy(s).view(j - i, len(rows)), rows, capacity)
            both_s = torch.cat([self.scores[i:j], cs], 1)
            both_r = torch.cat([self.rows[i:j], cr], 1)
            # Two stable sorts: by row, then by descending score (ties keep ascending rows).
            o = torch.argsort(both_r, dim=1, stable=True)
            both_s, both_r = both_s.gather(1, o), both_r.gather(1, o)
            o = torch.argsort(-both_s, dim=1, stable=True)[:, :capacity]
            self.scores[i:j], self.rows[i:j] = both_s.gather(1, o), both_r.gather(1, o)


def _blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``n`` queries in blocks of about ``size``, all of the same size give or take one: FAISS
    scores fewer than ``distance_compute_blas_threshold`` queries with another kernel, so a
    block is that small only when all the queries are (as in the whole-corpus search)."""
    size = max(size, 2 * faiss.cvar.distance_compute_blas_threshold, 1)
    parts = -(-n // size)
    bounds = np.linspace(0, n, parts + 1).round().astype(int) if n else [0]
    return list(zip(bounds[:-1], bounds[1:]))


def _best(s: torch.Tensor, rows: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's best ``m`` columns of ``s`` [b, c] (score descending, then the smaller corpus
    row: ``rows``, ascending along the columns), in column order."""
    if s.shape[1] <= m:
        return s, rows.expand(s.shape[0], -1)
    v = torch.topk(s, m, dim=1, sorted=False).values.min(dim=1, keepdim=True).values  # m-th best
    take = s > v
    eq = s == v
    # Of the columns tied at the m-th score, the first (smallest rows) fill the free places.
    take |= eq & (torch.cumsum(eq, 1, dtype=torch.int32) <= m - take.sum(1, keepdim=True, dtype=torch.int32))
    cols = take.nonzero()[:, 1].view(s.shape[0], m)  # exactly m per row, in column order
    return s.gather(1, cols), rows[cols]


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
    return flat_order(best.scores.numpy(), best.rows.numpy(), k)


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
                       "doc_id": table.ids.take(rows.ravel()).to_numpy(),
                       "score": scores.ravel().astype(np.float32)})
    return ranked(df)
