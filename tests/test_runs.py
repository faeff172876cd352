"""Runs on disk: the lifecycle a page or script goes through, and what survives a crash."""
from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest

from w2vcore.config import CorpusConfig, CorpusSource, RunConfig, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.runfolder import pid_alive, read_metrics
from w2vcore.runs import RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs", tmp_path / "cache")


def lee_config(name="lee", path=None, **train) -> RunConfig:
    from gensim.test.utils import datapath

    source = CorpusSource("text", path or datapath("lee_background.cor"))
    settings = dict(dim=16, epochs=1, batch_size=512, log_every_s=0.05, checkpoint_every_s=0.2, device="cpu")
    return RunConfig(name=name, corpus=CorpusConfig(source=source, min_count=3, val_fraction=0.1),
                     train=TrainConfig(**{**settings, **train}))


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_thread_run_lifecycle(store):
    run_id = store.create(lee_config())
    assert store.info(run_id).status == "queued"
    store.start(run_id, mode="thread")
    info = store.wait(run_id, timeout=120)
    assert info.status == "done", info.error
    assert info.progress == pytest.approx(1.0)
    rows = store.metrics(run_id)
    steps = [r for r in rows if r["kind"] == "step"]
    assert steps and all(isinstance(r["loss/sgns"], float) for r in steps)
    assert [r for r in rows if r["kind"] == "epoch"][0]["loss/val"] > 0
    vectors = store.load_vectors(run_id)
    assert "government" in vectors and vectors.vector_size == 16
    assert store.config(run_id) == lee_config()
    assert store.checkpoint_path(run_id).exists()
    points = store.snapshots(run_id)  # the "over training" view: from the random start to the end
    assert points[0] == 0.0 and points[-1] == 1.0 and points == sorted(set(points)) and len(points) <= 11
    start, end = store.load_snapshot(run_id, 0.0), store.load_snapshot(run_id, 1.0)
    assert start.index_to_key == vectors.index_to_key[:len(start)] and start.vector_size == 16
    np.testing.assert_allclose(end.vectors, vectors.vectors[:len(end)], atol=2e-3, rtol=2e-3)  # float16
    assert np.abs(start.vectors - end.vectors).max() > 0.01
    assert [r.id for r in store.list()] == [run_id]
    store.delete(run_id)
    assert store.list() == []


def test_process_run_stop_resume_and_survive_a_new_store(store, tmp_path):
    run_id = store.create(lee_config(epochs=500))
    store.start(run_id)  # a subprocess, like the app does
    wait_for(lambda: len(store.metrics(run_id)) >= 3)
    assert store.info(run_id).status == "running"
    # a fresh store (an app restart) sees the same running run
    again = RunStore(tmp_path / "runs", tmp_path / "cache")
    assert again.info(run_id).status == "running"
    again.stop(run_id)
    info = store.wait(run_id, timeout=60)
    assert info.status == "stopped"
    assert 0 < info.progress < 1
    assert store.load_vectors(run_id) is not None
    last_step = store.metrics(run_id)[-1]["step"]

    store.start(run_id, resume=True)
    wait_for(lambda: store.metrics(run_id)[-1]["step"] > last_step)
    store.stop(run_id)
    assert store.wait(run_id, timeout=60).status == "stopped"
    steps = [r["step"] for r in store.metrics(run_id)]
    assert steps[0] < last_step < steps[-1]  # metrics continued, not restarted


def test_killed_worker_is_marked_failed_and_keeps_metrics(store):
    run_id = store.create(lee_config(epochs=500))
    store.start(run_id)
    wait_for(lambda: len(store.metrics(run_id)) >= 3)
    pid = json.loads((store.path(run_id) / "status.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: store.info(run_id).status == "failed")
    info = store.info(run_id)
    assert "ended unexpectedly" in info.error
    assert len(read_metrics(store.path(run_id) / "metrics.jsonl")) >= 3


def test_a_running_run_cannot_be_deleted(store):
    run_id = store.create(lee_config(epochs=500))
    store.start(run_id, mode="thread")
    wait_for(lambda: store.info(run_id).status == "running")
    with pytest.raises(W2VError, match="stop it before deleting"):
        store.delete(run_id)
    store.stop(run_id)
    assert store.wait(run_id).status == "stopped"
    store.delete(run_id)


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".hidden", "..", "x" * 200, "/etc"])
def test_run_ids_cannot_escape_the_runs_folder(store, bad):
    with pytest.raises(W2VError):
        store.path(bad)


