"""This session's settings (corpus, training, losses), shared by the Data and Train pages, kept in
`<runs folder>/.lab-settings.json` so a refresh or a restart keeps them, and the widgets bound to them.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from .runs import store
from .settings import defaults, restore
from .text import plain

SETTINGS_FILE = ".lab-settings.json"  # beside the runs, so a refresh or a restart keeps the user's settings
# Explore's inputs, kept with the settings so that tab switches and refreshes keep them: setting (= widget key)
# -> the type a saved value must have. Defaults come from the page (some depend on the run's vocabulary);
# ranges and choices are checked by `bind` / `bind_choice` when the widget is drawn.
PAGE_INPUTS: dict[str, type] = {
    "explore.words": str, "explore.topn": int, "explore.sim1": str, "explore.sim2": str,
    "explore.a": str, "explore.b": str, "explore.c": str, "explore.method": str,
    "explore.set": str, "explore.n": int, "explore.paste": str, "explore.nn": int, "explore.md": float,
    "explore.search": str, "explore.k": int, "explore.show": str, "explore.ax": str, "explore.ay": str,
    "explore.colour": str, "explore.focus": str, "explore.column": str,
}


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
    return restore(saved) | page_inputs(saved)


def page_inputs(saved: dict[str, Any]) -> dict[str, Any]:
    """The saved `PAGE_INPUTS` whose type fits (ints are accepted as floats; a bool is no number)."""
    out = {}
    for key, kind in PAGE_INPUTS.items():
        value = saved.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, kind) or (kind is float and isinstance(value, int)):
            out[key] = kind(value)
    return out


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


def bind(widget: Callable, label: str, name: str, page: str, key: str | None = None, **kwargs) -> Any:
    """Draw `widget` showing setting `name` and store what the user picks back into it.

    The key is per page (`<page>.<name>`, or `key`), so the same setting can appear on two pages; its
    value survives page switches because it lives in `settings()`, not in the widget.
    """
    value = widget(label, value=fit(settings()[name], kwargs), key=key or f"{page}.{name}", **kwargs)
    update_setting(name, value)
    return value


def bind_choice(widget: Callable, label: str, options: list, name: str, page: str, key: str | None = None,
                **kwargs) -> Any:
    """Like `bind` for selectbox and radio (which take an index, not a value)."""
    s = settings()
    index = options.index(s[name]) if s[name] in options else 0
    value = widget(label, options, index=index, key=key or f"{page}.{name}", **kwargs)
    update_setting(name, value)
    return value


def keep(widget: Callable, label: str, name: str, default: Any, **kwargs) -> Any:
    """`bind` for a page input of `PAGE_INPUTS` (its setting name is its widget key), starting from
    `default` until the user changes it; with `options`, like `bind_choice`."""
    settings().setdefault(name, default)
    if "options" in kwargs:
        return bind_choice(widget, label, list(kwargs.pop("options")), name, "", key=name, **kwargs)
    return bind(widget, label, name, "", key=name, **kwargs)


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
