"""The app's state in AppTest: the Runs table's ticks follow run ids (a delete removes exactly the ticked
runs), user text is shown as text, settings survive a refresh, launching adds to the sidebar selection,
Resume on the Train page, and pages stay usable with a broken run beside a good one.

Run folders are written directly (config, status, metrics, vectors): no training, so these tests are fast."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest import app

from labui import analysis, runs, state, text
from w2vcore.config import CorpusConfig, CorpusSource, RunConfig, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.runs import RunStore
from w2vcore.vectors import Vectors

NASTY = "![t](http://example.invalid/x.png) **bold** :red[x] $x$"  # Markdown that must show literally
PAGES = ("pages/home.py", "pages/data.py", "pages/train.py", "pages/explore.py", "pages/compare.py",
         "pages/sweep.py", "pages/bias.py", "pages/values.py", "pages/export.py")


def write_run(root: Path, run_id: str, name: str, status: str = "done", created: float | None = None,
              vectors: bool = True, checkpoint: bool = False) -> str:
    """A finished-looking run folder, as the worker leaves it (no training)."""
    p = root / run_id
    p.mkdir(parents=True)
    cfg = RunConfig(name=name, corpus=CorpusConfig(source=CorpusSource("default")), train=TrainConfig(dim=4))
    (p / "config.json").write_text(json.dumps(cfg.to_dict()))
    created = created or time.time()
    (p / "status.json").write_text(json.dumps({"status": status, "created": created, "updated": created,
                                               "progress": 1.0 if status == "done" else 0.5}))
    rows = [{"kind": "step", "step": s, "time": 0.1 * s, "epoch": s / 4, "progress": s / 4, "loss/sgns": 3.0 - s / 4}
            for s in range(1, 5)]
    (p / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if vectors:
        words = ["the", "cat", "dog", "car", "hammer", "apple", "water", "music"] + [f"w{i}" for i in range(40)]
        rng = np.random.default_rng(len(name))
        Vectors(words, rng.normal(size=(len(words), 4)).astype(np.float32),
                np.arange(len(words), 0, -1) * 10).save(p / "vectors.npz")
    if checkpoint:
        (p / "checkpoint.pt").write_bytes(b"not read: RunStore.start is replaced in these tests")
    return run_id


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("W2V_RUNS_DIR", str(root))
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("W2V_DATA_DIR", raising=False)
    return root


@pytest.fixture
def started(monkeypatch):
    """RunStore.start replaced by a recorder: what a button starts, without training."""
    calls = []
    monkeypatch.setattr(RunStore, "start", lambda self, run_id, mode="process", resume=False, processes=None:
                        calls.append((run_id, resume)))
    return calls


def runs_table(at: AppTest):
    return next(d for d in at.dataframe if "id" in d.value.columns and "status" in d.value.columns)


def tick(at: AppTest, rows: list[int]) -> None:
    """Tick rows of the Runs table as a click would (AppTest writes a dataframe selection through session state)."""
    at.session_state[runs_table(at).key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()


def markdown_bodies(at: AppTest) -> list[str]:
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader", "header")
    bodies = [str(e.value) for kind in kinds for e in getattr(at, kind)]
    bodies += [str(e.proto.text) for e in at.get("progress")]
    bodies += [o for e in at.get("radio") for o in e.options] + [o for e in at.get("button_group") for o in e.options]
    return bodies


# ---------------------------------------------------------------- item 2: ticks follow run ids
def test_selected_ids_map_rows_to_the_runs_shown_and_drop_others():
    shown = ["a", "b", "c", "d"]
    assert analysis.selected_ids([2, 0], shown, set(shown)) == ["a", "c"]
    assert analysis.selected_ids([0, 1, 7, -1], shown, {"b", "c", "d"}) == ["b"]  # gone or out of range: ignored
    assert analysis.selected_ids([], shown, set(shown)) == []


def test_the_runs_table_shows_each_runs_number_of_processes(runs_dir):
    one = write_run(runs_dir, "2026-one", "one")
    two = write_run(runs_dir, "2026-two", "two")
    status = json.loads((runs_dir / two / "status.json").read_text())
    (runs_dir / two / "status.json").write_text(json.dumps({**status, "processes": 2, "world_size": 2}))
    table = runs_table(app()).value.set_index("id")
    assert table.loc[one, "processes"] == 1 and table.loc[two, "processes"] == 2


def test_delete_removes_exactly_the_ticked_runs_and_clears_the_ticks(runs_dir):
    now = time.time()
    ids = [write_run(runs_dir, f"2026-run{i}", f"run{i}", created=now - i) for i in range(4)]  # newest first
    at = app()
    table = runs_table(at)
    assert list(table.value["id"]) == ids
    tick(at, [0, 2])
    popover = "\n".join(markdown_bodies(at))
    assert "run0" in popover and "run2" in popover and "run1" not in popover  # the confirmation names them
    at.button(key="home.delete").click().run()
    assert not at.exception, [e.value for e in at.exception]
    left = sorted(p.name for p in runs_dir.iterdir() if p.is_dir())
    assert left == [ids[1], ids[3]]
    assert list(runs_table(at).value["id"]) == [ids[1], ids[3]]
    assert not [b for b in at.button if b.key == "home.delete"]  # nothing ticked: no Delete to click again
    key = runs_table(at).key
    assert key not in at.session_state or not at.session_state[key]["selection"]["rows"]  # the ticks are cleared
    at.run()
    assert sorted(p.name for p in runs_dir.iterdir() if p.is_dir()) == [ids[1], ids[3]]


def test_stale_ticks_of_a_table_that_changed_pick_nothing(runs_dir):
    now = time.time()
    ids = [write_run(runs_dir, f"2026-run{i}", f"run{i}", created=now - i) for i in range(4)]
    at = app()
    old_key = runs_table(at).key
    at.session_state[old_key] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    write_run(runs_dir, "2026-newer", "newer", created=now + 10)  # another session adds a run: rows shift
    at.run()
    assert not [b for b in at.button if b.key in ("home.delete", "home.pick")]  # rows 0, 1 now hold other runs
    assert sorted(p.name for p in runs_dir.iterdir() if p.is_dir()) == sorted(ids + ["2026-newer"])


def test_show_in_the_sidebar_picks_the_ticked_runs(runs_dir):
    now = time.time()
    ids = [write_run(runs_dir, f"2026-run{i}", f"run{i}", created=now - i) for i in range(4)]
    at = app()
    tick(at, [1, 3])
    at.button(key="home.pick").click().run()
    assert at.multiselect(key=runs.SELECTED).value == [ids[1], ids[3]]


# ---------------------------------------------------------------- item 6: user text is text
def test_plain_escapes_markdown_images_colours_latex_and_icons():
    shown = text.plain(NASTY + " :material/home: <b>")
    for raw in ("![", "](", "**", ":red[", "$x$", ":material/", "<b>"):
        assert raw not in shown, raw
    assert shown.replace("\\", "").replace("\u200b", "") == NASTY + " :material/home: <b>"


def test_a_run_name_with_markdown_shows_literally_on_every_page(runs_dir):
    now = time.time()
    nasty = write_run(runs_dir, "2026-nasty", NASTY, status="stopped", created=now, checkpoint=True)
    other = write_run(runs_dir, "2026-other", NASTY + " B", created=now - 1)
    failed = write_run(runs_dir, "2026-failed", NASTY + " F", status="failed", created=now - 2, vectors=False)
    status = json.loads((runs_dir / failed / "status.json").read_text())
    (runs_dir / failed / "status.json").write_text(json.dumps(status | {"error": "no file ![e](http://x.invalid/e)"}))
    at = app(runs=[nasty, other, failed])
    labels = [at.multiselect(key=runs.SELECTED).format_func(i) for i in (nasty, other)]
    assert labels[0].startswith(NASTY)  # the sidebar's options are plain text: shown as typed
    assert NASTY in set(runs_table(at).value["name"])
    tick(at, [0, 1])
    assert "\\!\\[t\\]" in "\n".join(markdown_bodies(at))  # the delete confirmation names it, escaped
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        bodies = markdown_bodies(at)
        leaks = [b for b in bodies if "![" in b or "**bold**" in b or ":red[x]" in b]
        assert not leaks, (page, leaks)
    at.switch_page("pages/train.py").run()
    assert any("\\!\\[t\\]" in b for b in markdown_bodies(at))  # the run's status line shows the name


# ---------------------------------------------------------------- item 11: state a refresh forgets
def test_settings_survive_a_refresh(runs_dir, tmp_path):
    at = app("pages/train.py")
    at.slider(key="train.dim").set_value(37).run()
    at.switch_page("pages/data.py").run()
    at.session_state["data.tab"] = "Reference data"
    at.run()
    at.text_input(key="data.data_dir").input(str(tmp_path / "reference")).run()
    assert not at.exception
    saved = json.loads((runs_dir / state.SETTINGS_FILE).read_text())
    assert saved["dim"] == 37 and saved["data_dir"] == str(tmp_path / "reference")
    again = app("pages/train.py")  # a new session: what a browser refresh or an app restart gives
    assert again.slider(key="train.dim").value == 37
    again.switch_page("pages/data.py").run()
    again.session_state["data.tab"] = "Reference data"
    again.run()
    assert again.text_input(key="data.data_dir").value == str(tmp_path / "reference")


@pytest.mark.parametrize("content", [b"{\"dim\": 3", b"[]", b"\xff\xfe", b"{\"dim\": \"x\", \"epochs\": 7000}"],
                         ids=["truncated", "not-an-object", "not-utf8", "wrong-types"])
def test_a_broken_settings_file_is_ignored_without_a_crash(runs_dir, content):
    (runs_dir / state.SETTINGS_FILE).write_bytes(content)
    at = app()
    if content.startswith(b"{\"dim\": \"x\""):  # readable, but a wrong type and a value beyond the slider
        assert not any("cannot be read" in w.value for w in at.warning)  # (the flagship card may warn on power)
    else:
        assert any("cannot be read" in w.value for w in at.warning)
    at.switch_page("pages/train.py").run()
    assert not at.exception and at.slider(key="train.dim").value == TrainConfig().dim
    at.session_state["train.tab"] = "Optimiser"
    at.run()
    assert not at.exception
    if content.startswith(b"{\"dim\": \"x\""):
        assert at.slider(key="train.epochs").value == 50  # clamped to the slider's range, not a crash


def test_launching_adds_the_run_to_the_sidebar_selection(runs_dir, started):
    first = write_run(runs_dir, "2026-first", "first")
    at = app("pages/train.py")
    assert at.multiselect(key=runs.SELECTED).value == [first]
    at.text_input(key="train.name").input("second").run()
    at.button(key="train.launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    launched = [run_id for run_id, _ in started]
    assert len(launched) == 1 and at.multiselect(key=runs.SELECTED).value == [first, launched[0]]


@pytest.mark.skipif((__import__("os").cpu_count() or 1) < 2, reason="the processes setting stops at the core count")
def test_the_machine_tabs_processes_start_the_run_on_that_many(runs_dir, monkeypatch):
    calls = []
    monkeypatch.setattr(RunStore, "start", lambda self, run_id, mode="process", resume=False, processes=None:
                        calls.append(processes))
    at = app("pages/train.py")
    at.session_state["train.tab"] = "Machine"
    at.run()
    assert at.number_input(key="train.sync_every").disabled  # one process: nothing to sync
    at.number_input(key="train.processes").set_value(2).run()
    assert not at.number_input(key="train.sync_every").disabled and not at.selectbox(key="train.sync_rows").disabled
    at.selectbox(key="train.sync_mode").set_value("mean").run()
    at.button(key="train.launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert calls == [2]
    (run_dir,) = [p for p in runs_dir.iterdir() if (p / "config.json").exists() and p.name != "2026-first"]
    assert json.loads((run_dir / "config.json").read_text())["train"]["sync_mode"] == "mean"
    assert json.loads((runs_dir / ".lab-settings.json").read_text())["processes"] == 2  # kept for the next visit


def test_train_page_resumes_a_stopped_run(runs_dir, started):
    stopped = write_run(runs_dir, "2026-stopped", "stopped-run", status="stopped", checkpoint=True)
    done = write_run(runs_dir, "2026-done", "done-run", created=time.time() - 5)
    no_ckpt = write_run(runs_dir, "2026-nockpt", "no-ckpt", status="stopped", created=time.time() - 9)
    at = app("pages/train.py", runs=[stopped, done, no_ckpt])
    keys = {b.key for b in at.button}
    assert f"train.resume.{stopped}" in keys
    assert f"train.resume.{done}" not in keys and f"train.resume.{no_ckpt}" not in keys  # nothing to resume from
    at.button(key=f"train.resume.{stopped}").click().run()
    assert not at.exception and started == [(stopped, True)]
    assert stopped in at.multiselect(key=runs.SELECTED).value


def test_train_page_shows_why_a_resume_was_refused(runs_dir, monkeypatch):
    stopped = write_run(runs_dir, "2026-stopped", "stopped-run", status="stopped", checkpoint=True)

    def refuse(self, run_id, mode="process", resume=False):
        raise W2VError("the checkpoint of this run is missing: it cannot be resumed")

    monkeypatch.setattr(RunStore, "start", refuse)
    at = app("pages/train.py", runs=[stopped])
    at.button(key=f"train.resume.{stopped}").click().run()
    assert not at.exception
    assert any("cannot be resumed" in e.value for e in at.error)


# ---------------------------------------------------------------- item 7, page side: one broken run
@pytest.fixture
def broken_lab(runs_dir):
    good = write_run(runs_dir, "2026-good", "good", created=time.time())
    bad = runs_dir / "2026-bad"
    bad.mkdir()
    (bad / "config.json").write_text('{"name": "bad", "corpus": {"sou')  # truncated
    (bad / "status.json").write_text("[]")
    (bad / "metrics.jsonl").write_bytes(b"[1, 2]\n\xff\xfe\n")
    return good, bad.name


def test_every_page_opens_with_a_broken_run_beside_a_good_one(broken_lab):
    good, bad = broken_lab
    at = app()
    table = runs_table(at).value.set_index("id")
    assert table.loc[bad, "status"] == "broken" and table.loc[bad, "error"]
    assert table.loc[good, "status"] == "done"
    at.multiselect(key=runs.SELECTED).set_value([bad, good]).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
    for page in ("pages/explore.py", "pages/export.py", "pages/compare.py", "pages/train.py"):
        at.switch_page(page).run()
        assert at.error or at.warning or at.info, page  # the broken run is named, not a traceback
        assert any("broken" in e.value for e in [*at.error, *at.warning, *at.info]), page


def test_explore_and_export_with_only_a_broken_run_say_so(broken_lab):
    _, bad = broken_lab
    for page in ("pages/explore.py", "pages/export.py", "pages/compare.py", "pages/bias.py", "pages/sweep.py"):
        at = app(page, runs=[bad])
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.error or at.info or at.warning, page


def test_explore_says_so_when_the_vectors_file_is_damaged(runs_dir):
    good = write_run(runs_dir, "2026-good", "good")
    (runs_dir / good / "vectors.npz").write_bytes(b"")  # a save killed half-way
    for page in ("pages/explore.py", "pages/compare.py", "pages/export.py"):
        at = app(page, runs=[good])
        assert not at.exception, (page, [e.value for e in at.exception])
