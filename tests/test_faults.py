"""Fault injection: races, kills during writes, broken run folders, resume from anywhere, a full disk.

Every test here sets up a fault a user or the machine can cause and checks that nothing is lost
and no status is wrong. Runs are tiny (a synthetic corpus of a few thousand tokens, dim 8).
"""
from __future__ import annotations

import builtins
import contextlib
import dataclasses
import errno
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from w2vcore import runfolder as rf
from w2vcore import runs
from w2vcore.config import CorpusConfig, CorpusSource, RunConfig, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.runs import RunStore
from w2vcore.vectors import Vectors

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """~6k tokens over 300 words with some structure (Zipf-like draws, 12-word sentences)."""
    rng = np.random.default_rng(0)
    words = ["".join("abcdefghij"[int(d)] for d in f"{i:03d}") for i in range(300)]  # letters only: aaa, aab, ...
    p = 1 / np.arange(1, 301)
    lines = [" ".join(rng.choice(words, 12, p=p / p.sum())) for _ in range(500)]
    path = tmp_path_factory.mktemp("corpus") / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs", tmp_path / "cache")


def tiny(path, name="tiny", **train) -> RunConfig:
    settings = dict(dim=8, epochs=1, batch_size=64, log_every_s=0.01, checkpoint_every_s=0.05, device="cpu",
                    threads=1, snapshots=2)
    return RunConfig(name=name, corpus=CorpusConfig(source=CorpusSource("text", str(path)), min_count=1),
                     train=TrainConfig(**{**settings, **train}))


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def status_file(store, run_id) -> dict:
    return json.loads((store.path(run_id) / "status.json").read_text())


def set_status(store, run_id, **fields) -> None:
    (store.path(run_id) / "status.json").write_text(json.dumps({"created": time.time(), **fields}))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def finished_run(store, corpus, name="good") -> str:
    """A run folder as a finished run leaves it, without training (vectors, metrics, status done)."""
    run_id = store.create(tiny(corpus, name=name))
    p = store.path(run_id)
    Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32)).save(p / "vectors.npz")
    (p / "metrics.jsonl").write_text("".join(json.dumps({"kind": "step", "step": s, "time": s / 10}) + "\n"
                                             for s in (1, 2, 3)))
    rf.update_status(p, status="done", progress=1.0)
    return run_id


# ---------------------------------------------------------- 1. the status race
def _poll_until_finished(store, ids, seen, stop):
    while not stop.is_set():
        for run_id in ids:
            seen.append(store.info(run_id).status)


@pytest.mark.parametrize("mode, n", [("thread", 12), ("process", 4)])
def test_runs_finishing_while_polled_are_never_reported_failed(store, corpus, mode, n):
    warm = store.create(tiny(corpus))  # fills the corpus cache, so the runs below finish close together
    store.start(warm, mode="thread")
    assert store.wait(warm, timeout=60).status == "done"
    ids = [store.create(tiny(corpus, name=f"r{i}")) for i in range(n)]
    seen, stop = [], threading.Event()
    pollers = [threading.Thread(target=_poll_until_finished, args=(store, ids, seen, stop)) for _ in range(4)]
    for t in pollers:
        t.start()
    try:
        for run_id in ids:
            store.start(run_id, mode=mode)
        final = [store.wait(run_id, timeout=120, poll=0.005) for run_id in ids]
    finally:
        stop.set()
        for t in pollers:
            t.join()
    assert [i.status for i in final] == ["done"] * n, [i.error for i in final]
    assert "failed" not in seen and seen.count("done") > 0
    assert all(status_file(store, run_id)["status"] == "done" for run_id in ids)


def test_a_worker_that_finishes_between_read_and_liveness_check_is_done(store, corpus, monkeypatch):
    """The exact interleaving: info reads 'running', the worker writes 'done' and exits, then the check runs."""
    run_id = store.create(tiny(corpus))
    p = store.path(run_id)
    rf.update_status(p, status="running", pid=dead_pid())

    def worker_finishes_then_check(self, path, st):
        rf.update_status(path, status="done", progress=1.0)
        return False  # the worker is gone by the time we look

    monkeypatch.setattr(RunStore, "_worker_alive", worker_finishes_then_check)
    assert store.info(run_id).status == "done"
    assert status_file(store, run_id)["status"] == "done"


