"""ValueVec: embeddings whose cosine similarity follows a continuous value (price, valence, wavelength).

Pairs come from the words sorted by value, values normalised to [0, 1], Δ = |difference|:

- positives: the `window` neighbours either side in sorted order, label max(0, 1 - (2Δ)²);
- negatives: the furthest word, plus `negatives` random words at least `min_gap` (25%) of
  the list away in sorted position, label max(0, 1 - 3Δ).

Every mode regresses (cos + 1) / 2 on the label with a squared error:

- `train_valuevec(values, ValueVecConfig(mode="faithful"))`: the article's procedure. Main and
  context tables; each epoch accumulates every pair's update and applies each row's mean,
  then re-normalises the rows; early stopping on the epoch loss; result normalise(main + context).
- `mode="fast"`: one table, minibatch Adam through autograd on the same pairs and loss.
- the `valuevec` extra loss: the same loss on the input table during skip-gram training, for
  the vocabulary's valued words (a seeded 80% of them; the rest are held out for evaluation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from .config import LossSpec
from .errors import W2VError
from .losses import LossSetup, Param, register, resolve_params
from .rsr import pair_cosines
from .values import (EVAL_MAX_PAIRS, MIN_WORDS, check_values, knn_predict, load_values, normalise, pair_spearman,
                     pc1_correlation, rank_correlation, split_words)

MODES = ("faithful", "fast")
DEFAULT_LR = {"faithful": 1.0, "fast": 0.05}
KNN = 10  # training neighbours that predict a held-out word's value in `ValueVecLoss.evaluate`


# ------------------------------------------------------------------ pairs
@dataclass(frozen=True)
class ValuePairs:
    """Training pairs over n words: indices a, b into the word list, the target for (cos + 1) / 2."""

    a: np.ndarray  # (P,) int64
    b: np.ndarray  # (P,) int64
    label: np.ndarray  # (P,) float32 in [0, 1]
    positive: np.ndarray  # (P,) bool: a window neighbour (else a negative)

    def __len__(self) -> int:
        return len(self.label)


def build_pairs(values: np.ndarray, window: int = 3, negatives: int = 5, min_gap: float = 0.25,
                seed: int = 0) -> ValuePairs:
    """The article's pairs for (n,) values (see the module docstring); seeded random negatives.

    Both orders of a neighbour pair are kept (with main and context tables they differ).
    """
    v = normalise(values)
    n = len(v)
    if window < 1 or negatives < 0 or not 0.0 < min_gap < 1.0:
        raise W2VError(f"need window >= 1, negatives >= 0 and 0 < min_gap < 1, got {window}, {negatives}, {min_gap}")
    order = np.argsort(v, kind="stable")  # sorted position -> word
    sv = v[order]
    pos = np.arange(n)
    near = [(pos[:-k], pos[k:]) for k in range(1, min(window, n - 1) + 1)]  # (p, p + k) in sorted positions
    pa = np.concatenate([x for i, j in near for x in (i, j)])
    pb = np.concatenate([x for i, j in near for x in (j, i)])
    far = np.where(sv - sv[0] >= sv[-1] - sv, 0, n - 1)  # the furthest word in value: an end of the list
    gap = math.ceil(min_gap * n)
    left = np.maximum(pos - gap + 1, 0)  # positions 0 .. p - gap
    right = np.maximum(n - pos - gap, 0)  # positions p + gap .. n - 1
    u = np.random.default_rng(seed).integers(0, (left + right)[:, None], size=(n, negatives))
    rand = np.where(u < left[:, None], u, pos[:, None] + gap + (u - left[:, None]))  # (n, negatives)
    na = np.concatenate([pos, np.repeat(pos, negatives)])
    nb = np.concatenate([far, rand.reshape(-1)])
    d_pos, d_neg = np.abs(sv[pa] - sv[pb]), np.abs(sv[na] - sv[nb])
    label = np.concatenate([np.maximum(0.0, 1.0 - (2.0 * d_pos) ** 2), np.maximum(0.0, 1.0 - 3.0 * d_neg)])
    positive = np.concatenate([np.ones(len(pa), bool), np.zeros(len(na), bool)])
    a, b = order[np.concatenate([pa, na])], order[np.concatenate([pb, nb])]  # sorted positions -> words
    return ValuePairs(a.astype(np.int64), b.astype(np.int64), label.astype(np.float32), positive)


def value_loss(cos: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Mean squared error of (cos + 1) / 2 against the labels; cos and label (P,)."""
    return (((cos + 1.0) * 0.5 - label) ** 2).mean()


