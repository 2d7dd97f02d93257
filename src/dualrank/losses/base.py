"""The base class of every ranking loss, and the masking conventions they share.

Inputs, for a batch of B queries with K candidate documents each:

* ``student``: Tensor[B, K], the student (dual-encoder) scores s.
* ``teacher``: Tensor[B, K] or None, the teacher (cross-attention) scores t. Losses with
  ``needs_teacher = True`` refuse None; the others ignore it.
* ``labels``: Tensor[B, K], 0/1 ints or floats. Positives P are the slots with label > 0,
  negatives N those with label == 0.
* ``mask``: Tensor[B, K] bool or None (None: every slot is real). **True marks a real
  document, False a padded slot** (as an attention mask does, and as
  :class:`dualrank.training.groups.Groups` builds it), for groups with fewer than K documents. A padded
  slot is in neither P nor N and contributes nothing: not to the value, not to any gradient,
  whatever score or label it holds (NaN and inf included).
* ``teacher_mask``: Tensor[B, K] bool or None (None: the teacher scored every real slot).
  **False marks a real document the teacher never scored**: the extra negatives of Table 12
  (:mod:`dualrank.training.negatives`, which states how each loss treats them), always label 0.
  Its teacher score is never read (any value, NaN included); each loss says what such a
  negative contributes. Without it (None) every loss computes exactly what it did before
  ``teacher_mask`` existed, bit for bit.

Every loss returns a scalar: the mean over the B queries of the per-query loss. A sum over an
empty set (a query without positives or without negatives) is zero, never NaN.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from dualrank.data.io import InputError


@dataclass(frozen=True)
class LossInputs:
    """Validated inputs: scores are finite-safe (padded and unscored teacher slots set to 0),
    masks are bool [B, K]. ``scored``: the real slots with a teacher score (``valid`` itself
    when every one has one); ``extra``: the real slots without (None when there are none)."""

    s: Tensor
    t: Tensor | None
    valid: Tensor
    pos: Tensor
    neg: Tensor
    scored: Tensor
    extra: Tensor | None = None

    def scored_negatives(self) -> Tensor:
        """N restricted to the documents the teacher scored (N itself without extras)."""
        return self.neg if self.extra is None else self.neg & ~self.extra

    def teacher_floor(self) -> tuple[Tensor, Tensor]:
        """[B, 1] the lowest teacher score among each query's scored negatives, the bound an
        extra negative's unknown score is taken to lie under; and [B] whether there is one."""
        n = self.scored_negatives()
        floor = self.t.masked_fill(~n, float("inf")).amin(-1, keepdim=True)
        has = n.any(-1)
        return floor.masked_fill(~has.unsqueeze(-1), 0.0), has


class RankingLoss(nn.Module, abc.ABC):
    """Base class: validates and masks the inputs, then averages :meth:`per_query` over B.

    Subclasses set ``name`` (the key in :data:`dualrank.losses.LOSSES` and in config files),
    ``needs_teacher``, and implement ``per_query(g: LossInputs) -> Tensor[B]``.
    """

    name: ClassVar[str] = ""
    needs_teacher: ClassVar[bool] = False

    def forward(
        self,
        student: Tensor,
        teacher: Tensor | None,
        labels: Tensor,
        mask: Tensor | None = None,
        teacher_mask: Tensor | None = None,
    ) -> Tensor:
        return self.per_query(self._groups(student, teacher, labels, mask, teacher_mask)).mean()

    @abc.abstractmethod
    def per_query(self, g: LossInputs) -> Tensor:
        """The loss of each query, [B]."""

    def _groups(
        self, student: Tensor, teacher: Tensor | None, labels: Tensor, mask: Tensor | None,
        teacher_mask: Tensor | None = None,
    ) -> LossInputs:
        if student.dim() != 2:
            raise InputError(f"loss {self.name!r}: student scores must be [B, K], got "
                             f"{tuple(student.shape)}")
        shape = student.shape
        if self.needs_teacher and teacher is None:
            raise InputError(f"loss {self.name!r} needs teacher scores (teacher=None)")
        for what, x in (("teacher", teacher), ("labels", labels), ("mask", mask),
                        ("teacher_mask", teacher_mask)):
            if x is not None and x.shape != shape:
                raise InputError(f"loss {self.name!r}: {what} has shape {tuple(x.shape)}, "
                                 f"student has {tuple(shape)}")
        valid = torch.ones(shape, dtype=torch.bool, device=student.device) if mask is None \
            else mask.to(device=student.device, dtype=torch.bool)
        pad = ~valid
        s = student.masked_fill(pad, 0.0)
        scored, extra = valid, None
        if teacher_mask is not None:
            scored = valid & teacher_mask.to(device=student.device, dtype=torch.bool)
            extra = valid & ~scored
        t = None
        if self.needs_teacher:
            t = teacher.to(s.dtype).masked_fill(~scored, 0.0)
        y = labels.masked_fill(pad, 0)
        return LossInputs(s=s, t=t, valid=valid, pos=valid & (y > 0), neg=valid & (y == 0),
                          scored=scored, extra=extra)


def masked_log_softmax(x: Tensor, valid: Tensor) -> Tensor:
    """log softmax over the valid slots of each row; 0 at invalid slots (and all-invalid rows)."""
    very_negative = torch.finfo(x.dtype).min
    return x.masked_fill(~valid, very_negative).log_softmax(-1).masked_fill(~valid, 0.0)


def normalised(weights: Tensor) -> Tensor:
    """Rows scaled to sum 1; a row of zeros stays zeros."""
    total = weights.sum(-1, keepdim=True)
    return weights / total.clamp_min(torch.finfo(weights.dtype).tiny)


class ListwiseLoss(RankingLoss):
    """A cross-entropy -sum_k target_k * log softmax(s / tau)_k over the valid slots of a query.

    Subclasses define ``target(g) -> Tensor[B, K]`` (0 at padded slots) and may reweight
    the per-slot log-probabilities via ``weight(log_p)``.
    """

    def __init__(self, temperature: float = 1.0):
        super().__init__()
        self.temperature = _positive(self.name, "temperature", temperature)

    @abc.abstractmethod
    def target(self, g: LossInputs) -> Tensor:
        """The target distribution over the K slots, [B, K]."""

    def weight(self, log_p: Tensor) -> Tensor:
        return torch.ones_like(log_p)

    def per_query(self, g: LossInputs) -> Tensor:
        log_p = masked_log_softmax(g.s / self.temperature, g.valid)
        return -(self.target(g) * self.weight(log_p) * log_p).sum(-1)


def _positive(loss: str, key: str, value: float) -> float:
    value = _number(loss, key, value)
    if not value > 0:
        raise InputError(f"loss {loss!r}: hyper-parameter {key!r} must be > 0, got {value}")
    return value


def _number(loss: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"loss {loss!r}: hyper-parameter {key!r} must be a number, "
                         f"got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"loss {loss!r}: hyper-parameter {key!r} must be finite, got {value}")
    return value
