"""The training loop: epochs -> chunks -> a driver's step reports -> extra losses -> the clock -> checkpoints.

The engine is a driver (`w2vcore.engines`): it trains each chunk and reports after every step;
this loop adds what every engine shares: extra losses between steps, logs, evaluations and
snapshots on the reporting clock (`clock`), the divergence guard, early stopping, checkpoints
(`checkpoint`) and the result, with the tables exported through the losses' output maps.

`train()` reports through callbacks, each an object with any of::

    on_step(state, metrics)        # after the first step, then every `log_every_s` seconds: float metrics
    on_epoch_end(state, metrics)   # with loss/val when a validation split exists
    on_checkpoint(state, ckpt)     # a dict for torch.save, taken at chunk boundaries
    on_snapshot(state, rows, words)  # top words' vectors at 0, 1/n, ..., 1 of the run (n = snapshots)
    on_train_end(state, result)

so the run writer, progress bars and tests are just listeners. The host syncs with
the device only when it logs (a few times a second), never per step. A `stop`
Event is checked before every step; the run then ends as "stopped" with its vectors.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from . import checkpoint
from .clock import Accumulator, Clock
from .config import TrainConfig
from .engines import Chunk, StepReport, make_driver, own_threads, resolve_device
from .errors import TrainingDiverged, W2VError
from .losses import LossSetup, build_evaluators, build_losses
from .preflight import SNAPSHOT_ROWS, check_sizes
from .validation import validation_loss, validation_pairs
from .vectors import Vectors

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
    batch: int = 0  # next step (batch group or kernel span) within the chunk
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

    def __init__(self, update, generator, state):
        self._update, self.generator, self._state = update, generator, state

    @property
    def step(self):
        return self._state.step

    @property
    def progress(self):
        return self._state.progress

    def gather(self, ids):
        return self._update.gather(ids)


def _call(callbacks, hook: str, *args) -> None:
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(*args)


def train(cfg: TrainConfig, data: Any, callbacks: Sequence[Any] = (), stop: threading.Event | None = None,
          resume: dict | None = None, data_dir: str | None = None,
          wrap: Callable[[Any], Any] | None = None) -> TrainResult:
    """Train SGNS (plus any extra losses in `cfg.losses`) on `data` (a corpus.TrainingData).

    wrap: turns the engine's driver into another (`w2vcore.distributed` syncs the tables between processes).
    """
    return Trainer(cfg, data, callbacks, stop, data_dir, wrap).run(resume)


class Trainer:
    """One run: a driver trains the SGNS tables chunk by chunk; this loop adds everything around it."""

    def __init__(self, cfg: TrainConfig, data: Any, callbacks: Sequence[Any] = (),
                 stop: threading.Event | None = None, data_dir: str | None = None,
                 wrap: Callable[[Any], Any] | None = None):
        self.cfg, self.data, self.callbacks = cfg, data, list(callbacks)
        self.stop = stop or threading.Event()
        check_sizes(cfg, data)  # the same check refuses a run before its folder exists
        self.device = resolve_device(cfg.device)
        setup = LossSetup(vocab=data.vocab, dim=cfg.dim, device=self.device, seed=cfg.seed, data_dir=data_dir)
        self.losses = build_losses(cfg.losses, setup)
        self.evaluators = build_evaluators(cfg.losses, setup)  # losses at weight 0: evaluated, never stepped
        self.alpha = sum(loss.weight for loss in self.losses)
        self.engine = make_driver(cfg, data, self.device, scale=1.0 - self.alpha, extra=bool(self.losses))
        if wrap is not None:
            self.engine = wrap(self.engine)
        self.loss_gen = torch.Generator(self.device).manual_seed(cfg.seed + 1)
        self.val_pairs = validation_pairs(cfg, data, self.device)
        if cfg.early_stopping_patience and self.val_pairs is None:
            raise W2VError("early stopping needs a validation split: set val_fraction above 0")

    # --------------------------------------------------------------- the loop
    def run(self, resume: dict | None = None) -> TrainResult:
        try:
            with own_threads(self.engine):
                return self._run(resume)
        finally:
            self.engine.close()

    def _run(self, resume: dict | None) -> TrainResult:
        cfg = self.cfg
        st = self.state = TrainState(total_words=cfg.epochs * self.data.n_train_tokens)
        if resume:
            checkpoint.restore(resume, st, self.engine, self.loss_gen, self.losses)
        self._ctx = _Ctx(self.engine.update, self.loss_gen, st)
        self._acc = Accumulator(self.device)
        self.clock = Clock(cfg, st.words_done, st.progress)
        self._maybe_snapshot()  # the starting point (random vectors), or where a resumed run stands

        while st.epoch < cfg.epochs and st.status == "running":
            for ci, (ids, lens) in enumerate(self.data.chunks("train", cfg.chunk_tokens)):
                if ci < st.chunk:
                    continue  # resumed mid-epoch: these chunks were done before the checkpoint
                if not self._train_chunk(Chunk(ids, lens, st.epoch, ci, st.batch)):
                    st.status = "stopped"  # the checkpoint resumes at st.batch
                    break
                st.chunk, st.batch, st.chunk_words = ci + 1, 0, st.words_done
                if self.clock.checkpoint_due():
                    _call(self.callbacks, "on_checkpoint", st, self.checkpoint())
                    self.clock.checkpointed()
            if st.status != "running":
                break
            self._end_epoch(st)
            self.clock.checkpointed()

        if st.status == "running":
            st.status = "done"
        if self._acc.count("loss/sgns"):
            self._log(st, 0.0, {})
        if st.status == "stopped":
            _call(self.callbacks, "on_checkpoint", st, self.checkpoint())
        return self._finish(st)

    def _train_chunk(self, chunk: Chunk) -> bool:
        """The driver's steps through one chunk, each followed by the extra losses due and the clock.

        Returns False when the stop Event ended the chunk early (the driver stops before a step).
        """
        st = self.state
        lr_at = lambda words: self._lr((st.chunk_words + words) / max(1, st.total_words))  # noqa: E731
        finished = False
        for report in self.engine.run_chunk(chunk, lr_at, self.stop):
            self._advance(st, report)
            self.engine.beside(lambda steps=report.steps: self._extra_losses(steps))
            self._maybe_log()
            finished = report.last
        return finished

    def _advance(self, st: TrainState, report: StepReport) -> None:
        for loss_sum, pairs in report.losses:
            self._acc.add("loss/sgns", loss_sum, pairs)
            st.pairs_done += pairs
        st.words_done, st.lr = st.chunk_words + report.words, report.lr
        st.step += report.steps
        st.batch = report.position

    def _lr(self, progress: float) -> float:
        if self.cfg.optimizer == "adam":
            return self.cfg.lr
        return self.cfg.lr * max(self.cfg.min_lr_ratio, 1.0 - progress)

    def _extra_losses(self, group: int) -> None:
        """Losses due within the last `group` steps, each applied once per due step with fresh samples.

        A loss with a compiled SGD path (`apply_extra_steps`) really runs `due` times; through
        autograd, more than MAX_EXTRA_APPLY due steps are folded into that many with a scaled weight.
        A loss with a `ramp(progress)` (a warm-up) has its weight scaled by it.
        """
        st, acc, ctx, update = self.state, self._acc, self._ctx, self.engine.update
        for loss in self.losses:
            due = (st.step // loss.every) - ((st.step - group) // loss.every)
            weight = loss.weight * loss.ramp(st.progress)
            if due == 0 or weight <= 0:
                continue
            done = update.apply_extra_steps(loss, weight, due, st.lr, ctx.generator, st.progress)
            if done is not None:
                value, metrics = done
                acc.add(f"loss/{loss.name}", value, due)
                for key, v in metrics.items():
                    acc.add(key, v, due)
                continue
            n_apply = min(due, MAX_EXTRA_APPLY)
            for _ in range(n_apply):
                value, metrics = loss.loss(ctx)
                update.apply_extra(weight * (due / n_apply) * value, st.lr)
                acc.add(f"loss/{loss.name}", value.detach(), 1)
                for key, v in metrics.items():
                    acc.add(key, torch.as_tensor(v).detach(), 1)

    # --------------------------------------------------- logs, evaluations, snapshots
    def _maybe_log(self) -> None:
        """A log line on the log clock; a snapshot whenever progress passes one (a short run gets them all)."""
        st, clock, now = self.state, self.clock, time.perf_counter()
        log_due = clock.log_due(now)
        if not (log_due or clock.snapshot_due(st.progress)):
            return
        self.engine.sync()  # both read the tables
        if log_due:
            extra = {}
            if clock.eval_due(now):
                extra = self._evaluate()
                clock.evaluated(now)
            self._log(st, clock.logged(now, st.words_done) / self.engine.share, extra)
        self._maybe_snapshot()

    def _log(self, st, words_per_s: float, extra: dict[str, float]) -> None:
        metrics = self._acc.flush()
        sgns = metrics.get("loss/sgns")
        if sgns is not None and not math.isfinite(sgns):
            raise TrainingDiverged(f"the loss became {sgns} at step {st.step} (epoch {st.epoch + 1}); "
                                   f"lower the learning rate (lr={self.cfg.lr}) and start again")
        blown = tables_blown(self.engine.w_in, self.engine.w_out)
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

    def validation_loss(self) -> float:
        return validation_loss(self.engine.w_in, self.engine.w_out, self.val_pairs)

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

    def _maybe_snapshot(self) -> None:
        """`on_snapshot(state, rows, words)` each time progress passes another 1/snapshots of the run.

        rows: (n, dim) float16 copy of the input vectors of the n = min(V, SNAPSHOT_ROWS) most frequent words.
        """
        if not self.clock.snapshot_due(self.state.progress):
            return
        rows = self.word_vectors(SNAPSHOT_ROWS).to("cpu", torch.float16).numpy()
        _call(self.callbacks, "on_snapshot", self.state, rows, self.data.vocab.index_to_key[:len(rows)])
        self.clock.snapshot_taken(self.state.progress)

    # ------------------------------------------------------ epochs, checkpoints, the end
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
        _call(self.callbacks, "on_checkpoint", st, self.checkpoint())

    def checkpoint(self) -> dict:
        """Everything needed to resume exactly: tables, optimiser, RNG, position and the clock (elapsed s)."""
        return checkpoint.capture(self.state, self.engine, self.loss_gen, self.losses)

    def _finish(self, st) -> TrainResult:
        self._maybe_snapshot()  # the end point of a finished run
        w_in, w_out, m = self.engine.w_in.detach(), self.engine.w_out.detach(), self.output_map()
        if m is not None:  # the gauge: (w_in M, w_out M^-T) gives SGNS's scores unchanged
            w_in, w_out = w_in @ m, torch.linalg.solve(m, w_out.T).T
        vectors = Vectors(list(self.data.vocab.index_to_key), w_in.cpu().numpy().copy(), self.data.vocab.counts)
        summary = {"seconds": st.elapsed, "steps": float(st.step), "pairs": float(st.pairs_done),
                   "words_per_s": st.words_done / max(st.elapsed, 1e-9) / self.engine.share,
                   "epochs_done": float(st.epoch)}
        result = TrainResult(vectors, w_out.cpu().numpy().copy(), st, summary)
        _call(self.callbacks, "on_train_end", st, result)
        return result


def tables_blown(w_in: torch.Tensor, w_out: torch.Tensor) -> str:
    """What went wrong with a cheap probe of both tables ("" if nothing): NaN/inf, or a component above
    DIVERGENCE_MAX_ABS. The probe is the DIVERGENCE_PROBE most frequent rows (the most updated ones) and
    as many rows spread evenly over the vocabulary: a fixed set, so the check draws no random numbers;
    one host sync, at log time only.
    """
    V = w_in.shape[0]
    rows = torch.cat([torch.arange(min(V, DIVERGENCE_PROBE)),
                      torch.linspace(0, V - 1, min(V, DIVERGENCE_PROBE)).long()]).to(w_in.device)
    with torch.no_grad():
        probe = torch.stack([w_in[rows], w_out[rows]])
        if not bool(torch.isfinite(probe).all()):
            return "became NaN or infinite"
        largest = float(probe.abs().max())
    return f"blew up (a component of {largest:.2g})" if largest > DIVERGENCE_MAX_ABS else ""
