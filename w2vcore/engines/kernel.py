"""Fused CPU skip-gram kernel: word2vec's Hogwild SGNS loop compiled with Numba.

`train_span` trains on one span of whole sentences (~0.1-0.5 s of work) and returns to
Python, so the caller can log, check its stop Event and run extra losses between spans.
It updates the caller's (V, d) float32 tables in place; `torch.from_numpy` / `.numpy()`
views of the same memory see every update.

Two update schemes, same sampling (subsampling, reduced window, sentence boundaries,
alias-table negatives) and the same expected set of (input, output) pairs:

- classic (`shared_negatives=False`): gensim's per-pair loop in the torch engine's
  orientation. For each (centre, context) pair, K fresh negatives; scores =
  w_out[target] . w_in[centre]; w_out rows are updated at once, the centre's gradient is
  accumulated in a local `neu1e` and added after the pair, as `sgns_torch.TorchSGD` does.
- shared negatives (HogBatch, Ji et al. 2016; the default): for each centre, its c window
  words are the inputs and [centre, K negatives] the outputs, as word2vec.c and gensim
  orient pairs (every position draws its own reduced window, so the expected pair set is
  the same). The (c, 1 + K) scores are a small matrix product of rows copied into
  cache-resident buffers; both gradients are applied from those copies. One negative
  draw serves c pairs and every row is fetched once per window.

Threads: the span is cut into `BLOCKS_PER_THREAD * n_threads` contiguous blocks of about
equal token counts, taken in order by `n_threads` Python threads; the compiled block
function releases the GIL, and threads update the tables without locks (Hogwild). Each
block has its own splitmix64 generator seeded from (seed, block); n_threads=1 runs one
block and is bit-reproducible. docs/KERNEL.md has the measurements behind these choices.
"""
from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import NotInstalled, W2VError
from ..compiled import in_disk_cache, jit, numba, splitmix

SIG_RANGE = 8.0  # sigma is tabulated on [-8, 8] and saturates outside (word2vec: 1000 entries on [-6, 6])
SIG_SIZE = 4096  # table steps: |error| of sigma < 5e-4
BLOCKS_PER_THREAD = 4  # a span is cut into this many blocks per thread (load balancing)
_SIG = (1.0 / (1.0 + np.exp(-np.linspace(-SIG_RANGE, SIG_RANGE, SIG_SIZE + 1)))).astype(np.float32)


_jit = jit(fastmath=True)  # the losses' way to compile (nogil, disk cache where writable), with fastmath


# ------------------------------------------------------------------ random numbers
@_jit
def _next(state):
    """splitmix64 (`compiled.splitmix`): the next 64 random bits from the generator in state[0] (uint64)."""
    state[0], z = splitmix(state[0])
    return z


@_jit
def _uniform(state):
    """float32 in [0, 1) with 24 random bits."""
    return np.float32(_next(state) >> np.uint64(40)) * np.float32(1.0 / (1 << 24))


