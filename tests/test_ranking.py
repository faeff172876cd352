"""Differentiable ranking: soft ranks and soft Spearman against scipy, gradients, edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from w2vcore.errors import W2VError
from w2vcore.losses.rsr.ranking import pearson, rank, soft_rank, soft_spearman, spearman


def _cosines_vs_human(n: int, seed: int, noise: float = 0.2, tail: str = "gauss"):
    """Model-cosine-like predictions of a skewed human similarity (as THINGS is)."""
    gen = torch.Generator().manual_seed(seed)
    human = torch.rand(n, generator=gen, dtype=torch.float64) ** 2
    pred = 0.3 * human + noise * torch.randn(n, generator=gen, dtype=torch.float64)
    if tail == "lognormal":
        pred = torch.exp(pred / pred.std())
    return pred.float(), human


def _composed_spearman(pred, target, eps):
    """soft_spearman written with the public pieces only (the fused path must equal it)."""
    z = pred * (pred.shape[0] / math.sqrt(12.0)) / pred.std()
    return pearson(soft_rank(z, eps), rank(target).to(pred.dtype))


# ------------------------------------------------------------------- maths
@pytest.mark.parametrize("tail, noise", [("gauss", 0.05), ("gauss", 0.2), ("gauss", 1.0), ("lognormal", 0.2)])
def test_soft_spearman_tracks_scipy_at_5000_with_defaults(tail, noise):
    pred, human = _cosines_vs_human(5000, seed=1, noise=noise, tail=tail)
    exact = stats.spearmanr(pred.numpy(), human.numpy())[0]
    assert float(soft_spearman(pred, human)) == pytest.approx(exact, abs=0.01)


def test_soft_rank_approaches_hard_ranks_as_regularisation_sharpens():
    x = torch.randn(2000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    hard = torch.as_tensor(stats.rankdata(x.numpy()))
    errors = [float((soft_rank(x, eps) - hard).abs().max()) for eps in (10.0, 1.0, 0.1, 1e-3, 1e-9)]
    assert all(a >= b for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-6 and errors[0] > 100


def test_soft_ranks_keep_their_sum_and_shrink_to_the_mean():
    x = torch.randn(50, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    n = len(x)
    for eps in (1e-3, 0.5, 1e3):
        assert float(soft_rank(x, eps).sum()) == pytest.approx(n * (n + 1) / 2)
    assert torch.allclose(soft_rank(x, 1e9), torch.full((n,), (n + 1) / 2, dtype=torch.float64), atol=1e-6)


def test_fused_soft_spearman_equals_the_composed_one_with_its_gradient():
    pred, human = _cosines_vs_human(300, seed=2)
    pred = pred.double()
    for eps in (0.1, 1.0, 30.0):
        a = pred.clone().requires_grad_(True)
        b = pred.clone().requires_grad_(True)
        fused, composed = soft_spearman(a, human, eps), _composed_spearman(b, human, eps)
        fused.backward()
        composed.backward()
        assert fused.item() == pytest.approx(composed.item(), abs=1e-12)
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12)


def test_sigmoid_reference_roughly_agrees_with_pav():
    pred, human = _cosines_vs_human(1000, seed=3)
    pav, sig = float(soft_spearman(pred, human)), float(soft_spearman(pred, human, method="sigmoid"))
    assert sig == pytest.approx(pav, abs=0.02)
    x = pred.double()
    assert float((soft_rank(x, 1e-9, "sigmoid") - soft_rank(x, 1e-9)).abs().max()) < 1e-3  # both hard


def test_exact_rank_and_spearman_match_scipy_with_ties():
    x = torch.randint(0, 20, (500,), generator=torch.Generator().manual_seed(4)).double()
    y = x + torch.randint(0, 5, (500,), generator=torch.Generator().manual_seed(5))
    np.testing.assert_allclose(rank(x).numpy(), stats.rankdata(x.numpy()))
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
    assert math.isnan(spearman(torch.ones(5), torch.arange(5.0)))


# --------------------------------------------------------------- gradients
@pytest.mark.parametrize("method", ["pav", "sigmoid"])
def test_soft_rank_gradcheck(method):
    x = torch.randn(12, generator=torch.Generator().manual_seed(6), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: soft_rank(v, 0.7, method), (x,))


@pytest.mark.parametrize("method, target_grad", [("pav", False), ("pav", True), ("sigmoid", False)])
def test_soft_spearman_gradcheck(method, target_grad):
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(15, generator=gen, dtype=torch.float64, requires_grad=True)
    t = torch.randn(15, generator=gen, dtype=torch.float64, requires_grad=target_grad)
    inputs = (x, t) if target_grad else (x,)
    if target_grad:
        fn = lambda a, b: soft_spearman(a, b, 2.0, method)  # noqa: E731
    else:
        fn = lambda a: soft_spearman(a, t, 2.0, method)  # noqa: E731
    assert torch.autograd.gradcheck(fn, inputs)


def test_gradient_raises_a_low_correlation():
    pred, human = _cosines_vs_human(1000, seed=8, noise=1.0)
    x = pred.clone().requires_grad_(True)
    rho = soft_spearman(x, human)
    rho.backward()
    with torch.no_grad():
        stepped = x + 0.05 * x.grad / x.grad.norm() * x.norm()
    assert spearman(stepped, human) > spearman(pred, human) + 0.01


# -------------------------------------------------------------- edge cases
def test_ties_get_the_average_rank_and_a_finite_gradient():
    x = torch.tensor([3.0, 1.0, 2.0, 2.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(soft_rank(x, 1e-3), torch.tensor([5.0, 1.0, 3.0, 3.0, 3.0], dtype=torch.float64))
    target = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.5], dtype=torch.float64)  # ties in the target too
    rho = soft_spearman(x, target, 0.01)
    assert rho.item() == pytest.approx(stats.spearmanr(x.detach(), target)[0], abs=1e-9)
    rho.backward()
    assert torch.isfinite(x.grad).all()


def test_two_values():
    x = torch.tensor([0.2, -0.4], dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(soft_rank(x, 1e-3), torch.tensor([2.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(soft_rank(x, 100.0), torch.tensor([1.503, 1.497], dtype=torch.float64))
    assert soft_spearman(x, torch.tensor([1.0, 0.0])).item() == pytest.approx(1.0)
    assert soft_spearman(x, torch.tensor([0.0, 1.0])).item() == pytest.approx(-1.0)
    soft_spearman(x, torch.tensor([0.0, 1.0])).backward()
    assert torch.isfinite(x.grad).all()


def test_constant_predictions_give_zero_not_nan():
    x = torch.zeros(10, requires_grad=True)
    rho = soft_spearman(x, torch.arange(10.0))
    rho.backward()
    assert rho.item() == 0.0 and torch.equal(x.grad, torch.zeros(10))


def test_float32_in_float32_out():
    pred, human = _cosines_vs_human(100, seed=9)
    assert soft_rank(pred).dtype == torch.float32
    assert soft_spearman(pred, human).dtype == torch.float32


@pytest.mark.parametrize("call, message", [
    (lambda: soft_rank(torch.zeros(2, 3)), "1-D"),
    (lambda: soft_rank(torch.zeros(0)), "empty"),
    (lambda: soft_rank(torch.zeros(3), 0.0), "above 0"),
    (lambda: soft_rank(torch.zeros(3), method="bubble"), "rank method"),
    (lambda: soft_spearman(torch.zeros(3), torch.zeros(4)), "one shape"),
    (lambda: soft_spearman(torch.zeros(1), torch.zeros(1)), "at least 2"),
])
def test_bad_input_is_refused_with_a_message(call, message):
    with pytest.raises(W2VError, match=message):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_tensors_round_trip():
    pred, human = _cosines_vs_human(500, seed=10)
    x = pred.cuda().requires_grad_(True)
    rho = soft_spearman(x, human.cuda())
    rho.backward()
    assert rho.device.type == "cuda" and x.grad.device.type == "cuda"
    assert float(rho) == pytest.approx(float(soft_spearman(pred, human)), abs=1e-5)


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_radix_argsort_orders_float32_values_with_negatives_and_ties(descending):
    from w2vcore.losses.rsr.ranking import _argsort_f32

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=4000), np.zeros(50), -np.ones(30), [-0.0, 1e-30, -1e-30, 3e38, -3e38]])
    order = _argsort_f32(x, descending)
    assert sorted(order.tolist()) == list(range(len(x)))  # a permutation
    steps = np.diff(x.astype(np.float32)[order])
    assert (steps <= 0).all() if descending else (steps >= 0).all()
