"""The `valuevec` extra loss: ValueVec's cosine regression on the vocabulary's valued words during
skip-gram training (pairs and the loss itself come from `trainers.py`).

A seeded 80% of the valued words enter the loss; the rest are held out for evaluation. CPU SGD runs
it through a compiled path (`sgd_steps`, `kernel.py`); optionally it learns a d x d map M
shared by every word (`map`), which the trainer exports as w_in @ M.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import numpy as np
import torch

from ...config import LossSpec
from ...errors import W2VError
from .. import LossBase, LossSetup, register
from ...compiled import adam_, draw, in_disk_cache, numba, pair_cosines
from ..params import LossParams, param
from .kernel import value_grad_np, value_sgd_steps_np
from .trainers import KNN, build_pairs, value_loss
from .values import (MIN_WORDS, check_values, difference_spearman, knn_predict, load_values, pair_spearman,
                     pc1_correlation, rank_correlation, ridge_predict, split_words)


@dataclass(frozen=True)
class ValueVecParams(LossParams):
    """The parameters of the `valuevec` loss: each one's default, range and help, once."""

    loss: ClassVar[str] = "valuevec"

    values: str = param("vader", help="'vader' (VADER mean valence), 'things:<rating>' (e.g. things:pleasant, from "
                                      "the data folder), 'colours', or a word,value CSV file")
    pairs: int = param(4096, 64, 100_000, "value pairs sampled per step (all if there are fewer)")
    every: int = param(1, 1, 1000, "apply the loss every N optimiser steps")
    window: int = param(3, 1, 50, "positives: neighbours either side in value order")
    negatives: int = param(5, 0, 100, "random far words per word (at least 25% of the list away), besides the "
                                      "furthest")
    heldout: float = param(0.2, 0.0, 0.9, "share of the valued words that never enter the loss (scored as "
                                          "valuevec/rho_heldout)")
    seed: int = param(0, 0, 2 ** 31 - 1, "held-out split and random negatives (independent of the run's seed)")
    map: int = param(0, 0, 2, "1: learn a d x d map M shared by every word and score cos(wM); the vectors are "
                              "exported as w_in @ M, so held-out words follow it too. 2: learn M only, leave the "
                              "rows to skip-gram. 0: off")
    map_lr: float = param(0.003, 1e-5, 1.0, "Adam learning rate of the map M (map 1 or 2)")
    benchmarks: int = param(1, 0, 1, "1: also score SimLex-999 / WordSim-353 at each evaluation (eval/...)")