def test_reading_a_dead_run_writes_nothing(store, corpus):
    run_id = store.create(tiny(corpus))
    rf.update_status(store.path(run_id), status="running", pid=dead_pid())
    before = (store.path(run_id) / "status.json").read_bytes()
    info = store.info(run_id)
    assert info.status == "failed" and "ended unexpectedly" in info.error
    assert [r.status for r in store.list()] == ["failed"]
    assert (store.path(run_id) / "status.json").read_bytes() == before


# --------------------------------------------------------- 4. runs stuck for ever
def test_a_reused_pid_does_not_keep_a_dead_run_running(store, corpus):
    other = subprocess.Popen(["sleep", "30"])  # a live, unrelated process now holds the worker's old pid
    try:
        run_id = store.create(tiny(corpus))
        p = store.path(run_id)
        real_start = rf.process_start(other.pid)
        rf.update_status(p, status="running", pid=other.pid, pid_start=real_start)
        assert store.info(run_id).status == "running"  # same pid, same start time: the worker itself
        rf.update_status(p, pid_start=real_start - 1)  # same pid, another process
        info = store.info(run_id)
        assert info.status == "failed" and "ended unexpectedly" in info.error
        store.stop(run_id)  # stop records what the run is
        assert status_file(store, run_id)["status"] == "failed"
        store.delete(run_id)
        assert store.list() == []
    finally:
        other.kill()
        other.wait()


def test_a_queued_run_whose_worker_died_fails_and_can_be_started_again(store, corpus):
    run_id = store.create(tiny(corpus))
    rf.update_status(store.path(run_id), status="queued", pid=dead_pid(), queued=time.time())
    info = store.info(run_id)
    assert info.status == "failed" and "before training began" in info.error
    store.start(run_id, mode="thread")
    assert store.wait(run_id, timeout=60).status == "done"


def test_a_queued_run_no_worker_took_times_out(store, corpus, monkeypatch):
    run_id = store.create(tiny(corpus))
    rf.update_status(store.path(run_id), status="queued", queued=time.time())
    assert store.info(run_id).status == "queued"
    monkeypatch.setattr(runs, "QUEUED_TIMEOUT_S", 0.0)
    info = store.info(run_id)
    assert info.status == "failed" and "no worker took up the run" in info.error
    store.stop(run_id)
    assert status_file(store, run_id)["status"] == "failed"
    store.delete(run_id)


# -------------------------------------------------- 3. a kill during every write
class Killed(BaseException):
    """What a kill looks like to the code under test: it stops in the middle of a write."""


