"""What the page tests share: the app in Streamlit's AppTest, and the text a reader sees on it."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds per script run: the first one imports torch


def app(page: str | None = None, runs: list[str] | None = None, timeout: float = TIMEOUT) -> AppTest:
    """app.py with `runs` picked in the sidebar, switched to `page`; fails on any exception."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout).run()
    if runs is not None:
        at.multiselect(key="selected_runs").set_value(runs).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Every message and Markdown text on the page, as the reader sees it (user text is escaped)."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "text")
    parts = [e.value for kind in kinds for e in getattr(at, kind)]
    return unescape("\n".join(str(p) for p in parts))


def unescape(text: str) -> str:
    """Markdown as shown: without the backslashes and zero-width spaces of `text.plain`."""
    return text.replace("\\", "").replace("\u200b", "")


def open_tab(at: AppTest, name: str, key: str = "explore.tab") -> None:
    """Select a lazily drawn tab (st.tabs with on_change="rerun") as a click would."""
    at.session_state[key] = name
    at.run()
