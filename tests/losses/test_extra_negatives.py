"""Documents without a teacher score (Table 12's extra negatives, ``teacher_mask`` False): what
each loss makes of them, by hand; that their teacher slot is never read; and that a batch
without them gives, bit for bit, what the losses gave before ``teacher_mask`` existed."""

import math

import pytest
import torch

from dualrank.losses import LOSSES, build_loss
from dualrank.losses.base import masked_log_softmax

NAN, INF = float("nan"), float("inf")
# What an extra's teacher slot may hold: nothing of it may reach the loss.
GARBAGE = [0.0, -3.0, 1e6, INF, -INF, NAN]


def row(*values):
    return torch.tensor([values], dtype=torch.float64)


def call(name, s, t, y, teacher_mask, mask=None, **hyper):
    return build_loss(name, **hyper)(s, t, torch.tensor([y]), mask, teacher_mask=torch.tensor([teacher_mask]))


def test_softmax_ce_gives_extras_zero_teacher_probability():
    # Slots: positive (t = 2), scored negative (t = 0), two extras.
    s = row(1.0, 0.5, 2.0, -1.0).requires_grad_()
    for x in GARBAGE:
        s.grad = None
        loss = call("softmax_ce", s, row(2.0, 0.0, x, x), [1, 0, 0, 0], [True, True, False, False])
        loss.backward()
        # By hand: p_teacher = softmax(2, 0) on the scored slots, 0 on the extras; q_student =
        # softmax over all four.
        p0 = math.exp(2) / (math.exp(2) + 1)
        z = sum(math.exp(v) for v in (1.0, 0.5, 2.0, -1.0))
        q = [math.exp(v) / z for v in (1.0, 0.5, 2.0, -1.0)]
        assert loss.item() == pytest.approx(-(p0 * math.log(q[0]) + (1 - p0) * math.log(q[1])), rel=1e-12)
        # The gradient on an extra is its student probability (times the teacher mass, 1): down.
        assert s.grad[0, 2].item() == pytest.approx(q[2], rel=1e-12)
        assert s.grad[0, 3].item() == pytest.approx(q[3], rel=1e-12)
    loss = build_loss("softmax_ce", temperature=2.0)
    g = loss._groups(s.detach(), row(2.0, 0.0, 9.0, NAN), torch.tensor([[1, 0, 0, 0]]), None,
                     torch.tensor([[True, True, False, False]]))
    target = loss.target(g)
    assert target[0, 2:].tolist() == [0.0, 0.0]
    assert target[0, :2].tolist() == pytest.approx([1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))], rel=1e-12)


def test_m3se_never_picks_an_extra_as_j_star():
    # Scored negatives t = 1 and 2: j* is slot 2 (s* = 0.5), whatever the extra's teacher slot.
    s = row(3.0, 1.0, 0.5, 2.5).requires_grad_()
    for x in GARBAGE:
        s.grad = None
        loss = call("m3se", s, row(4.0, 1.0, 2.0, x), [1, 0, 0, 0], [True, True, True, False])
        loss.backward()
        # margins: ((4 - 2) - (3 - 0.5))^2 = 0.25; hinge: (1 - 0.5)^2 + 0 + (2.5 - 0.5)^2 = 4.25
        assert loss.item() == pytest.approx(4.5, rel=1e-12)
        # The extra is in the hinge term only.
        assert s.grad[0, 3].item() == pytest.approx(2 * (2.5 - 0.5), rel=1e-12)
    # A query whose only negatives are extras has no j*: zero, as a query without negatives.
    assert call("m3se", row(3.0, 9.0), row(4.0, 100.0), [1, 0], [True, False]).item() == 0.0


def test_margin_mse_and_mse_bound_an_extra_by_the_lowest_scored_negative():
    # Positive t = 4, scored negatives t = 1 and 3 (t_floor = 1), one extra.
    t_scored, y, tm = (4.0, 3.0, 1.0), [1, 0, 0, 0], [True, True, True, False]
    for x in GARBAGE:
        t = row(*t_scored, x)
        # margin MSE: pairs ((4-3) - (3-2))^2 + ((4-1) - (3-1))^2 = 0 + 1, and the extra's
        # one-sided term [(4 - 1) - (3 - s_e)]_+^2: s_e = 2.5 gives 2.5^2, s_e = -5 nothing.
        assert call("margin_mse", row(3.0, 2.0, 1.0, 2.5), t, y, tm).item() == pytest.approx(1 + 6.25, rel=1e-12)
        assert call("margin_mse", row(3.0, 2.0, 1.0, -5.0), t, y, tm).item() == pytest.approx(1.0, rel=1e-12)
        # MSE: (4-3)^2 + (3-2)^2 + (1-1)^2 on the scored slots, [s_e - 1]_+^2 for the extra.
        assert call("mse", row(3.0, 2.0, 1.0, 2.5), t, y, tm).item() == pytest.approx(2 + 2.25, rel=1e-12)
        assert call("mse", row(3.0, 2.0, 1.0, -5.0), t, y, tm).item() == pytest.approx(2.0, rel=1e-12)
    # No scored negative: no bound, the extra contributes nothing.
    for name in ("margin_mse", "mse"):
        assert call(name, row(3.0, 9.0), row(4.0, NAN), [1, 0], [True, False]).item() == \
            pytest.approx(1.0 if name == "mse" else 0.0)