class _HalfWriter:
    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[:max(1, len(data) // 2)])
        self._f.flush()
        raise Killed

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@contextlib.contextmanager
def killed_mid_write(monkeypatch, under: Path):
    """Files opened for writing under `under` write half of their first write, then the process 'dies'."""
    real_open = builtins.open

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if any(c in mode for c in "wax+") and str(file).startswith(str(under)):
            return _HalfWriter(f)
        return f

    with monkeypatch.context() as m:
        m.setattr(builtins, "open", fake_open)
        m.setattr(io, "open", fake_open)
        with pytest.raises(Killed):
            yield


class _State:
    step, progress, elapsed = 7, 0.5, 1.0


def _write_kinds(writer: rf.RunWriter, version: int):
    """One write of each kind the run writer does; `version` changes the content."""
    import torch

    vectors = Vectors(["a", "b"], np.full((2, 3), version, dtype=np.float32))
    return {
        "vectors.npz": lambda: writer.on_train_end(_State, type("R", (), {"vectors": vectors})),
        "checkpoint.pt": lambda: writer.on_checkpoint(_State, {"w_in": torch.full((2, 3), float(version)),
                                                               "w_out": torch.zeros(2, 3), "step": version}),
        "status.json": lambda: rf.update_status(writer.dir, progress=version / 10),
        "snapshots/0500.npy": lambda: writer.on_snapshot(_State, np.full((2, 3), version, np.float16), ["a", "b"]),
    }


@pytest.mark.parametrize("kind", ["vectors.npz", "checkpoint.pt", "status.json", "snapshots/0500.npy"])
def test_a_kill_while_rewriting_a_file_leaves_the_previous_one(store, corpus, monkeypatch, kind):
    run_id = store.create(tiny(corpus))
    p = store.path(run_id)
    writer = rf.RunWriter(p)
    _write_kinds(writer, 1)[kind]()
    before = (p / kind).read_bytes()
    with killed_mid_write(monkeypatch, p):
        _write_kinds(writer, 2)[kind]()
    assert (p / kind).read_bytes() == before
    assert not [f for f in p.rglob("*.tmp")], "the temporary file is cleaned up"
    assert store.info(run_id).status == "queued"
    writer.close()


@pytest.mark.parametrize("kind", ["vectors.npz", "checkpoint.pt", "snapshots/words.txt"])
def test_a_kill_during_the_first_write_leaves_no_file(store, corpus, monkeypatch, kind):
    run_id = store.create(tiny(corpus))
    p = store.path(run_id)
    writer = rf.RunWriter(p)
    target = "snapshots/0500.npy" if kind.startswith("snapshots") else kind
    with killed_mid_write(monkeypatch, p):
        _write_kinds(writer, 1)[target]()
    assert not (p / kind).exists()
    assert store.snapshots(run_id) == []
    writer.close()


def test_a_kill_while_creating_a_run_leaves_no_half_run(store, corpus, monkeypatch):
    with killed_mid_write(monkeypatch, store.root):
        store.create(tiny(corpus))
    assert store.list() == []
    assert list(store.root.iterdir()) == []


def test_a_kill_while_appending_metrics_loses_only_that_line(store, corpus, monkeypatch):
    run_id = finished_run(store, corpus)
    with killed_mid_write(monkeypatch, store.path(run_id)):
        with open(store.path(run_id) / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"kind": "step", "step": 4, "time": 0.4}) + "\n")
    assert [r["step"] for r in store.metrics(run_id)] == [1, 2, 3]


@pytest.mark.parametrize("keep", [0, 10, 0.5, -1])
def test_truncated_vectors_and_checkpoint_give_a_clear_error(store, corpus, keep):
    import torch

    run_id = finished_run(store, corpus)
    p = store.path(run_id)
    torch.save({"w_in": torch.zeros(3, 8), "w_out": torch.zeros(3, 8), "step": 3}, p / "checkpoint.pt")
    assert store.load_checkpoint(run_id)["step"] == 3
    for name in ("vectors.npz", "checkpoint.pt"):
        data = (p / name).read_bytes()
        n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
        (p / name).write_bytes(data[:n])
    with pytest.raises(W2VError):
        store.load_vectors(run_id)
    with pytest.raises(W2VError, match="checkpoint"):
        store.load_checkpoint(run_id)
    with pytest.raises(W2VError, match="checkpoint"):
        store.start(run_id, resume=True)
    assert store.info(run_id).status == "done"  # the refusal touched nothing


# ------------------------------------------------------------ 7. broken run folders
BROKEN_STATUS = {
    "a list": (b"[]", "not a JSON object"),
    "progress as text": (b'{"status": "done", "progress": "abc"}', "'progress'"),
    "no status": (b'{"progress": 0.5}', "has status None"),
    "unknown status": (b'{"status": "exploded"}', "'exploded'"),
    "pid as text": (b'{"status": "running", "pid": "12"}', "'pid'"),
    "progress above 1": (b'{"status": "done", "progress": 7}', "between 0 and 1"),
    "truncated": (b'{"status": "do', "truncated"),
    "empty": (b"", "empty"),
    "not UTF-8": (b'{"status": "done", "error": "\xff\xfe"}', "not UTF-8"),
}


@pytest.mark.parametrize("content, reason", BROKEN_STATUS.values(), ids=BROKEN_STATUS.keys())
def test_a_broken_status_shows_that_run_as_broken_and_the_others_as_they_are(store, corpus, content, reason):
    good = finished_run(store, corpus)
    bad = finished_run(store, corpus, name="bad")
    (store.path(bad) / "status.json").write_bytes(content)
    listed = {r.id: r for r in store.list()}
    assert listed[good].status == "done"
    assert listed[bad].status == "broken" and reason in listed[bad].error and listed[bad].name == "bad"
    assert not listed[bad].active
    assert store.load_vectors(good).index_to_key == ["a", "b", "c"]
    with pytest.raises(W2VError, match="broken"):
        store.start(bad)
    store.delete(bad)
    assert [r.id for r in store.list()] == [good]


