"""Frozen, validated configuration: one dataclass per concern.

A run is fully described by a `RunConfig` (corpus + training). It is saved as
`config.json` next to every run, and `RunConfig.from_dict(json.load(...))` rebuilds it.
Every check lives in `__post_init__` and raises `W2VError` with a message that says
what to change, so pages and the CLI can show it as is.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .charset import ENCODINGS
from .errors import W2VError

SOURCE_KINDS = ("default", "text", "brown")
SENTENCE_MODES = ("line", "punct")
LETTERS = ("ascii", "unicode")
OPTIMIZERS = ("sgd", "adam")
DEVICES = ("auto", "cpu", "cuda", "mps")
ENGINES = ("auto", "torch", "numba")
SYNC_MODES = ("sum", "mean")  # how torchrun processes combine their tables (w2vcore.distributed.synced)
SYNC_ROWS = ("auto", "touched", "all")  # which table rows a sync sends (w2vcore.distributed.synced)
MAX_SEED = 2**32 - 1  # every generator accepts it, including the per-thread torch seeds seed * 7919 + slot
MAX_THREADS = 256
MAX_TOKEN_LEN = 1000  # min_token_len above this keeps no real word


def _check_types(obj: Any) -> None:
    """Check every field of a config dataclass against its annotation, normalising in place.

    Driven by the annotations, so a new field is covered without new code: bool fields take
    only bools, int fields only whole numbers (not bools, not 2.5), float fields any finite
    number (stored as float), str fields text without NUL bytes, `X | None` None or X,
    `tuple[X, ...]` a list or tuple of X, nested configs an instance or a dict of its fields.
    numpy scalars become Python numbers, so config.json stays plain JSON.
    """
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        checked = _check_value(f.name, value, hints[f.name])
        if checked is not value:
            object.__setattr__(obj, f.name, checked)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_value(name: str, value: Any, kind: Any) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _check_value(name, value, inner)
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            raise W2VError(f"{name} must be a list, got {_show(value)}")
        return tuple(_check_value(f"{name}[{i}]", v, args[0]) for i, v in enumerate(value))
    if origin is dict:
        return _check_mapping(name, value)
    if dataclasses.is_dataclass(kind):
        if isinstance(value, kind):
            return value
        if not isinstance(value, dict):
            raise W2VError(f"{name} must be a {kind.__name__} (or a dict of its fields), got {_show(value)}")
        fields = {f.name: f for f in dataclasses.fields(kind)}
        unknown = sorted(set(value) - set(fields))
        missing = [n for n, f in fields.items() if n not in value
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if unknown or missing:
            problem = f"has no field(s) {unknown}" if unknown else f"needs the field(s) {missing}"
            raise W2VError(f"{name} {problem}; is the config from another version of w2vcore?")
        return kind(**value)
    if kind is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise W2VError(f"{name} must be true or false, got {_show(value)}")
        return bool(value)
    if kind is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise W2VError(f"{name} must be a whole number, got {_show(value)}")
        return int(value)
    if kind is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise W2VError(f"{name} must be a number, got {_show(value)}")
        if not math.isfinite(value):
            raise W2VError(f"{name} must be a finite number, got {value}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise W2VError(f"{name} must be text, got {_show(value)}")
        if "\x00" in value:
            raise W2VError(f"{name} must not contain NUL characters")
        return value
    return value  # Any


def _check_mapping(name: str, value: Any) -> dict:
    """A dict with text keys whose numbers are finite (loss parameters)."""
    if not isinstance(value, dict):
        raise W2VError(f"{name} must be a dict, got {_show(value)}")
    for key, v in value.items():
        if not isinstance(key, str):
            raise W2VError(f"{name} keys must be text, got {key!r}")
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            raise W2VError(f"{name}[{key!r}] must be a finite number, got {v}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}... ({type(value).__name__})" if len(text) > 60 else f"{text} ({type(value).__name__})"


def _in_range(name: str, value: float, low: float | None = None, high: float | None = None, *,
              low_open: bool = False) -> None:
    """W2VError unless low <= value <= high (low < value with low_open); None = unbounded."""
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        if low_open:
            bound = f"above {_num(low)}" + (f" and at most {_num(high)}" if high is not None else "")
        elif high is None:
            bound = f"at least {_num(low)}" if isinstance(value, int) else f"{_num(low)} or more"
        elif low is None:
            bound = f"at most {_num(high)}"
        else:
            bound = f"between {_num(low)} and {_num(high)}"
        raise W2VError(f"{name} must be {bound}, got {value}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise W2VError(f"{name} must be one of {choices}, got {value!r}")


@dataclass(frozen=True)
class TokenizerConfig:
    lowercase: bool = True  # fold case before filtering
    keep_digits: bool = False  # keep 0-9 (the RSR notebook keeps only a-z)
    min_token_len: int = 1  # drop shorter tokens
    sentences: str = "line"  # "line": each line is a sentence; "punct": also split at . ! ?
    phrases: tuple[str, ...] = ()  # multi-word expressions joined into one token: "air conditioner" -> air_conditioner
    letters: str = "ascii"  # "ascii": the notebook's a-z; "unicode": letters of any script, NFC-normalised

    def __post_init__(self):
        _check_types(self)
        _one_of("sentences", self.sentences, SENTENCE_MODES)
        _one_of("letters", self.letters, LETTERS)
        _in_range("min_token_len", self.min_token_len, 1, MAX_TOKEN_LEN)


@dataclass(frozen=True)
class CorpusSource:
    kind: str = "default"  # "default" (gensim's bundled wiki sample + Lee), "text" (file or folder), "brown"
    path: str = ""  # file or folder for "text" and "brown"; uploads are saved to a file first
    name: str = ""  # display name (e.g. the uploaded file's name)
    encoding: str = "utf-8"  # of the files: utf-8, utf-16, latin-1, cp1252 or auto (w2vcore.charset)

    def __post_init__(self):
        _check_types(self)
        _one_of("encoding", self.encoding, ENCODINGS)
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
        _check_types(self)
        _in_range("min_count", self.min_count, 1)
        if self.max_vocab_size is not None:
            _in_range("max_vocab_size", self.max_vocab_size, 2)
        _in_range("sample", self.sample, 0.0)
        _in_range("ns_exponent", self.ns_exponent, -1.0, 1.0)  # 1: the unigram, 0: uniform, < 0 favours rare words
        if not 0.0 <= self.val_fraction < 0.9:
            raise W2VError(f"val_fraction must be in [0, 0.9), got {self.val_fraction}")
        _in_range("split_seed", self.split_seed, 0, MAX_SEED)


@dataclass(frozen=True)
class LossSpec:
    """An extra loss from the registry (`w2vcore.losses`), by name, with its weight alpha."""

    name: str
    weight: float = 0.0  # alpha in L = (1 - alpha) * L_w2v + alpha * L_extra
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        _check_types(self)
        if not self.name:
            raise W2VError("an extra loss needs a name")
        if not 0.0 <= self.weight <= 1.0:
            raise W2VError(f"the weight of loss '{self.name}' must be in [0, 1], got {self.weight}")


@dataclass(frozen=True)
class TrainConfig:
    dim: int = 100  # embedding dimension
    window: int = 10  # max distance between centre and context word (word2vec's reduced window); docs/HYPERPARAMETERS.md
    negative: int = 5  # noise words per positive pair
    epochs: int = 5  # passes over the training documents
    batch_size: int = 4096  # positive (centre, context) pairs per optimiser step
    lr: float = 0.025  # initial learning rate, decayed linearly as word2vec does; 0.05 scores better on the CPU kernel but the batched torch engine diverges with it (docs/HYPERPARAMETERS.md)
    min_lr_ratio: float = 1e-4  # SGD's final lr = lr * min_lr_ratio
    optimizer: str = "sgd"  # "sgd" (word2vec's schedule) or "adam" (as in the notebooks)
    seed: int = 1  # one seed fixes init, subsampling, windows, negatives and batch order
    device: str = "auto"  # auto -> cuda, then mps, then cpu
    engine: str = "auto"  # "numba": fused CPU kernel (SGD); "torch": any device; auto = numba on CPU SGD, else torch
    threads: int = 0  # CPU SGD worker threads updating the tables Hogwild-style; 0 = one per core, 1 = bit-reproducible
    chunk_tokens: int = 1 << 20  # corpus tokens moved to the device at a time (sentences longer than this are cut)
    log_every_s: float = 0.5  # seconds between logged metric lines (one host sync each)
    eval_every_s: float = 5.0  # seconds between validation-loss evaluations (when a split exists)
    early_stopping_patience: int = 0  # stop after this many evals without val-loss improvement (0 = off)
    checkpoint_every_s: float = 60.0  # seconds between checkpoints (and one at each epoch end)
    sync_every: int = 200_000  # words each process trains between table syncs (torchrun runs); docs/DISTRIBUTED.md
    sync_mode: str = "sum"  # "sum": every process's updates applied to common tables; "mean": the tables averaged
    sync_rows: str = "auto"  # "touched": only rows some process changed; "all": whole tables; auto: touched rows
    # when they are at most half of a table (the measured break-even, bench/bench_sync.py)
    snapshots: int = 10  # vector snapshots across training (the "over training" view); 0 = none
    losses: tuple[LossSpec, ...] = ()  # extra losses, e.g. LossSpec("rsr", 0.1)

    def __post_init__(self):
        _check_types(self)
        for name in ("dim", "window", "negative", "epochs", "batch_size"):
            _in_range(name, getattr(self, name), 1)
        if self.chunk_tokens < 2 * self.window + 1:  # a chunk cuts longer sentences, so it must hold one window
            raise W2VError(f"chunk_tokens must be at least 2 * window + 1 = {2 * self.window + 1} (a centre word "
                           f"and its context on both sides), got {self.chunk_tokens}")
        _in_range("lr", self.lr, 0.0, low_open=True)
        if self.lr > 10:
            raise W2VError(f"lr={self.lr} is far too large; word2vec uses 0.025 (SGD) or 0.001 (Adam)")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise W2VError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        _one_of("optimizer", self.optimizer, OPTIMIZERS)
        _one_of("device", self.device, DEVICES)
        _one_of("engine", self.engine, ENGINES)
        _in_range("seed", self.seed, 0, MAX_SEED)
        _in_range("threads", self.threads, 0, MAX_THREADS)
        for name in ("log_every_s", "eval_every_s", "checkpoint_every_s"):
            _in_range(name, getattr(self, name), 0.0, low_open=True)
        _in_range("sync_every", self.sync_every, 1)
        _one_of("sync_mode", self.sync_mode, SYNC_MODES)
        _one_of("sync_rows", self.sync_rows, SYNC_ROWS)
        _in_range("early_stopping_patience", self.early_stopping_patience, 0)
        _in_range("snapshots", self.snapshots, 0)
        if self.snapshots > 100:
            raise W2VError(f"snapshots={self.snapshots}: keep it at most 100 (each is a copy of the top vectors)")
        names = [s.name for s in self.losses]
        if len(set(names)) != len(names):
            raise W2VError(f"each extra loss may appear once, got {names}")
        if sum(s.weight for s in self.losses) > 1.0:
            raise W2VError("the extra losses' weights must sum to at most 1 (the word2vec loss keeps 1 - their sum)")


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data_dir: str | None = None  # the user's reference-data folder (THINGS, word lists) for extra losses

    def __post_init__(self):
        _check_types(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> "RunConfig":
        """Rebuild a config from `to_dict()` output (e.g. a run's config.json); W2VError if it does not fit."""
        if not isinstance(d, dict):
            raise W2VError(f"a run config must be a JSON object, got {type(d).__name__}")
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise W2VError(f"config does not match this version of w2vcore: unknown field(s) {sorted(unknown)}")
        return cls(**d)  # nested dicts become CorpusConfig, TrainConfig, ... through the field checks
