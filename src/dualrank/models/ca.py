"""Cross-attention (CA) ranker: s(q, d) = w^T pool(T(concat(q, d))) (paper §2)."""

from __future__ import annotations

import torch
from torch import nn

from dualrank.models.base import Ranker


class CrossEncoder(Ranker):
    """BERT over the concatenated pair, [CLS] pooled, a linear score on the output head."""

    arch = "ca"

    def __init__(self, backbone, tokenizer, **kw):
        super().__init__(backbone, tokenizer, **kw)
        self.score = nn.Linear(backbone.config.hidden_size, 1)

    # The pair's budget (Appendix B's query + passage lengths, plus [CLS] and two [SEP]): the
    # query keeps up to query_length ids, the passage the rest.
    @property
    def query_token_length(self) -> int:
        return self.query_length

    @property
    def doc_token_length(self) -> int:
        return self.query_length + self.passage_length

    def score_pairs(self, queries, docs) -> torch.Tensor:
        # [CLS] q [SEP] d [SEP] in the Appendix B budget of query + passage length: the query cut
        # to its length first, the passage gets the rest (Hugging Face's longest-first
        # truncation of the pair gives the same).
        budget = self.query_length + self.passage_length
        q = self.token_ids(queries, self.query_length)
        d = [y[: budget - len(x)] for x, y in zip(q, self.token_ids(docs, budget))]
        return self.score(self.head(self.cls(q, d))).squeeze(-1)
