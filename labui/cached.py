"""A run's files as pages read them: metrics, config, vectors and scores, cached and re-read only when
the file behind them changes (its modification time and size are part of each cache key).
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from w2vcore.config import RunConfig
from w2vcore.errors import W2VError
from w2vcore.evaldata import load_benchmarks
from w2vcore.vectors import Vectors

from . import analysis
from .runs import READ_ERRORS, store


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
    return _read(f"the vectors of run '{run_id}'",
                 lambda: _vectors(str(runs_store.root), run_id, _stamp(runs_store.path(run_id) / "vectors.npz")))


def _read(what: str, read):
    """read(), with any read error but W2VError turned into a W2VError saying that `what` cannot be read."""
    try:
        return read()
    except W2VError:
        raise
    except READ_ERRORS as e:
        raise W2VError(f"{what} cannot be read ({type(e).__name__}: {e})") from e


def config(run_id: str) -> RunConfig:
    """A run's config; W2VError when config.json cannot be read."""
    return _read(f"the config of run '{run_id}'", lambda: store().config(run_id))


def source(run_id: str) -> dict:
    """An imported embedding's source.json (origin, format, encoding, words kept and in the file, dimensions);
    W2VError when it cannot be read or the entry is a trained run."""
    return _read(f"the source of '{run_id}'", lambda: store().source(run_id))


def kind(run_id: str) -> str:
    """"trained" or "imported" (an unreadable entry counts as trained: its own pages say what is wrong)."""
    try:
        return store().info(run_id).kind
    except READ_ERRORS:
        return "trained"


def vectors_stamp(run_id: str) -> tuple[int, int]:
    """Changes whenever the run's vectors file does: part of the cache keys of projections."""
    return _stamp(store().path(run_id) / "vectors.npz")


def fold(run_id: str) -> Callable[[str], str]:
    """How typed words are matched to the run's vocabulary: lower-cased when its tokenizer lower-cased, or
    for an imported embedding when its 1,000 most frequent words are all lower case (GloVe); as typed
    otherwise (word2vec's GoogleNews is cased) and when the config cannot be read (the page has said so)."""
    try:
        if kind(run_id) == "imported":
            top = vectors(run_id).index_to_key[:1000]
            return str.lower if all(w == w.lower() for w in top) else str.strip
        return str.lower if config(run_id).corpus.tokenizer.lowercase else str.strip
    except W2VError:
        return str.strip


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
    cfg = config(run_id)
    spec = next((s for s in cfg.train.losses if s.name == "rsr"), None)
    return analysis.rsr_marks(vectors(run_id), spec, cfg.data_dir or data_dir or None) if spec is not None else {}


def rsr_marks(run_id: str, data_dir: str = "") -> dict[str, str]:
    """word -> "RSR trained on" / "held out" for a run with an RSR spec (at any weight, so a flagship's vanilla
    run too); {} for a run without one or whose split cannot be rebuilt. Cached per vectors file."""
    if kind(run_id) == "imported":  # no training, so no RSR split
        return {}
    try:
        return _rsr_marks(str(store().root), run_id, vectors_stamp(run_id), data_dir)
    except READ_ERRORS:
        return {}
