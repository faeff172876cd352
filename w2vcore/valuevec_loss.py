"""The `valuevec` extra loss: ValueVec's cosine regression on the vocabulary's valued words during
skip-gram training (pairs and the loss itself come from `valuevec.py`).

A seeded 80% of the valued words enter the loss; the rest are held out for evaluation. CPU SGD runs
it through a compiled path (`sgd_steps`, `valuevec_kernel.py`); optionally it learns a d x d map M
shared by every word (`map`), which the trainer exports as w_in @ M.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch

from .config import LossSpec
from .errors import W2VError
from .losses import LossBase, LossSetup, Param, register, resolve_params
from .rsr import pair_cosines
from .rsr_kernel import _draw_np, in_disk_cache
from .valuevec_kernel import _value_grad_np, _value_sgd_steps_np, njit
from .values import (MIN_WORDS, check_values, difference_spearman, knn_predict, load_values, pair_spearman,
                     pc1_correlation, rank_correlation, ridge_predict, split_words)
from .valuevec import KNN, build_pairs, value_loss

class _Map:
    """The shared (d, d) map M of the `map` option: identity at first, stepped by Adam.

    Adam is scale-free, so the rows' SGD step size (lr * batch * alpha) does not set its size.
    """

    def __init__(self, dim: int, lr: float):
        self.matrix = torch.eye(dim).requires_grad_(True)
        self.lr, self.t = lr, 0
        self._mean, self._sq = torch.zeros(dim, dim), torch.zeros(dim, dim)

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        self.t += 1
        self._mean.mul_(0.9).add_(grad, alpha=0.1)
        self._sq.mul_(0.999).addcmul_(grad, grad, value=0.001)
        self.matrix -= self.lr * (self._mean / (1 - 0.9 ** self.t)) / ((self._sq / (1 - 0.999 ** self.t)).sqrt_() + 1e-8)

    def flush(self) -> None:
        """Apply the gradient autograd left on M (the step after `loss`'s backward)."""
        if self.matrix.grad is not None:
            grad, self.matrix.grad = self.matrix.grad, None
            self.step(grad)


class ValueVecLoss(LossBase):
    """The ValueVec loss on a vocabulary's valued words, as an `ExtraLoss` ("valuevec").

    `map_mode` (the `map` parameter): 0 scores cos(w_a, w_b) of the training words' input rows. 1 scores cos(w_a M, w_b M)
    with a (d, d) map M shared by every word (SGNS is unchanged by w_in -> w_in M,
    w_out -> w_out M^-T), so what M learns also applies to held-out words; the rows move too.
    2 learns M alone (the loss leaves the rows to SGNS). `output_map()` returns M.
    """

    def __init__(self, values: Mapping[str, float], key_to_index: Mapping[str, int], device="cpu", *,
                 weight: float = 0.0, name: str = "valuevec", pairs: int = 4096, every: int = 1, window: int = 3,
                 negatives: int = 5, heldout: float = 0.2, seed: int = 0, map_mode: int = 0, map_lr: float = 0.003,
                 index_to_key=None, benchmarks: Mapping[str, list] | None = None):
        self.name, self.weight, self.every, self.n_pairs = name, weight, int(every), int(pairs)
        self.device = torch.device(device)
        if self.every < 1 or self.n_pairs < 1:
            raise W2VError(f"valuevec: every and pairs must be at least 1, got {every} and {pairs}")
        if map_mode not in (0, 1, 2) or not (math.isfinite(map_lr) and map_lr > 0):
            raise W2VError(f"valuevec: map must be 0, 1 or 2 and map_lr positive, got {map_mode!r} and {map_lr!r}")
        self.map_mode, self.map_lr, self._map = int(map_mode), float(map_lr), None
        self.applied = 0  # applications so far (autograd or compiled)
        values = check_values(values)
        known: dict[str, int] = {}  # valued word -> vocabulary id (exact spelling first, then lower case)
        taken: set[int] = set()
        for word in values:
            wid = key_to_index.get(word, key_to_index.get(word.lower()))
            if wid is not None and wid not in taken:
                known[word] = wid
                taken.add(wid)
        train, held = split_words(list(known), heldout, seed)
        if len(train) < MIN_WORDS:
            missing = [w for w in values if w not in known][:5]
            raise W2VError(f"ValueVec: only {len(known)} of the {len(values)} valued words are in the vocabulary "
                           f"({len(train)} left for training, e.g. missing: {', '.join(missing)}); use a larger "
                           "corpus, a lower min_count, or values for words the corpus has")
        train_v = np.array([values[w] for w in train])
        if np.ptp(train_v) == 0:
            raise W2VError("ValueVec: every training word has the same value; the loss needs values that differ")
        p = build_pairs(train_v, window, negatives, seed=seed)
        self._train_ids = torch.tensor([known[w] for w in train], dtype=torch.long, device=self.device)
        self._pool = tuple(torch.from_numpy(x).to(self.device) for x in (p.a, p.b, p.label))
        self._eval = {part: (np.array([known[w] for w in ws], dtype=np.int64), np.array([values[w] for w in ws]))
                      for part, ws in (("heldout", held), ("train", train)) if len(ws) >= MIN_WORDS}
        self.train_words, self.heldout_words = tuple(train), tuple(held)
        self.index_to_key, self.benchmarks = index_to_key, dict(benchmarks or {})
        self.summary = (f"{len(known)} of {len(values)} valued words in the vocabulary: {len(train)} train "
                        f"({len(p):,} pairs), {len(held)} held out")

    def _matrix(self, dim: int) -> _Map | None:
        if self.map_mode and self._map is None:
            self._map = _Map(dim, self.map_lr)
        if self._map is not None:
            self._map.flush()
        return self._map

    def _sample(self, gen: torch.Generator):
        """(n,) positions a, b into the training words and their labels; the whole pool if it is small.

        On the CPU one seed from `gen` drives the compiled sampler, as in `sgd_steps`.
        """
        a, b, label = self._pool
        if len(label) <= self.n_pairs:
            return a, b, label
        if self.device.type == "cpu":
            seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen))
            k = torch.from_numpy(_draw_np(seed, self.n_pairs, len(label)))
        else:
            k = torch.randint(0, len(label), (self.n_pairs,), generator=gen, device=self.device)
        return a[k], b[k], label[k]

    def loss(self, ctx) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.applied += 1
        a, b, label = self._sample(ctx.generator)
        rows = ctx.gather(self._train_ids)  # (C, d) the training words' input rows
        m = self._matrix(rows.shape[1])
        if m is not None:
            rows = (rows if self.map_mode == 1 else rows.detach()) @ m.matrix.to(rows.device)
        cos = pair_cosines(rows, a, b)  # (n,)
        mae = ((cos.detach() + 1.0) * 0.5 - label).abs().mean()
        return value_loss(cos, label), {"valuevec/mae": mae}

    def sgd_steps(self, table: torch.Tensor, step: float, times: int, gen: torch.Generator, progress: float = 0.0):
        """`times` SGD applications of the loss to the (V, d) float32 table in place, each on fresh pairs.

        The compiled CPU path of `loss` + an SGD step of size `step` (the same maths, checked
        against autograd in the tests); with a map, M takes its Adam step after each one.
        `progress` (the trainer's share of the run) does not change this loss.
        Returns (summed loss, summed metrics), or None when it cannot run (then `loss`).
        """
        if (njit is None or table.device.type != "cpu" or table.dtype != torch.float32
                or not table.is_contiguous() or table.requires_grad):
            return None
        a, b, label = (t.numpy() for t in self._pool)
        if len(label) <= self.n_pairs:
            seeds = np.zeros(times, dtype=np.uint64)  # the whole pool every time: nothing is drawn
        else:
            seeds = torch.randint(0, 2 ** 62, (times,), generator=gen).numpy().astype(np.uint64)
        w, ids = table.numpy(), self._train_ids.numpy()
        self.applied += times
        m = self._matrix(w.shape[1])
        if m is None:
            out = _value_sgd_steps_np(w, ids, a, b, label, seeds, self.n_pairs, float(step))
        else:
            out = np.empty((times, 2))
            for r in range(times):
                x, mat = w[ids], m.matrix.detach().numpy().copy()
                grad, out[r, 0], out[r, 1] = _value_grad_np(x @ mat, a, b, label, seeds[r], self.n_pairs)
                if self.map_mode == 1:
                    w[ids] = x - np.float32(step) * (grad @ mat.T)  # (C, d) through y = x M
                m.step(torch.from_numpy(self.weight * (x.T @ grad)))  # d(weight * loss) / dM
        total = torch.from_numpy(out.sum(0))
        return total[0], {"valuevec/mae": total[1]}

    def output_map(self) -> torch.Tensor | None:
        """(d, d) float32 M on the loss's device; the trainer exports and evaluates w_in @ M. None: no map."""
        if self._map is None:
            return None
        self._map.flush()
        return self._map.matrix.detach().clone().to(self.device)

    def state_dict(self) -> dict:
        """The map M and its Adam moments, for exact checkpoints ({} without a map)."""
        if self._map is None:
            return {}
        self._map.flush()
        m = self._map
        return {"map": m.matrix.detach().clone(), "mean": m._mean.clone(), "sq": m._sq.clone(), "t": m.t}

    def load_state_dict(self, state: dict) -> None:
        if not state or not self.map_mode:
            return
        m = self._matrix(state["map"].shape[0])
        with torch.no_grad():
            m.matrix.copy_(state["map"])
        m._mean.copy_(state["mean"])
        m._sq.copy_(state["sq"])
        m.t = int(state["t"])

    @torch.no_grad()
    def evaluate(self, vectors: torch.Tensor | np.ndarray) -> dict[str, float]:
        """Value metrics of the (V, d) word table, vocabulary order (a tensor, or `Vectors.vectors`).

        Within the held-out and within the training words: pair rho and |PC1 r|. For held-out
        words, values predicted from the training words (kNN mean of the 10 nearest, and a
        ridge probe): Spearman with the true values, and Spearman of predicted against true
        value differences over held-out pairs. Then the benchmarks.
        """
        table = vectors.detach().cpu().numpy() if isinstance(vectors, torch.Tensor) else np.asarray(vectors)
        out = {}
        for part, (ids, v) in self._eval.items():
            rows = table[ids]
            out[f"valuevec/rho_{part}"] = pair_spearman(rows, v)
            out[f"valuevec/pc1_{part}"] = abs(pc1_correlation(rows, v))
        if "heldout" in self._eval:
            (held, v_held), (train, v_train) = self._eval["heldout"], self._eval["train"]
            for probe, predicted in (("knn", knn_predict(table[train], v_train, table[held], KNN)),
                                     ("ridge", ridge_predict(table[train], v_train, table[held]))):
                out[f"valuevec/{probe}_rho_heldout"] = rank_correlation(predicted, v_held)
                out[f"valuevec/{probe}_diff_rho_heldout"] = difference_spearman(predicted, v_held)
                out[f"valuevec/{probe}_signed_diff_rho_heldout"] = difference_spearman(predicted, v_held, signed=True)
        if self.benchmarks and self.index_to_key is not None:
            from .vectors import Vectors

            kv = Vectors(self.index_to_key, table)
            for bench, pairs in self.benchmarks.items():
                out[f"eval/{bench}"] = kv.evaluate_word_pairs(pairs).spearman
        return out


