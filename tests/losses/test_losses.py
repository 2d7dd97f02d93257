"""Tests of dualrank.losses against hand computations, masking, invariances and Proposition 3."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from dualrank.data.io import InputError
from dualrank.losses import LOSSES, build_loss

# One query, K = 4: P = {0, 3}, N = {1, 2}. The teacher's top negative is slot 2 (t = 2.0),
# while the student's top negative is slot 1 (s = 2.0), so j* is found by the teacher.
S = [1.0, 2.0, 0.0, 0.5]
T = [4.0, 1.0, 2.0, 3.0]
Y = [1, 0, 0, 1]

_Z1 = math.exp(1.0) + math.exp(2.0) + math.exp(0.0) + math.exp(0.5)  # sum_k exp(s_k)
_Z2 = math.exp(0.5) + math.exp(1.0) + math.exp(0.0) + math.exp(0.25)  # sum_k exp(s_k / 2)
_ZT2 = math.exp(2.0) + math.exp(0.5) + math.exp(1.0) + math.exp(1.5)  # sum_k exp(t_k / 2)
_P0, _P3 = math.exp(1.0) / _Z1, math.exp(0.5) / _Z1  # student softmax at the positives


def _softmax_ce_tau2() -> float:
    # -sum_k softmax(t/2)_k * (s_k/2 - log _Z2)
    p_teach = [math.exp(2.0) / _ZT2, math.exp(0.5) / _ZT2, math.exp(1.0) / _ZT2,
               math.exp(1.5) / _ZT2]
    return -(p_teach[0] * (0.5 - math.log(_Z2)) + p_teach[1] * (1.0 - math.log(_Z2))
             + p_teach[2] * (0.0 - math.log(_Z2)) + p_teach[3] * (0.25 - math.log(_Z2)))


HAND = [
    # y = (1/2, 0, 0, 1/2): -(1/2)(1 - log Z) - (1/2)(0.5 - log Z)
    ("one_hot", {}, math.log(_Z1) - 0.75),
    # y' = 0.8 * (1/2, 0, 0, 1/2) + 0.2 / 4 = (0.45, 0.05, 0.05, 0.45), scores halved
    ("one_hot", {"label_smoothing": 0.2, "temperature": 2.0},
     math.log(_Z2) - (0.45 * 0.5 + 0.05 * 1.0 + 0.05 * 0.0 + 0.45 * 0.25)),
    ("focal", {}, -0.5 * ((1 - _P0) ** 2 * math.log(_P0) + (1 - _P3) ** 2 * math.log(_P3))),
    ("focal", {"gamma": 0.5},
     -0.5 * ((1 - _P0) ** 0.5 * math.log(_P0) + (1 - _P3) ** 0.5 * math.log(_P3))),
    # (4-1)^2 + (1-2)^2 + (2-0)^2 + (3-0.5)^2
    ("mse", {}, 9.0 + 1.0 + 4.0 + 6.25),
    # pairs (0,1): (3)-(-1)=4; (0,2): 2-1=1; (3,1): 2-(-1.5)=3.5; (3,2): 1-0.5=0.5
    ("margin_mse", {}, 16.0 + 1.0 + 12.25 + 0.25),
    # P: (4-1)^2 + (3-0.5)^2; N: [2-0.5]_+^2 + [0-0.5]_+^2
    ("rankdistil_b", {"gamma0": 0.5}, 9.0 + 6.25 + 2.25 + 0.0),
    ("rankdistil_b", {}, 9.0 + 6.25 + 4.0 + 0.0),
    # j* = 2 (t*=2, s*=0): P: ((4-2)-(1-0))^2 + ((3-2)-(0.5-0))^2; N: [2-0]_+^2 + [0-0]_+^2
    ("m3se", {}, 1.0 + 0.25 + 4.0 + 0.0),
    ("softmax_ce", {"temperature": 2.0}, _softmax_ce_tau2()),
    ("softmax_ce", {"temperature": 2.0, "tau_squared": True}, 4.0 * _softmax_ce_tau2()),
    # tau = 1: -sum_k softmax(t)_k * (s_k - log Z1)
    ("softmax_ce", {},
     math.log(_Z1) - (math.exp(4.0) * 1.0 + math.exp(1.0) * 2.0 + math.exp(2.0) * 0.0
                      + math.exp(3.0) * 0.5)
     / (math.exp(4.0) + math.exp(1.0) + math.exp(2.0) + math.exp(3.0))),
]


def _row(values, dtype=torch.float64):
    return torch.tensor([values], dtype=dtype)


def test_every_registered_loss_has_a_hand_case():
    assert set(LOSSES) == {"one_hot", "focal", "mse", "margin_mse", "rankdistil_b", "m3se",
                           "softmax_ce"}
    assert {name for name, _, _ in HAND} == set(LOSSES)


@pytest.mark.parametrize(("name", "hyper", "expected"), HAND,
                         ids=[f"{n}-{h}" for n, h, _ in HAND])
def test_value_matches_hand_computation(name, hyper, expected):
    loss = build_loss(name, **hyper)
    got = loss(_row(S), _row(T), torch.tensor([Y]))
    assert got.shape == ()
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # float32 inputs and float labels give the same value
    f32 = torch.float32
    got32 = loss(_row(S, f32), _row(T, f32), torch.tensor([Y], dtype=f32))
    assert got32.item() == pytest.approx(expected, rel=1e-5)


def test_needs_teacher_flags_and_teacher_none():
    assert {n for n, c in LOSSES.items() if c.needs_teacher} == {
        "mse", "margin_mse", "rankdistil_b", "m3se", "softmax_ce"}
    y = torch.tensor([Y])
    assert build_loss("one_hot")(_row(S), None, y).item() == pytest.approx(math.log(_Z1) - 0.75)
    with pytest.raises(InputError, match="m3se"):
        build_loss("m3se")(_row(S), None, y)


def test_batch_mean_over_queries():
    s = torch.tensor([S, [0.0, 1.0, 2.0, 3.0]], dtype=torch.float64)
    t = torch.tensor([T, [1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([Y, [0, 0, 1, 0]])
    # row 2 of mse: (1-0)^2 + 0 + (1-2)^2 + (1-3)^2 = 6
    assert build_loss("mse")(s, t, y).item() == pytest.approx((20.25 + 6.0) / 2)


def test_m3se_gradient_flows_through_top_teacher_negative():
    s = _row(S).requires_grad_()
    build_loss("m3se")(s, _row(T), torch.tensor([Y])).backward()
    # d/ds_j* (j* = 2): margin terms 2*1 + 2*0.5 = 3, hinge on slot 1: -2*(2-0) = -4
    assert s.grad[0, 2].item() == pytest.approx(-1.0)
    # slot 1 only appears in the hinge term: 2*(2-0)
    assert s.grad[0, 1].item() == pytest.approx(4.0)


def test_focal_with_gamma_zero_is_one_hot():
    y = torch.tensor([Y])
    assert build_loss("focal", gamma=0.0)(_row(S), None, y).item() == pytest.approx(
        build_loss("one_hot")(_row(S), None, y).item(), rel=1e-12)


# ---- masking ----------------------------------------------------------------------------

ALL = [(n, {}) for n in LOSSES] + [
    ("one_hot", {"label_smoothing": 0.3, "temperature": 0.5}),
    ("focal", {"gamma": 0.5}),
    ("rankdistil_b", {"gamma0": -0.2}),
    ("softmax_ce", {"temperature": 3.0, "tau_squared": True}),
]
ALL_IDS = [f"{n}-{h}" for n, h in ALL]


@pytest.mark.parametrize(("name", "hyper"), ALL, ids=ALL_IDS)
def test_masked_slot_equals_dropped_slot(name, hyper):
    nan, inf = float("nan"), float("inf")
    # row 0 pads slot 2, row 1 pads slot 0; the padded slots hold garbage (NaN, inf, label 1)
    s = torch.tensor([[0.3, -1.2, nan, 2.0], [inf, 0.7, 1.5, -0.4]], dtype=torch.float64,
                     requires_grad=True)
    t = torch.tensor([[1.0, 2.5, -inf, 0.5], [nan, -0.3, 2.0, 1.1]], dtype=torch.float64)
    y = torch.tensor([[1, 0, 1, 0], [1, 0, 1, 0]])
    mask = torch.tensor([[True, True, False, True], [False, True, True, True]])  # True = real
    loss = build_loss(name, **hyper)
    got = loss(s, t, y, mask)
    got.backward()

    keep = [[0, 1, 3], [1, 2, 3]]
    dropped = []
    for b, cols in enumerate(keep):
        sb = s.detach()[b, cols].unsqueeze(0)
        dropped.append(loss(sb, t[b, cols].unsqueeze(0), y[b, cols].unsqueeze(0)).item())
    assert math.isfinite(got.item())
    assert got.item() == pytest.approx(sum(dropped) / 2, rel=1e-12)
    assert torch.isfinite(s.grad).all()
    assert s.grad[0, 2].item() == 0.0 and s.grad[1, 0].item() == 0.0


def test_fully_padded_query_contributes_zero():
    s = torch.tensor([S, [5.0, 6.0, 7.0, 8.0]], dtype=torch.float64)
    t = torch.tensor([T, [1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    y = torch.tensor([Y, [1, 0, 0, 0]])
    mask = torch.tensor([[True] * 4, [False] * 4])
    for name in LOSSES:
        one = build_loss(name)(_row(S), _row(T), torch.tensor([Y])).item()
        assert build_loss(name)(s, t, y, mask).item() == pytest.approx(one / 2, rel=1e-12), name


# ---- gradients and empty sets -----------------------------------------------------------


@pytest.mark.parametrize(("name", "hyper"), ALL, ids=ALL_IDS)
def test_gradients_finite_including_extremes_and_empty_sets(name, hyper):
    s = torch.tensor([[60.0, -60.0, 0.0], [1.0, 2.0, 3.0], [0.5, -0.5, 0.0], [1e-3, 0.0, 0.0]],
                     dtype=torch.float32, requires_grad=True)
    t = torch.tensor([[-80.0, 80.0, 1.0], [3.0, 2.0, 1.0], [0.0, 1.0, 2.0], [0.0, 0.0, 0.0]],
                     dtype=torch.float32)
    # rows: mixed, no positives, no negatives, mixed with ties
    y = torch.tensor([[1, 0, 0], [0, 0, 0], [1, 1, 1], [1, 0, 0]])
    loss = build_loss(name, **hyper)(s, t, y)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(s.grad).all()
    assert s.grad.abs().sum() > 0


def test_empty_positive_or_negative_sets_give_zero_terms():
    s, t = _row([1.0, 2.0, 3.0]), _row([3.0, 0.0, 1.0])
    none_pos, none_neg = torch.tensor([[0, 0, 0]]), torch.tensor([[1, 1, 1]])
    assert build_loss("margin_mse")(s, t, none_pos).item() == 0.0
    assert build_loss("margin_mse")(s, t, none_neg).item() == 0.0
    assert build_loss("m3se")(s, t, none_neg).item() == 0.0  # no j*
    # no positives: only hinges against j* = 0 (t = 3, s* = 1): 0 + [2-1]_+^2 + [3-1]_+^2
    assert build_loss("m3se")(s, t, none_pos).item() == pytest.approx(0.0 + 1.0 + 4.0)
    # rankdistil_b: only the negative hinge / only the positive matching
    assert build_loss("rankdistil_b")(s, t, none_pos).item() == pytest.approx(1.0 + 4.0 + 9.0)
    assert build_loss("rankdistil_b")(s, t, none_neg).item() == pytest.approx(4.0 + 4.0 + 4.0)
    assert build_loss("one_hot")(s, None, none_pos).item() == 0.0
    assert build_loss("focal")(s, None, none_pos).item() == 0.0


# ---- translation invariance -------------------------------------------------------------


@pytest.mark.parametrize("name", ["margin_mse", "m3se", "softmax_ce"])
def test_margin_losses_invariant_to_constant_shift(name):
    loss = build_loss(name)
    y = torch.tensor([Y])
    base = loss(_row(S), _row(T), y).item()
    assert base > 0.1
    for c in (-7.5, 3.0, 100.0):
        assert loss(_row(S) + c, _row(T), y).item() == pytest.approx(base, rel=1e-10)
        assert loss(_row(S), _row(T) + c, y).item() == pytest.approx(base, rel=1e-10)


def test_mse_and_rankdistil_b_are_not_shift_invariant():
    y = torch.tensor([Y])
    mse = build_loss("mse")
    # shifting s by 3: (4-4)^2 + (1-5)^2 + (2-3)^2 + (3-3.5)^2
    assert mse(_row(S) + 3.0, _row(T), y).item() == pytest.approx(0.0 + 16.0 + 1.0 + 0.25)
    assert mse(_row(S), _row(T) + 3.0, y).item() != pytest.approx(20.25)
    assert build_loss("rankdistil_b")(_row(S) + 3.0, _row(T), y).item() != pytest.approx(19.25)


# ---- build_loss -------------------------------------------------------------------------


def test_build_loss_errors_name_the_loss_and_key():
    with pytest.raises(InputError, match="'margin_mse_typo'"):
        build_loss("margin_mse_typo")
    with pytest.raises(InputError, match=r"'softmax_ce'.*'temprature'"):
        build_loss("softmax_ce", temprature=2.0)
    with pytest.raises(InputError, match=r"'m3se'.*'gamma0'"):
        build_loss("m3se", gamma0=0.0)
    with pytest.raises(InputError, match=r"'one_hot'.*'label_smoothing'"):
        build_loss("one_hot", label_smoothing=1.0)
    with pytest.raises(InputError, match=r"'softmax_ce'.*'temperature'"):
        build_loss("softmax_ce", temperature=0.0)
    with pytest.raises(InputError, match=r"'softmax_ce'.*'tau_squared'"):
        build_loss("softmax_ce", tau_squared="yes")
    with pytest.raises(InputError, match=r"'focal'.*'gamma'"):
        build_loss("focal", gamma=-1.0)
    with pytest.raises(InputError, match=r"'rankdistil_b'.*'gamma0'"):
        build_loss("rankdistil_b", gamma0="0")
    assert build_loss("softmax_ce", temperature=2, tau_squared=True).temperature == 2.0


# ---- Proposition 3 (K = 2) --------------------------------------------------------------


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_prop3_softmax_ce_is_binary_kl_plus_teacher_entropy(tau):
    t1, t2, s1, s2 = 2.0, -0.5, 0.3, 1.1
    a, b = _sigmoid((t1 - t2) / tau), _sigmoid((s1 - s2) / tau)
    kl_bin = a * math.log(a / b) + (1 - a) * math.log((1 - a) / (1 - b))
    entropy = -a * math.log(a) - (1 - a) * math.log(1 - a)
    got = build_loss("softmax_ce", temperature=tau)(
        _row([s1, s2]), _row([t1, t2]), torch.tensor([[1, 0]])).item()
    assert kl_bin > 0.01
    assert got == pytest.approx(kl_bin + entropy, rel=1e-12)
    # CE - KL does not depend on the student
    other = build_loss("softmax_ce", temperature=tau)(
        _row([-4.0, 2.0]), _row([t1, t2]), torch.tensor([[1, 0]])).item()
    b2 = _sigmoid(-6.0 / tau)
    kl_other = a * math.log(a / b2) + (1 - a) * math.log((1 - a) / (1 - b2))
    assert other - kl_other == pytest.approx(entropy, rel=1e-10)


def test_prop3_tau_squared_gradient_tends_to_one_eighth_margin_mse_gradient():
    t, y = _row([2.0, -0.5]), torch.tensor([[1, 0]])
    s = _row([0.3, 1.1]).requires_grad_()
    build_loss("margin_mse")(s, t, y).backward()
    mmse_grad = s.grad.clone()
    # d/ds1 ((t1-t2)-(s1-s2))^2 = 2((s1-s2)-(t1-t2)) = 2(-0.8-2.5) = -6.6, and +6.6 for s2
    assert mmse_grad[0].tolist() == pytest.approx([-6.6, 6.6], rel=1e-12)

    errors = []
    for tau in (1.0, 10.0, 100.0, 1000.0):
        s.grad = None
        build_loss("softmax_ce", temperature=tau)(s, t, y).backward()
        scaled = tau**2 * s.grad
        errors.append(((scaled - mmse_grad / 8).abs().max() / (mmse_grad / 8).abs().max()).item())
        s.grad = None
        build_loss("softmax_ce", temperature=tau, tau_squared=True)(s, t, y).backward()
        assert s.grad[0].tolist() == pytest.approx(scaled[0].tolist(), rel=1e-12)
    assert all(later < earlier for earlier, later in itertools.pairwise(errors)), errors
    assert errors[0] > 0.1
    assert errors[-1] < 1e-3