@pytest.mark.parametrize("name, hyper", [("rankdistil_b", {"gamma0": 0.5}), ("one_hot", {}),
                                         ("one_hot", {"label_smoothing": 0.2}), ("focal", {})])
def test_label_losses_treat_an_extra_as_any_negative(name, hyper):
    """RankDistil-B's negative term and the one-hot losses need no teacher score: an extra is
    a label-0 document like the others, whatever its teacher slot holds."""
    s, y = row(3.0, 1.0, 2.5), [1, 0, 0]
    plain = build_loss(name, **hyper)(s, row(4.0, 1.0, 2.0), torch.tensor([y])).item()
    for x in GARBAGE:
        assert call(name, s, row(4.0, 1.0, x), y, [True, True, False], **hyper).item() == plain
    if name == "rankdistil_b":  # (4 - 3)^2 + (1 - 0.5)^2 + (2.5 - 0.5)^2
        assert plain == pytest.approx(1 + 0.25 + 4, rel=1e-12)


# -- without extras: as before, bit for bit -------------------------------------------------------
# The per-query losses as they were written before teacher_mask (their code, unchanged).

def _before(name, loss, g):
    if name == "softmax_ce":
        target = masked_log_softmax(g.t / loss.temperature, g.valid).exp() * g.valid
        log_p = masked_log_softmax(g.s / loss.temperature, g.valid)
        out = -(target * torch.ones_like(log_p) * log_p).sum(-1)
        return out * loss.temperature**2 if loss.tau_squared else out
    if name == "mse":
        return ((g.t - g.s) ** 2 * g.valid).sum(-1)
    if name == "margin_mse":
        margin_t = g.t.unsqueeze(-1) - g.t.unsqueeze(-2)
        margin_s = g.s.unsqueeze(-1) - g.s.unsqueeze(-2)
        pairs = g.pos.unsqueeze(-1) & g.neg.unsqueeze(-2)
        return ((margin_t - margin_s) ** 2 * pairs).sum((-2, -1))
    if name == "m3se":
        t_neg = g.t.masked_fill(~g.neg, float("-inf"))
        j_star = t_neg.argmax(-1, keepdim=True)
        t_star, s_star = g.t.gather(-1, j_star), g.s.gather(-1, j_star)
        margins = (((g.t - t_star) - (g.s - s_star)) ** 2 * g.pos).sum(-1)
        hinge = ((g.s - s_star).clamp_min(0.0) ** 2 * g.neg).sum(-1)
        return torch.where(g.neg.any(-1), margins + hinge, torch.zeros_like(margins))
    return loss.per_query(g)  # the other losses' code did not change


HYPER = [(n, {}) for n in LOSSES] + [("softmax_ce", {"temperature": 3.0, "tau_squared": True}),
                                     ("one_hot", {"label_smoothing": 0.3})]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name, hyper", HYPER, ids=[f"{n}-{h}" for n, h in HYPER])
def test_a_batch_without_extras_is_unchanged_bitwise(name, hyper, dtype):
    gen = torch.Generator().manual_seed(7)
    b, k = 16, 20
    s = torch.randn(b, k, generator=gen, dtype=dtype) * 3
    t = torch.randn(b, k, generator=gen, dtype=dtype) * 5
    y = (torch.rand(b, k, generator=gen) < 0.15).long()
    mask = torch.rand(b, k, generator=gen) < 0.9
    mask[0] = False  # a fully padded query
    y[1] = 0  # a query without positives
    loss = build_loss(name, **hyper)

    def value_and_grad(fn):
        x = s.clone().requires_grad_()
        v = fn(x)
        v.backward()
        return v.detach(), x.grad

    ref = value_and_grad(lambda x: _before(name, loss, loss._groups(x, t, y, mask)).mean())
    for teacher_mask in (None, mask.clone(), torch.ones(b, k, dtype=torch.bool)):
        got = value_and_grad(lambda x, tm=teacher_mask: loss(x, t, y, mask, teacher_mask=tm))
        assert torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1]), teacher_mask is None
    assert torch.equal(value_and_grad(lambda x: loss(x, t, y, mask))[0], ref[0])
