"""Checks before a run exists: refuse what the run would refuse, or what will not fit.

`validate(cfg, cache_dir)` is what the CLI and the app call before `RunStore.create`. It
encodes the corpus (cached, so the worker reuses it), prepares the vocabulary and runs
`check`: the sizes the trainer refuses (negatives, batch size), a split without training
tokens, a corpus without a single pair, early stopping without a validation split, more
dimensions than words, and the memory (and disk) the run needs against what the machine
has. A refused run never gets a folder, so failed runs do not clutter the Runs table.

`estimate_memory` counts the big buffers of a run, in bytes, on the host (a GPU run is
counted as if on the CPU): the two float32 tables, Adam's moments, the copies a checkpoint
and the final save take, an over-training snapshot, one chunk's pairs (torch engine), the
gathered rows of the concurrent batches (torch engine), validation pairs, the extra losses'
full-table evaluation and (d, d) maps, the vocabulary, plus the Python/torch/numba runtime.
It is an estimate within tens of percent, not a measurement; small buffers are left out.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig, TrainConfig
from .corpus import ProgressFn, encode_corpus, prepare
from .errors import W2VError

SNAPSHOT_ROWS = 20_000  # most frequent words kept in each over-training snapshot (train.py, validation.py and engines use these four)
VAL_MAX_PAIRS = 100_000  # validation pairs drawn once per run (fixed, so the curve is comparable)
VAL_BATCH = 16_384  # pairs scored at a time for the validation loss
RUNTIME_BYTES = 500 * 2**20  # Python + torch + numba + the loss plug-ins in a worker (measured: ~490 MB)
VOCAB_BYTES_PER_WORD = 200  # the word's str, its dict entry, counts, keep/noise/alias tables
PAIR_BYTES = 56  # make_pairs: pieces + concatenation (2 x int64 each), the permutation, the shuffled copy
MEMORY_SHARE = 0.9  # refuse a run estimated above this share of the available memory
MAX_THREADS_AUTO = 16  # threads=0 means one per core, at most this many


@dataclass(frozen=True)
class Summary:
    """What `validate` learnt: enough for a page or the CLI to say what the run will train on."""

    corpus: str  # the source's display name
    vocab_size: int
    train_tokens: int  # in-vocabulary tokens per epoch
    val_tokens: int
    memory_bytes: int  # estimate_memory
    memory_available: int | None  # what the machine has free now (None: unknown)
    disk_bytes: int  # estimate_disk


def validate(cfg: RunConfig, cache_dir: str | Path, runs_dir: str | Path | None = None,
             progress: ProgressFn | None = None) -> Summary:
    """Encode (or load) the corpus, prepare its vocabulary and `check` the run; W2VError if it would fail.

    runs_dir, if given, is where the run folder will be: its free disk space is checked too.
    """
    encoded = encode_corpus(cfg.corpus.source, cfg.corpus.tokenizer, Path(cache_dir), progress)
    data = prepare(encoded, cfg.corpus)
    check(cfg, data, runs_dir)
    t = cfg.train
    return Summary(corpus=encoded.label, vocab_size=len(data.vocab), train_tokens=data.n_train_tokens,
                   val_tokens=data.n_val_tokens, memory_bytes=estimate_memory(t, len(data.vocab), data.n_train_tokens),
                   memory_available=available_memory(), disk_bytes=estimate_disk(t, len(data.vocab)))


def check(cfg: RunConfig, data: Any, runs_dir: str | Path | None = None) -> None:
    """W2VError for settings the run would refuse or that will not fit; `data` is a corpus.TrainingData."""
    t = cfg.train
    V = len(data.vocab)
    if data.n_train_tokens == 0:
        raise W2VError("the training documents have no words in the vocabulary; lower min_count or val_fraction")
    if int(np.diff(np.asarray(data.encoded.sent_starts)).max()) < 2:
        raise W2VError("every sentence of this corpus has a single word, so there are no (centre, context) "
                       "pairs to train on; use sentences='line' or a corpus with longer lines")
    check_sizes(t, data)
    if t.early_stopping_patience and data.n_val_tokens == 0:
        raise W2VError("early stopping needs a validation split: set val_fraction above 0")
    if t.engine == "numba" and (t.optimizer != "sgd" or t.device in ("cuda", "mps")):
        raise W2VError("the numba engine runs word2vec's SGD on the CPU; use optimizer='sgd' and device='cpu', "
                       "or engine='torch'")
    _check_memory(t, V, data.n_train_tokens)
    if t.dim > V:
        raise W2VError(f"dim={t.dim:,} is more than the {V:,} words of the vocabulary: the vectors cannot use more "
                       f"dimensions than there are words, and the run would still need "
                       f"{_size(estimate_memory(t, V, data.n_train_tokens))} of memory and "
                       f"{_size(estimate_disk(t, V))} of disk; use dim of at most {V:,} (word2vec uses 100-300)")
    if runs_dir is not None:
        _check_disk(t, V, Path(runs_dir))
    if t.losses:
        _check_losses(cfg, data)


def check_sizes(cfg: TrainConfig, data: Any) -> None:
    """The sizes the trainer refuses: more negatives than words, a batch larger than an epoch's pairs."""
    if cfg.negative >= len(data.vocab):
        raise W2VError(f"negative={cfg.negative} needs a vocabulary larger than {len(data.vocab)} words; "
                       "lower negative or min_count")
    counts = data.vocab.counts.astype(np.float64)
    kept = float((counts * data.keep_prob).sum()) * data.n_train_tokens / max(1.0, counts.sum())
    pairs = kept * (cfg.window + 1)  # reduced window: (window + 1) contexts per centre on average
    if cfg.batch_size > pairs:
        raise W2VError(f"batch_size={cfg.batch_size} is larger than the ~{int(pairs):,} training pairs in one "
                       f"epoch of this corpus; use a batch_size of at most {max(1, int(pairs) // 4):,}")


