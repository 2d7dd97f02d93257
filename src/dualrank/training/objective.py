"""What one training step minimises, with the training variants of Tables 9 and 12.

    loss = ranking loss over each query's group [+ extra negatives]  +  mlm_weight * MLM loss

Training keys (``spec["training"]``, defaults when absent):

* ``token_dropout`` p in [0, 1), default 0: during training only, each non-special token of
  every query and passage input (both parts of a CA pair) is replaced by [MASK] with
  probability p (:func:`dualrank.models.noise.token_dropout`);
* ``mlm_weight`` >= 0, default 0, and ``mlm_probability`` in (0, 1), default 0.15: BERT's masked
  language model loss (:mod:`dualrank.models.mlm`) on the minibatch's queries and on one
  passage per group drawn uniformly from its real documents (all B x K passages would cost
  K times the ranking forward pass in vocabulary logits), each text alone;
* ``in_batch_negatives`` (bool, default false) and ``uniform_negatives`` (int >= 0, default 0):
  :mod:`dualrank.training.negatives`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from dualrank.data.io import InputError
from dualrank.losses import RankingLoss
from dualrank.models import Ranker
from dualrank.models.mlm import MaskedLanguageModel
from dualrank.training.negatives import ExtraNegatives

DEFAULTS = {"token_dropout": 0.0, "mlm_weight": 0.0, "mlm_probability": 0.15,
            "in_batch_negatives": False, "uniform_negatives": 0}


def _number(t: dict, key: str, low: float, high: float, high_open: bool, low_open: bool = False) -> float:
    x = t.get(key, DEFAULTS[key])
    ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    ok = ok and (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise InputError(f"training.{key} must be a number in {lo}{low}, {high}{hi}, got {x!r}")
    return float(x)


class Objective(nn.Module):
    """Holds the ranking loss and the training-only parts (MLM head); its parameters are
    optimised with the model's and checkpointed beside them, never saved with the model."""

    def __init__(self, loss_fn: RankingLoss, model: Ranker, spec: dict, corpus=None):
        super().__init__()
        t = spec["training"]
        self.loss_fn = loss_fn
        model.token_dropout = _number(t, "token_dropout", 0.0, 1.0, high_open=True)
        self.mlm_weight = _number(t, "mlm_weight", 0.0, math.inf, high_open=True)
        probability = _number(t, "mlm_probability", 0.0, 1.0, high_open=True, low_open=True)
        self.mlm = MaskedLanguageModel(model, spec["encoder"], probability) if self.mlm_weight > 0 else None
        self.negatives = ExtraNegatives(t.get("in_batch_negatives", False), t.get("uniform_negatives", 0),
                                        spec["seed"], corpus)

    def forward(self, model: Ranker, queries: list, docs: list[list], teacher: Tensor | None,
                labels: Tensor, mask: Tensor, step: int, scorer=None) -> Tensor:
        """``scorer`` (default ``model.score_groups``) is what scores the groups: the trainer
        passes its data-parallel wrapper so that gradients are synchronised across processes."""
        own = mask
        if self.negatives.enabled:
            scores, teacher, labels, mask = self.negatives(model, queries, docs, teacher, labels, mask, step)
        else:
            scores = (scorer or model.score_groups)(queries, docs)
        loss = self.loss_fn(scores.float(), teacher, labels, mask)
        if self.mlm is not None:
            pick = torch.multinomial(own.float().cpu(), 1).squeeze(1).tolist()
            passages = [group[j] for group, j in zip(docs, pick)]
            loss = loss + self.mlm_weight * self.mlm(model, [(queries, model.query_length),
                                                             (passages, model.passage_length)])
        return loss
