"""Downstream text classification: do a run's vectors help a small classifier?

The model is deliberately light: an embedding table, mean pooling (or an attention pooling
with one learned query vector) over an example's tokens, then one linear layer. The table
starts from a run's `Vectors` ("pretrained"; words the run does not know get random rows) or
from random rows ("random"), and is either frozen or fine-tuned. Tokens outside the table
are dropped, as word2vec drops unknown words.

`compare_modes` scores the four init x training combinations on the same splits; `ablate`
trains one word2vec run per value of a hyperparameter and scores each run downstream.
Everything is seeded and runs on the CPU; a fit on ~8,000 Brown windows takes seconds.
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import TrainConfig
from .errors import W2VError
from .textsets import TextSet
from .vectors import Vectors

POOLINGS = ("mean", "attention")
INITS = ("pretrained", "random")
ABLATION_PARAMS = ("dim", "window", "negative")
MODES = (("pretrained", False), ("pretrained", True), ("random", False), ("random", True))  # (init, finetune)


@dataclass(frozen=True)
class ClassifierConfig:
    pooling: str = "mean"  # "mean" or "attention" (softmax weights from one learned query vector)
    init: str = "pretrained"  # "pretrained": rows from a run's vectors, unknown words random; "random"
    finetune: bool = False  # train the embedding table too (False: it stays exactly as initialised)
    dim: int = 100  # table width when no vectors are given (with vectors: their width)
    epochs: int = 8  # passes over the training examples
    batch_size: int = 64  # examples per step
    lr: float = 5e-3  # Adam lr of the pooling query and the linear layer
    embed_lr: float = 1e-3  # SparseAdam lr of the table when fine-tuning
    weight_decay: float = 0.0  # L2 on the linear layer
    min_count: int = 1  # training words seen fewer times get no row (unless the run knows them)
    max_len: int = 512  # tokens kept per example (the first ones)
    seed: int = 0  # fixes the random rows, the layer init and the batch order

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise W2VError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.init not in INITS:
            raise W2VError(f"init must be one of {INITS}, got {self.init!r}")
        for name in ("dim", "epochs", "batch_size", "min_count", "max_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise W2VError(f"{name} must be a whole number of at least 1, got {value!r}")
        for name in ("lr", "embed_lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise W2VError(f"{name} must be a number above 0, got {value!r}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise W2VError(f"weight_decay must be 0 or more, got {self.weight_decay}")

    @property
    def mode(self) -> str:
        return f"{self.init}-{'finetuned' if self.finetune else 'frozen'}"


@dataclass(frozen=True)
class Coverage:
    """How much of the training text the run's vocabulary covers."""

    type_share: float  # distinct training words the run knows / distinct training words
    token_share: float  # training tokens the run knows / training tokens
    n_types: int  # distinct training words
    n_known: int  # of which the run knows


@dataclass(frozen=True)
class DownstreamScore:
    """Held-out scores of one fit, beside the majority-class baseline on the same split."""

    accuracy: float
    macro_f1: float  # unweighted mean of per-class F1 over classes in the test labels or predictions
    majority_accuracy: float  # always predicting the training split's most frequent class
    majority_macro_f1: float
    n_train: int
    n_test: int
    coverage: Coverage | None  # None for random init
    seconds: float  # fit + predict


class TextClassifier(torch.nn.Module):
    """Pooled embeddings -> standardised -> linear layer. Row 0 of the table is padding (zero).

    The table is not an autograd parameter: fine-tuning updates the rows a batch touches with
    `RowAdam`, which is much cheaper than sparse gradients + SparseAdam on the CPU.
    """

    def __init__(self, table: torch.Tensor, n_classes: int, pooling: str, gen: torch.Generator):
        super().__init__()
        d = table.shape[1]
        self.register_buffer("table", table)  # (V + 1, d)
        self.query = torch.nn.Parameter(torch.zeros(d)) if pooling == "attention" else None  # zero = mean pooling
        bound = 1 / math.sqrt(d)  # nn.Linear's init, from our generator
        self.weight = torch.nn.Parameter((torch.rand(n_classes, d, generator=gen) * 2 - 1) * bound)
        self.bias = torch.nn.Parameter((torch.rand(n_classes, generator=gen) * 2 - 1) * bound)
        self.register_buffer("shift", torch.zeros(d))  # pooled-feature standardisation, set by `standardise`
        self.register_buffer("scale", torch.ones(d))

    @torch.no_grad()
    def standardise(self, pooled: torch.Tensor) -> None:
        """Fix shift/scale to the mean and std of the initial pooled training features (n, d).

        Mean-pooled word vectors share a large common component (frequent words), which makes
        the linear layer badly conditioned; a fixed affine map is the same model, better posed.
        """
        self.shift.copy_(pooled.mean(0))
        self.scale.copy_(pooled.std(0).clamp(min=1e-6) if len(pooled) > 1 else torch.ones_like(self.scale))

    def pool(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) int64 row ids, 0 = padding -> (B, d) pooled vectors; an all-padding row pools to 0."""
        return self.pool_embedded(F.embedding(ids, self.table), ids > 0)

    def pool_embedded(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L, d) token vectors and (B, L) bool mask of real tokens -> (B, d)."""
        mask = mask.to(emb.dtype)
        if self.query is None:
            weights = mask / mask.sum(1, keepdim=True).clamp(min=1)
        else:
            scores = (emb @ self.query).masked_fill(mask == 0, -1e30)  # (B, L)
            weights = torch.softmax(scores, dim=1) * mask
        return torch.einsum("bl,bld->bd", weights, emb)

    def head(self, pooled: torch.Tensor) -> torch.Tensor:
        return ((pooled - self.shift) / self.scale) @ self.weight.T + self.bias  # (B, n_classes) logits

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(ids))


