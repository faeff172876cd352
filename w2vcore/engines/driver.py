"""The driver protocol: what the trainer asks of an engine, and the random streams and tables every driver keeps.

See `w2vcore.engines` for how the trainer uses a driver and how a new engine plugs in.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import numpy as np
import torch

from ..errors import W2VError
from .sgns_torch import Update


@dataclass(frozen=True)
class Chunk:
    """One chunk of the training corpus, whole sentences, and where in the run it is."""

    ids: np.ndarray  # (n,) int32 token ids
    lens: np.ndarray  # (S,) sentence lengths, summing to n
    epoch: int
    index: int  # chunk number within the epoch
    start: int  # first step to train: > 0 when a run resumes mid-chunk


@dataclass
class StepReport:
    """What one step of a driver did; the loss sums stay device scalars (no host sync)."""

    steps: int  # optimiser steps done, counted in batches of batch_size pairs
    position: int  # the next step within the chunk: a stop now resumes there
    words: int  # tokens of the chunk consumed so far (before subsampling)
    lr: float  # the learning rate extra losses step with
    losses: list[tuple[torch.Tensor, int]]  # (summed SGNS loss, pairs) per batch
    last: bool  # the chunk's final step


class Driver(Protocol):
    """An engine as the trainer drives it (the module docstring of `w2vcore.engines` tells the whole contract).

    `state_dict()` returns at least "w_in", "w_out" (raw CPU copies) and "rng" (a list of generator
    states, to which the checkpoint appends the extra losses' one); `tables_state` builds it.
    """

    update: Update  # the tables (w_in, w_out) and their update
    own_threads: bool
    share: float  # the fraction of the run's words this driver trains: 1, or its process's share of a torchrun run

    @property
    def w_in(self) -> torch.Tensor: ...

    @property
    def w_out(self) -> torch.Tensor: ...

    def run_chunk(self, chunk: Chunk, lr_at: Callable[[int], float],
                  stop: threading.Event) -> Iterator[StepReport]: ...

    def beside(self, work: Callable[[], None]) -> None: ...

    def sync(self) -> None: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, ck: dict) -> None: ...

    def close(self) -> None: ...


class Streams:
    """A driver's torch generators: slot 0 draws pairs and its batches' negatives, one more per Hogwild slot.

    A checkpoint keeps them all ("rng") and slot 0 as the current chunk started ("rng_chunk"), so a
    resume regenerates the interrupted chunk's pairs and then continues every stream where it stopped.
    """

    def __init__(self, seed: int, threads: int, device: torch.device):
        self.gens = [torch.Generator(device).manual_seed(seed)] + [
            torch.Generator(device).manual_seed(seed * 7919 + slot) for slot in range(1, threads)]
        self.chunk_start = self.gens[0].get_state()
        self._resume: list[torch.Tensor] | None = None

    def chunk_done(self) -> None:
        self.chunk_start = self.gens[0].get_state()

    def resume(self) -> None:
        """Continue the streams saved in the checkpoint (after the interrupted chunk's setup re-drew)."""
        if self._resume is not None:
            for g, state in zip(self.gens, self._resume):
                g.set_state(state)
            self._resume = None

    def state_dict(self) -> dict:
        return {"rng_chunk": self.chunk_start, "rng": [g.get_state() for g in self.gens]}

    def check(self, rng: list) -> None:
        if len(rng) != len(self.gens) and fits(self.gens[0], rng):
            raise W2VError(f"the checkpoint was written with {len(rng)} threads; resume with the same number")

    def load_state_dict(self, ck: dict) -> None:
        """Continue the saved streams; a checkpoint from another kind of device keeps these fresh ones."""
        self.check(ck["rng"])
        if not fits(self.gens[0], [ck["rng_chunk"], *ck["rng"]]):
            return
        self.gens[0].set_state(ck["rng_chunk"])
        self.chunk_start, self._resume = ck["rng_chunk"], list(ck["rng"])


def fits(gen: torch.Generator, states: list) -> bool:
    """True when every saved generator state is one `gen`'s kind of device can take.

    A CUDA generator's state (Philox: seed and offset, 16 bytes) and the CPU's (Mersenne Twister,
    5056 bytes) do not convert: a run resumed on another kind of device (a GPU run on a CPU-only
    machine, say) cannot continue its random streams, and draws different numbers anyway. It keeps
    the streams seeded from the run's seed, so the resume trains on but is not bit-identical.
    """
    size = gen.get_state().numel()
    return all(state.numel() == size for state in states)


def tables_state(update: Update, streams: Streams) -> dict:
    """The part of a checkpoint a driver owns: raw tables, optimiser state, random streams."""
    return {"w_in": update.w_in.detach().cpu().clone(), "w_out": update.w_out.detach().cpu().clone(),
            "engine": update.state_dict(), **streams.state_dict()}


def load_tables_state(update: Update, streams: Streams, ck: dict) -> None:
    if tuple(ck["w_in"].shape) != tuple(update.w_in.shape):
        raise W2VError(f"checkpoint tables are {tuple(ck['w_in'].shape)} but this run needs "
                       f"{tuple(update.w_in.shape)}: the corpus or dim changed since it was saved")
    streams.check(ck["rng"])
    with torch.no_grad():
        update.w_in.copy_(ck["w_in"])
        update.w_out.copy_(ck["w_out"])
    update.load_state_dict(ck.get("engine", {}))
    streams.load_state_dict(ck)


class TablesDriver:
    """The part every driver shares: its `update` holds the tables and `streams` its random streams; the
    tables, optimiser and streams make the driver's share of a checkpoint. Drivers subclass it."""

    update: Update
    streams: Streams
    share = 1.0  # one process trains every word
    engine_name = ""  # its name in config.ENGINES: a checkpoint taken inside a chunk continues only there

    @property
    def w_in(self) -> torch.Tensor:
        return self.update.w_in

    @property
    def w_out(self) -> torch.Tensor:
        return self.update.w_out

    def state_dict(self) -> dict:
        return {**tables_state(self.update, self.streams), "engine_name": self.engine_name}

    def load_state_dict(self, ck: dict) -> None:
        """The checkpoint's tables and streams; `W2VError` for a position inside a chunk another engine took
        (a torch batch and a numba span are different steps: a GPU run resumed where 'auto' picks numba)."""
        saved = ck.get("engine_name", "")
        if ck.get("batch", 0) and saved and self.engine_name and saved != self.engine_name:
            raise W2VError(f"the checkpoint was taken inside a chunk by the {saved} engine, which the "
                           f"{self.engine_name} engine cannot continue; resume with engine='{saved}'")
        load_tables_state(self.update, self.streams, ck)
