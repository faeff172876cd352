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
