"""Compiled (numba) helpers of the RSR loss: pair sampling, grouped cosines and the fused
in-place SGD step (`_sgd_steps_np`: sample -> unit rows -> cosines -> soft Spearman forward and
backward -> gradient -> scatter), one call per batch of due applications. See docs/RSR.md.
Without numba the names stay plain Python and `njit` is None; rsr.py then uses autograd.
"""
from __future__ import annotations

import numpy as np

from .ranking import _argsort_f32, _spearman_backward, _spearman_forward

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba ships with umap-learn, a requirement
    njit = None


def _pair_cosines_np(rows, a, b):  # pragma: no cover - compiled
    """Unit rows (C, d), 1 / row norms (C,) and the (n,) cosines of row pairs (a_k, b_k)."""
    c, d = rows.shape
    unit = np.empty_like(rows)
    inv = np.empty(c, dtype=rows.dtype)
    for i in range(c):
        sq = rows.dtype.type(0.0)
        for j in range(d):
            sq += rows[i, j] * rows[i, j]
        inv[i] = 1.0 / max(np.sqrt(sq), 1e-12)
        for j in range(d):
            unit[i, j] = rows[i, j] * inv[i]
    cos = np.empty(a.shape[0], dtype=rows.dtype)
    for k in range(a.shape[0]):
        p, q = a[k], b[k]
        acc = rows.dtype.type(0.0)
        for j in range(d):
            acc += unit[p, j] * unit[q, j]
        cos[k] = acc
    return unit, inv, cos


def _pair_cosines_grad_np(unit, inv, a, b, g):  # pragma: no cover - compiled
    """(C, d) gradient of sum_k g_k cos_k w.r.t. the raw rows."""
    c, d = unit.shape
    grad = np.zeros_like(unit)
    for k in range(a.shape[0]):
        p, q, gk = a[k], b[k], g[k]
        for j in range(d):
            grad[p, j] += gk * unit[q, j]
            grad[q, j] += gk * unit[p, j]
    for i in range(c):  # through the normalisation: drop the radial part, divide by the norm
        radial = unit.dtype.type(0.0)
        for j in range(d):
            radial += grad[i, j] * unit[i, j]
        for j in range(d):
            grad[i, j] = (grad[i, j] - radial * unit[i, j]) * inv[i]
    return grad


def _splitmix(state):  # pragma: no cover - compiled
    """The next state and 64 random bits of a splitmix64 stream."""
    state += np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


def _below(bits, high):  # pragma: no cover - compiled
    """32 random bits -> an integer in [0, high) by multiply-shift (Lemire), no division."""
    return np.int64((bits * np.uint64(high)) >> np.uint64(32))


def _draw_np(seed, n, high):  # pragma: no cover - compiled
    """n uniform integers in [0, high), high < 2**32 (bias < high / 2**32)."""
    out = np.empty(n, dtype=np.int64)
    state = np.uint64(seed)
    for k in range(n):
        state, z = _splitmix(state)
        out[k] = _below(z >> np.uint64(32), high)
    return out


def _draw_pairs_np(seed, n, sim):  # pragma: no cover - compiled
    """n uniform ordered pairs (a != b) of rows of the (c, c) matrix sim, and sim[a, b] (float64)."""
    a, b = _draw_two_np(seed, n, sim.shape[0])
    t = np.empty(n, dtype=np.float64)
    for k in range(n):
        t[k] = sim[a[k], b[k]]
    return a, b, t