# ------------------------------------------------------------------ memory
def memory_parts(cfg: TrainConfig, vocab_size: int, n_tokens: int) -> dict[str, int]:
    """Bytes per buffer of a run (see the module docstring); their sum is `estimate_memory`."""
    V, d, K = vocab_size, cfg.dim, cfg.negative
    table = V * d * 4  # one (V, d) float32 table
    engine = _engine(cfg)
    rows = min(V, SNAPSHOT_ROWS)
    chunk = min(cfg.chunk_tokens, max(1, n_tokens))
    extra = [s for s in cfg.losses if s.weight > 0]
    parts = {
        "word and context tables": 2 * table,
        "checkpoint and final copies": 2 * table,  # checkpoint() clones both tables; the end copies both again
        "optimizer state": 4 * table if cfg.optimizer == "adam" else 0,  # SparseAdam: 2 moments per table
        "snapshot": rows * d * (2 + (4 if extra else 0)),  # float16 copy (+ w_in M under an output map)
        "chunk": 32 * chunk,  # raw ids, masks, offsets of one chunk
        "vocabulary": VOCAB_BYTES_PER_WORD * V,
        "runtime": RUNTIME_BYTES,
    }
    if engine == "torch":
        pairs = chunk * (cfg.window + 1)  # (window + 1) contexts per centre on average, before subsampling
        parts["chunk pairs"] = PAIR_BYTES * pairs
        parts["batches"] = _threads(cfg) * 2 * cfg.batch_size * (K + 2) * d * 4  # gathered rows + their gradients
    if cfg.optimizer == "adam" or engine == "torch":
        parts["validation"] = (VAL_MAX_PAIRS * (K + 2) * 8 + 2 * VAL_BATCH * (K + 2) * d * 4) if n_tokens else 0
    if extra:
        parts["extra losses"] = table + len(extra) * 4 * d * d * 4  # w_in M for evaluation; maps, grads, moments
    return parts


def estimate_memory(cfg: TrainConfig | RunConfig, vocab_size: int, n_tokens: int) -> int:
    """Peak bytes a run of `cfg` on `vocab_size` words and `n_tokens` training tokens needs (an estimate)."""
    t = cfg.train if isinstance(cfg, RunConfig) else cfg
    return sum(memory_parts(t, vocab_size, n_tokens).values())


def estimate_disk(cfg: TrainConfig | RunConfig, vocab_size: int) -> int:
    """Bytes a run folder grows to: checkpoint (twice while it is replaced), vectors.npz, every snapshot."""
    t = cfg.train if isinstance(cfg, RunConfig) else cfg
    table = vocab_size * t.dim * 4
    checkpoint = (2 + (4 if t.optimizer == "adam" else 0)) * table
    snapshots = (t.snapshots + 1) * min(vocab_size, SNAPSHOT_ROWS) * t.dim * 2 if t.snapshots else 0
    return 2 * checkpoint + table + snapshots


