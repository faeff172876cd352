"""Representational Similarity Regularisation (RSR) as an extra loss, registered as "rsr".

    L = (1 - a) * L_w2v + a * (1 - soft_spearman(cos(v_i, v_j), human(i, j)))

over `pairs` concept pairs drawn afresh every `every` steps. Human similarity comes from
THINGS (the SPoSE matrix), SimLex-999 + WordSim-353, or the user's own file (`human`).

Honest evaluation: a seeded share of the aligned concepts (`heldout`, 20% by default) is
split off by concept before training and never enters the loss. `evaluate` reports the
exact Spearman correlation between model cosines and human similarity on pairs of held-out
concepts (`rsr/rho_heldout`) next to the same on training concepts (`rsr/rho_train`), so a
curve shows generalisation, not memorisation. The split depends only on the target, the
vocabulary and `seed`, never on the run's seed, so a vanilla twin is scored on the same
held-out pairs (build `make_rsr` at weight 0 and call `evaluate` on its vectors).

Two paths, one maths: `loss` (torch autograd: GPU, Adam) and `sgd_steps`, a compiled CPU
path for SGD that runs sampling -> cosines -> soft Spearman forward and backward -> the
rows' gradient -> the in-place update in one numba call, once per due step (about 0.5 ms
for 5,000 pairs against about 2.3 ms for a 4,096-pair SGNS step). `warmup` ramps the weight
in over the first part of the run (see docs/RSR.md for why).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .config import LossSpec
from .errors import W2VError
from .human import HumanSimilarity, align_concepts, load_target
from .losses import LossSetup, Param, register
from .ranking import (RANK_METHODS, SPEARMAN_STRENGTH, _argsort_f32, _spearman_backward, _spearman_forward, pearson,
                      rank, soft_spearman)

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba ships with umap-learn, a requirement
    njit = None

EVAL_MAX_PAIRS = 200_000  # training-concept pairs scored by `evaluate` (a fixed seeded sample)
MIN_TRAIN_CONCEPTS = 3

PARAMS = {
    "pairs": Param(5000, 100, 50_000, "concept pairs sampled per step (all training pairs if a pair list is shorter)"),
    "every": Param(1, 1, 1000, "apply the loss every N optimiser steps"),
    "regularization_strength": Param(SPEARMAN_STRENGTH, 0.01, 100.0,
                                     "soft-rank smoothing in rank units: cosines about this many ranks apart are "
                                     "blended (small = exact ranks, sparse gradient)"),
    "rank_method": Param("pav", help="pav: O(n log n) permutahedron projection (Blondel et al. 2020); "
                                     "sigmoid: the notebook's O(n^2) pairwise reference"),
    "heldout": Param(0.2, 0.0, 0.9, "share of aligned concepts that never enter the loss (scored as rsr/rho_heldout)"),
    "target": Param("auto", help="'auto' (THINGS when the data folder has it, else SimLex-999 + WordSim-353), "
                                 "'things', 'wordsim', or a file: word1,word2,score CSV or a square .npy/.csv/.mat"),
    "words": Param("", help="word list file (one per line) giving the rows of a matrix target file"),
    "fallbacks": Param(1, 0, 1, "1: concepts missing from the vocabulary may use the compound, last or first word "
                                "of their name (air_conditioner -> airconditioner, conditioner, air); 0: exact only"),
    "seed": Param(0, 0, 2 ** 31 - 1, "which concepts are held out (independent of the run's seed)"),
    "warmup": Param(0.3, 0.0, 1.0, "share of the run over which the weight ramps linearly from 0 to alpha, so SGNS "
                                   "builds structure first (0: full weight from the start)"),
}



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
    c = sim.shape[0]
    a = np.empty(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    t = np.empty(n, dtype=np.float64)
    state = np.uint64(seed)
    for k in range(n):
        state, z = _splitmix(state)
        i = _below(z >> np.uint64(32), c)
        j = _below(z & np.uint64(0xFFFFFFFF), c - 1)
        if j >= i:
            j += 1
        a[k], b[k], t[k] = i, j, sim[i, j]
    return a, b, t


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


def _sgd_steps_np(table, ids, sim, pool_a, pool_b, pool_s, seeds, n, inv_eps, step):  # pragma: no cover
    """One in-place SGD application of 1 - soft_spearman per seed on the (V, d) float32 table.

    Each application draws n fresh pairs (from the (C, C) matrix `sim`, or from the pair
    pool when `sim` is empty: all of it when it has at most n pairs), then
    rows -> cosines -> soft Spearman forward and backward -> gradient of the rows ->
    table[ids] -= step * grad, the maths of `RSR.loss` + `TorchSGD.apply_extra`.
    Returns the (len(seeds),) soft rho of each application.
    """
    c = ids.shape[0]
    rho = np.empty(seeds.shape[0])
    for r in range(seeds.shape[0]):
        if sim.shape[0] > 0:
            a, b, t = _draw_pairs_np(seeds[r], n, sim)
        elif pool_s.shape[0] <= n:
            a, b, t = pool_a, pool_b, pool_s.astype(np.float64)
        else:
            k = _draw_np(seeds[r], n, pool_s.shape[0])
            a, b, t = pool_a[k], pool_b[k], pool_s[k].astype(np.float64)
        start, n_first, other, pair = _by_concept(a, b, c)
        unit, inv = _unit_rows(table, ids)
        cos = _cosines_grouped(unit, start, n_first, other, pair, a.shape[0])
        saved = _spearman_forward(cos.astype(np.float64), _argsort_f32(cos, True), t, _argsort_f32(t, False), inv_eps)
        g = _spearman_backward(-1.0, *saved).astype(table.dtype)  # d(1 - rho) / d cos
        _step_grouped(table, ids, unit, inv, start, other, pair, g, table.dtype.type(step))
        rho[r] = saved[0]
    return rho


if njit is not None:
    _kernel = njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
    _pair_cosines_np, _pair_cosines_grad_np = _kernel(_pair_cosines_np), _kernel(_pair_cosines_grad_np)
    _splitmix, _below = _kernel(_splitmix), _kernel(_below)
    _draw_np, _draw_pairs_np = _kernel(_draw_np), _kernel(_draw_pairs_np)
    _by_concept, _unit_rows, _cosines_grouped = _kernel(_by_concept), _kernel(_unit_rows), _kernel(_cosines_grouped)
    _step_grouped, _sgd_steps_np = _kernel(_step_grouped), _kernel(_sgd_steps_np)


class _PairCosines(torch.autograd.Function):
    """cos(rows[a_k], rows[b_k]) for k < n on the CPU, without (n, d) temporaries or scatter-adds."""

    @staticmethod
    def forward(ctx, rows, a, b):
        a_np, b_np = a.numpy(), b.numpy()
        unit, inv, cos = _pair_cosines_np(rows.detach().numpy(), a_np, b_np)
        ctx.saved = (unit, inv, a_np, b_np)
        return torch.from_numpy(cos)

    @staticmethod
    def backward(ctx, grad):
        g = np.ascontiguousarray(grad.numpy(), dtype=ctx.saved[0].dtype)
        return torch.from_numpy(_pair_cosines_grad_np(*ctx.saved, g)), None, None


def pair_cosines(rows: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(n,) differentiable cosine similarity of rows[a] and rows[b]; rows (C, d), a and b (n,) int64."""
    if rows.device.type == "cpu":
        return _PairCosines.apply(rows.contiguous(), a.contiguous(), b.contiguous())
    unit = F.normalize(rows, dim=1)
    return (unit.index_select(0, a) * unit.index_select(0, b)).sum(1)


