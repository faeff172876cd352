"""Compiled (numba) helpers every loss shares: how a kernel is compiled, the random draws, pair cosines, Adam.

- `jit`: the one way a kernel is compiled (no Python objects, the GIL released, machine code
  cached on disk where a folder is writable); without numba it returns the plain function and
  `numba` is None, so a loss falls back to autograd. `in_disk_cache` says whether numba's cache
  already holds a kernel (the worker then loads instead of compiling).
- Random draws: one splitmix64 stream per seed (`splitmix`), integers below a bound by
  multiply-shift (`below`), uniform integers (`draw`) and ordered pairs of different ones (`draw_two`).
  The SGNS kernel draws from the same `splitmix`.
- Pair cosines: cos(rows[a_k], rows[b_k]) forward and backward (`pair_cosines`, differentiable, in
  torch), and the grouped form the fused SGD paths use: pairs grouped by row (`group_pairs`), unit
  rows, four cosines per pass over a row, and the in-place step or gradient of sum_k g_k cos_k.
- Adam (beta 0.9 / 0.999, eps 1e-8, bias-corrected): `adam_np` inside compiled code, `adam_` on torch
  tensors; the same maths, each written once.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

try:
    import numba
except ImportError:  # pragma: no cover - numba ships with umap-learn, a requirement
    numba = None


def jit(fn=None, /, **options):
    """`fn` compiled by numba with `options` (nogil, and the disk cache unless no folder is writable).

    numba caches next to the module (__pycache__), else in the user cache (~/.cache/numba), or in
    NUMBA_CACHE_DIR when set; with none writable it refuses cache=True, and the kernel compiles once
    per process instead. Usable as `@jit` or `@jit(fastmath=True)`; returns `fn` itself without numba.
    """
    if fn is None:
        return partial(jit, **options)
    if numba is None:
        return fn
    try:
        return numba.njit(nogil=True, cache=True, **options)(fn)
    except RuntimeError:  # pragma: no cover - a read-only install without NUMBA_CACHE_DIR
        return numba.njit(nogil=True, **options)(fn)


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


kernel = jit(fastmath=True, error_model="numpy")  # how the losses' kernels are compiled


# ------------------------------------------------------------------ random draws
@kernel
def splitmix(state):  # pragma: no cover - compiled
    """The next state and 64 random bits of a splitmix64 stream (uint64 state)."""
    state += np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@kernel
def below(bits, high):  # pragma: no cover - compiled
    """32 random bits -> an integer in [0, high) by multiply-shift (Lemire), no division."""
    return np.int64((bits * np.uint64(high)) >> np.uint64(32))


@kernel
def draw(seed, n, high):  # pragma: no cover - compiled
    """n uniform integers in [0, high), high < 2**32 (bias < high / 2**32)."""
    out = np.empty(n, dtype=np.int64)
    state = np.uint64(seed)
    for k in range(n):
        state, z = splitmix(state)
        out[k] = below(z >> np.uint64(32), high)
    return out


@kernel
def draw_two(seed, n, c):  # pragma: no cover - compiled
    """n uniform ordered pairs (a_k != b_k) of integers in [0, c), c >= 2."""
    a = np.empty(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    state = np.uint64(seed)
    for k in range(n):
        state, z = splitmix(state)
        i = below(z >> np.uint64(32), c)
        j = below(z & np.uint64(0xFFFFFFFF), c - 1)
        a[k], b[k] = i, j + (j >= i)
    return a, b


# ------------------------------------------------------------------ pair cosines
@kernel
def pair_cosines_np(rows, a, b):  # pragma: no cover - compiled
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


@kernel
def through_norm(grad, unit, inv):  # pragma: no cover - compiled
    """A unit row's gradient (d,) taken through its normalisation, in place: drop the part along the row, divide
    by the raw row's norm (`inv` = 1 / norm)."""
    radial = unit.dtype.type(0.0)
    for j in range(grad.shape[0]):
        radial += grad[j] * unit[j]
    for j in range(grad.shape[0]):
        grad[j] = (grad[j] - radial * unit[j]) * inv