def _draw_two_np(seed, n, c):  # pragma: no cover - compiled
    """n uniform ordered pairs (a_k != b_k) of integers in [0, c), c >= 2."""
    a = np.empty(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    state = np.uint64(seed)
    for k in range(n):
        state, z = _splitmix(state)
        i = _below(z >> np.uint64(32), c)
        j = _below(z & np.uint64(0xFFFFFFFF), c - 1)
        a[k], b[k] = i, j + (j >= i)
    return a, b


def _by_concept(a, b, c):  # pragma: no cover - compiled
    """The n pairs (a_k, b_k) grouped by concept, CSR style, for cache-friendly blocked loops.

    Row p's entries start[p]..start[p + 1] hold (other concept, pair k) for every pair that
    touches p; the first n_first[p] of them are the pairs with a_k = p.
    """
    n = a.shape[0]
    start = np.zeros(c + 1, dtype=np.int64)
    n_first = np.zeros(c, dtype=np.int64)
    for k in range(n):
        n_first[a[k]] += 1
        start[a[k] + 1] += 1
        start[b[k] + 1] += 1
    for p in range(c):
        start[p + 1] += start[p]
    at_a, at_b = start[:-1].copy(), start[:-1] + n_first
    other, pair = np.empty(2 * n, dtype=np.int64), np.empty(2 * n, dtype=np.int64)
    for k in range(n):
        p, q = a[k], b[k]
        other[at_a[p]], pair[at_a[p]] = q, k
        at_a[p] += 1
        other[at_b[q]], pair[at_b[q]] = p, k
        at_b[q] += 1
    return start, n_first, other, pair


def _unit_rows(table, ids):  # pragma: no cover - compiled
    """(C, d) float32 unit copies of the float32 table[ids] and the (C,) inverse norms."""
    c, d = ids.shape[0], table.shape[1]
    unit = np.empty((c, d), dtype=np.float32)
    inv = np.empty(c, dtype=np.float32)
    for i in range(c):
        row, sq = ids[i], np.float32(0.0)
        for j in range(d):
            v = table[row, j]
            unit[i, j] = v
            sq += v * v
        inv[i] = np.float32(1.0) / max(np.sqrt(sq), np.float32(1e-12))
        for j in range(d):
            unit[i, j] *= inv[i]
    return unit, inv


def _cosines_grouped(unit, start, n_first, other, pair, n):  # pragma: no cover - compiled
    """(n,) cosines of the grouped pairs, four per pass over row p (register blocking)."""
    d = unit.shape[1]
    cos = np.empty(n, dtype=unit.dtype)
    zero = unit.dtype.type(0.0)
    for p in range(unit.shape[0]):
        lo, hi = start[p], start[p] + n_first[p]
        for m in range(lo, hi, 4):
            q0, q1, q2, q3 = other[m], other[min(m + 1, hi - 1)], other[min(m + 2, hi - 1)], other[min(m + 3, hi - 1)]
            f0, f1, f2, f3 = zero, zero, zero, zero
            for j in range(d):
                x = unit[p, j]
                f0 += x * unit[q0, j]
                f1 += x * unit[q1, j]
                f2 += x * unit[q2, j]
                f3 += x * unit[q3, j]
            for r, f in ((0, f0), (1, f1), (2, f2), (3, f3)):
                if m + r < hi:
                    cos[pair[m + r]] = f
    return cos


def _step_grouped(table, ids, unit, inv, start, other, pair, g, step):  # pragma: no cover - compiled
    """table[ids[p]] -= step * d(sum_k g_k cos_k)/d row p, row by row from the grouped pairs.

    The gradient of row p is sum over its pairs of g_k unit[other] (four per pass), minus
    its radial part, divided by the row's norm (the normalisation's Jacobian).
    """
    d = unit.shape[1]
    grad = np.empty(d, dtype=unit.dtype)
    zero = unit.dtype.type(0.0)
    for p in range(unit.shape[0]):
        lo, hi = start[p], start[p + 1]
        if lo == hi:
            continue
        grad[:] = zero
        for m in range(lo, hi, 4):
            q0, q1, q2, q3 = other[m], other[min(m + 1, hi - 1)], other[min(m + 2, hi - 1)], other[min(m + 3, hi - 1)]
            g0 = g[pair[m]]
            g1 = g[pair[m + 1]] if m + 1 < hi else zero
            g2 = g[pair[m + 2]] if m + 2 < hi else zero
            g3 = g[pair[m + 3]] if m + 3 < hi else zero
            for j in range(d):
                grad[j] += g0 * unit[q0, j] + g1 * unit[q1, j] + g2 * unit[q2, j] + g3 * unit[q3, j]
        radial = zero
        for j in range(d):
            radial += grad[j] * unit[p, j]
        scale = step * inv[p]
        for j in range(d):
            table[ids[p], j] -= scale * (grad[j] - radial * unit[p, j])


def _grad_grouped(unit, inv, start, other, pair, g):  # pragma: no cover - compiled
    """(C, d) gradient of sum_k g_k cos_k w.r.t. the raw rows, from the grouped pairs (`_step_grouped`'s maths)."""
    c, d = unit.shape
    out = np.zeros((c, d), dtype=unit.dtype)
    for p in range(c):
        for m in range(start[p], start[p + 1]):
            q, gk = other[m], g[pair[m]]
            for j in range(d):
                out[p, j] += gk * unit[q, j]
        radial = unit.dtype.type(0.0)
        for j in range(d):
            radial += out[p, j] * unit[p, j]
        for j in range(d):
            out[p, j] = (out[p, j] - radial * unit[p, j]) * inv[p]
    return out


def _adam_np(param, grad, m, v, t, lr):  # pragma: no cover - compiled
    """One Adam step (beta 0.9 / 0.999, eps 1e-8, bias-corrected at step t >= 1) on param in place."""
    c1, c2 = 1.0 - 0.9 ** t, 1.0 - 0.999 ** t
    for i in range(param.shape[0]):
        for j in range(param.shape[1]):
            m[i, j] = 0.9 * m[i, j] + 0.1 * grad[i, j]
            v[i, j] = 0.999 * v[i, j] + 0.001 * grad[i, j] * grad[i, j]
            param[i, j] -= lr * (m[i, j] / c1) / (np.sqrt(v[i, j] / c2) + 1e-8)


def _keep_cosines(xf, fa, fb):  # pragma: no cover - compiled
    """(n,) float64 cosines of the row pairs (fa_k, fb_k) of xf: the keep term's target (exact ranks)."""
    start, n_first, other, pair = _by_concept(fa, fb, xf.shape[0])
    unit, _ = _unit_rows(xf, np.arange(xf.shape[0]))
    return _cosines_grouped(unit, start, n_first, other, pair, fa.shape[0]).astype(np.float64)


def _keep_step(xf, u, v, fa, fb, inv_eps):  # pragma: no cover - compiled
    """The keep term 1 - soft_spearman(cos(xf M), cos(xf)) on the pairs (fa, fb) of the frequent rows xf
    (K, d): (soft rho, d/dU, d/dV). Only M gets a gradient; the rows are constants here."""
    k = xf.shape[0]
    start, n_first, other, pair = _by_concept(fa, fb, k)
    unit, _ = _unit_rows(xf, np.arange(k))
    raw = _cosines_grouped(unit, start, n_first, other, pair, fa.shape[0]).astype(np.float64)
    xfu = np.dot(xf, u)  # (K, r)
    unit, inv = _unit_rows(xf + np.dot(xfu, v.T), np.arange(k))  # mapped rows
    cos = _cosines_grouped(unit, start, n_first, other, pair, fa.shape[0])
    saved = _spearman_forward(cos.astype(np.float64), _argsort_f32(cos, True), raw, _argsort_f32(raw, False), inv_eps)
    g = _spearman_backward(-1.0, *saved).astype(xf.dtype)  # d(1 - rho_keep) / d cos
    gy = _grad_grouped(unit, inv, start, other, pair, g)  # (K, d)
    return saved[0], np.dot(xf.T, np.dot(gy, v)), np.dot(gy.T, xfu)


def _gauge_step(table, ids, u, v, adam, count, rows_too, penalty, lr_m, start, n_first, other, pair, target,
                inv_eps, step, keep, keep_n, keep_seed, keep_pairs):  # pragma: no cover - compiled
    """One application through the map M = I + U V^T: cosines of Y = X M (X = table[ids]), soft Spearman,
    then d/dY -> the rows' gradient G M^T (applied if rows_too) and U's, V's (+ the penalty
    lambda ||U V^T||^2, + keep * (1 - rho_keep) on keep_pairs pairs of the table's first keep_n rows,
    drawn from keep_seed, if keep > 0), one Adam step on U and V. Returns (soft rho, penalty incl. the
    keep term, rho_keep)."""
    c = ids.shape[0]
    rho_keep, du_keep, dv_keep = 0.0, np.zeros_like(u), np.zeros_like(v)
    if keep > 0.0:  # before any row moves: the autograd path sees the rows as they were
        fa, fb = _draw_two_np(keep_seed, keep_pairs, keep_n)
        rho_keep, du_keep, dv_keep = _keep_step(table[:keep_n].copy(), u, v, fa, fb, inv_eps)
    x = np.empty((c, table.shape[1]), dtype=table.dtype)
    for i in range(c):
        x[i] = table[ids[i]]
    xu = np.dot(x, u)  # (C, r)
    y = x + np.dot(xu, v.T)  # (C, d) mapped rows
    unit, inv = _unit_rows(y, np.arange(c))
    cos = _cosines_grouped(unit, start, n_first, other, pair, target.shape[0])
    saved = _spearman_forward(cos.astype(np.float64), _argsort_f32(cos, True), target, _argsort_f32(target, False),
                              inv_eps)
    g = _spearman_backward(-1.0, *saved).astype(table.dtype)  # d(1 - rho) / d cos
    gy = _grad_grouped(unit, inv, start, other, pair, g)  # (C, d) d(1 - rho) / dY
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
    _adam_np(u, du.astype(u.dtype), adam[0], adam[1], count[0], lr_m)
    _adam_np(v, dv.astype(v.dtype), adam[2], adam[3], count[0], lr_m)
    return saved[0], extra, rho_keep


def _sgd_steps_np(table, ids, sim, pool_a, pool_b, pool_s, seeds, n, inv_eps, step,
                  u, v, adam, count, mode, penalty, lr_m, keep, keep_n, keep_seeds):  # pragma: no cover
    """One in-place SGD application of 1 - soft_spearman per seed on the (V, d) float32 table.

    Each application draws n fresh pairs (from the (C, C) matrix `sim`, or from the pair
    pool when `sim` is empty: all of it when it has at most n pairs), then
    rows -> cosines -> soft Spearman forward and backward -> gradient of the rows ->
    table[ids] -= step * grad, the maths of `RSR.loss` + `TorchSGD.apply_extra`.
    mode 1 / 2 ("gauge" / "gauge_only") go through the learned map M = I + U V^T (`_gauge_step`):
    U, V (d, r), their Adam moments adam (4, d, r) and step count (1,) are updated in place,
    the rows only in mode 1; with keep > 0 the keep term's pairs come from keep_seeds[r].
    Returns (len(seeds), 3): soft rho, the map's penalty (with the keep term) and the keep term's
    soft rho per application.
    """
    c = ids.shape[0]
    rho = np.zeros((seeds.shape[0], 3))
    for r in range(seeds.shape[0]):
        if sim.shape[0] > 0:
            a, b, t = _draw_pairs_np(seeds[r], n, sim)
        elif pool_s.shape[0] <= n:
            a, b, t = pool_a, pool_b, pool_s.astype(np.float64)
        else:
            k = _draw_np(seeds[r], n, pool_s.shape[0])
            a, b, t = pool_a[k], pool_b[k], pool_s[k].astype(np.float64)
        start, n_first, other, pair = _by_concept(a, b, c)
        if mode > 0:
            rho[r, 0], rho[r, 1], rho[r, 2] = _gauge_step(
                table, ids, u, v, adam, count, mode == 1, penalty, lr_m, start, n_first, other, pair, t, inv_eps,
                table.dtype.type(step), keep, keep_n, keep_seeds[r], n)
            continue
        unit, inv = _unit_rows(table, ids)
        cos = _cosines_grouped(unit, start, n_first, other, pair, a.shape[0])
        saved = _spearman_forward(cos.astype(np.float64), _argsort_f32(cos, True), t, _argsort_f32(t, False), inv_eps)
        g = _spearman_backward(-1.0, *saved).astype(table.dtype)  # d(1 - rho) / d cos
        _step_grouped(table, ids, unit, inv, start, other, pair, g, table.dtype.type(step))
        rho[r, 0] = saved[0]
    return rho


def in_disk_cache(*dispatchers) -> bool:
    """Whether numba's on-disk cache holds machine code for each compiled function (a fresh index).

    A process that finds it there loads the code in well under a second instead of compiling
    (RSR: about a minute). Reads numba's cache index (private API, numba 0.5x-0.6x); anything
    unexpected counts as not cached, so the worst case is a "compiling" status for a quick load.
    """
    try:
        return all(bool(d._cache._cache_file._load_index()) for d in dispatchers)
    except Exception:  # no numba, caching off (no writable folder), or another numba layout
        return False


def compile_options(**options):
    """njit(cache=True, ...) options, without the disk cache when numba has no writable folder for it
    (it raises then; the functions compile once per process instead)."""
    def probe():  # pragma: no cover - never called; numba looks for a cache folder beside this file
        return 0

    try:
        njit(cache=True, **options)(probe)
        return {"cache": True, **options}
    except RuntimeError:  # pragma: no cover - a read-only install without NUMBA_CACHE_DIR
        return options


if njit is not None:
    _kernel = njit(**compile_options(nogil=True, fastmath=True, error_model="numpy"))
    _pair_cosines_np, _pair_cosines_grad_np = _kernel(_pair_cosines_np), _kernel(_pair_cosines_grad_np)
    _splitmix, _below = _kernel(_splitmix), _kernel(_below)
    _draw_np, _draw_pairs_np, _draw_two_np = _kernel(_draw_np), _kernel(_draw_pairs_np), _kernel(_draw_two_np)
    _by_concept, _unit_rows, _cosines_grouped = _kernel(_by_concept), _kernel(_unit_rows), _kernel(_cosines_grouped)
    _grad_grouped, _adam_np, _gauge_step = _kernel(_grad_grouped), _kernel(_adam_np), _kernel(_gauge_step)
    _keep_cosines, _keep_step = _kernel(_keep_cosines), _kernel(_keep_step)
    _step_grouped, _sgd_steps_np = _kernel(_step_grouped), _kernel(_sgd_steps_np)