PARAMS = {
    "values": Param("vader", help="'vader' (VADER mean valence), 'things:<rating>' (e.g. things:pleasant, from the "
                                  "data folder), 'colours', or a word,value CSV file"),
    "pairs": Param(4096, 64, 100_000, "value pairs sampled per step (all if there are fewer)"),
    "every": Param(1, 1, 1000, "apply the loss every N optimiser steps"),
    "window": Param(3, 1, 50, "positives: neighbours either side in value order"),
    "negatives": Param(5, 0, 100, "random far words per word (at least 25% of the list away), besides the furthest"),
    "heldout": Param(0.2, 0.0, 0.9, "share of the valued words that never enter the loss (scored as "
                                    "valuevec/rho_heldout)"),
    "seed": Param(0, 0, 2 ** 31 - 1, "held-out split and random negatives (independent of the run's seed)"),
    "map": Param(0, 0, 2, "1: learn a d x d map M shared by every word and score cos(wM); the vectors are "
                          "exported as w_in @ M, so held-out words follow it too. 2: learn M only, leave the rows "
                          "to skip-gram. 0: off"),
    "map_lr": Param(0.003, 1e-5, 1.0, "Adam learning rate of the map M (map 1 or 2)"),
    "benchmarks": Param(1, 0, 1, "1: also score SimLex-999 / WordSim-353 at each evaluation (eval/...)"),
}