def test_names_become_safe_ids(store):
    run_id = store.create(lee_config(name="../../etc/passwd <script>"))
    assert store.path(run_id).parent == store.root
    assert store.info(run_id).name == "../../etc/passwd <script>"


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\x00\x01\x02binary\x00" * 100, "does not look like text"),
    (b"word " * 50, "too few distinct words"),
])
def test_bad_corpus_fails_the_run_with_a_message(store, tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    run_id = store.create(lee_config(path=str(path)))
    store.start(run_id, mode="thread")
    info = store.wait(run_id, timeout=60)
    assert info.status == "failed"
    assert message in info.error
    assert "Traceback" not in info.error and "internal error" not in info.error


def test_worker_ignores_stray_modules_in_the_callers_folder(store, tmp_path, monkeypatch):
    """A user's `timeit.py` or `signal.py` next to the app must not be imported by the worker."""
    here = tmp_path / "cwd"
    here.mkdir()
    for name in ("timeit", "signal", "tokenize"):
        (here / f"{name}.py").write_text("raise SystemExit('shadowed module imported')\n")
    monkeypatch.chdir(here)
    run_id = store.create(lee_config())
    store.start(run_id)
    info = store.wait(run_id, timeout=120)
    assert info.status == "done", info.error + (store.path(run_id) / "log.txt").read_text()


def test_same_run_id_in_two_folders_does_not_mix_up_their_state(tmp_path, monkeypatch):
    """Run ids are only unique within a folder: a finished thread run elsewhere must not mark this one dead."""
    monkeypatch.setattr(time, "strftime", lambda fmt: "20260101-000000")
    a, b = RunStore(tmp_path / "a", tmp_path / "cache"), RunStore(tmp_path / "b", tmp_path / "cache")
    first = a.create(lee_config())
    a.start(first, mode="thread")
    assert a.wait(first, timeout=120).status == "done"
    second = b.create(lee_config(epochs=500))
    assert second == first
    b.start(second)
    wait_for(lambda: len(b.metrics(second)) >= 2)
    assert b.info(second).status == "running"
    b.stop(second)
    assert b.wait(second, timeout=60).status == "stopped"


def test_a_warm_standby_worker_takes_the_next_run(store):
    """RunStore.warm leaves a spare with torch loaded; start hands it the run and warms the next one."""
    folder = store.root / ".standby"
    store.warm(idle_s=120)
    store.warm(idle_s=120)  # a spare still warming up counts: no second one
    assert len(list(folder.glob("*.pid"))) == 1
    wait_for(lambda: any(folder.glob("*.ready")), timeout=120)
    spare = int(next(folder.glob("*.ready")).stem)
    run_id = store.create(lee_config())
    store.start(run_id)
    assert json.loads((store.path(run_id) / "status.json").read_text())["pid"] == spare
    assert store.wait(run_id, timeout=120).status == "done"
    assert (store.path(run_id) / "vectors.npz").exists()
    assert not list(folder.glob("*.claimed")) and not list(folder.glob("*.job.json"))
    spares = [int(f.stem) for f in folder.glob("*.pid")]
    assert spares and spare not in spares  # the next spare is on its way
    wait_for(lambda: any(folder.glob("*.ready")), timeout=120)
    for pid in spares:  # a stopped spare withdraws its offer and exits
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not list(folder.glob("*.ready")) and not any(pid_alive(pid) for pid in spares), timeout=60)
    assert [r.id for r in store.list()] == [run_id]  # the spare folder is not a run


@pytest.mark.parametrize("content, reason", [
    (b'{"name": "glove"', "source.json is truncated or not JSON"),
    (b'["glove"]', "source.json holds list, not a JSON object"),
    (b'{"name": 3, "format": "glove", "origin": "/x"}', "source.json field 'name' is 3, not text"),
], ids=["truncated", "not-an-object", "bad-field"])
def test_a_damaged_import_is_listed_as_broken(store, tmp_path, content, reason):
    from w2vcore.embeddings import import_embedding

    (tmp_path / "g.txt").write_text("alpha 1 2\nbeta 3 4\n")
    good = import_embedding(store, tmp_path / "g.txt")
    bad = import_embedding(store, tmp_path / "g.txt", name="other")
    (store.path(bad) / "source.json").write_bytes(content)
    listed = {r.id: r for r in store.list()}
    assert listed[good].status == "done" and listed[good].kind == "imported"
    assert listed[bad].status == "broken" and reason in listed[bad].error
    assert store.load_vectors(good).index_to_key == ["alpha", "beta"]
