"""UMAP in a process of its own, so its numba compiles never stall the pages.

umap-learn compiles its numba code the first time it runs (about 20 s, and another ~40 s for
NN-descent, the neighbour search of maps of 4,096 words or more). Compiling holds the GIL, so
done in the server's process it slowed every page switch for up to a minute after Explore
first opened. Here one worker process (started with "spawn": the server has threads) compiles
on toy problems as soon as the app asks (`warm`), then computes every UMAP (`fit`); the server
only waits on the result. A worker that died is replaced on the next call.

The worker runs at a lower CPU priority (`NICENESS`): its warm-up (about a minute of one core)
starts when Explore opens and would otherwise compete on equal terms with the server's reruns and,
on the same machine, the browser drawing them. A UMAP the user asks for still gets every idle core.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from w2vcore.errors import NotInstalled, W2VError

UMAP_APPROXIMATE_FROM = 4096  # words; from here UMAP finds neighbours with NN-descent (umap-learn's own threshold)
UMAP_LARGE_EPOCHS = 200  # umap-learn's choice above 10,000 words, used from 4,096: 500 would take 2.5x as long
NICENESS = 10  # added to the worker's nice value: the server's reruns and the browser come first

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _fit(unit: np.ndarray, n_neighbors: int, min_dist: float, seed: int) -> np.ndarray:
    """UMAP of unit rows (cosine metric), in the worker process."""
    import umap

    n = len(unit)
    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, n - 1), min_dist=min_dist, metric="cosine",
                        random_state=seed, n_jobs=1, n_epochs=UMAP_LARGE_EPOCHS if n >= UMAP_APPROXIMATE_FROM else None)
    return reducer.fit_transform(unit)


def _warm() -> None:
    """Compile the exact path (small maps), then NN-descent (large ones), on a toy problem."""
    import umap

    toy = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    for approximate in (False, True):
        umap.UMAP(n_neighbors=5, metric="cosine", random_state=0, n_jobs=1, n_epochs=20,
                  force_approximation_algorithm=approximate).fit_transform(toy)


def _lower_priority() -> None:
    """The worker's initializer: yield the CPU to the server and the browser (best effort)."""
    try:
        os.nice(NICENESS)
    except OSError:  # not allowed here: run at the server's priority
        pass


def _worker() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_lower_priority)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _stop() -> None:
    """At exit, end the worker without waiting for a warm-up still compiling."""
    pool = _pool
    if pool is not None:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("umap") is not None


def warm() -> Future | None:
    """Start the worker and its compile (in the background); None when umap-learn is missing."""
    return _worker().submit(_warm) if available() else None


def fit(unit: np.ndarray, n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0) -> np.ndarray:
    """(n, d) unit rows -> (n, 2) UMAP coordinates, computed in the worker process."""
    if not available():
        raise NotInstalled("umap-learn", "the UMAP projection")
    pool = _worker()
    try:
        return pool.submit(_fit, np.ascontiguousarray(unit, dtype=np.float32), n_neighbors, min_dist, seed).result()
    except BrokenProcessPool:
        _discard(pool)
        raise W2VError("the UMAP worker process ended (out of memory?); try fewer words, or press the button "
                       "again to start a new one") from None
