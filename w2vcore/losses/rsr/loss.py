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
held-out pairs: the trainer builds its RSR spec at weight 0 evaluation-only and logs both rhos
(or build `make_rsr` at weight 0 and call `evaluate` on any vectors).

Two paths, one maths: `loss` (torch autograd: GPU, Adam) and `sgd_steps`, a compiled CPU
path for SGD that runs sampling -> cosines -> soft Spearman forward and backward -> the
rows' gradient -> the in-place update in one numba call, once per due step (about 0.5 ms
for 5,000 pairs against about 2.3 ms for a 4,096-pair SGNS step). `warmup` ramps the weight
in over the first part of the run (see docs/RSR.md for why).

`metric="gauge_only"` (or `"gauge"`: rows too) learns a map M = I + U V^T shared by all words
instead: SGNS cannot see it, the run exports w_in M (`output_map`), and what M learns on the
training concepts carries to held-out ones (docs/RSR.md, "The learned map"). `metric_keep` adds
a term that keeps the rank order of the most frequent words' cosines under M, so the map
re-weights what THINGS needs without reordering the general vocabulary's similarities.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ...concepts import align_concepts
from ...config import LossSpec
from ...errors import W2VError
from .. import LossBase, LossSetup, register
from ...compiled import adam_, draw, draw_two, in_disk_cache, numba, pair_cosines, pair_cosines_np
from ..params import LossParams, param
from .human import HumanSimilarity, load_target
from .kernel import draw_pairs, keep_cosines, sgd_steps_np
from .ranking import RANK_METHODS, SPEARMAN_STRENGTH, pearson, rank, soft_spearman

EVAL_MAX_PAIRS = 200_000  # training-concept pairs scored by `evaluate` (a fixed seeded sample)
MIN_TRAIN_CONCEPTS = 3
METRICS = ("none", "gauge", "gauge_only")


@dataclass(frozen=True)
class RSRParams(LossParams):
    """The parameters of the `rsr` loss: each one's default, range and help, once."""

    loss: ClassVar[str] = "rsr"

    pairs: int = param(5000, 100, 50_000, "concept pairs sampled per step (all training pairs if a pair list is "
                                          "shorter)")
    every: int = param(1, 1, 1000, "apply the loss every N optimiser steps")
    regularization_strength: float = param(SPEARMAN_STRENGTH, 0.01, 100.0,
                                           "soft-rank smoothing in rank units: cosines about this many ranks apart "
                                           "are blended (small = exact ranks, sparse gradient)")
    rank_method: str = param("pav", help="pav: O(n log n) permutahedron projection (Blondel et al. 2020); "
                                         "sigmoid: the notebook's O(n^2) pairwise reference", choices=RANK_METHODS)
    heldout: float = param(0.2, 0.0, 0.9, "share of aligned concepts that never enter the loss (scored as "
                                          "rsr/rho_heldout)")
    target: str = param("auto", help="'auto' or 'things' (THINGS: the data folder's things/ if it has one, else "
                                     "the packaged copy), 'wordsim' (SimLex-999 + WordSim-353), or a file: "
                                     "word1,word2,score CSV or a square .npy/.csv/.mat")
    words: str = param("", help="word list file (one per line) giving the rows of a matrix target file")
    fallbacks: int = param(1, 0, 1, "1: concepts missing from the vocabulary may use the compound, last or first "
                                    "word of their name (air_conditioner -> airconditioner, conditioner, air); "
                                    "0: exact only")
    seed: int = param(0, 0, 2 ** 31 - 1, "which concepts are held out (independent of the run's seed)")
    warmup: float = param(0.3, 0.0, 1.0, "share of the run over which the weight ramps linearly from 0 to alpha, "
                                         "so SGNS builds structure first (0: full weight from the start)")
    metric: str = param("none", help="none: move the training concepts' rows only; gauge: also learn a map M "
                                     "shared by all words (vectors exported as w_in M, SGNS unchanged), so "
                                     "held-out concepts follow; gauge_only: learn only M, never move rows",
                        choices=METRICS)
    metric_rank: int = param(16, 1, 4096, "rank of M - I = U V^T (capped at dim)")
    metric_penalty: float = param(0.01, 0.0, 100.0, "lambda of lambda ||M - I||^2 (keeps M near the identity: "
                                                    "well conditioned, general benchmarks kept)")
    metric_lr: float = param(0.01, 1e-5, 1.0, "Adam step size for M's factors U, V")
    metric_lr_decay: int = param(1, 0, 1, "1: M's Adam step size falls linearly to 0 over the run, like SGNS's "
                                          "learning rate, so the exported map is not the last noisy iterate; "
                                          "0: constant")
    metric_keep: float = param(0.1, 0.0, 100.0, "weight beta of beta (1 - soft_spearman(cos(x M), cos(x))) on "
                                                "`pairs` random pairs of the most frequent words: M may re-weight "
                                                "directions but must keep the order of general similarities (0: off)")
    metric_keep_words: int = param(3000, 2, 10_000_000, "how many of the most frequent words (the vocabulary's "
                                                        "first rows) the metric_keep term draws its pairs from")