class RSR:
    """The RSR loss over one `HumanSimilarity` target, aligned to a vocabulary."""

    def __init__(self, human: HumanSimilarity, key_to_index, device: torch.device | str = "cpu", *,
                 weight: float = 0.0, name: str = "rsr", pairs: int = 5000, every: int = 1,
                 regularization_strength: float = SPEARMAN_STRENGTH, rank_method: str = "pav", heldout: float = 0.2,
                 fallbacks: bool = True, seed: int = 0, warmup: float = 0.0):
        self.name, self.weight, self.every, self.warmup = name, weight, int(every), float(warmup)
        self.applied = 0  # applications so far (each on `pairs` fresh pairs), for benchmarks and tests
        self.n_pairs, self.strength, self.method = int(pairs), float(regularization_strength), rank_method
        self.device = torch.device(device)
        self.human = human
        self.alignment = align_concepts(human.words, key_to_index, fallbacks=fallbacks)
        m = len(self.alignment.concepts)
        order = np.random.default_rng(seed).permutation(m)
        n_held = int(round(heldout * m))
        held, train = np.sort(order[:n_held]), np.sort(order[n_held:])
        if len(train) < MIN_TRAIN_CONCEPTS:
            raise W2VError(f"RSR: only {m} of the {len(human)} concepts of {human.source} are in the vocabulary "
                           f"({len(train)} left for training); use a larger corpus, a lower min_count, or "
                           f"another target. {self.alignment.summary()}")
        self.train_concepts = self.alignment.concepts[train]  # indices into human.words
        self.heldout_concepts = self.alignment.concepts[held]
        self._train_ids = self._tensor(self.alignment.word_ids[train])  # (C,) vocabulary rows in the loss
        if human.kind == "matrix":
            sim = human.matrix[np.ix_(self.train_concepts, self.train_concepts)]
            self._sim_np = np.ascontiguousarray(sim, dtype=np.float32)  # (C, C) for the CPU sampler
            self._sim = self._tensor(sim, torch.float32).reshape(-1)  # (C * C,) flattened
            self._pool = None
        else:
            a, b, s = self._pairs_within(train)
            self._pool = (self._tensor(a), self._tensor(b), self._tensor(s, torch.float32))
            if len(s) < 3:
                raise W2VError(f"RSR: only {len(s)} rated pairs have both words among the training concepts; "
                               "use a larger corpus or a lower heldout share")
        rng = np.random.default_rng(seed + 1)
        self._eval = {key: self._eval_set(part, rng) for key, part in
                      (("rsr/rho_heldout", held), ("rsr/rho_train", train))}
        self._eval = {k: v for k, v in self._eval.items() if v is not None}
        self.summary = (f"{human.source}: {self.alignment.summary()}; {len(train)} training and {len(held)} "
                        f"held-out concepts; evaluation pairs: "
                        + ", ".join(f"{k} {len(v[3]):,}" for k, v in self._eval.items()))

    # ------------------------------------------------------------------ setup
    def _tensor(self, x, dtype=torch.long) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x)).to(self.device, dtype)

    def _pairs_within(self, part: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rated pairs with both concepts in `part` (positions into the alignment): (a, b, score)."""
        where = np.full(len(self.human), -1)
        where[self.alignment.concepts[part]] = np.arange(len(part))
        a, b = where[self.human.pairs[:, 0]], where[self.human.pairs[:, 1]]
        inside = (a >= 0) & (b >= 0)
        return a[inside], b[inside], self.human.scores[inside]

    def _eval_set(self, part: np.ndarray, rng: np.random.Generator):
        """(vocabulary rows (P,), positions a and b into them, exact ranks of the human scores) for pairs
        within `part`; None if < 3 pairs."""
        if self.human.kind == "matrix":
            a, b = np.triu_indices(len(part), 1)
            if len(a) > EVAL_MAX_PAIRS:
                keep = np.sort(rng.choice(len(a), EVAL_MAX_PAIRS, replace=False))
                a, b = a[keep], b[keep]
            concepts = self.alignment.concepts[part]
            scores = self.human.matrix[concepts[a], concepts[b]]
        else:
            a, b, scores = self._pairs_within(part)
        if len(a) < 3:
            return None
        return (self.alignment.word_ids[part], self._tensor(a), self._tensor(b),
                rank(self._tensor(scores, torch.float64)))

    # ------------------------------------------------------------------- loss
    def _sample(self, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(n,) positions a, b into the training concepts and (n,) human similarity of each pair.

        On the CPU one seed from `gen` drives a compiled sampler (a handful of torch ops on
        5,000 items cost more than the rest of the loss); other devices sample with torch.
        """
        c = self._train_ids.shape[0]
        pool = self._pool is not None
        if pool and len(self._pool[2]) <= self.n_pairs:
            return self._pool
        high = len(self._pool[2]) if pool else c * (c - 1)
        if self.device.type == "cpu":
            seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen))
            if not pool:
                return tuple(map(torch.from_numpy, _draw_pairs_np(seed, self.n_pairs, self._sim_np)))
            k = torch.from_numpy(_draw_np(seed, self.n_pairs, high))
        else:
            k = torch.randint(0, high, (self.n_pairs,), generator=gen, device=self.device)
        if pool:
            a, b, s = self._pool
            return a[k], b[k], s[k]
        a, b = k // (c - 1), k % (c - 1)
        b += b >= a  # an ordered pair of two different concepts, uniformly
        return a, b, self._sim[a * c + b]

    def ramp(self, progress: float) -> float:
        """Share of the weight in force at `progress` (0..1) of the run: linear warm-up, then 1."""
        return 1.0 if self.warmup <= 0 else min(1.0, progress / self.warmup)

    def loss(self, ctx) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.applied += 1
        a, b, human = self._sample(ctx.generator)
        cos = pair_cosines(ctx.gather(self._train_ids), a, b)  # (n,) over the training concepts' rows
        rho = soft_spearman(cos, human, self.strength, self.method)
        return 1.0 - rho, {"rsr/soft_rho_train": rho.detach()}

    def sgd_steps(self, table: torch.Tensor, step: float, times: int, gen: torch.Generator):
        """`times` SGD applications of the loss to the (V, d) table in place, each on fresh pairs.

        The compiled CPU path of `loss` + an SGD step of size `step` on a float32 table (no
        autograd, no torch temporaries); the same maths, checked against autograd in the
        tests. Returns (summed loss, summed metrics) over the applications, or None when
        there is no compiled path (the caller then uses `loss`).
        """
        if (njit is None or self.method != "pav" or table.device.type != "cpu" or table.dtype != torch.float32
                or not table.is_contiguous() or table.requires_grad):
            return None
        pool = self._pool
        if pool is not None and len(pool[2]) <= self.n_pairs:
            seeds = np.zeros(times, dtype=np.uint64)  # the whole pool every time: nothing is drawn
        else:
            seeds = torch.randint(0, 2 ** 62, (times,), generator=gen).numpy().astype(np.uint64)
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float32)
        sim = np.empty((0, 0), np.float32) if pool is not None else self._sim_np
        pa, pb, ps = (t.numpy() for t in pool) if pool is not None else (empty_i, empty_i, empty_f)
        rho = _sgd_steps_np(table.numpy(), self._train_ids.numpy(), sim, pa, pb, ps, seeds, self.n_pairs,
                            1.0 / self.strength, float(step))
        self.applied += times
        total = torch.tensor(rho.sum(), dtype=torch.float64)
        return times - total, {"rsr/soft_rho_train": total}

    @torch.no_grad()
    def evaluate(self, vectors: torch.Tensor | np.ndarray) -> dict[str, float]:
        """Exact Spearman of cosine vs human similarity on held-out and on training concept pairs.

        vectors: the (V, d) word table, vocabulary order (a tensor, or `Vectors.vectors`).
        """
        out = {}
        for key, (ids, a, b, human_rank) in self._eval.items():
            if isinstance(vectors, np.ndarray):
                rows = torch.from_numpy(np.ascontiguousarray(vectors[ids], dtype=np.float32)).to(self.device)
            else:
                rows = vectors[torch.from_numpy(ids).to(vectors.device)].to(self.device, torch.float32)
            out[key] = float(pearson(rank(pair_cosines(rows, a, b)), human_rank))
        return out