BROKEN_CONFIG = {
    "truncated": (b'{"name": "x", "corpus": {"sou', "truncated"),
    "a list": (b"[1, 2]", "not a JSON object"),
    "not UTF-8": (b'{"name": "\xff"}', "not UTF-8"),
    "wrong shape": (b'{"corpus": "abc"}', "config.json"),
    "bad setting": (b'{"train": {"dim": -3}}', "dim"),
    "a folder": (None, "is a folder"),
}


@pytest.mark.parametrize("content, reason", BROKEN_CONFIG.values(), ids=BROKEN_CONFIG.keys())
def test_a_broken_config_shows_that_run_as_broken(store, corpus, content, reason):
    good = finished_run(store, corpus)
    bad = finished_run(store, corpus, name="bad")
    config = store.path(bad) / "config.json"
    if content is None:
        config.unlink()
        config.mkdir()
    else:
        config.write_bytes(content)
    listed = {r.id: r for r in store.list()}
    assert listed[good].status == "done"
    assert listed[bad].status == "broken" and reason in listed[bad].error
    with pytest.raises(W2VError, match=reason):
        store.config(bad)
    assert store.config(good).name == "good"
    store.delete(bad)


def test_a_symlinked_run_folder_is_broken_and_never_followed(store, corpus, tmp_path):
    good = finished_run(store, corpus)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text(json.dumps(tiny(corpus).to_dict()))
    (elsewhere / "status.json").write_text('{"status": "done"}')
    (elsewhere / "vectors.npz").write_bytes((store.path(good) / "vectors.npz").read_bytes())
    link = store.root / "20990101-000000-link"
    link.symlink_to(elsewhere)
    listed = {r.id: r for r in store.list()}
    assert listed[good].status == "done"
    assert listed[link.name].status == "broken" and "symbolic link" in listed[link.name].error
    for read in (store.config, store.metrics, store.load_vectors, store.start):
        with pytest.raises(W2VError, match="symbolic link"):
            read(link.name)
    store.delete(link.name)
    assert not link.exists() and (elsewhere / "vectors.npz").exists()  # only the link went
    assert [r.id for r in store.list()] == [good]


def test_bad_metric_lines_are_skipped(store, corpus):
    run_id = finished_run(store, corpus)
    with open(store.path(run_id) / "metrics.jsonl", "ab") as f:
        f.write(b'\xff\xfe{"kind": "step"}\n[1, 2]\n"text"\n{"no": "step"}\n{"step": "4"}\nnull\n{"kind": "step", "st')
        f.write(b'\n{"kind": "step", "step": 5, "time": 0.5}\n')
    assert [r["step"] for r in store.metrics(run_id)] == [1, 2, 3, 5]


def test_a_broken_run_does_not_stop_list_from_showing_a_running_one(store, corpus):
    bad = finished_run(store, corpus, name="bad")
    (store.path(bad) / "status.json").write_text("[]")
    run_id = store.create(tiny(corpus, epochs=10_000))
    store.start(run_id, mode="thread")
    wait_for(lambda: store.info(run_id).status == "running")
    assert {r.id: r.status for r in store.list()} == {bad: "broken", run_id: "running"}
    store.stop(run_id)
    assert store.wait(run_id, timeout=60).status == "stopped"


# ------------------------------------------------------------------- 5. resume
def test_paths_are_stored_absolute_and_resume_works_from_another_folder(tmp_path, corpus, monkeypatch):
    here, there = tmp_path / "here", tmp_path / "there"
    for folder in (here, there, here / "data"):
        folder.mkdir()
    (here / "c.txt").write_bytes(corpus.read_bytes())
    monkeypatch.chdir(here)
    store = RunStore("runs", "cache")
    run_id = store.create(dataclasses.replace(tiny("c.txt", epochs=2), data_dir="data"))
    saved = store.config(run_id)
    assert saved.corpus.source.path == str(here / "c.txt") and saved.data_dir == str(here / "data")
    monkeypatch.chdir(there)  # a relative corpus path would now point nowhere
    store.start(run_id, mode="thread")
    store.stop(run_id)  # stops at its first step, with a checkpoint
    assert store.wait(run_id, timeout=60).status == "stopped"
    store.start(run_id, resume=True)  # a subprocess, working inside the run folder
    info = store.wait(run_id, timeout=120)
    assert info.status == "done", info.error + (store.path(run_id) / "log.txt").read_text()


