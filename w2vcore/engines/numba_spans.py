"""The numba driver: a chunk in spans of whole sentences, each one call into the fused CPU kernel.

`kernel.train_span` trains a span in place on numpy views of the torch tables (so extra losses,
which step the same memory through `TorchSGD`, see every update), with Hogwild threads and a seed
per (run seed, epoch, chunk, span). Spans are short enough (~0.1-0.5 s) for the trainer to log,
check its stop Event and run extra losses between them; with more than one thread the extra
losses due after span k run on a side thread while the kernel trains span k + 1.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator

import numpy as np
import torch

from ..config import TrainConfig
from .driver import Chunk, StepReport, Streams, TablesDriver
from .sgns_torch import alias_table, init_tables, make_update

KERNEL_SPAN_TOKENS = 100_000  # at most this many tokens per call into the Numba kernel (~0.1-0.5 s of work)
KERNEL_SPANS_PER_EPOCH = 100  # at least this many calls per epoch, so small corpora still log and mix in extra losses
KERNEL_MIN_SPAN = 2_000  # with extra losses: they run between spans, so spans stay short
KERNEL_MIN_SPAN_PLAIN = 32_768  # without: each span has a fixed cost (its blocks' tail), see docs/KERNEL.md
KERNEL_MIN_SPANS_PER_RUN = 50  # ...but a short run keeps this many spans, for its curve points and snapshots


class NumbaSpans(TablesDriver):
    engine_name = "numba"
    own_threads = True

    def __init__(self, cfg: TrainConfig, data: Any, device: torch.device, *, threads: int, scale: float,
                 extra: bool):
        self.cfg, self.threads, self.scale, self.extra = cfg, threads, scale, extra
        self.n_train_tokens, self.total_words = data.n_train_tokens, cfg.epochs * data.n_train_tokens
        w_in, w_out = init_tables(len(data.vocab), cfg.dim, cfg.seed, device)
        self.update = make_update(cfg.optimizer, w_in, w_out, cfg.lr)
        self.update.batch_size = cfg.batch_size  # extra losses step on the batch-mean scale
        self.streams = Streams(cfg.seed, threads, device)  # never drawn from: kept for the checkpoint's layout
        # numpy views sharing memory with the torch tables, so extra losses update the same rows
        self._np_in, self._np_out = self.update.w_in.numpy(), self.update.w_out.numpy()
        self._keep_np = np.ascontiguousarray(data.keep_prob, dtype=np.float32)
        accept, alias = alias_table(np.asarray(data.noise, dtype=np.float64))
        self._accept, self._alias = accept.astype(np.float32), alias.astype(np.int32)
        self.side = ThreadPoolExecutor(1, "w2v-extra") if threads > 1 and extra else None
        self._pending: Future | None = None

    def _bounds(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        """Sentence start offsets (S + 1,) and the span bounds in sentences."""
        starts = np.zeros(len(chunk.lens) + 1, np.int64)
        np.cumsum(chunk.lens, out=starts[1:])
        floor = KERNEL_MIN_SPAN
        if not self.extra:
            floor = max(floor, min(KERNEL_MIN_SPAN_PLAIN, self.total_words // KERNEL_MIN_SPANS_PER_RUN))
        span = int(np.clip(self.n_train_tokens // KERNEL_SPANS_PER_EPOCH, floor, KERNEL_SPAN_TOKENS))
        cuts = np.searchsorted(starts, np.arange(span, len(chunk.ids), span))
        return starts, np.unique(np.concatenate([[0], cuts, [len(chunk.lens)]]))

    def run_chunk(self, chunk: Chunk, lr_at: Callable[[int], float],
                  stop: threading.Event) -> Iterator[StepReport]:
        """Spans from `chunk.start` until done or stopped; the learning rate falls linearly within each span."""
        from .kernel import train_span

        cfg = self.cfg
        self.streams.resume()
        starts, bounds = self._bounds(chunk)
        for k in range(chunk.start, len(bounds) - 1):
            if stop.is_set():
                self.sync()
                return
            s0, s1 = bounds[k], bounds[k + 1]
            t0, t1 = starts[s0], starts[s1]
            lr0, lr1 = lr_at(t0), lr_at(t1)
            seed = int(np.random.SeedSequence([cfg.seed, chunk.epoch, chunk.index, k]).generate_state(1)[0])
            try:
                loss, pairs = train_span(self._np_in, self._np_out, chunk.ids[t0:t1], chunk.lens[s0:s1],
                                         self._keep_np, self._accept, self._alias, cfg.window, cfg.negative,
                                         lr0, lr1, seed, self.threads, scale=self.scale)
            finally:
                self.sync()  # the previous span's extra losses ran beside this span
            steps = max(1, round(pairs / cfg.batch_size))  # in batches of batch_size pairs, as the torch engine counts
            yield StepReport(steps=steps, position=k + 1, words=int(t1), lr=(lr0 + lr1) / 2,  # extra losses: mid-span lr
                             losses=[(torch.tensor(loss, dtype=torch.float64), pairs)], last=k + 2 == len(bounds))
        self.sync()
        self.streams.chunk_done()

    def beside(self, work: Callable[[], None]) -> None:
        """Run `work` (the extra losses due after a span) on the side thread, or in line with one thread."""
        if self.side is not None:
            self._pending = self.side.submit(work)
        else:
            work()

    def sync(self) -> None:
        """Wait for the extra losses running on the side thread; re-raise what they raised.

        With Hogwild threads (threads > 1) the extra losses due after span k run on one side
        thread while the loop moves on to span k + 1: the kernel's threads leave the cores partly
        idle (the loop's own work between spans, a span's uneven tail), and the losses fill them.
        The side thread must be done before anything reads or changes what it uses: the end of the
        next span (the state advances then), a log (it evaluates), a stop or the end of a chunk (a
        checkpoint follows). With threads = 1 the losses run in line, so a seed still gives
        bit-identical tables.
        """
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        if self.side is not None:
            self.side.shutdown()