class RSR(LossBase):
    """The RSR loss over one `HumanSimilarity` target, aligned to a vocabulary, with `RSRParams`
    (the defaults every run uses when none are given); `dim` is needed with a learned map."""

    def __init__(self, human: HumanSimilarity, key_to_index, device: torch.device | str = "cpu",
                 params: RSRParams = RSRParams(), *, weight: float = 0.0, name: str = "rsr", dim: int = 0):
        p = params
        self.params, self.name, self.weight, self.every, self.warmup = p, name, weight, p.every, p.warmup
        self.metric, self.metric_keep, self.metric_lr_decay = p.metric, 0.0, bool(p.metric_lr_decay)
        if p.metric != "none":
            self._init_gauge(dim, p.metric_rank, p.metric_penalty, p.metric_lr, p.seed)
            self._init_keep(p.metric_keep, p.metric_keep_words, len(key_to_index), device)
        self.applied = 0  # applications so far (each on `pairs` fresh pairs), for benchmarks and tests
        self.n_pairs, self.strength, self.method = p.pairs, p.regularization_strength, p.rank_method
        self.device = torch.device(device)
        self.human = human
        self.alignment = align_concepts(human.words, key_to_index, fallbacks=bool(p.fallbacks))
        m = len(self.alignment.concepts)
        order = np.random.default_rng(p.seed).permutation(m)
        n_held = int(round(p.heldout * m))
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
        rng = np.random.default_rng(p.seed + 1)
        self._eval = {key: self._eval_set(part, rng) for key, part in
                      (("rsr/rho_heldout", held), ("rsr/rho_train", train))}
        self._eval = {k: v for k, v in self._eval.items() if v is not None}
        self.summary = (f"{human.source}: {self.alignment.summary()}; {len(train)} training and {len(held)} "
                        f"held-out concepts; evaluation pairs: "
                        + ", ".join(f"{k} {len(v[3]):,}" for k, v in self._eval.items()))

    # ------------------------------------------------------------------ setup
    def _init_gauge(self, dim: int, rank_: int, penalty: float, lr: float, seed: int) -> None:
        """The learned map M = I + U V^T (U, V: (dim, r), small seeded start) and their Adam state."""
        if dim < 1:
            raise W2VError(f"RSR: metric={self.metric!r} needs the vectors' dim (got {dim})")
        r = min(int(rank_), dim)
        uv = torch.randn(2, dim, r, generator=torch.Generator().manual_seed(seed + 2)) * 0.01
        self._u, self._v = uv[0].contiguous(), uv[1].contiguous()  # (d, r) each, float32 on the CPU
        self._adam = torch.zeros(4, dim, r)  # first and second moments of U, then of V
        self._count = np.zeros(1, np.int64)  # Adam steps taken
        self.metric_penalty, self.metric_lr = float(penalty), float(lr)

    def _init_keep(self, keep: float, words: int, vocab_size: int, device) -> None:
        """The keep term's rows: the first min(words, vocabulary) rows (the vocabulary is sorted by frequency)."""
        self.metric_keep = float(keep)
        n = min(int(words), vocab_size)
        if keep > 0 and n < 2:
            raise W2VError(f"RSR: metric_keep needs at least 2 words, got metric_keep_words={words} "
                           f"and a vocabulary of {vocab_size}")
        self._keep_ids = torch.arange(n, device=device)

    def output_map(self) -> torch.Tensor | None:
        """(d, d) M = I + U V^T that maps every word vector (exported, evaluated), or None without a metric."""
        if self.metric == "none":
            return None
        return (torch.eye(self._u.shape[0]) + self._u @ self._v.T).to(self.device)

    def state_dict(self) -> dict:
        return {} if self.metric == "none" else {"u": self._u.clone(), "v": self._v.clone(),
                                                  "adam": self._adam.clone(), "count": int(self._count[0])}

    def load_state_dict(self, state: dict) -> None:
        if self.metric != "none" and state:
            if tuple(state["u"].shape) != tuple(self._u.shape):
                raise W2VError(f"RSR: the checkpoint's map has shape {tuple(state['u'].shape)}, this run's "
                               f"{tuple(self._u.shape)} (dim or metric_rank changed)")
            self._u.copy_(state["u"])
            self._v.copy_(state["v"])
            self._adam.copy_(state["adam"])
            self._count[0] = state["count"]

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
                return tuple(map(torch.from_numpy, draw_pairs(seed, self.n_pairs, self._sim_np)))
            k = torch.from_numpy(draw(seed, self.n_pairs, high))
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

    def _metric_lr(self, progress: float) -> float:
        """M's Adam step size at `progress` (0..1) of the run: metric_lr, falling linearly to 0 with metric_lr_decay."""
        return self.metric_lr * (max(0.0, 1.0 - progress) if self.metric_lr_decay else 1.0)

    def loss(self, ctx) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.applied += 1
        a, b, human = self._sample(ctx.generator)
        rows = ctx.gather(self._train_ids)  # (C, d) the training concepts' rows
        if self.metric != "none":
            keep = None
            if self.metric_keep > 0:  # (seed of its pairs, (K, d) the frequent words' rows)
                gen = ctx.generator
                keep = (int(torch.randint(0, 2 ** 62, (1,), generator=gen, device=gen.device)),
                        ctx.gather(self._keep_ids))
            return self._gauge_loss(rows, a, b, human, keep, ctx.progress)
        rho = soft_spearman(pair_cosines(rows, a, b), human, self.strength, self.method)
        return 1.0 - rho, {"rsr/soft_rho_train": rho.detach()}

    def _gauge_loss(self, rows: torch.Tensor, a, b, human, keep=None, progress: float = 0.0):
        """The loss on the mapped rows X M; steps M (Adam) here, and returns the value with the rows'
        gradient only (none for gauge_only), so the engine steps the rows as before.
        keep: (seed, (K, d) frequent rows) for the metric_keep term, which steps M only."""
        x = rows.detach().cpu().requires_grad_(self.metric == "gauge")
        u, v = self._u.clone().requires_grad_(), self._v.clone().requires_grad_()
        y = x + (x @ u) @ v.T  # (C, d) = X (I + U V^T)
        rho = soft_spearman(pair_cosines(y, a.cpu(), b.cpu()), human.cpu(), self.strength, self.method)
        penalty = self.metric_penalty * ((u.T @ u) * (v.T @ v)).sum()  # lambda ||U V^T||_F^2
        value = 1.0 - rho + penalty
        metrics = {}
        if keep is not None:
            xf = keep[1].detach().cpu().contiguous()  # (K, d)
            fa, fb = (torch.from_numpy(t) for t in draw_two(keep[0], self.n_pairs, xf.shape[0]))
            raw = torch.from_numpy(keep_cosines(xf.numpy(), fa.numpy(), fb.numpy()))  # (n,) the target
            rho_keep = soft_spearman(pair_cosines(xf + (xf @ u) @ v.T, fa, fb), raw, self.strength, self.method)
            value = value + self.metric_keep * (1.0 - rho_keep)
            metrics["rsr/soft_rho_keep"] = rho_keep.detach().to(rows.device)
        grads = torch.autograd.grad(value, [u, v, x] if x.requires_grad else [u, v])
        self._count[0] += 1
        with torch.no_grad():
            for k, (p, g) in enumerate(zip((self._u, self._v), grads[:2])):
                adam_(p, g, self._adam[2 * k], self._adam[2 * k + 1], int(self._count[0]),
                       self._metric_lr(progress))
        g_rows = grads[2].to(rows.device) if len(grads) > 2 else torch.zeros_like(rows)
        surrogate = (rows * g_rows).sum()  # d/d rows = g_rows, value 0 below
        value = value.detach().to(rows.device) + surrogate - surrogate.detach()
        return value, {"rsr/soft_rho_train": rho.detach().to(rows.device), **metrics}

    def sgd_steps(self, table: torch.Tensor, step: float, times: int, gen: torch.Generator, progress: float = 0.0):
        """`times` SGD applications of the loss to the (V, d) table in place, each on fresh pairs.

        The compiled CPU path of `loss` + an SGD step of size `step` on a float32 table (no
        autograd, no torch temporaries); the same maths, checked against autograd in the
        tests. Returns (summed loss, summed metrics) over the applications, or None when
        there is no compiled path (the caller then uses `loss`).
        """
        if (numba is None or self.method != "pav" or table.device.type != "cpu" or table.dtype != torch.float32
                or not table.is_contiguous() or table.requires_grad):
            return None
        pool = self._pool
        whole = pool is not None and len(pool[2]) <= self.n_pairs  # the whole pool every time: nothing is drawn
        keep = self.metric_keep > 0  # then one more seed per application, drawn after the pairs' (as `loss`)
        drawn = torch.randint(0, 2 ** 62, (times, int(not whole) + int(keep)), generator=gen).numpy().astype(np.uint64)
        seeds = np.zeros(times, dtype=np.uint64) if whole else np.ascontiguousarray(drawn[:, 0])
        keep_seeds = np.ascontiguousarray(drawn[:, -1]) if keep else seeds
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float32)
        sim = np.empty((0, 0), np.float32) if pool is not None else self._sim_np
        pa, pb, ps = (t.numpy() for t in pool) if pool is not None else (empty_i, empty_i, empty_f)
        mode = metric_mode(self.metric)
        if mode:
            u, v, adam, count = self._u.numpy(), self._v.numpy(), self._adam.numpy(), self._count
        else:
            u = v = np.empty((0, 0), np.float32)
            adam, count = np.empty((4, 0, 0), np.float32), np.zeros(1, np.int64)
        keep_n = len(self._keep_ids) if keep else 0
        out = sgd_steps_np(table.numpy(), self._train_ids.numpy(), sim, pa, pb, ps, seeds, self.n_pairs,
                            1.0 / self.strength, float(step), u, v, adam, count, mode, self.metric_penalty
                            if mode else 0.0, self._metric_lr(progress) if mode else 0.0, self.metric_keep, keep_n, keep_seeds)
        self.applied += times
        total = torch.tensor(out[:, 0].sum(), dtype=torch.float64)
        metrics = {"rsr/soft_rho_train": total}
        if keep:
            metrics["rsr/soft_rho_keep"] = torch.tensor(out[:, 2].sum(), dtype=torch.float64)
        return times - total + float(out[:, 1].sum()), metrics

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
        if self.metric != "none":
            sv = torch.linalg.svdvals(self.output_map().cpu().double())
            out["rsr/metric_cond"] = float(sv[0] / sv[-1])  # M's condition number (1 = a rotation and scale)
        return out