def _options(spec: LossSpec) -> dict:
    p = {k: v.default for k, v in PARAMS.items()}
    p.update(spec.params)
    for key, param in PARAMS.items():
        if isinstance(param.default, str):
            p[key] = str(p[key])
            continue
        try:
            value = float(p[key])
        except (TypeError, ValueError):
            raise W2VError(f"rsr: {key} must be a number, got {p[key]!r}") from None
        if not param.low <= value <= param.high:
            raise W2VError(f"rsr: {key} must be between {param.low:g} and {param.high:g}, got {p[key]!r}")
        p[key] = int(value) if isinstance(param.default, int) else value
    if p["rank_method"] not in RANK_METHODS:
        raise W2VError(f"rsr: rank_method must be one of {RANK_METHODS}, got {p['rank_method']!r}")
    return p


@register("rsr", "Representational similarity regularisation: rank-correlate word cosines with human "
                 "similarity judgements (THINGS, SimLex/WordSim, or your own)", params=PARAMS)
def make_rsr(spec: LossSpec, setup: LossSetup) -> RSR:
    from .runs import default_cache_dir

    p = _options(spec)
    human = load_target(p["target"], setup.data_dir, default_cache_dir(), p["words"] or None)
    return RSR(human, setup.vocab.key_to_index, setup.device, weight=spec.weight, name=spec.name,
               pairs=p["pairs"], every=p["every"], regularization_strength=p["regularization_strength"],
               rank_method=p["rank_method"], heldout=p["heldout"], fallbacks=bool(p["fallbacks"]), seed=p["seed"],
               warmup=p["warmup"])