class RowAdam:
    """Adam on the rows of a table that a batch touches: torch's SparseAdam update, without sparse tensors.

    Untouched rows keep their moments and do not move; one step counter for the table.
    """

    def __init__(self, table: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.table, self.lr, self.betas, self.eps = table, lr, betas, eps
        self.m, self.v = torch.zeros_like(table), torch.zeros_like(table)
        self.t = 0

    @torch.no_grad()
    def step(self, rows: torch.Tensor, grad: torch.Tensor) -> None:
        """rows: (R,) distinct row ids; grad: (R, d) their gradients."""
        b1, b2 = self.betas
        self.t += 1
        m = self.m.index_select(0, rows).mul_(b1).add_(grad, alpha=1 - b1)  # (R, d)
        v = self.v.index_select(0, rows).mul_(b2).addcmul_(grad, grad, value=1 - b2)
        self.m.index_copy_(0, rows, m)
        self.v.index_copy_(0, rows, v)
        size = self.lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)  # as torch's SparseAdam
        step = m.div_(v.sqrt_().add_(self.eps)).mul_(size)
        self.table.index_add_(0, rows, step, alpha=-1.0)


@dataclass
class FittedClassifier:
    """A trained classifier with its word -> row index; `predict` takes token sequences."""

    model: TextClassifier
    key_to_index: dict[str, int]  # word -> table row (rows start at 1)
    config: ClassifierConfig
    coverage: Coverage | None
    losses: list[float]  # mean training loss per epoch

    def encode(self, docs: Sequence[Sequence[str]]) -> list[np.ndarray]:
        return _encode(docs, self.key_to_index, self.config.max_len)

    @torch.no_grad()
    def predict(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """(n,) int64 predicted class indices."""
        self.model.eval()
        encoded = self.encode(docs)
        out = [self.model(_pad(encoded[i:i + 1024])).argmax(1) for i in range(0, len(encoded), 1024)]
        return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def build_table(docs: Sequence[Sequence[str]], vectors: Vectors | None, cfg: ClassifierConfig,
                gen: torch.Generator) -> tuple[dict[str, int], torch.Tensor, Coverage | None]:
    """(word -> row, (V + 1, d) float32 table, coverage) for the training `docs`.

    Rows: the run's words (pretrained init) and the training words seen `min_count` times.
    Pretrained rows copy the run's vectors; every other row is N(0, s) with s the run vectors'
    standard deviation (so random and pretrained rows have the same scale), or 1/sqrt(dim).
    """
    counts = Counter(w for doc in docs for w in doc)
    own = [w for w, c in counts.items() if c >= cfg.min_count]
    coverage = None
    if cfg.init == "pretrained":
        if vectors is None:
            raise W2VError("pretrained init needs a run's vectors; pass them, or use init='random'")
        known = [w for w in counts if w in vectors.key_to_index]
        if not known:
            raise W2VError(f"the run's vocabulary ({len(vectors)} words, e.g. {vectors.index_to_key[:3]}) shares no "
                           f"word with the texts (e.g. {list(counts)[:3]}); was it trained on another language "
                           "or with another tokenizer?")
        total = sum(counts.values())
        coverage = Coverage(len(known) / len(counts), sum(counts[w] for w in known) / total, len(counts), len(known))
        extra = [w for w in own if w not in vectors.key_to_index]
        words = list(vectors.index_to_key) + extra
    else:
        words = own
    dim = vectors.vector_size if vectors is not None else cfg.dim
    scale = float(vectors.vectors.std()) if vectors is not None else 1 / math.sqrt(dim)
    table = torch.randn(len(words) + 1, dim, generator=gen) * scale
    table[0] = 0
    if cfg.init == "pretrained":
        table[1:len(vectors) + 1] = torch.from_numpy(np.array(vectors.vectors))
    return {w: i + 1 for i, w in enumerate(words)}, table, coverage


def fit_classifier(docs: Sequence[Sequence[str]], labels: np.ndarray, n_classes: int, vectors: Vectors | None,
                   cfg: ClassifierConfig = ClassifierConfig()) -> FittedClassifier:
    """Train on token sequences `docs` with class indices `labels` (n,); Adam on cross-entropy."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(docs) != len(labels) or len(docs) == 0:
        raise W2VError(f"need one label per example and at least one example: {len(docs)} examples, "
                       f"{len(labels)} labels")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise W2VError(f"labels must be class indices 0..{n_classes - 1}")
    gen = torch.Generator().manual_seed(cfg.seed)
    key_to_index, table, coverage = build_table(docs, vectors, cfg, gen)
    model = TextClassifier(table, n_classes, cfg.pooling, gen)
    optimizer = torch.optim.Adam([p for p in (model.query, model.weight, model.bias) if p is not None], lr=cfg.lr)
    table_optimizer = RowAdam(model.table, cfg.embed_lr) if cfg.finetune else None
    encoded = _encode(docs, key_to_index, cfg.max_len)
    with torch.no_grad():
        pooled = torch.cat([model.pool(_pad(encoded[i:i + 1024])) for i in range(0, len(encoded), 1024)])  # (n, d)
    model.standardise(pooled)
    fixed_features = not cfg.finetune and cfg.pooling == "mean"  # the pooled vectors never change: pool once
    y = torch.from_numpy(labels)
    losses = []
    for _ in range(cfg.epochs):
        order = torch.randperm(len(encoded), generator=gen)
        total = 0.0
        for start in range(0, len(order), cfg.batch_size):
            batch = order[start:start + cfg.batch_size]
            if fixed_features:
                logits = model.head(pooled[batch])
            else:
                ids = _pad([encoded[i] for i in batch.tolist()])  # (B, L)
                if table_optimizer is None:
                    logits = model(ids)
                else:  # gradients for the touched rows only: (R, d) leaf, R = distinct ids in the batch
                    rows, inverse = torch.unique(ids, return_inverse=True)
                    touched = model.table[rows].requires_grad_()
                    logits = model.head(model.pool_embedded(F.embedding(inverse, touched), ids > 0))
            loss = F.cross_entropy(logits, y[batch])
            if cfg.weight_decay:
                loss = loss + cfg.weight_decay * model.weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if table_optimizer is not None:
                real = rows > 0  # the padding row stays zero
                table_optimizer.step(rows[real], touched.grad[real])
            total += float(loss.detach()) * len(batch)
        if not math.isfinite(total):
            raise W2VError("the classifier's loss became NaN or infinite; lower lr or embed_lr")
        losses.append(total / len(encoded))
    return FittedClassifier(model, key_to_index, cfg, coverage, losses)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class F1 over the classes present in `y_true` or `y_pred` (sklearn's 'macro')."""
    classes = np.union1d(y_true, y_pred)
    f1 = []
    for c in classes:
        tp = np.sum((y_pred == c) & (y_true == c))
        denom = np.sum(y_pred == c) + np.sum(y_true == c)
        f1.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1)) if f1 else float("nan")


