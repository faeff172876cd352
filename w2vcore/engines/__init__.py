"""Engines as drivers: what trains the SGNS tables, one chunk of corpus at a time.

The trainer (`w2vcore.train`) only loops: it hands a driver one `Chunk` after another, and the
driver yields a `StepReport` after each step it trains (a group of batches, a kernel span). Between
reports the trainer runs the extra losses (through `beside`, so a driver may overlap them with its
next step), logs, evaluates and checkpoints; `sync` waits for anything the driver has in flight.

A driver implements `Driver`:

- `run_chunk(chunk, lr_at, stop)`: train the chunk from `chunk.start`, yielding a report per step;
  return early, without a report, when `stop` is set before a step.
- `update`: the tables in an `sgns_torch.Update` (`w_in`, `w_out`, and how extra losses step them).
- `beside(fn)` / `sync()`: run extra-loss work now or beside the next step / wait for it.
- `state_dict()` / `load_state_dict(ck)`: tables, optimiser and random streams for exact resumes
  (`driver.TablesDriver` gives these and `w_in`/`w_out` to a driver that keeps `update` and `streams`).
- `own_threads` (it brings its own threads: torch's and BLAS's are capped to 1) and `close()`.

`make_driver` picks one by `resolve_engine`; a new engine is one module and one entry in `DRIVERS`
(and its name in `config.ENGINES`).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
from typing import Any, Callable

import torch

from ..config import TrainConfig
from ..errors import W2VError
from ..preflight import MAX_THREADS_AUTO
from .driver import Chunk, Driver, StepReport
from .numba_spans import NumbaSpans
from .torch_batches import TorchBatches

__all__ = ["Chunk", "Driver", "StepReport", "DRIVERS", "make_driver", "own_threads", "resolve_device",
           "resolve_engine", "resolve_threads"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise W2VError("device 'cuda' was requested but no CUDA GPU is available; use device='auto' or 'cpu'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise W2VError("device 'mps' was requested but Apple MPS is not available; use device='auto' or 'cpu'")
    return torch.device(name)


def resolve_threads(cfg: TrainConfig, device: torch.device) -> int:
    """Hogwild worker threads: only for SGD on the CPU; 0 means one per core."""
    if device.type != "cpu" or cfg.optimizer != "sgd":
        return 1
    return cfg.threads or max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                     else os.cpu_count() or 1, MAX_THREADS_AUTO))


def resolve_engine(cfg: TrainConfig, device: torch.device) -> str:
    """'auto' picks the fused Numba kernel for SGD on the CPU, and torch everywhere else."""
    if cfg.engine not in ("auto", "numba"):
        return cfg.engine  # "torch", or another driver in DRIVERS
    fits = device.type == "cpu" and cfg.optimizer == "sgd"
    if cfg.engine == "numba":
        if not fits:
            raise W2VError("the numba engine runs word2vec's SGD on the CPU; use optimizer='sgd' and device='cpu', "
                           "or engine='torch'")
        return "numba"
    return "numba" if fits and importlib.util.find_spec("numba") is not None else "torch"


DRIVERS: dict[str, Callable[..., Driver]] = {"torch": TorchBatches, "numba": NumbaSpans}


def make_driver(cfg: TrainConfig, data: Any, device: torch.device, *, scale: float, extra: bool) -> Driver:
    """The driver `resolve_engine` picks, with its tables initialised from `cfg.seed`.

    scale: 1 - a, the SGNS share of the loss; extra: extra losses step between the driver's steps.
    """
    name = resolve_engine(cfg, device)
    return DRIVERS[name](cfg, data, device, threads=resolve_threads(cfg, device), scale=scale, extra=extra)


@contextlib.contextmanager
def own_threads(driver: Driver):
    """While a driver runs its own threads, torch's intra-op and BLAS (OpenBLAS) threads are capped to 1.

    Idle OpenMP workers spin between calls; and compiled extra losses call np.dot inside numba, i.e.
    scipy's OpenBLAS, whose busy-waiting workers fought the kernel's threads for the two cores: RSR
    with `metric_keep` used 2.6x vanilla's CPU, 1.7x with one BLAS thread (docs/RSR.md).
    """
    intra_op = torch.get_num_threads()
    if driver.own_threads:
        torch.set_num_threads(1)
    try:
        with _blas_threads(1 if driver.own_threads else None):
            yield
    finally:
        torch.set_num_threads(intra_op)


@contextlib.contextmanager
def _blas_threads(limit: int | None):
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
