"""Distillation by matching raw scores: logit MSE and RankDistil-B."""

from __future__ import annotations

from torch import Tensor

from dualrank.losses.base import LossInputs, RankingLoss, _number


class LogitMSE(RankingLoss):
    """``mse``: logit matching, the squared error between teacher and student *scores*.

    Source: Ba & Caruana (2014); Menon et al. (2022) §2 ("mean square error") and §4.1:

        loss = sum_k (t_k - s_k)^2      over the valid slots k (labels are not used)

    Inputs: student and teacher scores. It compares scores, not embeddings, so it is *not*
    invariant to a constant shift of either score vector: it assumes the teacher and student
    score ranges are commensurate, which the baseline shift between CA and DE scores
    (paper §3.2, Fig. 6) violates. An extra negative e (no teacher score, ``teacher_mask``
    False) is taken to score no higher than the teacher's lowest scored negative t_floor: its
    term is one-sided, [s_e - t_floor]_+^2 (zero for a query with no scored negative).
    Relations: ``margin_mse`` matches differences instead; ``rankdistil_b`` keeps this term on
    positives only.
    """

    name = "mse"
    needs_teacher = True

    def per_query(self, g: LossInputs) -> Tensor:
        loss = ((g.t - g.s) ** 2 * g.scored).sum(-1)
        if g.extra is None:
            return loss
        floor, has_floor = g.teacher_floor()
        return loss + ((g.s - floor).clamp_min(0.0) ** 2 * (g.extra & has_floor.unsqueeze(-1))).sum(-1)


class RankDistilB(RankingLoss):
    """``rankdistil_b``: binary RankDistil.

    Source: Reddi et al. (2021); Menon et al. (2022) §4.3:

        loss = sum_{i in P} (t_i - s_i)^2 + sum_{j in N} [s_j - gamma0]_+^2

    Inputs: student and teacher scores, labels. Matches the teacher's raw score on positives
    and pushes every negative's student score below the fixed threshold gamma0; an extra
    negative (no teacher score, ``teacher_mask`` False) is one of them, the term needing none.
    Relations: it is to ``m3se`` what ``mse`` is to ``margin_mse`` (§4.3): ``m3se`` matches
    margins against the top-teacher negative j* and uses s_j* as a data-dependent threshold.
    Hyper-parameters: ``gamma0`` (default 0.0).
    """

    name = "rankdistil_b"
    needs_teacher = True

    def __init__(self, gamma0: float = 0.0):
        super().__init__()
        self.gamma0 = _number(self.name, "gamma0", gamma0)

    def per_query(self, g: LossInputs) -> Tensor:
        positive = ((g.t - g.s) ** 2 * g.pos).sum(-1)
        negative = ((g.s - self.gamma0).clamp_min(0.0) ** 2 * g.neg).sum(-1)
        return positive + negative
