"""What every page shares: the run store, the session's settings, the sidebar run picker,
cached loads, and launching runs. Everything on disk belongs to `w2vcore.runs.RunStore`;
the session only remembers choices (settings, selected runs), so a refresh loses nothing
that matters.
"""
from __future__ import annotations

import os

import time
from typing import Any, Callable

import streamlit as st

from w2vcore.config import RunConfig
from w2vcore.evaldata import load_benchmarks
from w2vcore.runs import RunInfo, RunStore, default_cache_dir, default_runs_dir
from w2vcore.vectors import Vectors

from .settings import defaults

SELECTED = "selected_runs"  # the sidebar multiselect's key
_PENDING = "_select_next"  # a selection to apply before the sidebar is drawn again


@st.cache_resource(show_spinner=False)
def _store(root: str, cache_dir: str) -> RunStore:
    return RunStore(root, cache_dir)


def store() -> RunStore:
    """The run store for $W2V_RUNS_DIR (default ./runs) and $W2V_CACHE_DIR."""
    return _store(str(default_runs_dir()), str(default_cache_dir()))


def keep_worker_warm() -> None:
    """A spare worker with torch loaded, so Train starts a run in about a second ($W2V_STANDBY=0: off)."""
    if os.environ.get("W2V_STANDBY", "1") != "0":
        store().warm()


# ------------------------------------------------------------------ settings
def settings() -> dict[str, Any]:
    """This session's settings (corpus, training, losses), shared by the Data and Train pages."""
    if "settings" not in st.session_state:
        st.session_state["settings"] = defaults()
    return st.session_state["settings"]


def lazy_tabs(tabs: dict[str, Callable[[], None]], key: str) -> None:
    """Tabs of which only the open one runs its function (st.tabs with on_change="rerun").

    A page switch then computes and draws one tab, not all; opening another tab is one rerun.
    Settings a closed tab would show live in `settings()`, so they still reach the backend.
    """
    for tab, draw in zip(st.tabs(list(tabs), key=key, on_change="rerun"), tabs.values()):
        if tab.open:
            with tab:
                draw()


def bind(widget: Callable, label: str, name: str, page: str, **kwargs) -> Any:
    """Draw `widget` showing setting `name` and store what the user picks back into it.

    The key is per page, so the same setting can appear on two pages; its value survives
    page switches because it lives in `settings()`, not in the widget.
    """
    s = settings()
    value = widget(label, value=s[name], key=f"{page}.{name}", **kwargs)
    s[name] = value
    return value


def bind_choice(widget: Callable, label: str, options: list, name: str, page: str, **kwargs) -> Any:
    """Like `bind` for selectbox and radio (which take an index, not a value)."""
    s = settings()
    index = options.index(s[name]) if s[name] in options else 0
    value = widget(label, options, index=index, key=f"{page}.{name}", **kwargs)
    s[name] = value
    return value


# ------------------------------------------------------------------ runs
def run_label(info: RunInfo) -> str:
    """Short enough for the sidebar: the name and the start time (ids carry the full stamp)."""
    return f"{info.name} · {time.strftime('%H:%M', time.localtime(info.created))}"


def sidebar_run_picker() -> list[str]:
    """The one run picker, in the sidebar of every page; returns the selected run ids."""
    infos = store().list()
    by_id = {r.id: r for r in infos}
    pending = st.session_state.pop(_PENDING, None)
    current = st.session_state.get(SELECTED)
    if pending is not None:
        st.session_state[SELECTED] = [i for i in pending if i in by_id]
    elif current is None:  # a new browser session (or a refresh): show what is training, else the newest result
        active = [r.id for r in infos if r.active]
        finished = [r.id for r in infos if (r.path / "vectors.npz").exists()]
        st.session_state[SELECTED] = active or finished[:1]
    elif any(i not in by_id for i in current):  # deleted meanwhile
        st.session_state[SELECTED] = [i for i in current if i in by_id]
    with st.sidebar:
        picked = st.multiselect("Runs", list(by_id), key=SELECTED, format_func=lambda i: run_label(by_id[i]),
                                placeholder="pick runs to watch, explore or compare",
                                help="Train shows their live curves, Explore the first one, Compare two of them.")
        st.caption(f"Runs folder: `{store().root}`")
    return picked


def selected() -> list[str]:
    return list(st.session_state.get(SELECTED, []))


def select(run_ids: list[str]) -> None:
    """Make these runs the sidebar selection from the next script run on (call st.rerun after)."""
    st.session_state[_PENDING] = list(run_ids)


def launch(configs: list[RunConfig]) -> list[str]:
    """Create and start runs in the background (subprocesses that outlive this page) and select them."""
    runs = store()
    ids = []
    for cfg in configs:
        run_id = runs.create(cfg)
        runs.start(run_id)
        ids.append(run_id)
    select(ids)
    return ids


def infos(run_ids: list[str]) -> list[RunInfo]:
    """RunInfo of each id that still exists, in the given order."""
    by_id = {r.id: r for r in store().list()}
    return [by_id[i] for i in run_ids if i in by_id]


def _stamp(path) -> tuple[int, int]:
    try:
        stat = path.stat()
        return stat.st_mtime_ns, stat.st_size
    except OSError:
        return 0, 0


@st.cache_data(show_spinner=False, max_entries=200)
def _metrics(root: str, run_id: str, stamp: tuple[int, int]) -> list[dict]:
    return store().metrics(run_id)


def metrics(run_id: str) -> list[dict]:
    """A run's metric rows, re-read only when metrics.jsonl changes."""
    runs = store()
    return _metrics(str(runs.root), run_id, _stamp(runs.path(run_id) / "metrics.jsonl"))


@st.cache_resource(show_spinner="Loading vectors…", max_entries=6)
def _vectors(root: str, run_id: str, stamp: tuple[int, int]) -> Vectors:
    return store().load_vectors(run_id)


def vectors(run_id: str) -> Vectors:
    """A run's vectors (shared, read-only), reloaded only when vectors.npz changes."""
    runs = store()
    return _vectors(str(runs.root), run_id, _stamp(runs.path(run_id) / "vectors.npz"))


def vectors_stamp(run_id: str) -> tuple[int, int]:
    """Changes whenever the run's vectors file does: part of the cache keys of projections."""
    return _stamp(store().path(run_id) / "vectors.npz")


def fold(run_id: str) -> Callable[[str], str]:
    """How typed words are matched to the run's vocabulary: lower-cased when its tokenizer lower-cased."""
    return str.lower if store().config(run_id).corpus.tokenizer.lowercase else str.strip


def has_vectors(info: RunInfo) -> bool:
    return (info.path / "vectors.npz").exists()


@st.cache_data(show_spinner="Scoring benchmarks…", max_entries=64)
def _benchmark_scores(root: str, run_id: str, stamp: tuple[int, int], data_dir: str, analogies: bool) -> dict:
    bench = load_benchmarks(data_dir or None)
    v = vectors(run_id)
    out = {name: v.evaluate_word_pairs(pairs) for name, pairs in bench.pairs.items()}
    if analogies and bench.analogies:
        out["analogies"] = v.evaluate_word_analogies(bench.analogies)
    return out


def benchmark_scores(run_id: str, data_dir: str, analogies: bool = False) -> dict:
    """Word-pair benchmarks (PairScore by name) and, optionally, Google analogies (AnalogyScore), cached."""
    return _benchmark_scores(str(store().root), run_id, vectors_stamp(run_id), data_dir, analogies)
