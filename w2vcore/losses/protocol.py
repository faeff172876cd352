"""The hooks a loss has (`ExtraLoss`) and their defaults (`LossBase`), what a loss sees at a step
(`LossContext`) and what its factory builds from (`LossSetup`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch


class LossContext(Protocol):
    """What a loss sees at one optimiser step."""

    step: int  # optimiser steps so far
    progress: float  # 0..1 through the whole run
    generator: torch.Generator  # the loss's own RNG, so twins share SGNS randomness

    def gather(self, ids: torch.Tensor) -> torch.Tensor:
        """Differentiable rows of the input (word) table: (len(ids), dim)."""
        ...


@runtime_checkable
class ExtraLoss(Protocol):
    """Every hook the trainer calls on a loss; `LossBase` gives the optional ones their no-op defaults."""

    name: str
    weight: float  # a in (1 - a) * L_w2v + a * L_extra
    every: int  # apply every N optimiser steps

    def loss(self, ctx: LossContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Scalar loss on the device, and metrics to log (device scalars; synced only when logged)."""
        ...

    def evaluate(self, vectors: torch.Tensor) -> dict[str, float]:
        """Periodic evaluation on the whole (V, dim) word vectors as exported (mapped), e.g. held-out rho."""
        ...

    def ramp(self, progress: float) -> float:
        """Factor on the weight at `progress` (0..1 of the run): a warm-up; 1.0 without one."""
        ...

    def sgd_steps(self, table: torch.Tensor, step: float, times: int, gen: torch.Generator,
                  progress: float = 0.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]] | None:
        """`times` in-place SGD applications of size `step` on the word table by a compiled path, returning
        (summed loss, summed metrics); None when the loss has no such path (the trainer then uses autograd)."""
        ...

    def output_map(self) -> torch.Tensor | None:
        """A (dim, dim) float32 matrix M on the loss's device, or None (identity).

        SGNS only sees w_in[i] . w_out[j], which (w_in M, w_out M^-T) leave unchanged: a free
        global "gauge" a loss may learn. The trainer composes the maps of its losses in order and
        exports, snapshots and evaluates w_in @ M (context vectors: w_out @ M^-T); the raw tables
        keep training unchanged.
        """
        ...

    def state_dict(self) -> dict:
        """The loss's own learned state (e.g. M and its optimiser), saved in checkpoints; {} if none."""
        ...

    def load_state_dict(self, state: dict) -> None: ...


class LossBase:
    """Defaults for the optional hooks of `ExtraLoss`: no warm-up, no compiled path, no map, no state."""

    every: int = 1

    def ramp(self, progress: float) -> float:
        return 1.0

    def sgd_steps(self, table, step, times, gen, progress=0.0):
        return None

    def output_map(self) -> torch.Tensor | None:
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@dataclass(frozen=True)
class LossSetup:
    """What a loss factory may use to build itself for one run."""

    vocab: Any  # corpus.Vocab: index_to_key / key_to_index
    dim: int
    device: torch.device
    seed: int
    data_dir: str | None = None  # the user's data folder (THINGS, word lists, ...)