class StopAfterFirstEpoch:
    def __init__(self, stop):
        self.stop = stop

    def on_epoch_end(self, st, metrics):
        self.stop.set()


def test_resume_continues_steps_and_clock_and_drops_rows_after_the_checkpoint(store, corpus):
    from w2vcore.worker import execute

    run_id = store.create(tiny(corpus, epochs=3, checkpoint_every_s=1000.0))  # checkpoints at epoch ends only
    stop = threading.Event()
    assert execute(store.path(run_id), store.cache_dir, stop, callbacks=[StopAfterFirstEpoch(stop)]) == "stopped"
    ck = store.load_checkpoint(run_id)
    rows = store.metrics(run_id)
    assert rows[-1]["step"] == ck["step"] and ck["elapsed"] >= rows[-1]["time"] > 0
    with open(store.path(run_id) / "metrics.jsonl", "a") as f:  # logged after the checkpoint, then killed
        f.write(json.dumps({"kind": "step", "step": ck["step"] + 10_000, "time": 999.0}) + "\n")
    store.start(run_id, mode="thread", resume=True)
    info = store.wait(run_id, timeout=60)
    assert info.status == "done", info.error
    after = store.metrics(run_id)
    assert after[:len(rows)] == rows
    steps, times = [r["step"] for r in after], [r["time"] for r in after]
    assert steps == sorted(steps) and times == sorted(times) and max(times) < 999.0
    assert after[len(rows)]["time"] >= ck["elapsed"] and after[len(rows)]["step"] > ck["step"]
    assert status_file(store, run_id)["summary"]["seconds"] >= ck["elapsed"]
    assert [r["epoch"] for r in after if r["kind"] == "epoch"] == [1.0, 2.0, 3.0]


def test_resume_without_a_checkpoint_is_refused_before_anything_changes(store, corpus):
    run_id = finished_run(store, corpus)
    p = store.path(run_id)
    before = {f.name: f.read_bytes() for f in p.iterdir() if f.is_file()}
    with pytest.raises(W2VError, match="no checkpoint to resume from"):
        store.start(run_id, resume=True)
    assert {f.name: f.read_bytes() for f in p.iterdir() if f.is_file()} == before


def test_a_worker_asked_to_resume_without_a_checkpoint_fails_instead_of_retraining(store, corpus):
    from w2vcore.worker import execute

    run_id = finished_run(store, corpus)
    metrics = (store.path(run_id) / "metrics.jsonl").read_bytes()
    assert execute(store.path(run_id), store.cache_dir, resume=True) == "failed"
    assert "no checkpoint" in store.info(run_id).error
    assert (store.path(run_id) / "metrics.jsonl").read_bytes() == metrics


# ---------------------------------------------------------------- 8. disk full
def test_a_full_disk_fails_the_run_with_a_message_and_keeps_what_was_written(store, corpus, monkeypatch):
    real = rf.RunWriter.on_checkpoint
    calls = []

    def second_checkpoint_finds_the_disk_full(self, st, ckpt):
        calls.append(st.step)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.dir / ".checkpoint.pt.tmp"))
        real(self, st, ckpt)

    monkeypatch.setattr(rf.RunWriter, "on_checkpoint", second_checkpoint_finds_the_disk_full)
    run_id = store.create(tiny(corpus, epochs=3, checkpoint_every_s=1000.0))
    store.start(run_id, mode="thread")
    info = store.wait(run_id, timeout=60)
    assert info.status == "failed" and info.error.startswith("the disk is full (No space left on device")
    assert "internal error" not in info.error
    assert store.load_checkpoint(run_id)["step"] == calls[0]  # the first checkpoint is intact
    rows = store.metrics(run_id)
    assert rows and [r["epoch"] for r in rows if r["kind"] == "epoch"][:1] == [1.0]


@contextlib.contextmanager
def disk_full(monkeypatch):
    """Every attempt to create, write or rename a file fails with ENOSPC."""
    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    real_open, real_os_open = builtins.open, os.open

    def fake_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            full()
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            full()
        return real_os_open(path, flags, *args, **kwargs)

    with monkeypatch.context() as m:
        for module, name, fake in ((builtins, "open", fake_open), (io, "open", fake_open), (os, "open", fake_os_open),
                                   (os, "replace", full), (os, "rename", full), (os, "mkdir", full)):
            m.setattr(module, name, fake)
        yield


