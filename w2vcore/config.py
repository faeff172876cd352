"""Frozen, validated configuration: one dataclass per concern.

A run is fully described by a `RunConfig` (corpus + training). It is saved as
`config.json` next to every run, and `RunConfig.from_dict(json.load(...))` rebuilds it.
Every check lives in `__post_init__` and raises `W2VError` with a message that says
what to change, so pages and the CLI can show it as is.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import W2VError

SOURCE_KINDS = ("default", "text", "brown")
SENTENCE_MODES = ("line", "punct")
OPTIMIZERS = ("sgd", "adam")
DEVICES = ("auto", "cpu", "cuda", "mps")
ENGINES = ("auto", "torch", "numba")


def _positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise W2VError(f"{name} must be a finite number, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "at least 1" if isinstance(value, int) else "above 0"
        raise W2VError(f"{name} must be {bound}, got {value}")


@dataclass(frozen=True)
class TokenizerConfig:
    lowercase: bool = True  # fold case before filtering
    keep_digits: bool = False  # keep 0-9 (the RSR notebook keeps only a-z)
    min_token_len: int = 1  # drop shorter tokens
    sentences: str = "line"  # "line": each line is a sentence; "punct": also split at . ! ?
    phrases: tuple[str, ...] = ()  # multi-word expressions joined into one token: "air conditioner" -> air_conditioner

    def __post_init__(self):
        if self.sentences not in SENTENCE_MODES:
            raise W2VError(f"sentences must be one of {SENTENCE_MODES}, got {self.sentences!r}")
        _positive("min_token_len", self.min_token_len)
        object.__setattr__(self, "phrases", tuple(self.phrases))


@dataclass(frozen=True)
class CorpusSource:
    kind: str = "default"  # "default" (gensim's bundled wiki sample + Lee), "text" (file or folder), "brown"
    path: str = ""  # file or folder for "text" and "brown"; uploads are saved to a file first
    name: str = ""  # display name (e.g. the uploaded file's name)

    def __post_init__(self):
        if self.kind not in SOURCE_KINDS:
            raise W2VError(f"corpus kind must be one of {SOURCE_KINDS}, got {self.kind!r}")
        if self.kind != "default" and not self.path:
            raise W2VError(f"a '{self.kind}' corpus needs a path to a file or folder")

    @property
    def label(self) -> str:
        return self.name or (self.path if self.kind != "default" else "built-in (gensim wiki sample + Lee)")


@dataclass(frozen=True)
class CorpusConfig:
    source: CorpusSource = field(default_factory=CorpusSource)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    min_count: int = 5  # drop words seen fewer times
    max_vocab_size: int | None = None  # keep only the most frequent words
    sample: float = 1e-3  # subsampling threshold for frequent words (0 disables)
    ns_exponent: float = 0.75  # noise distribution = unigram ** ns_exponent
    val_fraction: float = 0.0  # share of documents held out for the validation loss
    split_seed: int = 0  # which documents are held out

    def __post_init__(self):
        _positive("min_count", self.min_count)
        if self.max_vocab_size is not None:
            _positive("max_vocab_size", self.max_vocab_size)
            if self.max_vocab_size < 2:
                raise W2VError("max_vocab_size must be at least 2")
        _positive("sample", self.sample, allow_zero=True)
        if not math.isfinite(self.ns_exponent):
            raise W2VError(f"ns_exponent must be a finite number, got {self.ns_exponent}")
        if not 0.0 <= self.val_fraction < 0.9:
            raise W2VError(f"val_fraction must be in [0, 0.9), got {self.val_fraction}")


@dataclass(frozen=True)
class LossSpec:
    """An extra loss from the registry (`w2vcore.losses`), by name, with its weight alpha."""

    name: str
    weight: float = 0.0  # alpha in L = (1 - alpha) * L_w2v + alpha * L_extra
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not 0.0 <= self.weight <= 1.0 or not math.isfinite(self.weight):
            raise W2VError(f"the weight of loss '{self.name}' must be in [0, 1], got {self.weight}")


@dataclass(frozen=True)
class TrainConfig:
    dim: int = 100  # embedding dimension
    window: int = 5  # max distance between centre and context word (word2vec's reduced window)
    negative: int = 5  # noise words per positive pair
    epochs: int = 5  # passes over the training documents
    batch_size: int = 4096  # positive (centre, context) pairs per optimiser step
    lr: float = 0.025  # initial learning rate (SGD decays it linearly, as word2vec does)
    min_lr_ratio: float = 1e-4  # SGD's final lr = lr * min_lr_ratio
    optimizer: str = "sgd"  # "sgd" (word2vec's schedule) or "adam" (as in the notebooks)
    seed: int = 1  # one seed fixes init, subsampling, windows, negatives and batch order
    device: str = "auto"  # auto -> cuda, then mps, then cpu
    engine: str = "auto"  # "numba": fused CPU kernel (SGD); "torch": any device; auto = numba on CPU SGD, else torch
    threads: int = 0  # CPU SGD worker threads updating the tables Hogwild-style; 0 = one per core, 1 = bit-reproducible
    chunk_tokens: int = 1 << 20  # corpus tokens moved to the device at a time
    log_every_s: float = 0.5  # seconds between logged metric lines (one host sync each)
    eval_every_s: float = 5.0  # seconds between validation-loss evaluations (when a split exists)
    early_stopping_patience: int = 0  # stop after this many evals without val-loss improvement (0 = off)
    checkpoint_every_s: float = 60.0  # seconds between checkpoints (and one at each epoch end)
    snapshots: int = 10  # vector snapshots across training (the "over training" view); 0 = none
    losses: tuple[LossSpec, ...] = ()  # extra losses, e.g. LossSpec("rsr", 0.1)

    def __post_init__(self):
        for name in ("dim", "window", "negative", "epochs", "batch_size", "chunk_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise W2VError(f"{name} must be a whole number, got {value!r}")
            _positive(name, value)
        _positive("lr", self.lr)
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise W2VError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.lr > 10:
            raise W2VError(f"lr={self.lr} is far too large; word2vec uses 0.025 (SGD) or 0.001 (Adam)")
        if self.optimizer not in OPTIMIZERS:
            raise W2VError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.device not in DEVICES:
            raise W2VError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.engine not in ENGINES:
            raise W2VError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        for name in ("log_every_s", "eval_every_s", "checkpoint_every_s"):
            _positive(name, getattr(self, name))
        _positive("early_stopping_patience", self.early_stopping_patience, allow_zero=True)
        _positive("threads", self.threads, allow_zero=True)
        _positive("snapshots", self.snapshots, allow_zero=True)
        if self.snapshots > 100:
            raise W2VError(f"snapshots={self.snapshots}: keep it at most 100 (each is a copy of the top vectors)")
        losses = tuple(s if isinstance(s, LossSpec) else LossSpec(**s) for s in self.losses)
        names = [s.name for s in losses]
        if len(set(names)) != len(names):
            raise W2VError(f"each extra loss may appear once, got {names}")
        if sum(s.weight for s in losses) > 1.0:
            raise W2VError("the extra losses' weights must sum to at most 1 (the word2vec loss keeps 1 - their sum)")
        object.__setattr__(self, "losses", losses)


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data_dir: str | None = None  # the user's reference-data folder (THINGS, word lists) for extra losses

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        try:
            corpus = dict(d.get("corpus", {}))
            corpus["source"] = CorpusSource(**corpus.get("source", {}))
            tok = dict(corpus.get("tokenizer", {}))
            tok["phrases"] = tuple(tok.get("phrases", ()))
            corpus["tokenizer"] = TokenizerConfig(**tok)
            train = dict(d.get("train", {}))
            train["losses"] = tuple(LossSpec(**s) for s in train.get("losses", ()))
            return cls(name=d.get("name", "run"), corpus=CorpusConfig(**corpus), train=TrainConfig(**train),
                       data_dir=d.get("data_dir"))
        except TypeError as e:  # unknown or missing field in a hand-edited config
            raise W2VError(f"config does not match this version of w2vcore: {e}") from None
