"""Training on the labels alone (no teacher): one-hot softmax cross-entropy and its variants."""

from __future__ import annotations

import torch
from torch import Tensor

from dualrank.data.io import InputError
from dualrank.losses.base import ListwiseLoss, LossInputs, _number, normalised


class OneHotCrossEntropy(ListwiseLoss):
    """``one_hot``: softmax cross-entropy against the labels, the baseline DE training.

    Source: Menon et al. (2022), Eq. 1 with y the label vector, normalised to sum 1 when a
    query has several positives (y_k = 1/|P| for k in P); label smoothing as in Appendix C.9
    (Table 8; Szegedy et al. 2016): y' = (1 - alpha) * y + alpha / K over the K valid slots.

        loss = -sum_k y'_k * log softmax(s / temperature)_k

    Inputs: student scores and labels; the teacher is ignored. A query without positives
    contributes only its smoothing term (zero when alpha = 0).
    Relations: label smoothing is distillation from a uniform teacher (C.9); ``softmax_ce`` is
    the same cross-entropy with the teacher softmax as target; ``focal`` reweights it.
    Hyper-parameters: ``label_smoothing`` alpha in [0, 1) (default 0), ``temperature`` (default 1,
    which divides the student scores; no tau^2 factor).
    """

    name = "one_hot"

    def __init__(self, label_smoothing: float = 0.0, temperature: float = 1.0):
        super().__init__(temperature)
        alpha = _number(self.name, "label_smoothing", label_smoothing)
        if not 0.0 <= alpha < 1.0:
            raise InputError(f"loss {self.name!r}: hyper-parameter 'label_smoothing' must be in "
                             f"[0, 1), got {alpha}")
        self.label_smoothing = alpha

    def target(self, g: LossInputs) -> Tensor:
        y = normalised(g.pos.to(g.s.dtype))
        if self.label_smoothing == 0.0:
            return y
        uniform = normalised(g.valid.to(g.s.dtype))
        return (1.0 - self.label_smoothing) * y + self.label_smoothing * uniform


class FocalLoss(OneHotCrossEntropy):
    """``focal``: the focal-loss variant of one-hot softmax cross-entropy.

    Source: Lin et al. (2017), "Focal loss for dense object detection"; Menon et al. (2022)
    Appendix C.10 (Table 9, "Focal loss" row). With p = softmax(s) over the valid slots and
    y the normalised one-hot labels (as in ``one_hot``):

        loss = -sum_k y_k * (1 - p_k)^gamma * log p_k

    Inputs: student scores and labels; the teacher is ignored. A query without positives
    contributes zero. Relations: gamma = 0 gives ``one_hot`` exactly; gamma > 0 down-weights
    queries whose positive the student already ranks confidently.
    Hyper-parameters: ``gamma`` >= 0 (default 2).
    """

    name = "focal"

    def __init__(self, gamma: float = 2.0):
        super().__init__(label_smoothing=0.0, temperature=1.0)
        gamma = _number(self.name, "gamma", gamma)
        if gamma < 0:
            raise InputError(f"loss {self.name!r}: hyper-parameter 'gamma' must be >= 0, "
                             f"got {gamma}")
        self.gamma = gamma

    def weight(self, log_p: Tensor) -> Tensor:
        # 1 - p computed as -expm1(log p) for accuracy near p = 1; the clamp keeps the
        # gradient of (1 - p)^gamma finite when gamma < 1 and p rounds to 1.
        one_minus_p = (-torch.expm1(log_p)).clamp_min(torch.finfo(log_p.dtype).tiny)
        return one_minus_p.pow(self.gamma)
