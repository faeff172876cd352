"""The settings a user edits across pages, and the run configs they turn into.

Pages keep one flat dict of settings per browser session (see `labui.state`); this
module holds its defaults (taken from the config dataclasses, so the UI never drifts
from the backend) and turns it into `CorpusConfig` / `TrainConfig` / `RunConfig`.
Presets, run naming and the flagship's corpus rule live in `w2vcore.presets`; this module only
fills them from the settings. No streamlit: everything is testable on its own.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from w2vcore.charset import ENCODINGS
from w2vcore.config import LETTERS, CorpusConfig, CorpusSource, LossSpec, RunConfig, TokenizerConfig, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.presets import flagship_configs, flagship_source

SOURCE_CHOICES = {  # the Data page's choices -> what each means
    "default": "built-in sample (offline)",
    "path": "a file or folder on this machine",
    "upload": "an uploaded file",
    "brown": "the Brown corpus folder",
}
NOTEBOOK_WORDS = ("cat", "dog", "car", "hammer", "apple")  # the neighbour words the RSR notebook printed
# everyday topic words whose neighbours read well even on the ~0.5M-token built-in corpus
TOPIC_WORDS = ("water", "music", "city", "government", "film", "war", "river", "art")


def defaults() -> dict[str, Any]:
    """Every setting with its backend default."""
    c, t, tok = CorpusConfig(), TrainConfig(), TokenizerConfig()
    train = {f.name: getattr(t, f.name) for f in dataclasses.fields(TrainConfig) if f.name != "losses"}
    return {
        "source": "default", "path": "", "upload_path": "", "upload_name": "", "brown_path": brown_guess(),
        "lowercase": tok.lowercase, "keep_digits": tok.keep_digits, "min_token_len": tok.min_token_len,
        "sentences": tok.sentences, "phrases": "", "letters": tok.letters, "encoding": CorpusSource().encoding,
        "min_count": c.min_count, "max_vocab_size": 0, "sample": c.sample, "ns_exponent": c.ns_exponent,
        "val_fraction": c.val_fraction, "split_seed": c.split_seed,
        "data_dir": os.environ.get("W2V_DATA_DIR", ""),
        "name": "run",
        **train,
        "lr_sgd": t.lr, "lr_adam": 0.001,  # each optimiser remembers its own learning rate
        "sweep": "0, 0.05, 0.1, 0.2",
        "processes": 1,  # training processes per run (torchrun); not part of the run's config
    }


def restore(saved: dict[str, Any]) -> dict[str, Any]:
    """The defaults, overlaid with each saved setting whose type fits (a hand-edited or stale settings
    file cannot break a page). Extra-loss settings ("loss.<name>.<param>") are kept when they are plain
    values; `labui.panels.loss_spec` checks them against the loss's parameters."""
    out = defaults()
    for key, value in saved.items():
        if key in out and same_kind(value, out[key]):
            out[key] = float(value) if isinstance(out[key], float) else value
        elif key.startswith("loss.") and isinstance(value, (bool, int, float, str)):
            out[key] = value
    if out["source"] not in SOURCE_CHOICES:
        out["source"] = "default"
    if out["letters"] not in LETTERS:
        out["letters"] = "ascii"
    if out["encoding"] not in ENCODINGS:
        out["encoding"] = "utf-8"
    return out


def same_kind(value: Any, default: Any) -> bool:
    """bool only for bool, int for int, int or float for float, str for str."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return type(value) is type(default)


def brown_guess() -> str:
    """A Brown folder that exists: $W2V_DATA_DIR/corpora/brown or NLTK's usual place, else ''."""
    candidates = [Path(os.environ["W2V_DATA_DIR"]) / "corpora" / "brown"] if os.environ.get("W2V_DATA_DIR") else []
    candidates.append(Path.home() / "nltk_data" / "corpora" / "brown")
    return next((str(p) for p in candidates if (p / "cats.txt").is_file()), "")


