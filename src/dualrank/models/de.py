"""Dual-encoder (DE): s(q, d) = pool(T(q))^T pool(T(d)) with tied encoders (paper Eq. 2)."""

from __future__ import annotations

import torch

from dualrank.models.base import Ranker


class DualEncoder(Ranker):
    """One BERT for queries and passages, [CLS] pooling, dropout and layer norm, dot product."""

    arch = "de"

    def _embed(self, seqs, max_length: int) -> torch.Tensor:
        return self.head(self.cls(self.token_ids(seqs, max_length)))

    def encode_queries(self, queries) -> torch.Tensor:
        return self._embed(queries, self.query_token_length)

    def encode_docs(self, docs) -> torch.Tensor:
        return self._embed(docs, self.doc_token_length)

    def score_pairs(self, queries, docs) -> torch.Tensor:
        return (self.encode_queries(queries) * self.encode_docs(docs)).sum(-1)

    def score_groups(self, queries, docs) -> torch.Tensor:
        # Each query is encoded once, not K times.
        q = self.encode_queries(queries)
        d = self.encode_docs([x for group in docs for x in group]).view(len(queries), len(docs[0]), -1)
        return torch.einsum("bh,bkh->bk", q, d)
