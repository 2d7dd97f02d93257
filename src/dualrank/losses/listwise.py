"""Distillation by matching the teacher's softmax over the K documents."""

from __future__ import annotations

from torch import Tensor

from dualrank.data.io import InputError
from dualrank.losses.base import ListwiseLoss, LossInputs, masked_log_softmax


class SoftmaxCrossEntropy(ListwiseLoss):
    """``softmax_ce``: softmax cross-entropy distillation.

    Source: Menon et al. (2022) Eq. 1 with the teacher softmax as target (§2, §4.2):

        loss = -sum_k softmax(t / tau)_k * log softmax(s / tau)_k      over the valid slots

    Temperature: tau divides *both* teacher and student scores. ``tau_squared=True`` also
    multiplies the loss by tau^2, as Hinton et al. (2015) and sentence-transformers'
    DistillKLDivLoss do, so that gradient magnitudes stay comparable across tau; the default
    (False) is Eq. 1 as written. (Tevatron only divides the scores by tau.)

    Inputs: student and teacher scores; labels are not used. A document without a teacher score
    (an extra negative, ``teacher_mask`` False) gets teacher probability zero: the teacher's
    softmax runs over the documents it scored, the student's over all, so an extra contributes
    only through the student's normaliser (its score is pushed down). The value is
    KL(p_teach || p_student) + H(p_teach): it differs from the KL by the teacher entropy,
    which does not depend on the student. Relations: for K = 2, Proposition 3 — it is the
    binary KL of sigmoid((t1 - t2) / tau) || sigmoid((s1 - s2) / tau) (plus that entropy),
    and tau^2 times its gradient tends to 1/8 of ``margin_mse``'s as tau -> inf.
    ``one_hot`` is the same loss with the labels as target.
    Hyper-parameters: ``temperature`` tau > 0 (default 1.0), ``tau_squared`` (default False).
    """

    name = "softmax_ce"
    needs_teacher = True

    def __init__(self, temperature: float = 1.0, tau_squared: bool = False):
        super().__init__(temperature)
        if not isinstance(tau_squared, bool):
            raise InputError(f"loss {self.name!r}: hyper-parameter 'tau_squared' must be true "
                             f"or false, got {tau_squared!r}")
        self.tau_squared = tau_squared

    def target(self, g: LossInputs) -> Tensor:
        return masked_log_softmax(g.t / self.temperature, g.scored).exp() * g.scored

    def per_query(self, g: LossInputs) -> Tensor:
        loss = super().per_query(g)
        return loss * self.temperature**2 if self.tau_squared else loss
