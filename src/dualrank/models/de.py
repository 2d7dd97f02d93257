"""Dual-encoder (DE): s(q, d) = pool(T(q))^T pool(T(d)) with tied encoders (paper Eq. 2)."""

from __future__ import annotations

import torch

from .base import Ranker


class DualEncoder(Ranker):
    """One BERT for queries and passages, [CLS] pooling, dropout and layer norm, dot product."""

    arch = "de"

    def _embed(self, texts: list[str], max_length: int) -> torch.Tensor:
        enc = self.tokenize(texts, max_length)
        return self.head(self.backbone(**enc).last_hidden_state[:, 0])

    def encode_queries(self, texts: list[str]) -> torch.Tensor:
        return self._embed(texts, self.query_length)

    def encode_docs(self, texts: list[str]) -> torch.Tensor:
        return self._embed(texts, self.passage_length)

    def score_pairs(self, queries: list[str], docs: list[str]) -> torch.Tensor:
        return (self.encode_queries(queries) * self.encode_docs(docs)).sum(-1)

    def score_groups(self, queries: list[str], docs: list[list[str]]) -> torch.Tensor:
        # Each query is encoded once, not K times.
        q = self.encode_queries(queries)
        d = self.encode_docs([x for group in docs for x in group]).view(len(queries), len(docs[0]), -1)
        return torch.einsum("bh,bkh->bk", q, d)
