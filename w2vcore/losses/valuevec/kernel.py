"""Compiled (numba) SGD path of the `valuevec` loss: draw pairs -> cosines -> squared error ->
gradient -> in-place update, one call per batch of due applications.

The draws, the grouping of pairs by word (CSR) and the register-blocked cosine and row-gradient
loops are the shared ones of `w2vcore.compiled` (RSR uses them too); only the loss in between is
ValueVec's. `loss.ValueVecLoss.sgd_steps` calls it; without numba the loss uses autograd.
"""
from __future__ import annotations

import numpy as np

from ...compiled import cosines_grouped, draw, group_pairs, kernel, step_grouped, unit_rows


@kernel
def _draw_pool(seed, n, pool_a, pool_b, pool_label):  # pragma: no cover - compiled
    """n pairs drawn uniformly (with replacement) from the pool, or the whole pool if it has at most n."""
    if pool_label.shape[0] <= n:
        return pool_a, pool_b, pool_label
    k = draw(seed, n, pool_label.shape[0])
    return pool_a[k], pool_b[k], pool_label[k]


@kernel
def _value_step(rows, ids, a, b, label, out, step):  # pragma: no cover - compiled
    """One application of mean(((cos + 1) / 2 - label)^2) on pairs (a_k, b_k) of rows[ids].

    out[ids[p]] -= step * d loss / d rows[ids[p]] (out may be rows itself: the rows are
    copied and normalised first). Returns (loss, mean absolute error).
    """
    m = a.shape[0]
    start, n_first, other, pair = group_pairs(a, b, ids.shape[0])
    unit, inv = unit_rows(rows, ids)
    cos = cosines_grouped(unit, start, n_first, other, pair, m)
    g = np.empty(m, dtype=np.float32)  # d loss / d cos_k = 2 err_k * 1/2 / m
    sq, ab = 0.0, 0.0
    for k in range(m):
        err = (cos[k] + np.float32(1.0)) * np.float32(0.5) - label[k]
        sq += err * err
        ab += abs(err)
        g[k] = err / np.float32(m)
    step_grouped(out, ids, unit, inv, start, other, pair, g, step)
    return sq / m, ab / m


@kernel
def value_sgd_steps_np(table, ids, pool_a, pool_b, pool_label, seeds, n, step):  # pragma: no cover - compiled
    """One in-place SGD application per seed on the (V, d) float32 table; (len(seeds), 2) loss and MAE.

    The maths of `ValueVecLoss.loss` + `TorchSGD.apply_extra`: table[ids] -= step * grad.
    """
    out = np.empty((seeds.shape[0], 2))
    for r in range(seeds.shape[0]):
        a, b, label = _draw_pool(seeds[r], n, pool_a, pool_b, pool_label)
        out[r, 0], out[r, 1] = _value_step(table, ids, a, b, label, table, np.float32(step))
    return out


@kernel
def value_grad_np(rows, pool_a, pool_b, pool_label, seed, n):  # pragma: no cover - compiled
    """(C, d) gradient of the loss w.r.t. the (C, d) float32 rows (pool positions index rows), loss, MAE."""
    ids = np.arange(rows.shape[0])
    grad = np.zeros_like(rows)
    a, b, label = _draw_pool(seed, n, pool_a, pool_b, pool_label)
    loss, mae = _value_step(rows, ids, a, b, label, grad, np.float32(-1.0))  # grad -= -1 * d loss / d rows
    return grad, loss, mae
