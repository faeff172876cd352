"""Compiled (numba) code of the RSR loss: the fused in-place SGD step (`sgd_steps_np`: sample ->
unit rows -> cosines -> soft Spearman forward and backward -> gradient -> scatter), one call per batch
of due applications, and its learned-map variant (`gauge_step`, `keep_step`). The draws, grouped
cosines and Adam come from `w2vcore.compiled`; see docs/RSR.md. Without numba these stay plain Python
and `loss.py` uses autograd.
"""
from __future__ import annotations

import numpy as np

from ...compiled import (adam_np, cosines_grouped, draw, draw_two, grad_grouped, group_pairs, kernel,
                        step_grouped, unit_rows)
from .ranking import _argsort_f32, _spearman_backward, _spearman_forward


@kernel
def draw_pairs(seed, n, sim):  # pragma: no cover - compiled
    """n uniform ordered pairs (a != b) of rows of the (c, c) matrix sim, and sim[a, b] (float64)."""
    a, b = draw_two(seed, n, sim.shape[0])
    t = np.empty(n, dtype=np.float64)
    for k in range(n):
        t[k] = sim[a[k], b[k]]
    return a, b, t


@kernel
def keep_cosines(xf, fa, fb):  # pragma: no cover - compiled
    """(n,) float64 cosines of the row pairs (fa_k, fb_k) of xf: the keep term's target (exact ranks)."""
    start, n_first, other, pair = group_pairs(fa, fb, xf.shape[0])
    unit, _ = unit_rows(xf, np.arange(xf.shape[0]))
    return cosines_grouped(unit, start, n_first, other, pair, fa.shape[0]).astype(np.float64)


@kernel
def keep_step(xf, u, v, fa, fb, inv_eps):  # pragma: no cover - compiled
    """The keep term 1 - soft_spearman(cos(xf M), cos(xf)) on the pairs (fa, fb) of the frequent rows xf
    (K, d): (soft rho, d/dU, d/dV). Only M gets a gradient; the rows are constants here."""
    k = xf.shape[0]
    start, n_first, other, pair = group_pairs(fa, fb, k)
    unit, _ = unit_rows(xf, np.arange(k))
    raw = cosines_grouped(unit, start, n_first, other, pair, fa.shape[0]).astype(np.float64)
    xfu = np.dot(xf, u)  # (K, r)
    unit, inv = unit_rows(xf + np.dot(xfu, v.T), np.arange(k))  # mapped rows
    cos = cosines_grouped(unit, start, n_first, other, pair, fa.shape[0])
    saved = _spearman_forward(cos.astype(np.float64), _argsort_f32(cos, True), raw, _argsort_f32(raw, False), inv_eps)
    g = _spearman_backward(-1.0, *saved).astype(xf.dtype)  # d(1 - rho_keep) / d cos
    gy = grad_grouped(unit, inv, start, other, pair, g)  # (K, d)
    return saved[0], np.dot(xf.T, np.dot(gy, v)), np.dot(gy.T, xfu)


