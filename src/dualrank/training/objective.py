"""What one training step minimises, with the training variants of Tables 9 and 12.

    loss = ranking loss over each query's group [+ extra negatives]  +  mlm_weight * MLM loss

Training keys (:class:`dualrank.spec.TrainingSpec`, which holds their defaults and ranges):

* ``token_dropout`` p: during training only, each non-special token of every query and
  passage input (both parts of a CA pair) is replaced by [MASK] with probability p
  (:func:`dualrank.models.noise.token_dropout`);
* ``mlm_weight`` and ``mlm_probability``: BERT's masked language model loss
  (:mod:`dualrank.models.mlm`) on the minibatch's queries and on one passage per group drawn
  uniformly from its real documents (all B x K passages would cost K times the ranking forward
  pass in vocabulary logits), each text alone;
* ``in_batch_negatives`` and ``uniform_negatives``: :mod:`dualrank.training.negatives` (the
  extras have no teacher score: the loss gets their ``teacher_mask`` False).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dualrank.losses import RankingLoss
from dualrank.models import Ranker
from dualrank.models.mlm import MaskedLanguageModel
from dualrank.spec import TrainSpec
from dualrank.training.negatives import ExtraNegatives


class Objective(nn.Module):
    """Holds the ranking loss and the training-only parts (MLM head); its parameters are
    optimised with the model's and checkpointed beside them, never saved with the model."""

    def __init__(self, loss_fn: RankingLoss, model: Ranker, spec: TrainSpec, corpus=None):
        super().__init__()
        t = spec.training
        self.loss_fn = loss_fn
        model.token_dropout = float(t.token_dropout)
        self.mlm_weight = float(t.mlm_weight)
        self.mlm = (MaskedLanguageModel(model, spec.encoder.to_dict(), float(t.mlm_probability))
                    if self.mlm_weight > 0 else None)
        self.negatives = ExtraNegatives(t.in_batch_negatives, t.uniform_negatives, spec.seed, corpus)

    def forward(self, model: Ranker, queries: list, docs: list[list], teacher: Tensor | None,
                labels: Tensor, mask: Tensor, step: int, scorer=None) -> Tensor:
        """``scorer`` (default ``model.score_groups``) is what scores the groups: the trainer
        passes its data-parallel wrapper so that gradients are synchronised across processes."""
        own, teacher_mask = mask, None  # None: the teacher scored every document
        if self.negatives.enabled:
            scores, teacher, labels, mask, teacher_mask = self.negatives(
                model, queries, docs, teacher, labels, mask, step)
        else:
            scores = (scorer or model.score_groups)(queries, docs)
        loss = self.loss_fn(scores.float(), teacher, labels, mask, teacher_mask=teacher_mask)
        if self.mlm is not None:
            pick = torch.multinomial(own.float().cpu(), 1).squeeze(1).tolist()
            passages = [group[j] for group, j in zip(docs, pick)]
            loss = loss + self.mlm_weight * self.mlm(model, [(queries, model.query_length),
                                                             (passages, model.passage_length)])
        return loss