# --------------------------------------------------------------- training
@dataclass(frozen=True)
class ValueVecConfig:
    mode: str = "faithful"  # "faithful" (the article's averaged epoch updates) or "fast" (minibatch Adam)
    dim: int = 16  # embedding dimension
    window: int = 3  # positives: neighbours either side in value order
    negatives: int = 5  # random far words per word, besides the furthest one
    min_gap: float = 0.25  # random negatives are at least this share of the words away in value order
    epochs: int = 2000  # most passes over the pairs
    lr: float | None = None  # None: 1.0 (faithful, on each row's mean update) or 0.05 (fast, Adam)
    batch_size: int = 256  # fast mode: pairs per Adam step
    patience: int = 30  # stop after this many epochs without the loss improving by min_delta (0 = never)
    min_delta: float = 1e-5  # smallest loss improvement that counts
    seed: int = 0  # initial vectors, random negatives and batch order

    def __post_init__(self):
        if self.mode not in MODES:
            raise W2VError(f"mode must be one of {MODES}, got {self.mode!r}")
        for name in ("dim", "window", "negatives", "epochs", "batch_size", "patience", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise W2VError(f"{name} must be a whole number, got {value!r}")
            if value < (0 if name in ("negatives", "patience", "seed") else 1):
                raise W2VError(f"{name} must be at least {0 if name in ('negatives', 'patience', 'seed') else 1}, "
                               f"got {value}")
        if not (math.isfinite(self.min_delta) and self.min_delta >= 0):
            raise W2VError(f"min_delta must be a number, 0 or more, got {self.min_delta}")
        if not 0.0 < self.min_gap < 1.0:
            raise W2VError(f"min_gap must be between 0 and 1, got {self.min_gap}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise W2VError(f"lr must be a positive number, got {self.lr}")

    @property
    def learning_rate(self) -> float:
        return DEFAULT_LR[self.mode] if self.lr is None else float(self.lr)


@dataclass
class ValueVecResult:
    """A standalone ValueVec embedding: one unit vector per valued word, in the order given."""

    words: tuple[str, ...]
    values: np.ndarray  # (n,) the values as given
    vectors: np.ndarray  # (n, dim) float32 unit rows
    losses: list[float] = field(default_factory=list)  # loss of each epoch (before its update)
    stopped_early: bool = False

    def to_vectors(self):
        """A `Vectors` for queries and export (most_similar, save_word2vec_format, ...)."""
        from .vectors import Vectors

        return Vectors(list(self.words), self.vectors)

    def scores(self, max_pairs: int | None = EVAL_MAX_PAIRS, seed: int = 0) -> dict[str, float]:
        """Training-word metrics: pair Spearman and |r| of the first principal component."""
        return {"pair_rho": pair_spearman(self.vectors, self.values, max_pairs, seed),
                "pc1_r": abs(pc1_correlation(self.vectors, self.values))}


def train_valuevec(values: Mapping[str, float], cfg: ValueVecConfig = ValueVecConfig(),
                   on_epoch: Callable[[int, float], None] | None = None) -> ValueVecResult:
    """Embeddings for the words of {word: value} alone (no corpus); `on_epoch(epoch, loss)` listens."""
    values = check_values(values)
    words = tuple(values)
    v = np.array([values[w] for w in words])
    pairs = build_pairs(v, cfg.window, cfg.negatives, cfg.min_gap, cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    a, b = torch.from_numpy(pairs.a), torch.from_numpy(pairs.b)
    label = torch.from_numpy(pairs.label)
    run = _faithful if cfg.mode == "faithful" else _fast
    vectors, losses, early = run(len(words), a, b, label, cfg, gen, on_epoch)
    return ValueVecResult(words, v, vectors.numpy().astype(np.float32), losses, early)


class _Stopper:
    """Early stopping on the epoch loss: patience epochs without an improvement of min_delta."""

    def __init__(self, cfg: ValueVecConfig):
        self.patience, self.min_delta, self.best, self.wait = cfg.patience, cfg.min_delta, math.inf, 0

    def done(self, loss: float) -> bool:
        if not math.isfinite(loss):
            raise W2VError(f"the ValueVec loss became {loss}; lower lr and retry")
        if loss < self.best - self.min_delta:
            self.best, self.wait = loss, 0
        else:
            self.wait += 1
        return self.patience > 0 and self.wait >= self.patience


def _faithful(n, a, b, label, cfg, gen, on_epoch):
    """Main and context tables, one averaged update per epoch, unit rows after every update."""
    main = F.normalize(torch.randn(n, cfg.dim, generator=gen, dtype=torch.float64), dim=1)
    ctx = F.normalize(torch.randn(n, cfg.dim, generator=gen, dtype=torch.float64), dim=1)
    label = label.double()
    uses_a = torch.bincount(a, minlength=n).clamp_(min=1).double().unsqueeze(1)  # (n, 1) pairs per row
    uses_b = torch.bincount(b, minlength=n).clamp_(min=1).double().unsqueeze(1)
    stop, losses, lr = _Stopper(cfg), [], cfg.learning_rate
    for epoch in range(cfg.epochs):
        cos = (main[a] * ctx[b]).sum(1)  # (P,) rows are unit, so the dot product is the cosine
        err = (cos + 1.0) * 0.5 - label  # (P,) and d(err²)/d cos = err
        losses.append(float((err ** 2).mean()))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
        if stop.done(losses[-1]):
            return F.normalize(main + ctx, dim=1).float(), losses, True
        grad_main = torch.zeros_like(main).index_add_(0, a, err.unsqueeze(1) * ctx[b])
        grad_ctx = torch.zeros_like(ctx).index_add_(0, b, err.unsqueeze(1) * main[a])
        main = F.normalize(main - lr * grad_main / uses_a, dim=1)
        ctx = F.normalize(ctx - lr * grad_ctx / uses_b, dim=1)
    return F.normalize(main + ctx, dim=1).float(), losses, False


def _fast(n, a, b, label, cfg, gen, on_epoch):
    """One table, minibatch Adam on the same loss through autograd (cosines of normalised rows).

    Adam is written out: torch.optim's first step imports torch._dynamo, which takes seconds.
    """
    table = torch.randn(n, cfg.dim, generator=gen).requires_grad_(True)
    mean, sq, beta1, beta2, t, lr = torch.zeros_like(table), torch.zeros_like(table), 0.9, 0.999, 0, cfg.learning_rate
    stop, losses = _Stopper(cfg), []
    for epoch in range(cfg.epochs):
        perm = torch.randperm(len(label), generator=gen)
        total = 0.0
        for s in range(0, len(perm), cfg.batch_size):
            k = perm[s:s + cfg.batch_size]
            unit = F.normalize(table, dim=1)
            loss = value_loss((unit[a[k]] * unit[b[k]]).sum(1), label[k])
            table.grad = None
            loss.backward()
            with torch.no_grad():
                t += 1
                mean.mul_(beta1).add_(table.grad, alpha=1 - beta1)
                sq.mul_(beta2).addcmul_(table.grad, table.grad, value=1 - beta2)
                table -= lr * (mean / (1 - beta1 ** t)) / ((sq / (1 - beta2 ** t)).sqrt_() + 1e-8)
            total += loss.item() * len(k)
        losses.append(total / len(label))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
        if stop.done(losses[-1]):
            return F.normalize(table.detach(), dim=1), losses, True
    return F.normalize(table.detach(), dim=1), losses, False


# ------------------------------------------------------------ the plug-in
class ValueVecLoss:
    """The ValueVec loss on a vocabulary's valued words, as an `ExtraLoss` ("valuevec")."""

    def __init__(self, values: Mapping[str, float], key_to_index: Mapping[str, int], device="cpu", *,
                 weight: float = 0.0, name: str = "valuevec", pairs: int = 4096, every: int = 1, window: int = 3,
                 negatives: int = 5, heldout: float = 0.2, seed: int = 0, index_to_key=None,
                 benchmarks: Mapping[str, list] | None = None):
        self.name, self.weight, self.every, self.n_pairs = name, weight, int(every), int(pairs)
        self.device = torch.device(device)
        if self.every < 1 or self.n_pairs < 1:
            raise W2VError(f"valuevec: every and pairs must be at least 1, got {every} and {pairs}")
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

    def loss(self, ctx) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        a, b, label = self._pool
        if len(label) > self.n_pairs:
            k = torch.randint(0, len(label), (self.n_pairs,), generator=ctx.generator, device=self.device)
            a, b, label = a[k], b[k], label[k]
        cos = pair_cosines(ctx.gather(self._train_ids), a, b)  # (n,) over the training words' rows
        mae = ((cos.detach() + 1.0) * 0.5 - label).abs().mean()
        return value_loss(cos, label), {"valuevec/mae": mae}

    @torch.no_grad()
    def evaluate(self, vectors: torch.Tensor | np.ndarray) -> dict[str, float]:
        """Value metrics of the (V, d) word table, vocabulary order (a tensor, or `Vectors.vectors`).

        Pair rho and |PC1 r| within the held-out and within the training words, the Spearman of
        held-out words' values predicted from their nearest training words, and the benchmarks.
        """
        table = vectors.detach().cpu().numpy() if isinstance(vectors, torch.Tensor) else np.asarray(vectors)
        out = {}
        for part, (ids, v) in self._eval.items():
            rows = table[ids]
            out[f"valuevec/rho_{part}"] = pair_spearman(rows, v)
            out[f"valuevec/pc1_{part}"] = abs(pc1_correlation(rows, v))
        if "heldout" in self._eval:
            (held, v_held), (train, v_train) = self._eval["heldout"], self._eval["train"]
            predicted = knn_predict(table[train], v_train, table[held], KNN)
            out["valuevec/knn_rho_heldout"] = rank_correlation(predicted, v_held)
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
    "benchmarks": Param(1, 0, 1, "1: also score SimLex-999 / WordSim-353 at each evaluation (eval/...)"),
}


@register("valuevec", "ValueVec: make cosine similarity follow a continuous word value (valence, a THINGS "
                      "rating, or your own word,value file)", params=PARAMS)
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
                        heldout=p["heldout"], seed=p["seed"], index_to_key=setup.vocab.index_to_key,
                        benchmarks=bench)
