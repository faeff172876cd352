"""What every page shares: the run store, the session's settings, the sidebar run picker,
cached loads, and launching runs. Everything on disk belongs to `w2vcore.runs.RunStore`;
the session only remembers choices (settings, selected runs), so a refresh loses nothing
that matters.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from w2vcore import preflight
from w2vcore.config import RunConfig
from w2vcore.errors import W2VError
from w2vcore.evaldata import load_benchmarks
from w2vcore.runs import RunInfo, RunStore, default_cache_dir, default_runs_dir
from w2vcore.vectors import Vectors

from .settings import defaults, restore

SELECTED = "selected_runs"  # the sidebar multiselect's key
_PENDING = "_select_next"  # a selection to apply before the sidebar is drawn again
SETTINGS_FILE = ".lab-settings.json"  # beside the runs, so a refresh or a restart keeps the user's settings
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


# ------------------------------------------------------------------ text
def plain(text: Any) -> str:
    """`text` escaped so that Markdown shows it literally (run names, file names, words, error messages).

    Every ASCII punctuation mark gets a backslash, which stops emphasis, links, images (`![t](url)` would
    make the browser fetch the url), `:red[...]` colours and `$...$` LaTeX; a zero-width space after each
    colon also stops `:material/icon:` and emoji shortcodes, which Streamlit replaces in the text itself.
    """
    escaped = re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(text))
    return escaped.replace(":", ":\u200b")


def plain_chart(text: Any) -> str:
    """`text` for a plotly label or legend, which read `<b>`, `<a href=...>` and other tags: `<`, `>`, `&` escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------ settings
def settings_path() -> Path:
    """`<runs folder>/.lab-settings.json`: the settings every new session (a refresh, a restart) starts from."""
    return store().root / SETTINGS_FILE


def settings() -> dict[str, Any]:
    """This session's settings (corpus, training, losses), shared by the Data and Train pages.

    A new session starts from the saved settings file (see `load_settings`), so a refresh keeps them.
    """
    if "settings" not in st.session_state:
        st.session_state["settings"] = load_settings()
    return st.session_state["settings"]


def load_settings() -> dict[str, Any]:
    """The defaults overlaid with the saved settings that still fit; an unreadable file is ignored, with a warning."""
    path = settings_path()
    try:
        saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if not isinstance(saved, dict):
            raise ValueError("it does not hold a JSON object")
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        st.warning(plain(f"The saved settings in {path} cannot be read ({e}); starting from the defaults."),
                   icon=":material/settings_alert:")
        return defaults()
    return restore(saved)


