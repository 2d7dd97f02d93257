"""Ranking and distillation losses of Menon et al. (2022), selectable by name from configs.

Every loss is a :class:`RankingLoss` called as ``loss(student, teacher, labels, mask=None,
teacher_mask=None)`` on [B, K] tensors (``mask`` True at real documents, False at padding;
``teacher_mask`` False at real documents the teacher never scored, Table 12's extra negatives)
and returns the batch mean of the per-query loss; see :mod:`dualrank.losses.base` for the
conventions.

========================  ======================================================  ========
name                      loss                                                    teacher
========================  ======================================================  ========
``one_hot``               softmax CE against labels, label smoothing (Eq. 1, C.9)  no
``focal``                 focal one-hot softmax CE (Lin et al. 2017; C.10)         no
``mse``                   sum_k (t_k - s_k)^2 (Ba & Caruana 2014; §2)              yes
``margin_mse``            sum_{P x N} margin differences^2 (Eq. 3, §4.1)           yes
``rankdistil_b``          RankDistil-B (Reddi et al. 2021; §4.3)                   yes
``m3se``                  multi-margin MSE (Eq. 4)                                 yes
``softmax_ce``            softmax CE vs. teacher softmax, temperature (Eq. 1)      yes
========================  ======================================================  ========
"""

from __future__ import annotations

import inspect

from dualrank.data.io import InputError
from dualrank.losses.base import ListwiseLoss, LossInputs, RankingLoss
from dualrank.losses.listwise import SoftmaxCrossEntropy
from dualrank.losses.one_hot import FocalLoss, OneHotCrossEntropy
from dualrank.losses.pairwise import M3SE, MarginMSE
from dualrank.losses.pointwise import LogitMSE, RankDistilB

LOSSES: dict[str, type[RankingLoss]] = {
    cls.name: cls
    for cls in (
        OneHotCrossEntropy,
        FocalLoss,
        LogitMSE,
        MarginMSE,
        RankDistilB,
        M3SE,
        SoftmaxCrossEntropy,
    )
}


def hyper_parameters(name: str) -> dict[str, object]:
    """The hyper-parameters a loss accepts, with their defaults."""
    if name not in LOSSES:
        raise InputError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    params = inspect.signature(LOSSES[name].__init__).parameters
    return {k: p.default for k, p in params.items() if k != "self"}


def build_loss(name: str, **hyper: object) -> RankingLoss:
    """The loss registered under ``name``; raise InputError naming any unknown name or key."""
    known = hyper_parameters(name)
    unknown = sorted(set(hyper) - set(known))
    if unknown:
        raise InputError(f"loss {name!r}: unknown hyper-parameter(s) {unknown}; "
                         f"known: {sorted(known) or 'none'}")
    return LOSSES[name](**hyper)


__all__ = [
    "LOSSES",
    "M3SE",
    "FocalLoss",
    "ListwiseLoss",
    "LogitMSE",
    "LossInputs",
    "MarginMSE",
    "OneHotCrossEntropy",
    "RankDistilB",
    "RankingLoss",
    "SoftmaxCrossEntropy",
    "build_loss",
    "hyper_parameters",
]
