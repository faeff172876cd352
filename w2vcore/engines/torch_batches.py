"""The torch driver: a chunk's pairs on the device, trained in groups of batches (Hogwild threads on the CPU).

Each chunk becomes shuffled (centre, context) pairs (`make_pairs`), cut into batches of
`batch_size`; a step is a group of `threads` batches that update the shared tables concurrently,
each with its own negative-sampling generator (threads = 1: one batch, bit-reproducible). The
update is `TorchSGD` (word2vec's hand-written step) or `TorchAdam` (autograd + SparseAdam), and
runs the same on a GPU: nothing here syncs with the host.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import torch

from ..config import TrainConfig
from .driver import Chunk, StepReport, Streams, TablesDriver
from .sgns_torch import NoiseSampler, init_tables, make_pairs, make_update


class TorchBatches(TablesDriver):
    engine_name = "torch"
    def __init__(self, cfg: TrainConfig, data: Any, device: torch.device, *, threads: int, scale: float,
                 extra: bool):
        self.cfg, self.device, self.threads, self.scale = cfg, device, threads, scale
        w_in, w_out = init_tables(len(data.vocab), cfg.dim, cfg.seed, device)
        self.update = make_update(cfg.optimizer, w_in, w_out, cfg.lr)
        self.pool = ThreadPoolExecutor(threads, "w2v-sgns") if threads > 1 else None
        self.own_threads = self.pool is not None
        self.streams = Streams(cfg.seed, threads, device)
        self.keep_prob = torch.as_tensor(data.keep_prob, dtype=torch.float32, device=device)
        self.noise = NoiseSampler(data.noise, device)

    def run_chunk(self, chunk: Chunk, lr_at: Callable[[int], float],
                  stop: threading.Event) -> Iterator[StepReport]:
        """Pairs for the chunk, then groups of `threads` batches from `chunk.start` until done or stopped."""
        cfg, gen = self.cfg, self.streams.gens[0]
        centre, context = make_pairs(torch.as_tensor(chunk.ids, device=self.device),
                                     torch.as_tensor(chunk.lens, device=self.device),
                                     self.keep_prob, cfg.window, gen)
        self.streams.resume()  # a resumed chunk re-drew its pairs; its batches continue the saved streams
        n_batches = max(1, -(-centre.shape[0] // cfg.batch_size))
        for g0 in range(chunk.start, n_batches, self.threads):
            if stop.is_set():
                return
            group = range(g0, min(g0 + self.threads, n_batches))
            words = round(len(chunk.ids) * (group[-1] + 1) / n_batches)
            lr = lr_at(words)
            batches = [(slot, centre[b * cfg.batch_size:(b + 1) * cfg.batch_size],
                        context[b * cfg.batch_size:(b + 1) * cfg.batch_size], lr) for slot, b in enumerate(group)]
            if self.pool is None:
                sums = [self._batch(*batches[0])]
            else:  # Hogwild: the group's batches update the shared tables concurrently
                sums = list(self.pool.map(lambda a: self._batch(*a), batches))
            losses = [(loss_sum, c.shape[0]) for (_, c, _, _), loss_sum in zip(batches, sums)]
            yield StepReport(steps=len(group), position=group[-1] + 1, words=words, lr=lr, losses=losses,
                             last=group[-1] + 1 == n_batches)
        self.streams.chunk_done()

    def _batch(self, slot: int, centre: torch.Tensor, context: torch.Tensor, lr: float) -> torch.Tensor:
        neg = self.noise.sample((centre.shape[0], self.cfg.negative), self.streams.gens[slot])
        return self.update.step(centre, context, neg, lr, self.scale)

    def beside(self, work: Callable[[], None]) -> None:
        work()

    def sync(self) -> None:
        pass

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
