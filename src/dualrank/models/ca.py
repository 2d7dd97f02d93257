"""Cross-attention (CA) ranker: s(q, d) = w^T pool(T(concat(q, d))) (paper §2)."""

from __future__ import annotations

import torch
from torch import nn

from .base import Ranker


class CrossEncoder(Ranker):
    """BERT over the concatenated pair, [CLS] pooled, a linear score on the output head."""

    arch = "ca"

    def __init__(self, backbone, tokenizer, **kw):
        super().__init__(backbone, tokenizer, **kw)
        self.score = nn.Linear(backbone.config.hidden_size, 1)

    def score_pairs(self, queries: list[str], docs: list[str]) -> torch.Tensor:
        # The pair is cut to the query and passage lengths of Appendix B: the query part first.
        q_ids = self.tokenizer(queries, add_special_tokens=False, truncation=True,
                               max_length=self.query_length)["input_ids"]
        qs = self.tokenizer.batch_decode(q_ids)
        enc = self.tokenize(qs, self.query_length + self.passage_length + 3, pair=docs)
        cls = self.backbone(**enc).last_hidden_state[:, 0]
        return self.score(self.head(cls)).squeeze(-1)