def corpus_source(s: dict[str, Any]) -> CorpusSource:
    kind = s["source"]
    if kind == "default":
        return CorpusSource("default")
    if kind == "path":
        if not s["path"].strip():
            raise W2VError("type the path of a .txt file or of a folder of .txt files")
        return CorpusSource("text", s["path"].strip(), encoding=s["encoding"])
    if kind == "upload":
        if not s["upload_path"]:
            raise W2VError("upload a plain-text file first")
        return CorpusSource("text", s["upload_path"], s["upload_name"], encoding=s["encoding"])
    if not s["brown_path"].strip():
        raise W2VError("type the path of the Brown corpus folder (NLTK's corpora/brown)")
    return CorpusSource("brown", s["brown_path"].strip(), encoding=s["encoding"])


def tokenizer_config(s: dict[str, Any]) -> TokenizerConfig:
    phrases = tuple(p.strip() for p in s["phrases"].splitlines() if p.strip())
    return TokenizerConfig(lowercase=s["lowercase"], keep_digits=s["keep_digits"], min_token_len=s["min_token_len"],
                           sentences=s["sentences"], phrases=phrases, letters=s["letters"])


def corpus_config(s: dict[str, Any]) -> CorpusConfig:
    return CorpusConfig(source=corpus_source(s), tokenizer=tokenizer_config(s), min_count=s["min_count"],
                        max_vocab_size=s["max_vocab_size"] or None, sample=s["sample"],
                        ns_exponent=s["ns_exponent"], val_fraction=s["val_fraction"], split_seed=s["split_seed"])


def train_config(s: dict[str, Any], losses: tuple[LossSpec, ...] = ()) -> TrainConfig:
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"losses"}
    return TrainConfig(**{k: s[k] for k in fields}, losses=losses)


def run_config(s: dict[str, Any], losses: tuple[LossSpec, ...] = (), name: str | None = None) -> RunConfig:
    return RunConfig(name=name or s["name"] or "run", corpus=corpus_config(s), train=train_config(s, losses),
                     data_dir=s["data_dir"].strip() or None)


# ------------------------------------------------------------------ presets
def preset_config(name: str, overrides: dict[str, Any], data_dir: str = "", phrases: str = "") -> RunConfig:
    """A run on the built-in corpus with every other setting at its default, except `overrides`."""
    s = defaults() | overrides | {"source": "default", "data_dir": data_dir, "phrases": phrases}
    return run_config(s, name=name)


# W2V_TINY_PRESETS=1 (tests and CI only): the flagship preset trains on gensim's Lee corpus (~60k tokens)
# at 16 dimensions for 1 epoch, so a browser test can launch it, see it finish and score it in seconds.
TINY_PRESET = {"dim": 16, "epochs": 1, "batch_size": 1024, "min_count": 3, "snapshots": 2}


def tiny_presets() -> bool:
    """Whether $W2V_TINY_PRESETS asks for the tiny flagship preset (tests only; see TINY_PRESET)."""
    return os.environ.get("W2V_TINY_PRESETS", "") not in ("", "0")


def flagship_paths(s: dict[str, Any]) -> tuple[str, str]:
    """(corpus path, Brown folder) the flagship may use from the user's Data-page settings: the corpus file,
    folder or upload only when it is the chosen source, the Brown folder whenever one is set (or found)."""
    corpus = {"path": s["path"], "upload": s["upload_path"]}.get(s["source"], "")
    if tiny_presets():
        from gensim.test.utils import datapath

        corpus = corpus or datapath("lee_background.cor")
        return corpus, ""
    return corpus, s["brown_path"]


def flagship_preset(data_dir: str, corpus_path: str = "", brown_path: str = "",
                    seeds: tuple[int, ...] = (1,)) -> list[RunConfig]:
    """The flagship preset: vanilla, RSR per-row and RSR with the learned map per seed
    (`presets.flagship_configs`, which also joins THINGS' multi-word concepts), on the largest corpus
    available (`presets.flagship_source`: `corpus_path` if set, else `brown_path`, else the built-in one),
    every other setting at its default (tiny ones under $W2V_TINY_PRESETS)."""
    s = defaults() | {"source": "default", "data_dir": data_dir}
    if tiny_presets():
        s |= TINY_PRESET
    base = run_config(s, name="things")
    base = dataclasses.replace(base, corpus=dataclasses.replace(base.corpus,
                                                               source=flagship_source(corpus_path, brown_path)))
    return flagship_configs(base, seeds)
