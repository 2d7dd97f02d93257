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
    (paper §3.2, Fig. 6) violates. Relations: ``margin_mse`` matches differences instead;
    ``rankdistil_b`` keeps this term on positives only.
    """

    name = "mse"
    needs_teacher = True

    def per_query(self, g: LossInputs) -> Tensor:
        return ((g.t - g.s) ** 2 * g.valid).sum(-1)


class RankDistilB(RankingLoss):
    """``rankdistil_b``: binary RankDistil.

    Source: Reddi et al. (2021); Menon et al. (2022) §4.3:

        loss = sum_{i in P} (t_i - s_i)^2 + sum_{j in N} [s_j - gamma0]_+^2

    Inputs: student and teacher scores, labels. Matches the teacher's raw score on positives
    and pushes every negative's student score below the fixed threshold gamma0.
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