def save_settings() -> None:
    """Write this session's settings beside the runs, atomically (a temporary file, then a rename)."""
    path = settings_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(settings(), indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        st.toast(plain(f"Settings not saved ({e}): they last until the page is refreshed."))


def update_setting(name: str, value: Any) -> None:
    """Set one setting and save the settings when it changed."""
    s = settings()
    if name not in s or s[name] != value:
        s[name] = value
        save_settings()


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
    value = widget(label, value=fit(settings()[name], kwargs), key=f"{page}.{name}", **kwargs)
    update_setting(name, value)
    return value


def bind_choice(widget: Callable, label: str, options: list, name: str, page: str, **kwargs) -> Any:
    """Like `bind` for selectbox and radio (which take an index, not a value)."""
    s = settings()
    index = options.index(s[name]) if s[name] in options else 0
    value = widget(label, options, index=index, key=f"{page}.{name}", **kwargs)
    update_setting(name, value)
    return value


def fit(value: Any, kwargs: dict[str, Any]) -> Any:
    """A saved value the widget accepts: clamped to min_value/max_value, one of its options (else the first)."""
    options = kwargs.get("options")
    if options is not None:
        return value if value in options else options[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if kwargs.get("min_value") is not None:
            value = max(value, kwargs["min_value"])
        if kwargs.get("max_value") is not None:
            value = min(value, kwargs["max_value"])
    return value


# ------------------------------------------------------------------ runs
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


def selected() -> list[str]:
    return list(st.session_state.get(SELECTED, []))


def select(run_ids: list[str], add: bool = False) -> None:
    """Make these runs the sidebar selection (or add them to it) from the next script run on (call st.rerun after)."""
    current = selected() if add else []
    st.session_state[_PENDING] = current + [i for i in run_ids if i not in current]


def launch(configs: list[RunConfig]) -> list[str]:
    """Check, create and start runs in the background (subprocesses that outlive this page); add them to the selection.

    `preflight.validate` raises W2VError for settings the run would refuse, so a refused launch leaves no run folder.
    """
    runs_store = store()
    with st.spinner("Checking the settings against the corpus…"):
        for cfg in configs:  # refuse what a run would refuse (or what will not fit) before any folder exists
            preflight.validate(cfg, runs_store.cache_dir, runs_store.root)
    ids = []
    for cfg in configs:
        run_id = runs_store.create(cfg)
        runs_store.start(run_id)
        ids.append(run_id)
    select(ids, add=True)
    return ids


def resume(run_id: str) -> None:
    """Continue a stopped or failed run from its last checkpoint and add it to the selection (W2VError: why not)."""
    store().start(run_id, resume=True)
    select([run_id], add=True)


def resumable(info: RunInfo) -> bool:
    """A stopped or failed run that left a checkpoint to continue from."""
    try:
        return info.status in ("stopped", "failed") and store().checkpoint_path(info.id).exists()
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
    """A run's metric rows, re-read only when metrics.jsonl changes; none when they cannot be read
    (the run's status then says why)."""
    runs_store = store()
    try:
        return _metrics(str(runs_store.root), run_id, _stamp(runs_store.path(run_id) / "metrics.jsonl"))
    except READ_ERRORS:  # W2VError is a ValueError
        return []


@st.cache_resource(show_spinner="Loading vectors…", max_entries=6)
def _vectors(root: str, run_id: str, stamp: tuple[int, int]) -> Vectors:
    return store().load_vectors(run_id)


def vectors(run_id: str) -> Vectors:
    """A run's vectors (shared, read-only), reloaded only when vectors.npz changes.

    Raises W2VError, whatever is wrong with the file, so pages can show the message."""
    runs_store = store()
    try:
        return _vectors(str(runs_store.root), run_id, _stamp(runs_store.path(run_id) / "vectors.npz"))
    except W2VError:
        raise
    except READ_ERRORS as e:
        raise W2VError(f"the vectors of run '{run_id}' cannot be read ({type(e).__name__}: {e})") from e


def config(run_id: str) -> RunConfig:
    """A run's config; W2VError when config.json cannot be read."""
    try:
        return store().config(run_id)
    except W2VError:
        raise
    except READ_ERRORS as e:
        raise W2VError(f"the config of run '{run_id}' cannot be read ({type(e).__name__}: {e})") from e


def vectors_stamp(run_id: str) -> tuple[int, int]:
    """Changes whenever the run's vectors file does: part of the cache keys of projections."""
    return _stamp(store().path(run_id) / "vectors.npz")


def fold(run_id: str) -> Callable[[str], str]:
    """How typed words are matched to the run's vocabulary: lower-cased when its tokenizer lower-cased
    (as typed when its config cannot be read: the page has said so already)."""
    try:
        return str.lower if config(run_id).corpus.tokenizer.lowercase else str.strip
    except W2VError:
        return str.strip


def has_vectors(info: RunInfo) -> bool:
    """Whether the run wrote its vectors (a broken run's files are not trusted)."""
    return info.status != "broken" and (info.path / "vectors.npz").exists()


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


@st.cache_data(show_spinner=False, max_entries=16)
def _rsr_marks(root: str, run_id: str, stamp: tuple[int, int], data_dir: str) -> dict[str, str]:
    from .analysis import rsr_marks

    cfg = config(run_id)
    spec = next((s for s in cfg.train.losses if s.name == "rsr"), None)
    return rsr_marks(vectors(run_id), spec, cfg.data_dir or data_dir or None) if spec is not None else {}


def rsr_marks(run_id: str, data_dir: str = "") -> dict[str, str]:
    """word -> "RSR trained on" / "held out" for a run with an RSR spec (at any weight, so a flagship's vanilla
    run too); {} for a run without one or whose split cannot be rebuilt. Cached per vectors file."""
    try:
        return _rsr_marks(str(store().root), run_id, vectors_stamp(run_id), data_dir)
    except READ_ERRORS:
        return {}
