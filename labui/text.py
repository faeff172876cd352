"""User text (run names, file names, words, error messages) shown as it is, never as markup. No streamlit."""
from __future__ import annotations

import re
from typing import Any


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
