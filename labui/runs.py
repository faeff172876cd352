"""The runs as pages see them: the run store, the sidebar run picker and the session's selection,
launching and resuming runs. Everything on disk belongs to `w2vcore.runs.RunStore`; the session only
remembers which runs are picked, so a refresh loses nothing that matters.
"""
from __future__ import annotations

import os
import time

import streamlit as st

from w2vcore import preflight
from w2vcore.config import RunConfig
from w2vcore.errors import W2VError
from w2vcore.runs import RunInfo, RunStore, default_cache_dir, default_runs_dir

from .text import plain

SELECTED = "selected_runs"  # the sidebar multiselect's key
_PENDING = "_select_next"  # a selection to apply before the sidebar is drawn again
_ARRIVALS = "_arrivals"  # ids of entries that background work (an import) finished, to add to the selection
READ_ERRORS = (W2VError, OSError)  # the backend turns damaged run files into W2VError; OSError: the disk itself


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


def run_label(info: RunInfo) -> str:
    """Short enough for the sidebar: the name and the start time (ids carry the full stamp)."""
    try:
        return f"{info.name} · {time.strftime('%H:%M', time.localtime(info.created))}"
    except (TypeError, ValueError, OverflowError, OSError):  # a broken run's status.json
        return f"{info.name} · ?"


def runs() -> list[RunInfo]:
    """Every run, newest first; a folder the store cannot read is listed as a "broken" run with the reason."""
    try:
        return store().list()
    except READ_ERRORS as e:  # the runs folder itself is unreadable (one bad run never raises here)
        st.error(plain(f"The runs folder {store().root} cannot be read: {e}"))
        return []


def sidebar_run_picker() -> list[str]:
    """The one run picker, in the sidebar of every page; returns the selected run ids."""
    infos = runs()
    by_id = {r.id: r for r in infos}
    pending = st.session_state.pop(_PENDING, None)
    current = st.session_state.get(SELECTED)
    arrived = [i for i in _take_arrivals() if i in by_id]
    if arrived:
        pending = (pending if pending is not None else list(current or [])) + arrived
    if pending is not None:
        st.session_state[SELECTED] = [i for i in pending if i in by_id]
    elif current is None:  # a new browser session (or a refresh): show what is training, else the newest result
        active = [r.id for r in infos if r.active]
        finished = [r.id for r in infos if has_vectors(r)]
        st.session_state[SELECTED] = active or finished[:1]
    elif any(i not in by_id for i in current):  # deleted meanwhile
        st.session_state[SELECTED] = [i for i in current if i in by_id]
    with st.sidebar:  # multiselect options are plain text: names need no escaping here
        picked = st.multiselect("Runs", list(by_id), key=SELECTED, format_func=lambda i: run_label(by_id[i]),
                                placeholder="pick runs to watch, explore or compare",
                                help="Train shows their live curves, Explore the first one, Compare two of them.")
        st.caption(f"Runs folder: {plain(store().root)}")
    return picked


def arrivals() -> list[str]:
    """The list a background thread appends a finished entry's id to (list.append is atomic); the sidebar
    picker adds those entries to the selection on its next draw, whichever page is open."""
    return st.session_state.setdefault(_ARRIVALS, [])


def _take_arrivals() -> list[str]:
    arrived = st.session_state.get(_ARRIVALS)
    taken = []
    while arrived:
        taken.append(arrived.pop(0))
    return taken


def selected() -> list[str]:
    return list(st.session_state.get(SELECTED, []))


def select(run_ids: list[str], add: bool = False) -> None:
    """Make these runs the sidebar selection (or add them to it) from the next script run on (call st.rerun after)."""
    current = selected() if add else []
    st.session_state[_PENDING] = current + [i for i in run_ids if i not in current]


def launch(configs: list[RunConfig], processes: int = 1) -> list[str]:
    """Check, create and start runs in the background (subprocesses that outlive this page); add them to the selection.

    Each run trains on `processes` processes (torchrun, `w2vcore.distributed`) when that is more than 1.

    `preflight.validate` raises W2VError for settings the run would refuse, so a refused launch leaves no run folder.
    """
    runs_store = store()
    with st.spinner("Checking the settings against the corpus…"):
        for cfg in configs:  # refuse what a run would refuse (or what will not fit) before any folder exists
            preflight.validate(cfg, runs_store.cache_dir, runs_store.root)
    ids = []
    for cfg in configs:
        run_id = runs_store.create(cfg)
        runs_store.start(run_id, processes=processes)
        ids.append(run_id)
    select(ids, add=True)
    return ids


def resume(run_id: str) -> None:
    """Continue a stopped or failed run from its last checkpoint and add it to the selection (W2VError: why not)."""
    store().start(run_id, resume=True)
    select([run_id], add=True)


def resumable(info: RunInfo) -> bool:
    """A stopped or failed trained run that left a checkpoint to continue from (never an imported embedding)."""
    try:
        return (info.kind == "trained" and info.status in ("stopped", "failed")
                and store().checkpoint_path(info.id).exists())
    except READ_ERRORS:
        return False


def infos(run_ids: list[str]) -> list[RunInfo]:
    """RunInfo of each id that still exists, in the given order."""
    by_id = {r.id: r for r in runs()}
    return [by_id[i] for i in run_ids if i in by_id]


def readable(chosen: list[RunInfo]) -> list[RunInfo]:
    """The picked runs a page can read; each broken one is left out with an error saying why."""
    for info in chosen:
        if info.status == "broken":
            st.error(f"{plain(info.name)} is broken and left out: {plain(info.error)}", icon=":material/error:")
    return [i for i in chosen if i.status != "broken"]


def imported(info: RunInfo) -> bool:
    """An imported embedding: vectors only, no training config, metrics, checkpoint or resume."""
    return info.kind == "imported"


def trained_only(chosen: list[RunInfo], what: str) -> list[RunInfo]:
    """The trained runs among `chosen`; a caption names the imported embeddings left out and why (`what`)."""
    left_out = [i.name for i in chosen if imported(i)]
    if left_out:
        st.caption(plain(f"{', '.join(left_out)}: imported embedding{'s' if len(left_out) > 1 else ''} "
                         f"(vectors only, no training), left out of {what}."))
    return [i for i in chosen if not imported(i)]


def has_vectors(info: RunInfo) -> bool:
    """Whether the run wrote its vectors (a broken run's files are not trusted)."""
    return info.status != "broken" and (info.path / "vectors.npz").exists()