def metric_mode(metric: str) -> int:
    """0 / 1 / 2 for metric none / gauge / gauge_only (the compiled path's code); -1 unknown."""
    return METRICS.index(metric) if metric in METRICS else -1


WARM_CONCEPTS, WARM_DIM = 12, 4  # the toy target `warm_rsr` compiles on


def warm_rsr() -> None:
    """Compile (or load) RSR's kernels through a toy `RSR`'s own methods, so the signatures are a run's.

    `sgd_steps` (the CPU SGD path of every run with SGD on the CPU: one signature serves every
    metric, the keep term, and matrix and pair-list targets) and `evaluate`'s cosines. About a
    minute on a cold cache (docs/results/rsr.md); a fraction of a second once cached.
    """
    if numba is None:
        return
    rng = np.random.default_rng(0)
    e = rng.random((WARM_CONCEPTS, 3))
    words = tuple("abcdefghijklmnopqrstuvwxyz"[:WARM_CONCEPTS])  # no digits: names like bat1 lose them
    human = HumanSimilarity(words, matrix=(e @ e.T).astype(np.float32), source="warm-up")
    table = torch.from_numpy(rng.standard_normal((WARM_CONCEPTS, WARM_DIM), dtype=np.float32))
    for metric, keep in (("none", 0.0), ("gauge_only", 0.1)):
        params = RSRParams(pairs=100, heldout=0.5, metric=metric, metric_keep=keep, metric_keep_words=WARM_CONCEPTS)
        loss = RSR(human, {w: i for i, w in enumerate(words)}, params=params, weight=0.1, dim=WARM_DIM)
        loss.sgd_steps(table, 1e-3, 2, torch.Generator().manual_seed(0), 0.5)
        loss.evaluate(table)


def rsr_compiled() -> bool:
    """Whether numba's disk cache holds RSR's kernels (`warm_rsr` then loads them instead of compiling)."""
    return numba is None or in_disk_cache(sgd_steps_np, pair_cosines_np)


@register("rsr", "Representational similarity regularisation: rank-correlate word cosines with human "
                 "similarity judgements (THINGS, SimLex/WordSim, or your own)", params=RSRParams,
          warm=warm_rsr, compiled=rsr_compiled, label="RSR")
def make_rsr(spec: LossSpec, setup: LossSetup) -> RSR:
    """The RSR loss of `spec`; at weight 0 (evaluation only) without a learned map: M stays the identity."""
    from ...runs import default_cache_dir

    p = RSRParams.from_values(spec.params)
    if spec.weight <= 0:
        p = p.replace(metric="none")  # an untrained M is a random near-identity: it must not touch a vanilla run
    human = load_target(p.target, setup.data_dir, default_cache_dir(), p.words or None)
    return RSR(human, setup.vocab.key_to_index, setup.device, p, weight=spec.weight, name=spec.name, dim=setup.dim)