class _Map:
    """The shared (d, d) map M of the `map` option: identity at first, stepped by Adam.

    Adam is scale-free, so the rows' SGD step size (lr * batch * alpha) does not set its size.
    """

    def __init__(self, dim: int, lr: float):
        self.matrix = torch.eye(dim).requires_grad_(True)
        self.lr, self.t = lr, 0
        self._mean, self._sq = torch.zeros(dim, dim), torch.zeros(dim, dim)

    def step(self, grad: torch.Tensor) -> None:
        self.t += 1
        adam_(self.matrix, grad, self._mean, self._sq, self.t, self.lr)

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

    def __init__(self, values: Mapping[str, float], key_to_index: Mapping[str, int], device="cpu",
                 params: ValueVecParams = ValueVecParams(), *, weight: float = 0.0, name: str = "valuevec",
                 index_to_key=None, benchmarks: Mapping[str, list] | None = None):
        p = params
        self.params, self.name, self.weight, self.every, self.n_pairs = p, name, weight, p.every, p.pairs
        self.device = torch.device(device)
        self.map_mode, self.map_lr, self._map = p.map, p.map_lr, None
        self.applied = 0  # applications so far (autograd or compiled)
        values = check_values(values)
        known: dict[str, int] = {}  # valued word -> vocabulary id (exact spelling first, then lower case)
        taken: set[int] = set()
        for word in values:
            wid = key_to_index.get(word, key_to_index.get(word.lower()))
            if wid is not None and wid not in taken:
                known[word] = wid
                taken.add(wid)
        train, held = split_words(list(known), p.heldout, p.seed)
        if len(train) < MIN_WORDS:
            missing = [w for w in values if w not in known][:5]
            raise W2VError(f"ValueVec: only {len(known)} of the {len(values)} valued words are in the vocabulary "
                           f"({len(train)} left for training, e.g. missing: {', '.join(missing)}); use a larger "
                           "corpus, a lower min_count, or values for words the corpus has")
        train_v = np.array([values[w] for w in train])
        if np.ptp(train_v) == 0:
            raise W2VError("ValueVec: every training word has the same value; the loss needs values that differ")
        pairs = build_pairs(train_v, p.window, p.negatives, seed=p.seed)
        self._train_ids = torch.tensor([known[w] for w in train], dtype=torch.long, device=self.device)
        self._pool = tuple(torch.from_numpy(x).to(self.device) for x in (pairs.a, pairs.b, pairs.label))
        self._eval = {part: (np.array([known[w] for w in ws], dtype=np.int64), np.array([values[w] for w in ws]))
                      for part, ws in (("heldout", held), ("train", train)) if len(ws) >= MIN_WORDS}
        self.train_words, self.heldout_words = tuple(train), tuple(held)
        self.index_to_key, self.benchmarks = index_to_key, dict(benchmarks or {})
        self.summary = (f"{len(known)} of {len(values)} valued words in the vocabulary: {len(train)} train "
                        f"({len(pairs):,} pairs), {len(held)} held out")

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
            k = torch.from_numpy(draw(seed, self.n_pairs, len(label)))
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
        if (numba is None or table.device.type != "cpu" or table.dtype != torch.float32
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
            out = value_sgd_steps_np(w, ids, a, b, label, seeds, self.n_pairs, float(step))
        else:
            out = np.empty((times, 2))
            for r in range(times):
                x, mat = w[ids], m.matrix.detach().numpy().copy()
                grad, out[r, 0], out[r, 1] = value_grad_np(x @ mat, a, b, label, seeds[r], self.n_pairs)
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
            from ...vectors import Vectors

            kv = Vectors(self.index_to_key, table)
            for bench, pairs in self.benchmarks.items():
                out[f"eval/{bench}"] = kv.evaluate_word_pairs(pairs).spearman
        return out


def warm_valuevec() -> None:
    """Compile (or load) the compiled SGD paths (without and with a map) through a toy loss's `sgd_steps`."""
    if numba is None:
        return
    words = list("abcdefghijkl")
    table = torch.from_numpy(np.random.default_rng(0).standard_normal((len(words), 4), dtype=np.float32))
    for map_mode in (0, 2):
        loss = ValueVecLoss({w: float(i) for i, w in enumerate(words)}, {w: i for i, w in enumerate(words)},
                            params=ValueVecParams(pairs=64, heldout=0.25, map=map_mode), weight=0.1)
        loss.sgd_steps(table, 1e-3, 2, torch.Generator().manual_seed(0))


def valuevec_compiled() -> bool:
    """Whether numba's disk cache holds the compiled SGD paths."""
    return numba is None or in_disk_cache(value_sgd_steps_np, value_grad_np)


@register("valuevec", "ValueVec: make cosine similarity follow a continuous word value (valence, a THINGS "
                      "rating, or your own word,value file)", params=ValueVecParams, warm=warm_valuevec,
          compiled=valuevec_compiled, label="ValueVec")
def make_valuevec(spec: LossSpec, setup: LossSetup) -> ValueVecLoss:
    from ...evaldata import load_benchmarks

    p = ValueVecParams.from_values(spec.params)
    values = load_values(p.values, setup.data_dir)
    bench = {}
    if p.benchmarks:
        try:
            bench = {k: v for k, v in load_benchmarks(setup.data_dir).pairs.items() if k != "men"}
        except W2VError:
            bench = {}  # no benchmark files anywhere: the value metrics alone
    return ValueVecLoss(values, setup.vocab.key_to_index, setup.device, p, weight=spec.weight, name=spec.name,
                        index_to_key=setup.vocab.index_to_key, benchmarks=bench)
