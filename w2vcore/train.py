"""The training loop: chunks of corpus -> pairs -> SGNS steps, plus extra losses.

`train()` reports through callbacks, each an object with any of::

    on_step(state, metrics)        # after the first step, then every `log_every_s` seconds: float metrics
    on_epoch_end(state, metrics)   # with loss/val when a validation split exists
    on_checkpoint(state, ckpt)     # a dict for torch.save, taken at chunk boundaries
    on_snapshot(state, rows, words)  # top words' vectors at 0, 1/n, ..., 1 of the run (n = snapshots)
    on_train_end(state, result)

so the run writer, progress bars and tests are just listeners. The host syncs with
the device only when it logs (a few times a second), never per step. A `stop`
Event is checked every step; the run then ends as "stopped" with its vectors.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from .config import TrainConfig
from .errors import TrainingDiverged, W2VError
from .losses import LossSetup, build_evaluators, build_losses
from .preflight import MAX_THREADS_AUTO, SNAPSHOT_ROWS, VAL_BATCH, VAL_MAX_PAIRS, check_sizes
from .sgns import NoiseSampler, alias_table, init_tables, make_engine, make_pairs, resolve_device, sgns_loss_sum, sgns_scores
from .vectors import Vectors

_POSITION = ("epoch", "chunk", "batch", "chunk_words", "step", "words_done", "pairs_done", "best_val", "bad_epochs")
EVAL_MAX_SHARE_INV = 10  # wait at least 10x an evaluation's cost before the next one
KERNEL_SPAN_TOKENS = 100_000  # at most this many tokens per call into the Numba kernel (~0.1-0.5 s of work)
KERNEL_SPANS_PER_EPOCH = 100  # at least this many calls per epoch, so small corpora still log and mix in extra losses
KERNEL_MIN_SPAN = 2_000  # with extra losses: they run between spans, so spans stay short
KERNEL_MIN_SPAN_PLAIN = 32_768  # without: each span has a fixed cost (its blocks' tail), see docs/KERNEL.md
KERNEL_MIN_SPANS_PER_RUN = 50  # ...but a short run keeps this many spans, for its curve points and snapshots
DIVERGENCE_PROBE = 64  # rows of each table checked for NaN/inf at every log (most frequent + evenly spread)
DIVERGENCE_MAX_ABS = 1e3  # a probed component above this has blown up (trained vectors stay O(1); the torch
                          # engine at lr 0.05 / window 10 on a small vocabulary reached 1e9 while staying finite)
MAX_EXTRA_APPLY = 8  # extra-loss applications between two engine calls; more due steps are folded in
EARLY_STOP_MIN_DELTA = 1e-4


@dataclass
class TrainState:
    total_words: int  # epochs * training tokens: the denominator of progress and lr decay
    step: int = 0  # optimiser steps
    epoch: int = 0  # current epoch (0-based)
    chunk: int = 0  # current chunk within the epoch
    batch: int = 0  # next batch within the chunk
    chunk_words: int = 0  # words_done when the current chunk started
    words_done: int = 0  # training tokens consumed (before subsampling)
    pairs_done: int = 0
    lr: float = 0.0
    best_val: float = math.inf
    bad_epochs: int = 0
    status: str = "running"  # running, done, stopped, early_stopped
    started: float = field(default_factory=time.perf_counter)
    time_offset: float = 0.0  # seconds trained before this session (a resumed run continues its clock)

    @property
    def progress(self) -> float:
        return min(1.0, self.words_done / max(1, self.total_words))

    @property
    def elapsed(self) -> float:
        """Training seconds, including those before a resume."""
        return self.time_offset + time.perf_counter() - self.started


@dataclass
class TrainResult:
    vectors: Vectors
    context_vectors: np.ndarray  # (V, d) output table as exported (w_out M^-T under a loss's output map)
    state: TrainState
    summary: dict[str, float]


class _Ctx:
    """The `LossContext` handed to extra losses."""

    def __init__(self, engine, generator, state):
        self._engine, self.generator, self._state = engine, generator, state

    @property
    def step(self):
        return self._state.step

    @property
    def progress(self):
        return self._state.progress

    def gather(self, ids):
        return self._engine.gather(ids)


def _call(callbacks, hook: str, *args) -> None:
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(*args)


def train(cfg: TrainConfig, data: Any, callbacks: Sequence[Any] = (), stop: threading.Event | None = None,
          resume: dict | None = None, data_dir: str | None = None) -> TrainResult:
    """Train SGNS (plus any extra losses in `cfg.losses`) on `data` (a corpus.TrainingData)."""
    return Trainer(cfg, data, callbacks, stop, data_dir).run(resume)


def resolve_threads(cfg: TrainConfig, device: torch.device) -> int:
    """Hogwild worker threads: only for SGD on the CPU; 0 means one per core."""
    if device.type != "cpu" or cfg.optimizer != "sgd":
        return 1
    return cfg.threads or max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                     else os.cpu_count() or 1, MAX_THREADS_AUTO))


def resolve_engine(cfg: TrainConfig, device: torch.device) -> str:
    """'auto' picks the fused Numba kernel for SGD on the CPU, and torch everywhere else."""
    if cfg.engine == "torch":
        return "torch"
    fits = device.type == "cpu" and cfg.optimizer == "sgd"
    if cfg.engine == "numba":
        if not fits:
            raise W2VError("the numba engine runs word2vec's SGD on the CPU; use optimizer='sgd' and device='cpu', "
                           "or engine='torch'")
        return "numba"
    return "numba" if fits and importlib.util.find_spec("numba") is not None else "torch"


class Trainer:
    def __init__(self, cfg: TrainConfig, data: Any, callbacks: Sequence[Any] = (),
                 stop: threading.Event | None = None, data_dir: str | None = None):
        self.cfg, self.data, self.callbacks = cfg, data, list(callbacks)
        self.stop = stop or threading.Event()
        self._check_sizes()
        self.device = resolve_device(cfg.device)
        vocab_size = len(data.vocab)
        w_in, w_out = init_tables(vocab_size, cfg.dim, cfg.seed, self.device)
        self.engine = make_engine(cfg.optimizer, w_in, w_out, cfg.lr)
        self.engine_name = resolve_engine(cfg, self.device)
        self.threads = resolve_threads(cfg, self.device)
        self.pool = None
        self._side, self._pending = None, None  # the numba engine's side thread for extra losses (see _join_side)
        if self.engine_name == "numba":
            self._kernel_tables()
        elif self.threads > 1:
            self.pool = ThreadPoolExecutor(self.threads, "w2v-sgns")
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed)  # subsampling, windows, order
        self.gens = [self.gen] + [torch.Generator(self.device).manual_seed(cfg.seed * 7919 + slot)
                                  for slot in range(1, self.threads)]  # negatives, one per Hogwild slot
        self.loss_gen = torch.Generator(self.device).manual_seed(cfg.seed + 1)
        self.keep_prob = torch.as_tensor(data.keep_prob, dtype=torch.float32, device=self.device)
        self.noise = NoiseSampler(data.noise, self.device)
        setup = LossSetup(vocab=data.vocab, dim=cfg.dim, device=self.device, seed=cfg.seed, data_dir=data_dir)
        self.losses = build_losses(cfg.losses, setup)
        self.evaluators = build_evaluators(cfg.losses, setup)  # losses at weight 0: evaluated, never stepped
        self.alpha = sum(loss.weight for loss in self.losses)
        if self.engine_name == "numba" and self.threads > 1 and self.losses:
            self._side = ThreadPoolExecutor(1, "w2v-extra")
        self.val_pairs = self._validation_pairs()
        if cfg.early_stopping_patience and self.val_pairs is None:
            raise W2VError("early stopping needs a validation split: set val_fraction above 0")

    # ------------------------------------------------------------------ checks
    def _check_sizes(self) -> None:
        check_sizes(self.cfg, self.data)  # the same check refuses a run before its folder exists

    # -------------------------------------------------------------- validation
    def _validation_pairs(self):
        if self.data.n_val_tokens == 0:
            return None
        gen = torch.Generator(self.device).manual_seed(self.cfg.seed + 2)
        centres, contexts, n = [], [], 0
        for ids, lens in self.data.chunks("val", self.cfg.chunk_tokens):
            c, x = make_pairs(torch.as_tensor(ids, device=self.device), torch.as_tensor(lens, device=self.device),
                              self.keep_prob, self.cfg.window, gen)
            centres.append(c)
            contexts.append(x)
            n += c.shape[0]
            if n >= VAL_MAX_PAIRS:
                break
        if n == 0:
            return None
        c, x = torch.cat(centres)[:VAL_MAX_PAIRS], torch.cat(contexts)[:VAL_MAX_PAIRS]
        return c, x, self.noise.sample((c.shape[0], self.cfg.negative), gen)

    @torch.no_grad()
    def validation_loss(self) -> float:
        c, x, neg = self.val_pairs
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        w_in, w_out = self.engine.w_in.detach(), self.engine.w_out.detach()
        for i in range(0, c.shape[0], VAL_BATCH):
            s = slice(i, i + VAL_BATCH)
            scores, _ = sgns_scores(w_in, w_out, c[s], x[s], neg[s])
            total += sgns_loss_sum(scores).double()
        return total.item() / c.shape[0]

    def output_map(self) -> torch.Tensor | None:
        """The composed (d, d) map of the losses that have one (in order), or None: no loss maps."""
        out = None
        for loss in self.losses:
            m = loss.output_map()
            if m is not None:
                out = m if out is None else out @ m
        return out

    def word_vectors(self, rows: int | None = None) -> torch.Tensor:
        """The first `rows` (all if None) word vectors as the run exports them: w_in @ M (raw w_in without a map)."""
        w_in = self.engine.w_in.detach()[:rows]
        m = self.output_map()
        return w_in if m is None else w_in @ m

    def _evaluate(self) -> dict[str, float]:
        out = {}
        if self.val_pairs is not None:
            out["loss/val"] = self.validation_loss()
        vectors = self.word_vectors() if self.losses or self.evaluators else None
        for loss in (*self.losses, *self.evaluators):
            out.update(loss.evaluate(vectors))
        return out

    # --------------------------------------------------------------- the loop
    def run(self, resume: dict | None = None) -> TrainResult:
        intra_op = torch.get_num_threads()
        own_threads = self.pool is not None or self.engine_name == "numba"
        if own_threads:
            # parallelism comes from the Hogwild threads; idle OpenMP workers would spin between calls
            torch.set_num_threads(1)
        try:
            with _blas_threads(1 if own_threads else None):
                return self._run(resume)
        finally:
            torch.set_num_threads(intra_op)
            for pool in (self.pool, self._side):
                if pool is not None:
                    pool.shutdown()

    def _run(self, resume: dict | None) -> TrainResult:
        cfg = self.cfg
        st = self.state = TrainState(total_words=cfg.epochs * self.data.n_train_tokens)
        self._resume_rng = self._restore(resume, st) if resume else None
        self._chunk_gen = self.gen.get_state()
        self._ctx = _Ctx(self.engine, self.loss_gen, st)
        self._acc = _Accumulator(self.device)
        self._last_log = last_ckpt = time.perf_counter()
        self._logged = False  # the first point is logged after the first step: the page's curve starts at once
        self._next_eval = self._last_log + cfg.eval_every_s
        self._words_at_log = st.words_done
        self._snapshot_at = math.floor(st.progress * cfg.snapshots) if cfg.snapshots else None
        self._maybe_snapshot()  # the starting point (random vectors), or where a resumed run stands

        while st.epoch < cfg.epochs and st.status == "running":
            for ci, (ids, lens) in enumerate(self.data.chunks("train", cfg.chunk_tokens)):
                if ci < st.chunk:
                    continue  # resumed mid-epoch: these chunks were done before the checkpoint
                self._train_chunk(ids, lens)
                if st.status != "running":
                    break
                st.chunk, st.batch, st.chunk_words = ci + 1, 0, st.words_done
                self._chunk_gen = self.gen.get_state()
                if time.perf_counter() - last_ckpt >= cfg.checkpoint_every_s:
                    _call(self.callbacks, "on_checkpoint", st, self.checkpoint())
                    last_ckpt = time.perf_counter()
            if st.status != "running":
                break
            self._end_epoch(st)
            last_ckpt = time.perf_counter()

        if st.status == "running":
            st.status = "done"
        if self._acc.count("loss/sgns"):
            self._log(st, 0.0, {})
        if st.status == "stopped":
            _call(self.callbacks, "on_checkpoint", st, self.checkpoint())
        return self._finish(st)

    def _train_chunk(self, ids: np.ndarray, lens: np.ndarray) -> None:
        """Pairs for one chunk, then groups of `threads` batches until done or stopped."""
        if self.engine_name == "numba":
            return self._kernel_chunk(ids, lens)
        cfg, st, acc = self.cfg, self.state, self._acc
        if self._resume_rng is not None:  # regenerate the interrupted chunk's pairs exactly
            self.gen.set_state(self._chunk_gen)
        centre, context = make_pairs(torch.as_tensor(ids, device=self.device),
                                     torch.as_tensor(lens, device=self.device),
                                     self.keep_prob, cfg.window, self.gen)
        if self._resume_rng is not None:
            for g, state in zip((*self.gens, self.loss_gen), self._resume_rng):
                g.set_state(state)
            self._resume_rng = None
        n_batches = max(1, -(-centre.shape[0] // cfg.batch_size))
        for g0 in range(st.batch, n_batches, self.threads):
            if self.stop.is_set():
                st.status, st.batch = "stopped", g0  # the checkpoint resumes at this batch
                return
            group = range(g0, min(g0 + self.threads, n_batches))
            st.words_done = st.chunk_words + round(len(ids) * (group[-1] + 1) / n_batches)
            st.lr = self._lr(st.words_done / max(1, st.total_words))
            batches = [(slot, centre[b * cfg.batch_size:(b + 1) * cfg.batch_size],
                        context[b * cfg.batch_size:(b + 1) * cfg.batch_size]) for slot, b in enumerate(group)]
            if self.pool is None:
                sums = [self._batch(*batches[0])]
            else:  # Hogwild: the group's batches update the shared tables concurrently
                sums = list(self.pool.map(lambda a: self._batch(*a), batches))
            for (_, c, _), loss_sum in zip(batches, sums):
                acc.add("loss/sgns", loss_sum, c.shape[0])
                st.pairs_done += c.shape[0]
            st.step += len(group)
            st.batch = group[-1] + 1
            self._extra_losses(self._ctx, acc, st, len(group))
            self._maybe_log()

    def _kernel_chunk(self, ids: np.ndarray, lens: np.ndarray) -> None:
        """The fused CPU engine: spans of whole sentences, each one call into the Numba kernel."""
        from .kernel import train_span

        cfg, st = self.cfg, self.state
        if self._resume_rng is not None:  # the kernel seeds itself per span; the losses' generator resumes here
            for g, state in zip((*self.gens, self.loss_gen), self._resume_rng):
                g.set_state(state)
            self._resume_rng = None
        starts = np.zeros(len(lens) + 1, np.int64)
        np.cumsum(lens, out=starts[1:])
        floor = KERNEL_MIN_SPAN
        if not self.losses:
            floor = max(floor, min(KERNEL_MIN_SPAN_PLAIN, st.total_words // KERNEL_MIN_SPANS_PER_RUN))
        span = int(np.clip(self.data.n_train_tokens // KERNEL_SPANS_PER_EPOCH, floor, KERNEL_SPAN_TOKENS))
        cuts = np.searchsorted(starts, np.arange(span, len(ids), span))
        bounds = np.unique(np.concatenate([[0], cuts, [len(lens)]]))
        for k in range(st.batch, len(bounds) - 1):
            if self.stop.is_set():
                self._join_side()
                st.status, st.batch = "stopped", k  # the checkpoint resumes at this span
                return
            s0, s1 = bounds[k], bounds[k + 1]
            t0, t1 = starts[s0], starts[s1]
            lr0 = self._lr((st.chunk_words + t0) / max(1, st.total_words))
            lr1 = self._lr((st.chunk_words + t1) / max(1, st.total_words))
            seed = int(np.random.SeedSequence([cfg.seed, st.epoch, st.chunk, k]).generate_state(1)[0])
            try:
                loss, pairs = train_span(self._np_in, self._np_out, ids[t0:t1], lens[s0:s1], self._keep_np,
                                         self._accept, self._alias, cfg.window, cfg.negative, lr0, lr1, seed,
                                         self.threads, scale=1.0 - self.alpha)
            finally:
                self._join_side()  # the previous span's extra losses ran beside this span
            self._acc.add("loss/sgns", torch.tensor(loss, dtype=torch.float64), pairs)
            st.pairs_done += pairs
            st.words_done, st.lr, st.batch = int(st.chunk_words + t1), (lr0 + lr1) / 2, k + 1  # extra losses: mid-span lr
            steps = max(1, round(pairs / cfg.batch_size))  # in batches of batch_size pairs, as the torch engine counts
            st.step += steps
            if self._side is not None:
                self._pending = self._side.submit(self._extra_losses, self._ctx, self._acc, st, steps)
            else:
                self._extra_losses(self._ctx, self._acc, st, steps)
            self._maybe_log()
        self._join_side()

    def _join_side(self) -> None:
        """Wait for the extra losses running on the side thread; re-raise what they raised.

        With Hogwild threads (threads > 1) the numba engine runs the extra losses due after span k
        on one side thread, while the loop moves on to span k + 1: the kernel's threads leave the
        cores partly idle (the loop's own work between spans, a span's uneven tail), and the losses
        fill them. The side thread must be done before anything reads or changes what it uses: the
        end of the next span (the state advances then), a log (it evaluates), a stop or the end of a
        chunk (a checkpoint follows). With threads = 1 the losses run in line, so a seed still gives
        bit-identical tables.
        """
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _kernel_tables(self) -> None:
        """numpy views sharing memory with the torch tables, so extra losses update the same rows."""
        self._np_in, self._np_out = self.engine.w_in.numpy(), self.engine.w_out.numpy()
        self._keep_np = np.ascontiguousarray(self.data.keep_prob, dtype=np.float32)
        accept, alias = alias_table(np.asarray(self.data.noise, dtype=np.float64))
        self._accept, self._alias = accept.astype(np.float32), alias.astype(np.int32)
        self.engine.batch_size = self.cfg.batch_size  # extra losses step on the batch-mean scale

    def _maybe_log(self) -> None:
        """A log line on the log clock; a snapshot whenever progress passes one (a short run gets them all)."""
        st, now = self.state, time.perf_counter()
        log_due = not self._logged or now - self._last_log >= self.cfg.log_every_s
        if not (log_due or self._snapshot_due()):
            return
        self._join_side()  # both read the tables
        if log_due:
            self._logged = True
            extra = {}
            if now >= self._next_eval:
                extra = self._evaluate()
                cost = time.perf_counter() - now  # evaluation never takes more than ~10% of the time
                self._next_eval = now + max(self.cfg.eval_every_s, EVAL_MAX_SHARE_INV * cost)
            self._log(st, (st.words_done - self._words_at_log) / (now - self._last_log), extra)
            self._last_log, self._words_at_log = now, st.words_done
        self._maybe_snapshot()

    def _snapshot_due(self) -> bool:
        return self._snapshot_at is not None and self.state.progress * self.cfg.snapshots >= self._snapshot_at

    def _maybe_snapshot(self) -> None:
        """`on_snapshot(state, rows, words)` each time progress passes another 1/snapshots of the run.

        rows: (n, dim) float16 copy of the input vectors of the n = min(V, SNAPSHOT_ROWS) most frequent words.
        """
        if not self._snapshot_due():
            return
        rows = self.word_vectors(SNAPSHOT_ROWS).to("cpu", torch.float16).numpy()
        _call(self.callbacks, "on_snapshot", self.state, rows, self.data.vocab.index_to_key[:len(rows)])
        self._snapshot_at = math.floor(self.state.progress * self.cfg.snapshots) + 1

    def _rng_state(self) -> list[torch.Tensor]:
        """States of the negative-sampling generators (slot 0 also drives pairs) and the losses' one."""
        return [g.get_state() for g in (*self.gens, self.loss_gen)]

    def _lr(self, progress: float) -> float:
        if self.cfg.optimizer == "adam":
            return self.cfg.lr
        return self.cfg.lr * max(self.cfg.min_lr_ratio, 1.0 - progress)

    def _batch(self, slot: int, centre: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        neg = self.noise.sample((centre.shape[0], self.cfg.negative), self.gens[slot])
        return self.engine.step(centre, context, neg, self.state.lr, 1.0 - self.alpha)

    def _extra_losses(self, ctx, acc, st, group: int) -> None:
        """Losses due within the last `group` steps, each applied once per due step with fresh samples.

        A loss with a compiled SGD path (`engine.apply_extra_steps`) really runs `due` times; through
        autograd, more than MAX_EXTRA_APPLY due steps are folded into that many with a scaled weight.
        A loss with a `ramp(progress)` (a warm-up) has its weight scaled by it.
        """
        fused = getattr(self.engine, "apply_extra_steps", None)
        for loss in self.losses:
            due = (st.step // loss.every) - ((st.step - group) // loss.every)
            weight = loss.weight * loss.ramp(st.progress)
            if due == 0 or weight <= 0:
                continue
            done = fused(loss, weight, due, st.lr, ctx.generator, st.progress) if fused is not None else None
            if done is not None:
                value, metrics = done
                acc.add(f"loss/{loss.name}", value, due)
                for key, v in metrics.items():
                    acc.add(key, v, due)
                continue
            n_apply = min(due, MAX_EXTRA_APPLY)
            for _ in range(n_apply):
                value, metrics = loss.loss(ctx)
                self.engine.apply_extra(weight * (due / n_apply) * value, st.lr)
                acc.add(f"loss/{loss.name}", value.detach(), 1)
                for key, v in metrics.items():
                    acc.add(key, torch.as_tensor(v).detach(), 1)

    def _log(self, st, words_per_s: float, extra: dict[str, float]) -> None:
        metrics = self._acc.flush()
        sgns = metrics.get("loss/sgns")
        if sgns is not None and not math.isfinite(sgns):
            raise TrainingDiverged(f"the loss became {sgns} at step {st.step} (epoch {st.epoch + 1}); "
                                   f"lower the learning rate (lr={self.cfg.lr}) and start again")
        blown = self._tables_blown()
        if blown:
            raise TrainingDiverged(f"the word vectors {blown} by step {st.step} (epoch {st.epoch + 1}); "
                                   f"lower the learning rate (lr={self.cfg.lr}) and start again")
        if sgns is not None and self.losses:
            total = (1.0 - self.alpha) * sgns
            total += sum(loss.weight * metrics.get(f"loss/{loss.name}", 0.0) for loss in self.losses)
            metrics["loss/total"] = total
        metrics.update(extra)
        metrics.update({"lr": st.lr, "progress": st.progress, "epoch": st.progress * self.cfg.epochs,
                        "words_per_s": words_per_s, "pairs": float(st.pairs_done)})
        _call(self.callbacks, "on_step", st, metrics)

    def _tables_blown(self) -> str:
        """What went wrong with a cheap probe of both tables ("" if nothing): NaN/inf, or a component above
        DIVERGENCE_MAX_ABS. The probe is the DIVERGENCE_PROBE most frequent rows (the most updated ones) and
        as many rows spread evenly over the vocabulary: a fixed set, so the check draws no random numbers;
        one host sync, at log time only.
        """
        V = self.engine.w_in.shape[0]
        rows = torch.cat([torch.arange(min(V, DIVERGENCE_PROBE)),
                          torch.linspace(0, V - 1, min(V, DIVERGENCE_PROBE)).long()]).to(self.engine.w_in.device)
        with torch.no_grad():
            probe = torch.stack([self.engine.w_in[rows], self.engine.w_out[rows]])
            if not bool(torch.isfinite(probe).all()):
                return "became NaN or infinite"
            largest = float(probe.abs().max())
        return f"blew up (a component of {largest:.2g})" if largest > DIVERGENCE_MAX_ABS else ""

    def _end_epoch(self, st) -> None:
        metrics = self._evaluate()
        metrics["epoch"] = float(st.epoch + 1)
        val = metrics.get("loss/val")
        if val is not None and not math.isfinite(val):
            raise TrainingDiverged(f"the validation loss became {val} in epoch {st.epoch + 1}; lower lr and retry")
        if val is not None and self.cfg.early_stopping_patience:
            if val < st.best_val - EARLY_STOP_MIN_DELTA:
                st.best_val, st.bad_epochs = val, 0
            else:
                st.bad_epochs += 1
                if st.bad_epochs >= self.cfg.early_stopping_patience:
                    st.status = "early_stopped"
        _call(self.callbacks, "on_epoch_end", st, metrics)
        st.epoch += 1
        st.chunk, st.batch, st.chunk_words = 0, 0, st.words_done
        self._chunk_gen = self.gen.get_state()
        _call(self.callbacks, "on_checkpoint", st, self.checkpoint())

    # ------------------------------------------------------------ checkpoints
    def checkpoint(self) -> dict:
        """Everything needed to resume exactly: tables, optimiser, RNG, position and the clock (elapsed s)."""
        st = self.state
        return {
            "elapsed": st.elapsed,
            "w_in": self.engine.w_in.detach().cpu().clone(),
            "w_out": self.engine.w_out.detach().cpu().clone(),
            "engine": self.engine.state_dict(),
            "rng_chunk": self._chunk_gen,  # the pair generator as the current chunk started
            "rng": self._rng_state(),
            **{key: getattr(st, key) for key in _POSITION},
            **self._loss_states(),
        }

    def _loss_states(self) -> dict:
        """{"losses": {name: state}} for losses with their own learned state (e.g. an output map); {} if none.

        The raw tables stay raw in the checkpoint; a map is stored as its loss's state.
        """
        states = {loss.name: loss.state_dict() for loss in self.losses}
        states = {name: state for name, state in states.items() if state}
        return {"losses": states} if states else {}

    def _restore(self, ck: dict, st: TrainState) -> list[torch.Tensor]:
        if tuple(ck["w_in"].shape) != tuple(self.engine.w_in.shape):
            raise W2VError(f"checkpoint tables are {tuple(ck['w_in'].shape)} but this run needs "
                           f"{tuple(self.engine.w_in.shape)}: the corpus or dim changed since it was saved")
        if len(ck["rng"]) != len(self.gens) + 1:
            raise W2VError(f"the checkpoint was written with {len(ck['rng']) - 1} threads; resume with the same number")
        with torch.no_grad():
            self.engine.w_in.copy_(ck["w_in"])
            self.engine.w_out.copy_(ck["w_out"])
        self.engine.load_state_dict(ck.get("engine", {}))
        for loss in self.losses:
            state = ck.get("losses", {}).get(loss.name)
            if state is not None:
                loss.load_state_dict(state)
        for key in _POSITION:
            setattr(st, key, ck[key])
        st.time_offset = float(ck.get("elapsed", 0.0))  # checkpoints before the clock was saved restart it at 0
        self.gen.set_state(ck["rng_chunk"])
        return list(ck["rng"])

    def _finish(self, st) -> TrainResult:
        self._maybe_snapshot()  # the end point of a finished run
        w_in, w_out, m = self.engine.w_in.detach(), self.engine.w_out.detach(), self.output_map()
        if m is not None:  # the gauge: (w_in M, w_out M^-T) gives SGNS's scores unchanged
            w_in, w_out = w_in @ m, torch.linalg.solve(m, w_out.T).T
        vectors = Vectors(list(self.data.vocab.index_to_key), w_in.cpu().numpy().copy(), self.data.vocab.counts)
        summary = {"seconds": st.elapsed, "steps": float(st.step), "pairs": float(st.pairs_done),
                   "words_per_s": st.words_done / max(st.elapsed, 1e-9), "epochs_done": float(st.epoch)}
        result = TrainResult(vectors, w_out.cpu().numpy().copy(), st, summary)
        _call(self.callbacks, "on_train_end", st, result)
        return result


@contextlib.contextmanager
def _blas_threads(limit: int | None):
    """Cap numpy/scipy's BLAS (OpenBLAS) threads for the run, when the run brings its own threads.

    Compiled extra losses call np.dot inside numba, i.e. scipy's OpenBLAS. Its worker threads
    busy-wait between calls and fought the kernel's threads for the two cores: RSR with
    `metric_keep` used 2.6x vanilla's CPU, 1.7x with one BLAS thread (docs/RSR.md).
    """
    if limit is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional nicety: without it BLAS keeps its own threads
        yield
        return
    with threadpool_limits(limits=limit, user_api="blas"):
        yield


class _Accumulator:
    """Sums device scalars between logs; one host sync per flush (float64 on the host)."""

    def __init__(self, device):
        self.device = device
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, key: str, value: torch.Tensor, n: int) -> None:
        v = value.double()
        self.sums[key] = self.sums[key] + v if key in self.sums else v
        self.counts[key] = self.counts.get(key, 0) + n

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)

    def flush(self) -> dict[str, float]:
        if not self.sums:
            return {}
        keys = list(self.sums)
        values = torch.stack([self.sums[k] for k in keys]).cpu().tolist()
        out = {k: v / self.counts[k] for k, v in zip(keys, values) if self.counts[k]}  # 0 pairs: nothing to say
        self.sums.clear()
        self.counts.clear()
        return out
