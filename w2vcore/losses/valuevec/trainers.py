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
- the `valuevec` extra loss (`loss.py`): the same loss on the input table during
  skip-gram training, for the vocabulary's valued words.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import W2VError
from ...compiled import adam_
from .values import EVAL_MAX_PAIRS, check_values, normalise, pair_spearman, pc1_correlation

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
        from ...vectors import Vectors

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

    Adam is the losses' own (`compiled.adam_`): torch.optim's first step imports torch._dynamo, which takes seconds.
    """
    table = torch.randn(n, cfg.dim, generator=gen).requires_grad_(True)
    mean, sq, t, lr = torch.zeros_like(table), torch.zeros_like(table), 0, cfg.learning_rate
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
            t += 1
            adam_(table, table.grad, mean, sq, t, lr)
            total += loss.item() * len(k)
        losses.append(total / len(label))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
        if stop.done(losses[-1]):
            return F.normalize(table.detach(), dim=1), losses, True
    return F.normalize(table.detach(), dim=1), losses, False