def warm_valuevec() -> None:
    """Compile (or load) the compiled SGD paths (without and with a map) through a toy loss's `sgd_steps`."""
    if njit is None:
        return
    words = list("abcdefghijkl")
    table = torch.from_numpy(np.random.default_rng(0).standard_normal((len(words), 4), dtype=np.float32))
    for map_mode in (0, 2):
        loss = ValueVecLoss({w: float(i) for i, w in enumerate(words)}, {w: i for i, w in enumerate(words)},
                            weight=0.1, pairs=8, heldout=0.25, map_mode=map_mode)
        loss.sgd_steps(table, 1e-3, 2, torch.Generator().manual_seed(0))


def valuevec_compiled() -> bool:
    """Whether numba's disk cache holds the compiled SGD paths."""
    return njit is None or in_disk_cache(_value_sgd_steps_np, _value_grad_np)


@register("valuevec", "ValueVec: make cosine similarity follow a continuous word value (valence, a THINGS "
                      "rating, or your own word,value file)", params=PARAMS, warm=warm_valuevec,
          compiled=valuevec_compiled, label="ValueVec")
def make_valuevec(spec: LossSpec, setup: LossSetup) -> ValueVecLoss:
    from .evaldata import load_benchmarks

    p = resolve_params(spec, PARAMS)
    values = load_values(p["values"], setup.data_dir)
    bench = {}
    if p["benchmarks"]:
        try:
            bench = {k: v for k, v in load_benchmarks(setup.data_dir).pairs.items() if k != "men"}
        except W2VError:
            bench = {}  # no benchmark files anywhere: the value metrics alone
    return ValueVecLoss(values, setup.vocab.key_to_index, setup.device, weight=spec.weight, name=spec.name,
                        pairs=p["pairs"], every=p["every"], window=p["window"], negatives=p["negatives"],
                        heldout=p["heldout"], seed=p["seed"], map_mode=p["map"], map_lr=p["map_lr"],
                        index_to_key=setup.vocab.index_to_key,
                        benchmarks=bench)