@_jit
def _below(state, n):
    """int in [0, n) by Lemire's multiply-shift (bias < n / 2**32)."""
    return np.int64(((_next(state) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@_jit
def _negative(state, accept, alias):
    """One draw from the noise distribution via the alias table: 32 bits pick, 32 bits accept."""
    z = _next(state)
    bucket = np.int64(((z >> np.uint64(32)) * np.uint64(accept.shape[0])) >> np.uint64(32))
    u = np.float32(z & np.uint64(0xFFFFFFFF)) * np.float32(1.0 / 4294967296.0)
    return bucket if u < accept[bucket] else np.int64(alias[bucket])


# ------------------------------------------------------------------ sampling
@_jit
def _subsample(ids, start, end, keep_prob, state, kept):
    """Write the positions in [start, end) that survive subsampling into kept; return how many."""
    m = 0
    for t in range(start, end):
        p = keep_prob[ids[t]]
        if p >= 1.0 or _uniform(state) < p:
            kept[m] = t
            m += 1
    return m


@_jit
def _reach(state, window):
    """word2vec's reduced window: b ~ U{1..window}."""
    return 1 + _below(state, window)


@_jit
def _sigmoid_parts(f):
    """(sigma(f), sigma(-f)) from the table, f clamped to +-SIG_RANGE."""
    f = min(max(f, np.float32(-SIG_RANGE)), np.float32(SIG_RANGE))
    j = np.int64((f + np.float32(SIG_RANGE)) * np.float32(SIG_SIZE / (2 * SIG_RANGE)) + np.float32(0.5))
    return _SIG[j], _SIG[SIG_SIZE - j]


# ------------------------------------------------------------------ updates
# Rows are indexed as table[row, i], never sliced: a row view carries a reference to the
# table's memory, and Numba's reference counts are atomic updates that every thread would
# make on the same counter in the innermost loop.
@_jit
def _pair_classic(w_in, w_out, centre, context, negative, accept, alias, state, step, x, neu1e):
    """One (centre, context) pair with K fresh negatives; returns its loss (float64).

    x, neu1e: (d,) scratch for the centre row and its accumulated gradient.
    """
    d = w_in.shape[1]
    for i in range(d):
        x[i] = w_in[centre, i]
        neu1e[i] = 0.0
    likelihood = 1.0  # sigma(pos) * prod sigma(-neg), one log per pair
    for k in range(negative + 1):
        target = context if k == 0 else _negative(state, accept, alias)
        f = np.float32(0.0)
        for i in range(d):
            f += x[i] * w_out[target, i]
        s, s_neg = _sigmoid_parts(f)
        if k == 0:
            likelihood *= s
            g = s_neg * step  # (1 - sigma) * lr
        else:
            likelihood *= s_neg
            g = -s * step
        for i in range(d):
            neu1e[i] += g * w_out[target, i]
            w_out[target, i] += g * x[i]
    for i in range(d):
        w_in[centre, i] += neu1e[i]
    return -math.log(max(likelihood, 1e-300))


@_jit
def _window_shared(w_in, w_out, words, lo, hi, centre_pos, negative, accept, alias, state, step,
                   rows_in, rows_out, inputs, targets, grad):
    """HogBatch window: inputs = words[lo:hi] except the centre, outputs = [centre, K negatives].

    rows_in (2 * window, d), rows_out (1 + K, d) hold copies of the rows, so every row is
    fetched once and both gradients use the pre-update values, as one matrix step would.
    The loops over d handle three rows per pass (register blocking: +15-30% over one).
    Returns (summed loss, number of pairs).
    """
    d = w_in.shape[1]
    n_out = negative + 1
    targets[0] = words[centre_pos]
    for k in range(1, n_out):
        targets[k] = _negative(state, accept, alias)
    for k in range(n_out):
        t = targets[k]
        for i in range(d):
            rows_out[k, i] = w_out[t, i]
    c = 0
    for j in range(lo, hi):
        if j != centre_pos:
            inputs[c] = words[j]
            for i in range(d):
                rows_in[c, i] = w_in[words[j], i]
            c += 1
    loss = 0.0
    for r in range(c):  # grad (c, 1 + K) = (label - sigma(rows_in @ rows_out.T)) * lr, 3 outputs per pass
        likelihood = 1.0
        for k0 in range(0, n_out, 3):
            k1, k2 = min(k0 + 1, n_out - 1), min(k0 + 2, n_out - 1)
            f0 = np.float32(0.0)
            f1 = np.float32(0.0)
            f2 = np.float32(0.0)
            for i in range(d):
                x = rows_in[r, i]
                f0 += x * rows_out[k0, i]
                f1 += x * rows_out[k1, i]
                f2 += x * rows_out[k2, i]
            for k in range(k0, min(k0 + 3, n_out)):
                f = f0 if k == k0 else (f1 if k == k0 + 1 else f2)
                s, s_neg = _sigmoid_parts(f)
                if k == 0:
                    likelihood *= s
                    grad[r, k] = s_neg * step
                else:
                    likelihood *= s_neg
                    grad[r, k] = -s * step
        loss -= math.log(max(likelihood, 1e-300))
    for r in range(c):  # w_in[input r] += grad[r] @ rows_out, 3 outputs per pass
        row = inputs[r]
        for k0 in range(0, n_out, 3):
            k1, k2 = min(k0 + 1, n_out - 1), min(k0 + 2, n_out - 1)
            g0 = grad[r, k0]
            g1 = grad[r, k1] if k0 + 1 < n_out else np.float32(0.0)
            g2 = grad[r, k2] if k0 + 2 < n_out else np.float32(0.0)
            for i in range(d):
                w_in[row, i] += g0 * rows_out[k0, i] + g1 * rows_out[k1, i] + g2 * rows_out[k2, i]
    for k in range(n_out):  # w_out[target k] += grad[:, k] @ rows_in, 3 inputs per pass
        t = targets[k]
        for r0 in range(0, c, 3):
            r1, r2 = min(r0 + 1, c - 1), min(r0 + 2, c - 1)
            g0 = grad[r0, k]
            g1 = grad[r1, k] if r0 + 1 < c else np.float32(0.0)
            g2 = grad[r2, k] if r0 + 2 < c else np.float32(0.0)
            for i in range(d):
                w_out[t, i] += g0 * rows_in[r0, i] + g1 * rows_in[r1, i] + g2 * rows_in[r2, i]
    return loss, c


@_jit
def _train_block(w_in, w_out, ids, starts, s0, s1, keep_prob, accept, alias, window, negative,
                 lr_start, lr_end, scale, seed, shared, max_len):
    """Sentences [s0, s1) of the span on one thread. Returns (summed loss, pairs)."""
    d = w_in.shape[1]
    state = np.empty(1, np.uint64)
    state[0] = seed
    kept = np.empty(max_len, np.int64)
    words = np.empty(max_len, np.int64)
    x = np.empty(d, np.float32)
    neu1e = np.empty(d, np.float32)
    inputs = np.empty(2 * window, np.int64)
    rows_in = np.empty((2 * window, d), np.float32)
    rows_out = np.empty((negative + 1, d), np.float32)
    targets = np.empty(negative + 1, np.int64)
    grad = np.empty((2 * window, negative + 1), np.float32)
    n_tokens = max(1, starts[starts.shape[0] - 1])
    loss, pairs = 0.0, 0
    for s in range(s0, s1):
        lr = lr_start + (lr_end - lr_start) * (starts[s] / n_tokens)  # linear in the position in the span
        step = np.float32(lr * scale)
        m = _subsample(ids, starts[s], starts[s + 1], keep_prob, state, kept)
        if m < 2:
            continue  # no pairs in a sentence of one word
        for q in range(m):
            words[q] = ids[kept[q]]
        for i in range(m):
            b = _reach(state, window)
            lo, hi = max(0, i - b), min(m, i + b + 1)
            if shared:
                window_loss, n_pairs = _window_shared(w_in, w_out, words, lo, hi, i, negative, accept, alias,
                                                      state, step, rows_in, rows_out, inputs, targets, grad)
                loss += window_loss
                pairs += n_pairs
            else:
                for j in range(lo, hi):
                    if j != i:
                        loss += _pair_classic(w_in, w_out, words[i], words[j], negative, accept, alias, state,
                                              step, x, neu1e)
                        pairs += 1
    return loss, pairs


# ------------------------------------------------------------------ Python side
def train_span(w_in: np.ndarray, w_out: np.ndarray, ids: np.ndarray, sent_lens: np.ndarray,
               keep_prob: np.ndarray, accept: np.ndarray, alias: np.ndarray, window: int, negative: int,
               lr_start: float, lr_end: float, seed: int, n_threads: int, scale: float = 1.0,
               shared_negatives: bool = True) -> tuple[float, int]:
    """Train SGNS on the whole sentences of one span, in place; returns (summed loss, pairs).

    w_in, w_out: (V, d) float32 C-contiguous tables, updated in place (Hogwild).
    ids: (n,) int32 in-vocabulary tokens; sent_lens: (S,) int32 sentence lengths, sum n.
    keep_prob: (V,) float32; accept, alias: (V,) float32 / int32 alias table of the noise.
    lr decays linearly from lr_start to lr_end across the span; every step is also
    multiplied by `scale` ((1 - alpha) when extra losses are active). The loss is
    sum over pairs of -log s(pos) - sum log s(-neg) with s from the table (scores clamped
    to +-8, so a pair's loss is at most 8 * (1 + K)).
    """
    if numba is None:
        raise NotInstalled("numba", "the fused CPU engine")
    w_in, w_out = _table("w_in", w_in), _table("w_out", w_out)
    V, d = w_in.shape
    if w_out.shape != (V, d):
        raise W2VError(f"w_out has shape {w_out.shape} but w_in has {w_in.shape}; both must be (V, d)")
    if np.shares_memory(w_in, w_out):
        raise W2VError("w_in and w_out must be separate arrays")
    ids = _vector("ids", ids, np.int32)
    sent_lens = _vector("sent_lens", sent_lens, np.int32)
    keep_prob = _vector("keep_prob", keep_prob, np.float32, V)
    accept = _vector("accept", accept, np.float32, V)
    alias = _vector("alias", alias, np.int32, V)
    window, negative, n_threads = _count("window", window, 1), _count("negative", negative, 0), \
        _count("n_threads", n_threads, 1)
    if sent_lens.size and sent_lens.min() < 0:
        raise W2VError("sent_lens must not be negative")
    starts = np.zeros(len(sent_lens) + 1, np.int64)
    np.cumsum(sent_lens, out=starts[1:])
    if starts[-1] != len(ids):
        raise W2VError(f"sent_lens sum to {int(starts[-1])} but there are {len(ids)} ids")
    if len(ids) and (ids.min() < 0 or ids.max() >= V):
        raise W2VError(f"ids must be in [0, {V}) (the tables have {V} rows), got {ids.min()}..{ids.max()}")
    if V and (alias.min() < 0 or alias.max() >= V):
        raise W2VError(f"alias entries must be in [0, {V})")
    for name, value in (("lr_start", lr_start), ("lr_end", lr_end), ("scale", scale)):
        if not math.isfinite(value) or value < 0:
            raise W2VError(f"{name} must be a finite number >= 0, got {value}")
    if len(ids) == 0:
        return 0.0, 0
    # several blocks per thread, taken in order from a queue: a thread that the OS pauses
    # delays the span by one small block, not by its whole share
    n_blocks = min(1 if n_threads == 1 else BLOCKS_PER_THREAD * n_threads, len(sent_lens))
    # block b covers the sentences holding the b-th 1/n_blocks of the tokens
    bounds = np.searchsorted(starts, np.arange(n_blocks + 1) * (len(ids) / n_blocks), side="left")
    bounds[0], bounds[-1] = 0, len(sent_lens)
    seeds = np.array([np.random.SeedSequence([int(seed) % 2**63, b]).generate_state(1, np.uint64)[0]
                      for b in range(n_blocks)], dtype=np.uint64)
    jobs = [(w_in, w_out, ids, starts, int(bounds[b]), int(bounds[b + 1]), keep_prob, accept, alias, window, negative,
             float(lr_start), float(lr_end), float(scale), seeds[b], bool(shared_negatives), int(sent_lens.max()))
            for b in range(n_blocks)]
    if n_blocks == 1:
        results = [_train_block(*jobs[0])]
    else:  # the block kernel releases the GIL, so these threads run truly in parallel
        results = list(_pool(n_threads).map(lambda job: _train_block(*job), jobs))
    loss, pairs = sum(r[0] for r in results), sum(r[1] for r in results)
    return float(loss), int(pairs)


_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """One lasting pool per thread count and process: starting the threads for every span cost 1-2 ms.

    On Brown's ~10k-token spans (~10 ms each) the lasting pool trains 1.14x faster than a pool per
    span (docs/KERNEL.md). Keyed by process id too: a forked child inherits the dict but not the threads.
    Concurrent callers (two runs in one process) share the pool; their blocks queue in order.
    """
    key = (os.getpid(), n_threads)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(n_threads, thread_name_prefix="w2v-kernel")
        return pool


def warm_up() -> None:
    """Compile (or load from numba's cache) both kernel modes on a toy problem, so a real run starts at once."""
    rng = np.random.default_rng(0)
    w_in, w_out = rng.random((4, 2), dtype=np.float32), np.zeros((4, 2), np.float32)
    ids, lens = np.array([0, 1, 2, 3, 1, 0], np.int32), np.array([6], np.int32)
    ones = np.ones(4, np.float32)
    for shared in (True, False):
        train_span(w_in, w_out, ids, lens, ones, ones, np.arange(4, dtype=np.int32), 2, 1, 0.01, 0.01, 0, 1,
                   shared_negatives=shared)


def compiled() -> bool:
    """Whether numba's disk cache holds the kernel, so `warm_up` (or a run) loads it instead of compiling (~4 s)."""
    return numba is None or in_disk_cache(_train_block)


def _table(name: str, a) -> np.ndarray:
    if hasattr(a, "detach") and hasattr(a, "numpy"):  # a CPU torch tensor: .numpy() shares its memory
        if a.device.type != "cpu":
            raise W2VError(f"{name} is on {a.device}; the CPU kernel needs CPU tables")
        a = a.detach().numpy()
    if not isinstance(a, np.ndarray) or a.ndim != 2 or a.dtype != np.float32:
        raise W2VError(f"{name} must be a (V, d) float32 numpy array, got "
                       f"{getattr(a, 'dtype', type(a).__name__)} with shape {getattr(a, 'shape', '?')}")
    if not a.flags.c_contiguous or not a.flags.writeable:
        raise W2VError(f"{name} must be C-contiguous and writeable (it is updated in place); "
                       "use np.ascontiguousarray once before training, not per span")
    return a


def _vector(name: str, a, dtype, length: int | None = None) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise W2VError(f"{name} must be one-dimensional, got shape {a.shape}")
    if length is not None and len(a) != length:
        raise W2VError(f"{name} has {len(a)} entries but the tables have {length} rows")
    if a.dtype != dtype:
        if a.dtype.kind != np.dtype(dtype).kind:
            raise W2VError(f"{name} must be {np.dtype(dtype).name}, got {a.dtype}")
        a = a.astype(dtype)
    return np.require(a, requirements=["C", "W"])  # one compiled signature: contiguous, writeable


def _count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise W2VError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------ test hooks
@_jit
def _sampled_pairs(ids, starts, keep_prob, window, seed, out):
    """(centre position, context position) pairs from the same subsampling and window code.

    Fills out (capacity, 2) and returns the number of pairs (which may exceed the capacity).
    """
    state = np.empty(1, np.uint64)
    state[0] = seed
    kept = np.empty(ids.shape[0], np.int64)
    n = 0
    for s in range(starts.shape[0] - 1):
        m = _subsample(ids, starts[s], starts[s + 1], keep_prob, state, kept)
        for i in range(m):
            b = _reach(state, window)
            for j in range(max(0, i - b), min(m, i + b + 1)):
                if j != i:
                    if n < out.shape[0]:
                        out[n, 0], out[n, 1] = kept[i], kept[j]
                    n += 1
    return n


@_jit
def _sampled_tokens(ids, keep_prob, seed):
    state = np.empty(1, np.uint64)
    state[0] = seed
    kept = np.empty(ids.shape[0], np.int64)
    m = _subsample(ids, 0, ids.shape[0], keep_prob, state, kept)
    return kept[:m].copy()


@_jit
def _sampled_negatives(accept, alias, n, seed):
    state = np.empty(1, np.uint64)
    state[0] = seed
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = _negative(state, accept, alias)
    return out


def debug_pairs(ids: np.ndarray, sent_lens: np.ndarray, keep_prob: np.ndarray, window: int,
                seed: int = 0) -> np.ndarray:
    """(P, 2) int64 positions into ids of the (centre, context) pairs the kernel's sampling makes."""
    starts = np.zeros(len(sent_lens) + 1, np.int64)
    np.cumsum(sent_lens, out=starts[1:])
    ids, keep_prob = np.ascontiguousarray(ids, np.int32), np.ascontiguousarray(keep_prob, np.float32)
    out = np.empty((2 * window * len(ids), 2), np.int64)  # every kept token has at most 2 * window contexts
    n = _sampled_pairs(ids, starts, keep_prob, int(window), np.uint64(seed), out)
    return out[:n]


def debug_subsample(ids: np.ndarray, keep_prob: np.ndarray, seed: int = 0) -> np.ndarray:
    """Positions into ids of the tokens the kernel's subsampling keeps."""
    return _sampled_tokens(np.ascontiguousarray(ids, np.int32), np.ascontiguousarray(keep_prob, np.float32),
                           np.uint64(seed))


def debug_negatives(accept: np.ndarray, alias: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """(n,) int64 negatives drawn by the kernel's alias sampler."""
    return _sampled_negatives(np.ascontiguousarray(accept, np.float32), np.ascontiguousarray(alias, np.int32), int(n),
                              np.uint64(seed))
