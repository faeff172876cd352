"""Paired statistics for comparing two embeddings: weighted Spearman, the paired bootstrap, seeds."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..errors import W2VError


def _groups(x: np.ndarray) -> tuple[np.ndarray, int]:
    _, inverse = np.unique(x, return_inverse=True)
    return inverse.ravel(), int(inverse.max()) + 1


def _ranks(groups: tuple[np.ndarray, int], w: np.ndarray) -> np.ndarray:
    """Average ranks of values repeated w times (ties averaged, as scipy.stats.rankdata)."""
    inverse, n = groups
    size = np.bincount(inverse, weights=w, minlength=n)
    return (np.cumsum(size) - (size - 1) / 2)[inverse]


def _spearman(x_groups, y_groups, w: np.ndarray) -> float:
    """Spearman rho of the sample where item i appears w[i] times (w = 1: scipy's spearmanr)."""
    rx, ry = _ranks(x_groups, w), _ranks(y_groups, w)
    total = w.sum()
    dx, dy = rx - (w @ rx) / total, ry - (w @ ry) / total
    den = math.sqrt((w @ (dx * dx)) * (w @ (dy * dy)))
    return float((w @ (dx * dy)) / den) if den > 0 else float("nan")


def paired_spearman(sim_a: np.ndarray, sim_b: np.ndarray, human: np.ndarray, units: tuple | None = None,
                    n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Spearman of A's and B's similarities with `human` over the same items, Δ = B - A and its CI.

    The bootstrap resamples `units`: by default the items themselves; with `units=(ua, ub)`
    (the two concept positions of each pair) it resamples concepts, and a pair counts as
    often as both its concepts were drawn, since pairs sharing a concept are not independent.
    """
    if n_boot < 1 or not 0 < level < 1:
        raise W2VError(f"need n_boot >= 1 and 0 < level < 1, got {n_boot} and {level}")
    sim_a, sim_b, human = (np.asarray(x, dtype=np.float64) for x in (sim_a, sim_b, human))
    if not (sim_a.shape == sim_b.shape == human.shape) or sim_a.ndim != 1 or len(human) < 3:
        raise W2VError(f"need three equally long lists of at least 3 similarities, got {sim_a.shape}, "
                       f"{sim_b.shape}, {human.shape}")
    if not (np.isfinite(sim_a).all() and np.isfinite(sim_b).all() and np.isfinite(human).all()):
        raise W2VError("similarities must be finite numbers (no NaN: drop pairs with unknown words first)")
    ga, gb, gh = _groups(sim_a), _groups(sim_b), _groups(human)
    ones = np.ones(len(human))
    rho_a, rho_b = _spearman(ga, gh, ones), _spearman(gb, gh, ones)
    rng = np.random.default_rng(seed)
    n_units = len(human) if units is None else int(max(u.max() for u in units)) + 1
    deltas = np.empty(n_boot)
    for i in range(n_boot):
        draw = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units)).astype(np.float64)
        w = draw if units is None else draw[units[0]] * draw[units[1]]
        deltas[i] = _spearman(gb, gh, w) - _spearman(ga, gh, w)
    lo, hi = np.nanpercentile(deltas, [50 * (1 - level), 50 * (1 + level)])
    return {"a": rho_a, "b": rho_b, "delta": rho_b - rho_a, "ci": (float(lo), float(hi)), "n": len(human)}


def aggregate(deltas: Sequence[float], cis: Sequence[tuple | None] = (), level: float = 0.95) -> dict:
    """Mean of per-seed Δs and its CI: with >= 2 seeds the t-interval mean ± t(n-1) · sd / √n over
    the seeds (sd with ddof 1); with one seed that run's own CI (`cis[0]`, e.g. a paired bootstrap)."""
    from scipy import stats

    x = np.asarray([d for d in deltas], dtype=np.float64)
    if len(x) == 0:
        raise W2VError("no per-seed values to aggregate")
    mean = float(x.mean())
    if len(x) >= 2:
        half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
        return {"delta": mean, "ci_low": mean - half, "ci_high": mean + half, "n_seeds": len(x),
                "interval": f"t-interval over {len(x)} seeds"}
    ci = cis[0] if cis else None
    return {"delta": mean, "ci_low": None if ci is None else float(ci[0]),
            "ci_high": None if ci is None else float(ci[1]), "n_seeds": 1,
            "interval": "paired bootstrap CI of one run" if ci is not None else "one run, no interval"}