@kernel
def pair_cosines_grad_np(unit, inv, a, b, g):  # pragma: no cover - compiled
    """(C, d) gradient of sum_k g_k cos_k w.r.t. the raw rows."""
    c, d = unit.shape
    grad = np.zeros_like(unit)
    for k in range(a.shape[0]):
        p, q, gk = a[k], b[k], g[k]
        for j in range(d):
            grad[p, j] += gk * unit[q, j]
            grad[q, j] += gk * unit[p, j]
    for i in range(c):
        through_norm(grad[i], unit[i], inv[i])
    return grad


class _PairCosines(torch.autograd.Function):
    """cos(rows[a_k], rows[b_k]) for k < n on the CPU, without (n, d) temporaries or scatter-adds."""

    @staticmethod
    def forward(ctx, rows, a, b):
        a_np, b_np = a.numpy(), b.numpy()
        unit, inv, cos = pair_cosines_np(rows.detach().numpy(), a_np, b_np)
        ctx.saved = (unit, inv, a_np, b_np)
        return torch.from_numpy(cos)

    @staticmethod
    def backward(ctx, grad):
        g = np.ascontiguousarray(grad.numpy(), dtype=ctx.saved[0].dtype)
        return torch.from_numpy(pair_cosines_grad_np(*ctx.saved, g)), None, None


def pair_cosines(rows: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(n,) differentiable cosine similarity of rows[a] and rows[b]; rows (C, d), a and b (n,) int64."""
    if rows.device.type == "cpu":
        return _PairCosines.apply(rows.contiguous(), a.contiguous(), b.contiguous())
    unit = F.normalize(rows, dim=1)
    return (unit.index_select(0, a) * unit.index_select(0, b)).sum(1)


@kernel
def group_pairs(a, b, c):  # pragma: no cover - compiled
    """The n pairs (a_k, b_k) over c rows grouped by row, CSR style, for cache-friendly blocked loops.

    Row p's entries start[p]..start[p + 1] hold (other row, pair k) for every pair that
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


@kernel
def unit_rows(table, ids):  # pragma: no cover - compiled
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


@kernel
def cosines_grouped(unit, start, n_first, other, pair, n):  # pragma: no cover - compiled
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


@kernel
def step_grouped(table, ids, unit, inv, start, other, pair, g, step):  # pragma: no cover - compiled
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


@kernel
def grad_grouped(unit, inv, start, other, pair, g):  # pragma: no cover - compiled
    """(C, d) gradient of sum_k g_k cos_k w.r.t. the raw rows, from the grouped pairs (`step_grouped`'s maths)."""
    c, d = unit.shape
    out = np.zeros((c, d), dtype=unit.dtype)
    for p in range(c):
        for m in range(start[p], start[p + 1]):
            q, gk = other[m], g[pair[m]]
            for j in range(d):
                out[p, j] += gk * unit[q, j]
        through_norm(out[p], unit[p], inv[p])
    return out


# ------------------------------------------------------------------ Adam
@kernel
def adam_np(param, grad, m, v, t, lr):  # pragma: no cover - compiled
    """One Adam step (beta 0.9 / 0.999, eps 1e-8, bias-corrected at step t >= 1) on the 2-d param in place."""
    c1, c2 = 1.0 - 0.9 ** t, 1.0 - 0.999 ** t
    for i in range(param.shape[0]):
        for j in range(param.shape[1]):
            m[i, j] = 0.9 * m[i, j] + 0.1 * grad[i, j]
            v[i, j] = 0.999 * v[i, j] + 0.001 * grad[i, j] * grad[i, j]
            param[i, j] -= lr * (m[i, j] / c1) / (np.sqrt(v[i, j] / c2) + 1e-8)


@torch.no_grad()
def adam_(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr: float) -> None:
    """`adam_np`'s step on torch tensors in place: moments m and v, step count t >= 1.

    Written out because torch.optim's first step imports torch._dynamo, which takes seconds.
    """
    m.mul_(0.9).add_(grad, alpha=0.1)
    v.mul_(0.999).addcmul_(grad, grad, value=0.001)
    param -= lr * (m / (1.0 - 0.9 ** t)) / ((v / (1.0 - 0.999 ** t)).sqrt() + 1e-8)
