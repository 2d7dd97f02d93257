"""ColBERT-style late interaction (Khattab & Zaharia 2020; paper §5.1 and Table 7).

s(q, d) = mean over query tokens of the maximum dot product with the passage tokens; the
token embeddings get the same dropout and layer norm as the DE's pooled embedding.
"""

from __future__ import annotations

import torch

from dualrank.models.base import Ranker


class ColBERT(Ranker):
    arch = "colbert"

    def _tokens(self, seqs, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Every token's output is needed, so the padded path; max_length counts [CLS] and [SEP].
        enc = self.padded(self.drop_tokens(self.token_ids(seqs, max_length - 2)))
        with self.autocast():
            out = self.backbone(**enc).last_hidden_state
        return self.head(out.float()), enc["attention_mask"].bool()

    def _late_interaction(self, q, q_mask, d, d_mask) -> torch.Tensor:
        # q: [N, Lq, H], d: [N, Ld, H] -> [N]
        sim = torch.einsum("nqh,ndh->nqd", q, d).masked_fill(~d_mask[:, None, :], float("-inf"))
        best = sim.max(-1).values.masked_fill(~q_mask, 0.0)
        return best.sum(-1) / q_mask.sum(-1)

    def score_pairs(self, queries, docs) -> torch.Tensor:
        q, qm = self._tokens(queries, self.query_length)
        d, dm = self._tokens(docs, self.passage_length)
        return self._late_interaction(q, qm, d, dm)

    def score_groups(self, queries, docs) -> torch.Tensor:
        b, k = len(queries), len(docs[0])
        q, qm = self._tokens(queries, self.query_length)
        d, dm = self._tokens([x for group in docs for x in group], self.passage_length)
        q = q.repeat_interleave(k, 0)
        qm = qm.repeat_interleave(k, 0)
        return self._late_interaction(q, qm, d, dm).view(b, k)
