"""UMAP runs in its own process: the page's process only waits, and a dead worker is replaced."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("umap")

from labui import analysis, umapwork  # noqa: E402
from w2vcore.errors import W2VError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def test_umap_runs_in_another_process_and_keeps_neighbourhoods():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 5
    labels = np.repeat(np.arange(3), 40)
    xy = analysis.project(centres[labels] + rng.normal(size=(120, 16)), "umap", n_neighbors=10)
    assert xy.shape == (120, 2)
    pids = {umapwork._worker().submit(os.getpid).result()}
    assert os.getpid() not in pids, "UMAP ran in the page's process"
    centroid = np.stack([xy[labels == k].mean(0) for k in range(3)])
    nearest = np.argmin(((xy[:, None] - centroid[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).mean() > 0.95, "the three clusters should stay apart"


def test_a_worker_that_dies_mid_call_gives_a_message_and_is_replaced(monkeypatch):
    worker = umapwork._worker()
    pending = worker.submit(time.sleep, 60)
    time.sleep(1)
    worker.process.kill()
    with pytest.raises(umapwork._Died):
        pending.result(timeout=30)
    monkeypatch.setattr(umapwork.Worker, "call", lambda self, *a: (_ for _ in ()).throw(umapwork._Died()))
    with pytest.raises(W2VError, match="UMAP worker process ended"):
        umapwork.fit(np.random.default_rng(1).normal(size=(30, 4)))
    monkeypatch.undo()
    assert umapwork._worker() is not worker
    assert umapwork.fit(np.random.default_rng(1).normal(size=(30, 4)), n_neighbors=5).shape == (30, 2)


def test_exit_does_not_wait_for_a_compile_in_progress():
    """A server stopping while the worker is busy (the warm-up takes a minute) exits at once."""
    code = ("import sys, time; sys.path.insert(0, %r); from labui import umapwork; "
            "umapwork._worker().submit(time.sleep, 120); time.sleep(3)" % str(REPO))
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], timeout=60, check=True)
    assert time.monotonic() - started < 30


def test_the_worker_yields_the_cpu_to_the_server():
    """Its numba warm-up must not take a core from the page reruns (os.nice(0) reads the nice value)."""
    assert umapwork._worker().submit(os.nice, 0).result() >= os.nice(0) + min(umapwork.NICENESS, 19 - os.nice(0))
