"""Distillation by matching score margins: margin MSE and multi-margin MSE (M3SE)."""

from __future__ import annotations

import torch
from torch import Tensor

from dualrank.losses.base import LossInputs, RankingLoss


class MarginMSE(RankingLoss):
    """``margin_mse``: margin MSE over all positive-negative pairs.

    Source: Hofstätter et al. (2020); Menon et al. (2022) Eq. 3, and its extension to K > 2 in
    §4.1:

        loss = sum_{i in P} sum_{j in N} ((t_i - t_j) - (s_i - s_j))^2

    For K = 2 with one positive and one negative this is exactly Eq. 3,
    ((t1 - t2) - (s1 - s2))^2. Inputs: student and teacher scores, labels. Invariant to adding
    a constant to s or to t (unlike ``mse``). An extra negative e (no teacher score,
    ``teacher_mask`` False) is taken to score no higher than the teacher's lowest scored negative
    t_floor, so its pair term is one-sided: sum_{i in P} [(t_i - t_floor) - (s_i - s_e)]_+^2, a
    student margin at least the teacher's margin to t_floor costs nothing (zero for a query
    with no scored negative). Relations: ``m3se`` keeps only the pairs with the
    top-teacher negative; ``softmax_ce`` with tau^2 scaling has 1/8 of its gradient as
    tau -> inf for K = 2 (Proposition 3).
    """

    name = "margin_mse"
    needs_teacher = True

    def per_query(self, g: LossInputs) -> Tensor:
        margin_t = g.t.unsqueeze(-1) - g.t.unsqueeze(-2)  # [B, i, j] = t_i - t_j
        margin_s = g.s.unsqueeze(-1) - g.s.unsqueeze(-2)
        pairs = g.pos.unsqueeze(-1) & g.scored_negatives().unsqueeze(-2)  # i in P, j in N
        loss = ((margin_t - margin_s) ** 2 * pairs).sum((-2, -1))
        if g.extra is None:
            return loss
        floor, has_floor = g.teacher_floor()
        # [B, i, e]: the teacher margin t_i - t_floor, which the student margin s_i - s_e must reach.
        short = (g.t - floor).unsqueeze(-1) - margin_s
        extra = g.pos.unsqueeze(-1) & g.extra.unsqueeze(-2) & has_floor[:, None, None]
        return loss + (short.clamp_min(0.0) ** 2 * extra).sum((-2, -1))


class M3SE(RankingLoss):
    """``m3se``: multi-margin MSE, the paper's proposed loss.

    Source: Menon et al. (2022) Eq. 4, with j* the negative of highest *teacher* score:

        loss = sum_{i in P} ((t_i - t_j*) - (s_i - s_j*))^2 + sum_{j in N} [s_j - s_j*]_+^2

    Inputs: student and teacher scores, labels. Gradient flows through s_j* in both terms, as
    the formula is written (no stop-gradient): the hinge term pulls each offending negative
    down *and* pushes s_j* up. Ties in the teacher score pick the first such slot. A query
    without negatives has no j* and contributes zero; without positives only the hinge term.
    An extra negative (no teacher score, ``teacher_mask`` False) is never j* (j* is the top
    *scored* negative; a query with no scored negative contributes zero) and enters only the
    hinge term, [s_e - s_j*]_+^2, which needs no teacher score.
    Invariant to adding a constant to s or to t. Relations: for one positive and one negative
    it equals ``margin_mse`` (Eq. 3); it is the margin analogue of ``rankdistil_b`` (§4.3).
    """

    name = "m3se"
    needs_teacher = True

    def per_query(self, g: LossInputs) -> Tensor:
        scored_neg = g.scored_negatives()  # j* candidates: never an extra negative
        t_neg = g.t.masked_fill(~scored_neg, float("-inf"))
        j_star = t_neg.argmax(-1, keepdim=True)  # any slot when N is empty; zeroed below
        t_star = g.t.gather(-1, j_star)
        s_star = g.s.gather(-1, j_star)
        margins = (((g.t - t_star) - (g.s - s_star)) ** 2 * g.pos).sum(-1)
        hinge = ((g.s - s_star).clamp_min(0.0) ** 2 * g.neg).sum(-1)  # every negative, extras too
        has_negative = scored_neg.any(-1)
        return torch.where(has_negative, margins + hinge, torch.zeros_like(margins))