@kernel
def gauge_step(table, ids, u, v, adam, count, rows_too, penalty, lr_m, start, n_first, other, pair, target,
                inv_eps, step, keep, keep_n, keep_seed, keep_pairs):  # pragma: no cover - compiled
    """One application through the map M = I + U V^T: cosines of Y = X M (X = table[ids]), soft Spearman,
    then d/dY -> the rows' gradient G M^T (applied if rows_too) and U's, V's (+ the penalty
    lambda ||U V^T||^2, + keep * (1 - rho_keep) on keep_pairs pairs of the table's first keep_n rows,
    drawn from keep_seed, if keep > 0), one Adam step on U and V. Returns (soft rho, penalty incl. the
    keep term, rho_keep)."""
    c = ids.shape[0]
    rho_keep, du_keep, dv_keep = 0.0, np.zeros_like(u), np.zeros_like(v)
    if keep > 0.0:  # before any row moves: the autograd path sees the rows as they were
        fa, fb = draw_two(keep_seed, keep_pairs, keep_n)
        rho_keep, du_keep, dv_keep = keep_step(table[:keep_n].copy(), u, v, fa, fb, inv_eps)
    x = np.empty((c, table.shape[1]), dtype=table.dtype)
    for i in range(c):
        x[i] = table[ids[i]]
    xu = np.dot(x, u)  # (C, r)
    y = x + np.dot(xu, v.T)  # (C, d) mapped rows
    unit, inv = unit_rows(y, np.arange(c))
    cos = cosines_grouped(unit, start, n_first, other, pair, target.shape[0])
    saved = _spearman_forward(cos.astype(np.float64), _argsort_f32(cos, True), target, _argsort_f32(target, False),
                              inv_eps)
    g = _spearman_backward(-1.0, *saved).astype(table.dtype)  # d(1 - rho) / d cos
    gy = grad_grouped(unit, inv, start, other, pair, g)  # (C, d) d(1 - rho) / dY
    gv = np.dot(gy, v)  # (C, r)
    if rows_too:
        gx = gy + np.dot(gv, u.T)  # d/dX = dY M^T
        for i in range(c):
            table[ids[i]] -= step * gx[i]
    utu, vtv = np.dot(u.T, u), np.dot(v.T, v)
    du = np.dot(x.T, gv) + (2.0 * penalty) * np.dot(u, vtv)
    dv = np.dot(gy.T, xu) + (2.0 * penalty) * np.dot(v, utu)
    extra = penalty * float(np.sum(utu * vtv))
    if keep > 0.0:
        du += keep * du_keep
        dv += keep * dv_keep
        extra += keep * (1.0 - rho_keep)
    count[0] += 1
    adam_np(u, du.astype(u.dtype), adam[0], adam[1], count[0], lr_m)
    adam_np(v, dv.astype(v.dtype), adam[2], adam[3], count[0], lr_m)
    return saved[0], extra, rho_keep


@kernel
def sgd_steps_np(table, ids, sim, pool_a, pool_b, pool_s, seeds, n, inv_eps, step,
                  u, v, adam, count, mode, penalty, lr_m, keep, keep_n, keep_seeds):  # pragma: no cover
    """One in-place SGD application of 1 - soft_spearman per seed on the (V, d) float32 table.

    Each application draws n fresh pairs (from the (C, C) matrix `sim`, or from the pair
    pool when `sim` is empty: all of it when it has at most n pairs), then
    rows -> cosines -> soft Spearman forward and backward -> gradient of the rows ->
    table[ids] -= step * grad, the maths of `RSR.loss` + `TorchSGD.apply_extra`.
    mode 1 / 2 ("gauge" / "gauge_only") go through the learned map M = I + U V^T (`gauge_step`):
    U, V (d, r), their Adam moments adam (4, d, r) and step count (1,) are updated in place,
    the rows only in mode 1; with keep > 0 the keep term's pairs come from keep_seeds[r].
    Returns (len(seeds), 3): soft rho, the map's penalty (with the keep term) and the keep term's
    soft rho per application.
    """
    c = ids.shape[0]
    rho = np.zeros((seeds.shape[0], 3))
    for r in range(seeds.shape[0]):
        if sim.shape[0] > 0:
            a, b, t = draw_pairs(seeds[r], n, sim)
        elif pool_s.shape[0] <= n:
            a, b, t = pool_a, pool_b, pool_s.astype(np.float64)
        else:
            k = draw(seeds[r], n, pool_s.shape[0])
            a, b, t = pool_a[k], pool_b[k], pool_s[k].astype(np.float64)
        start, n_first, other, pair = group_pairs(a, b, c)
        if mode > 0:
            rho[r, 0], rho[r, 1], rho[r, 2] = gauge_step(
                table, ids, u, v, adam, count, mode == 1, penalty, lr_m, start, n_first, other, pair, t, inv_eps,
                table.dtype.type(step), keep, keep_n, keep_seeds[r], n)
            continue
        unit, inv = unit_rows(table, ids)
        cos = cosines_grouped(unit, start, n_first, other, pair, a.shape[0])
        saved = _spearman_forward(cos.astype(np.float64), _argsort_f32(cos, True), t, _argsort_f32(t, False), inv_eps)
        g = _spearman_backward(-1.0, *saved).astype(table.dtype)  # d(1 - rho) / d cos
        step_grouped(table, ids, unit, inv, start, other, pair, g, table.dtype.type(step))
        rho[r, 0] = saved[0]
    return rho