def evaluate(textset: TextSet, vectors: Vectors | None, cfg: ClassifierConfig = ClassifierConfig(),
             test_fraction: float = 0.2, split_seed: int = 0) -> DownstreamScore:
    """Fit on a grouped split of `textset` and score the held-out part (see `TextSet.split`)."""
    started = time.perf_counter()
    train_idx, test_idx = textset.split(test_fraction, split_seed)
    fitted = fit_classifier([textset.docs[i] for i in train_idx], textset.labels[train_idx],
                            len(textset.classes), vectors, cfg)
    y_true = textset.labels[test_idx]
    y_pred = fitted.predict([textset.docs[i] for i in test_idx])
    majority = np.full_like(y_true, np.bincount(textset.labels[train_idx]).argmax())
    return DownstreamScore(float(np.mean(y_pred == y_true)), macro_f1(y_true, y_pred),
                           float(np.mean(majority == y_true)), macro_f1(y_true, majority),
                           len(train_idx), len(test_idx), fitted.coverage, time.perf_counter() - started)


def summarize(scores: Sequence[DownstreamScore], **fields) -> dict:
    """One table row: `fields`, then mean and spread (sample std, 0 for one seed) of each score."""
    row = dict(fields)
    for key in ("accuracy", "macro_f1", "majority_accuracy", "majority_macro_f1"):
        values = np.array([getattr(s, key) for s in scores], dtype=np.float64)
        row[key] = float(values.mean())
        row[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    coverage = scores[0].coverage
    row["token_coverage"] = coverage.token_share if coverage else float("nan")
    row["seconds"] = float(np.mean([s.seconds for s in scores]))
    return row


def compare_modes(textset: TextSet, vectors: Vectors, cfg: ClassifierConfig = ClassifierConfig(),
                  seeds: Sequence[int] = (0, 1, 2), test_fraction: float = 0.2) -> list[dict]:
    """Pretrained/random x frozen/fine-tuned, each over `seeds`; one row per mode.

    Seed s fixes both the split (split_seed=s) and the classifier (cfg.seed=s), so every mode
    sees the same splits and the spread includes split-to-split variation.
    """
    if not seeds:
        raise W2VError("give at least one seed")
    rows = []
    for init, finetune in MODES:
        mode_cfg = dataclasses.replace(cfg, init=init, finetune=finetune)
        scores = [evaluate(textset, vectors, dataclasses.replace(mode_cfg, seed=s), test_fraction, s) for s in seeds]
        rows.append(summarize(scores, mode=mode_cfg.mode))
    return rows


def ablate(data, base: TrainConfig, param: str, values: Sequence[int], textset: TextSet,
           cfg: ClassifierConfig = ClassifierConfig(), seeds: Sequence[int] = (0, 1, 2), test_fraction: float = 0.2,
           stop: threading.Event | None = None, progress=None) -> list[dict]:
    """Train one word2vec run per value of `param` (dim, window or negative) and score it downstream.

    data: a prepared corpus (`corpus.prepare`); base: the TrainConfig the values are put into.
    Each row: the value, the run's training seconds and `summarize`'s scores for `cfg`
    (pretrained init) over `seeds`. progress(done, total), if given, is called after each value;
    setting `stop` ends the sweep after the current run (rows so far are returned).
    """
    from .train import train  # torch training loop; imported here so loading this module stays light

    if param not in ABLATION_PARAMS:
        raise W2VError(f"the ablation parameter must be one of {ABLATION_PARAMS}, got {param!r}")
    values = list(values)
    if not values:
        raise W2VError(f"give at least one value of {param}")
    if len(set(values)) != len(values):
        raise W2VError(f"the values of {param} repeat: {values}")
    if not seeds:
        raise W2VError("give at least one seed")
    configs = [dataclasses.replace(base, **{param: v}) for v in values]  # validates every value first
    cfg = dataclasses.replace(cfg, init="pretrained")
    rows = []
    for k, (value, train_cfg) in enumerate(zip(values, configs)):
        if stop is not None and stop.is_set():
            break
        started = time.perf_counter()
        vectors = train(train_cfg, data, stop=stop).vectors
        train_seconds = time.perf_counter() - started
        if stop is not None and stop.is_set():  # the run was cut short: do not score it
            break
        scores = [evaluate(textset, vectors, dataclasses.replace(cfg, seed=s), test_fraction, s) for s in seeds]
        rows.append(summarize(scores, **{param: value, "train_seconds": train_seconds}))
        if progress is not None:
            progress(k + 1, len(values))
    return rows


def format_table(rows: Sequence[dict], key: str = "mode") -> str:
    """A Markdown table of `compare_modes` / `ablate` rows, scores as mean ± std."""
    lines = [f"| {key} | accuracy | macro-F1 | majority acc | majority F1 | token coverage | s/fit |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        cov = "—" if math.isnan(r["token_coverage"]) else f"{r['token_coverage']:.1%}"
        lines.append(f"| {r[key]} | {r['accuracy']:.3f} ± {r['accuracy_std']:.3f} | "
                     f"{r['macro_f1']:.3f} ± {r['macro_f1_std']:.3f} | {r['majority_accuracy']:.3f} | "
                     f"{r['majority_macro_f1']:.3f} | {cov} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def _encode(docs: Sequence[Sequence[str]], key_to_index: dict[str, int], max_len: int) -> list[np.ndarray]:
    """Row ids per example, unknown tokens dropped, at most `max_len`."""
    out = []
    for doc in docs:
        ids = [i for i in map(key_to_index.get, doc) if i is not None][:max_len]
        out.append(np.array(ids, dtype=np.int64))
    return out


def _pad(batch: Sequence[np.ndarray]) -> torch.Tensor:
    """(B, L) int64, zero-padded to the longest example (L >= 1)."""
    out = np.zeros((len(batch), max([1] + [len(a) for a in batch])), dtype=np.int64)
    for row, ids in zip(out, batch):
        row[:len(ids)] = ids
    return torch.from_numpy(out)