def test_reading_works_while_the_disk_is_full(store, corpus, monkeypatch):
    good = finished_run(store, corpus)
    dead = finished_run(store, corpus, name="dead")
    rf.update_status(store.path(dead), status="running", pid=dead_pid())
    with disk_full(monkeypatch):
        again = RunStore(store.root, store.cache_dir)
        assert {r.id: r.status for r in again.list()} == {good: "done", dead: "failed"}
        assert again.info(dead).status == "failed"
        assert [r["step"] for r in again.metrics(good)] == [1, 2, 3]
        assert again.config(good).name == "good"
        assert again.load_vectors(good).index_to_key == ["a", "b", "c"]


def test_a_worker_that_cannot_write_anything_still_ends_without_raising(store, corpus, monkeypatch):
    from w2vcore.worker import execute

    run_id = store.create(tiny(corpus))
    with disk_full(monkeypatch):
        assert execute(store.path(run_id), store.cache_dir) == "failed"
    assert store.info(run_id).status == "queued"  # nothing could be written; the status is as it was


def test_a_disk_that_fills_mid_run_still_gets_the_failure_recorded(store, corpus, monkeypatch):
    """Once the disk is full every write fails; the worker's reserve is the room its last status needs."""
    state = {"full": False}
    real_write, real_release = rf.write_atomic, rf.release_space

    def write_atomic(path, data):
        if state["full"]:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, data)

    def release_space(run_dir):
        state["full"] = False  # deleting the reserve file frees room
        real_release(run_dir)

    def the_disk_fills(self, st, ckpt):
        state["full"] = True
        write_atomic(self.dir / rf.CHECKPOINT, b"")

    monkeypatch.setattr(rf, "write_atomic", write_atomic)
    monkeypatch.setattr(rf, "release_space", release_space)
    monkeypatch.setattr(rf.RunWriter, "on_checkpoint", the_disk_fills)
    run_id = store.create(tiny(corpus, epochs=2))
    store.start(run_id, mode="thread")
    info = store.wait(run_id, timeout=60)
    assert info.status == "failed" and info.error.startswith("the disk is full"), info.error
    assert rf.read_status(store.path(run_id))["status"] == "failed"  # written, not only derived
    assert not (store.path(run_id) / rf.RESERVE).exists()


def test_a_finished_run_gives_its_reserve_back(store, corpus):
    run_id = finished_run(store, corpus)
    assert not (store.path(run_id) / rf.RESERVE).exists()


def test_one_name_created_at_once_by_many_threads_gets_distinct_ids(store, corpus, monkeypatch):
    monkeypatch.setattr(time, "strftime", lambda fmt: "20260101-000000")
    barrier, ids, errors = threading.Barrier(8), [], []

    def create():
        barrier.wait()
        try:
            ids.append(store.create(tiny(corpus, name="same")))
        except Exception as e:  # noqa: BLE001 - the test reports any
            errors.append(e)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 8
    assert sorted(r.id for r in store.list()) == sorted(ids)


def test_one_name_created_at_once_by_many_processes_gets_distinct_ids(store, corpus):
    at = time.time() + 3.0
    script = ("import sys, time; time.strftime = lambda fmt: '20260101-000000'\n"
              "from w2vcore.config import RunConfig\nfrom w2vcore.runs import RunStore\n"
              f"store = RunStore({str(store.root)!r}, {str(store.cache_dir)!r})\n"
              f"time.sleep(max(0.0, {at} - time.time()))\n"
              "print(store.create(RunConfig(name='same')))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, text=True) for _ in range(8)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outs]
    ids = [out.strip() for out, _ in outs]
    assert len(set(ids)) == 8 and sorted(r.id for r in store.list()) == sorted(ids)


@pytest.mark.parametrize("variable", ["W2V_RUNS_DIR", "W2V_CACHE_DIR"])
def test_a_runs_or_cache_folder_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch, variable):
    monkeypatch.setenv("W2V_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(variable, str(tmp_path / "file"))
    with pytest.raises(W2VError, match="is a file, not a folder"):
        RunStore()