def available_memory() -> int | None:
    """Bytes this process may still allocate: MemAvailable, capped by a cgroup limit; None if unknown."""
    candidates = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    limit = _cgroup_room()
    if limit is not None:
        candidates.append(limit)
    return min(candidates) if candidates else None


def _cgroup_room() -> int | None:
    """limit - usage of this process's cgroup (v2, then v1), or None when unlimited or unknown."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 2**60:
            return None
        return max(0, int(limit) - usage)
    return None


def _check_memory(cfg: TrainConfig, vocab_size: int, n_tokens: int) -> None:
    available = available_memory()
    if available is None:
        return
    limit = int(available * MEMORY_SHARE)
    parts = memory_parts(cfg, vocab_size, n_tokens)
    need = sum(parts.values())
    if need <= limit:
        return
    biggest = sorted(((v, k) for k, v in parts.items() if v), reverse=True)[:3]
    detail = ", ".join(f"{k} {_size(v)}" for v, k in biggest)
    fixes = []
    dim_fit = _largest_fitting(lambda d: estimate_memory(_with(cfg, dim=d), vocab_size, n_tokens), limit,
                               min(cfg.dim, vocab_size + 1))  # more dimensions than words are refused anyway
    if dim_fit:
        fixes.append(f"dim to at most {dim_fit:,}")
    vocab_fit = _largest_fitting(lambda v: estimate_memory(cfg, v, n_tokens), limit, vocab_size)
    if vocab_fit >= 2:
        fixes.append(f"the vocabulary to at most {vocab_fit:,} words (max_vocab_size or a higher min_count)")
    if _engine(cfg) == "torch":
        fixes.append("batch_size, threads or chunk_tokens")
    how = "lower " + " or ".join(fixes) if fixes else "use a machine with more memory"
    raise W2VError(f"this run needs about {_size(need)} of memory ({detail}) but about {_size(available)} is "
                   f"available (at most {MEMORY_SHARE:.0%} of it is used); {how}")


def _check_disk(cfg: TrainConfig, vocab_size: int, runs_dir: Path) -> None:
    folder = runs_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    need = estimate_disk(cfg, vocab_size)
    if need > free:
        raise W2VError(f"this run writes about {_size(need)} (checkpoint, vectors and {cfg.snapshots} snapshots) "
                       f"but {runs_dir} has {_size(free)} free; lower dim or snapshots, or free some disk space")


def _check_losses(cfg: RunConfig, data: Any) -> None:
    """Build the extra losses once on the CPU, as the run will: unknown names, bad parameters, missing files."""
    import torch

    from .losses import LossSetup, build_losses

    t = cfg.train
    setup = LossSetup(vocab=data.vocab, dim=t.dim, device=torch.device("cpu"), seed=t.seed, data_dir=cfg.data_dir)
    build_losses(t.losses, setup)


def _largest_fitting(need, limit: int, high: int) -> int:
    """The largest n in [1, high) with need(n) <= limit (need grows with n); 0 if none."""
    lo, hi = 0, high
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if need(mid) <= limit:
            lo = mid
        else:
            hi = mid
    return lo


def _with(cfg: TrainConfig, **changes) -> TrainConfig:
    return dataclasses.replace(cfg, **changes)


def _engine(cfg: TrainConfig) -> str:
    """engines.resolve_engine without torch: an explicit GPU device or Adam means torch."""
    if cfg.engine != "auto":
        return cfg.engine
    on_cpu_sgd = cfg.optimizer == "sgd" and cfg.device in ("auto", "cpu")
    return "numba" if on_cpu_sgd and importlib.util.find_spec("numba") is not None else "torch"


def _threads(cfg: TrainConfig) -> int:
    if cfg.optimizer != "sgd" or cfg.device in ("cuda", "mps"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cfg.threads or max(1, min(cores, MAX_THREADS_AUTO))


def _size(n: float) -> str:
    """1536 -> '1.5 KB' (binary units)."""
    if n < 1024:
        return f"{n:,.0f} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1024
        if n < 1024 or unit == "TB":
            break
    return f"{n:,.1f} {unit}"
