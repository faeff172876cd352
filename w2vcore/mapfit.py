"""RSR's learned map fitted on its own: align a finished embedding with human similarity, no corpus needed.

A run with RSR's `metric="gauge_only"` learns a map M = I + U V^T beside SGNS and exports
w M. `fit_map` learns the same M on fixed vectors (a finished run's, or any embedding's):
RSR's map steps alone, each on fresh pairs of training concepts, with `metric_keep`
holding the general similarities of frequent words in place. The concept split is RSR's
own (the vocabulary's aligned concepts and the split seed, never a run seed), so

    fit = fit_map(vectors)
    Comparison(vectors, fit.vectors, rsr=fit.rsr)

scores the fitted map with the same scorecard as a trained vanilla/RSR pair: held-out
concepts never enter the fit and are the only ones category F1 and held-out rho test.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from .config import LossSpec
from .vectors import Vectors

DEFAULT_STEPS = 2000  # Adam steps on M, each on fresh pairs (a training run steps M once per SGNS step)
CHUNK = 50  # map steps per compiled call (progress and the lr schedule advance between calls)
MAP_DEFAULTS = {"target": "things", "metric": "gauge_only", "heldout": 0.5, "seed": 0}  # the flagship's split


@dataclass
class MapFit:
    vectors: Vectors  # (V, d) the input vectors times M
    rsr: Any  # the fitted rsr.RSR: its alignment, held-out split and map M
    curve: list[tuple[int, float]]  # (map steps so far, rsr/rho_heldout of the mapped vectors)
    seconds: float  # fitting time

    @property
    def heldout_rho(self) -> float | None:
        return self.curve[-1][1] if self.curve else None


class _Frozen:
    """The `LossContext` of fixed vectors: RSR reads rows, and its map steps never move them."""

    def __init__(self, table: torch.Tensor, generator: torch.Generator):
        self.table, self.generator, self.step, self.progress = table, generator, 0, 0.0

    def gather(self, ids: torch.Tensor) -> torch.Tensor:
        return self.table.index_select(0, ids)


def fit_map(vectors: Vectors, params: dict | None = None, data_dir: str | None = None,
            steps: int = DEFAULT_STEPS, seed: int = 0, log_every: int = 200,
            progress: Callable[[float], None] | None = None) -> MapFit:
    """Fit RSR's map M alone on `vectors` (which stay as they are) and return the mapped vectors.

    params: RSR parameters (`RSRParams`) over `MAP_DEFAULTS`; `metric` is always "gauge_only".
    seed: draws the training pairs (the held-out split is `params["seed"]`, independent of it).
    """
    from .errors import W2VError
    from .losses import LossSetup
    from .losses.rsr.loss import make_rsr

    if not isinstance(steps, int) or steps < 1:
        raise W2VError(f"steps must be a whole number of at least 1, got {steps!r}")
    # a weight above 0 builds RSR with its map (at 0 it is evaluation-only); the weight itself is not used here
    spec = LossSpec("rsr", 1.0, {**MAP_DEFAULTS, **(params or {}), "metric": "gauge_only"})
    setup = LossSetup(vocab=vectors, dim=vectors.vector_size, device=torch.device("cpu"), seed=0, data_dir=data_dir)
    rsr = make_rsr(spec, setup)
    table = torch.from_numpy(np.array(vectors.vectors, dtype=np.float32))  # (V, d) a writable private copy
    ctx = _Frozen(table, torch.Generator().manual_seed(seed))
    curve, start, done = [], time.perf_counter(), 0
    while done < steps:
        n = min(CHUNK, steps - done)
        ctx.progress = done / steps
        if rsr.sgd_steps(table, 0.0, n, ctx.generator, progress=ctx.progress) is None:  # no compiled path
            for _ in range(n):
                rsr.loss(ctx)  # gauge_only: steps M itself, gives the rows no gradient
        done += n
        ctx.step = done
        if done % log_every < n or done == steps:
            curve.append((done, _heldout_rho(rsr, table)))
        if progress is not None:
            progress(done / steps)
    mapped = (table @ rsr.output_map().cpu()).numpy()
    return MapFit(Vectors(vectors.index_to_key, mapped, vectors.counts), rsr, curve, time.perf_counter() - start)


def _heldout_rho(rsr, table: torch.Tensor) -> float:
    return float(rsr.evaluate(table @ rsr.output_map().cpu()).get("rsr/rho_heldout", float("nan")))


def scorecard(vectors: Vectors, fit: MapFit, labels: tuple[str, str], data_dir: str | None = None,
              benchmarks=None, **options):
    """The twin `Comparison` of `vectors` (A) and `fit.vectors` (B) on RSR's split, with THINGS categories
    and the word-pair benchmarks of `data_dir` (packaged THINGS and gensim's copies without one)."""
    from .compare import Comparison
    from .evaldata import load_benchmarks
    from .things import load_categories

    bench = benchmarks if benchmarks is not None else load_benchmarks(data_dir)
    return Comparison(vectors, fit.vectors, labels, rsr=fit.rsr, categories=load_categories(data_dir),
                      benchmarks=bench, **options)
