"""UMAP in a process of its own, so its numba compiles never stall the pages.

umap-learn compiles its numba code the first time it runs (about 20 s, and another ~40 s for
NN-descent, the neighbour search of maps of 4,096 words or more). Compiling holds the GIL, so
done in the server's process it slowed every page switch for up to a minute after Explore
first opened. Here one worker process (started with "spawn": the server has threads) compiles
on toy problems as soon as the app asks (`warm`), then computes every UMAP (`fit`); the server
only waits on the result. A worker that died is replaced on the next call. The worker is a daemonic
process fed through a pipe, so stopping the server never waits for a compile in progress: multiprocessing
ends daemonic children at exit (a process pool would first let the running job finish, up to a minute).

The worker runs at a lower CPU priority (`NICENESS`): its warm-up (about a minute of one core)
starts when Explore opens and would otherwise compete on equal terms with the server's reruns and,
on the same machine, the browser drawing them. A UMAP the user asks for still gets every idle core.
"""
from __future__ import annotations

import importlib.util
import multiprocessing
import os
import threading
from concurrent.futures import Future

import numpy as np

from w2vcore.errors import NotInstalled, W2VError

UMAP_APPROXIMATE_FROM = 4096  # words; from here UMAP finds neighbours with NN-descent (umap-learn's own threshold)
UMAP_LARGE_EPOCHS = 200  # umap-learn's choice above 10,000 words, used from 4,096: 500 would take 2.5x as long
NICENESS = 10  # added to the worker's nice value: the server's reruns and the browser come first
POLL_S = 0.5  # how often a waiting call checks that the worker is still alive


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


def _serve(conn) -> None:
    """The worker process: run each (function, args) received, send back (ok, result or exception)."""
    try:
        os.nice(NICENESS)
    except OSError:  # not allowed here: run at the server's priority
        pass
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        try:
            conn.send((True, fn(*args)))
        except Exception as e:  # noqa: BLE001 - sent back to the caller, who raises it
            conn.send((False, e if _picklable(e) else RuntimeError(repr(e))))


def _picklable(e: Exception) -> bool:
    import pickle

    try:
        pickle.dumps(e)
        return True
    except Exception:  # noqa: BLE001
        return False


class _Died(Exception):
    """The worker process ended while a call waited on it."""


class Worker:
    """One daemonic worker process; calls run one at a time, in order."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True, name="umap-worker")
        self.process.start()
        child.close()
        self._lock = threading.Lock()

    def call(self, fn, *args):
        """fn(*args) in the worker; its exception is raised here; `_Died` if the worker ends meanwhile."""
        with self._lock:
            try:
                self.conn.send((fn, args))
                while not self.conn.poll(POLL_S):
                    if not self.process.is_alive():
                        raise _Died()
                ok, value = self.conn.recv()
            except (EOFError, OSError):
                raise _Died() from None
        if ok:
            return value
        raise value

    def submit(self, fn, *args) -> Future:
        """`call` on a daemon thread: a Future of its result (the page does not wait)."""
        future: Future = Future()

        def run():
            try:
                future.set_result(self.call(fn, *args))
            except BaseException as e:  # noqa: BLE001 - handed to whoever reads the Future
                future.set_exception(e)

        threading.Thread(target=run, daemon=True, name="umap-call").start()
        return future


_lock = threading.Lock()
_current: Worker | None = None


def _worker() -> Worker:
    global _current
    with _lock:
        if _current is None or not _current.process.is_alive():
            _current = Worker()
        return _current


def available() -> bool:
    return importlib.util.find_spec("umap") is not None


def warm() -> Future | None:
    """Start the worker and its compile (in the background); None when umap-learn is missing."""
    return _worker().submit(_warm) if available() else None


def fit(unit: np.ndarray, n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0) -> np.ndarray:
    """(n, d) unit rows -> (n, 2) UMAP coordinates, computed in the worker process."""
    if not available():
        raise NotInstalled("umap-learn", "the UMAP projection")
    try:
        return _worker().call(_fit, np.ascontiguousarray(unit, dtype=np.float32), n_neighbors, min_dist, seed)
    except _Died:
        raise W2VError("the UMAP worker process ended (out of memory?); try fewer words, or press the button "
                       "again to start a new one") from None
