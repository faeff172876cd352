"""The Explore map's own computations: a word search (the word and its neighbours in the full vectors),
placing words off a computed map, word-arithmetic axes (x = he -> she) and a word,value column the user
uploads to colour the map. No streamlit: `pages/explore.py` calls these, `mapcharts.projection_figure` draws.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from w2vcore.errors import W2VError


# ------------------------------------------------------------------ search
def search(vectors, word: str, k: int) -> tuple[str, list[tuple[str, float]]]:
    """The searched word and its k nearest neighbours by cosine in the full vectors (not on the map).

    A word is matched as typed, else lower-cased; an unknown word raises `UnknownWordError`, whose
    message names close matches."""
    word = word.strip()
    if word not in vectors and word.lower() in vectors:
        word = word.lower()
    vectors.get_index(word)  # UnknownWordError (a W2VError) with "did you mean ...?"
    return word, vectors.most_similar(word, topn=k) if k > 0 else []


def place_extra(method: str, unit_extra: np.ndarray, unit_shown: np.ndarray, xy_shown: np.ndarray,
                k: int = 10) -> np.ndarray:
    """Map positions (m, 2) for words outside a computed map of `unit_shown` (n, d) drawn at `xy_shown` (n, 2).

    PCA is linear: the map's linear transform is recovered from the drawn words (least squares; the
    minimum-norm solution is PCA's own, even with fewer words than dimensions), so an extra word lands
    exactly where PCA puts it. UMAP has no such map: an extra word sits at the cosine-weighted mean
    of its k nearest drawn words, as UMAP's own `transform` starts. Unit rows in, so dot = cosine."""
    if not len(unit_extra):
        return np.zeros((0, 2))
    if method == "pca":
        mean = unit_shown.mean(axis=0)
        lift, *_ = np.linalg.lstsq(unit_shown - mean, xy_shown - xy_shown.mean(axis=0), rcond=None)  # (d, 2)
        return (unit_extra - mean) @ lift + xy_shown.mean(axis=0)
    cos = unit_extra @ unit_shown.T  # (m, n)
    k = min(k, len(unit_shown))
    near = np.argpartition(-cos, k - 1, axis=1)[:, :k]  # (m, k)
    weight = np.maximum(np.take_along_axis(cos, near, axis=1), 0) + 1e-6
    return (weight[:, :, None] * xy_shown[near]).sum(axis=1) / weight.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------ word-arithmetic axes
AXIS_ARROWS = ("->", "→", "=>")  # "he -> she": the direction from he to she


def parse_axis(text: str) -> tuple[str | None, str]:
    """An axis as typed: "he -> she" (a difference: from, to) or "king" (one word: None, word).

    Raises W2VError when the text is empty or has more than one arrow or more than one word per side."""
    spec = text.strip()
    for arrow in AXIS_ARROWS[1:]:
        spec = spec.replace(arrow, AXIS_ARROWS[0])
    parts = [p.strip() for p in spec.split(AXIS_ARROWS[0])]
    if not spec or len(parts) > 2 or any(not p or len(p.split()) != 1 for p in parts):
        raise W2VError(f"an axis is one word (king) or a difference of two (he -> she), got {text!r}")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def axis_vector(vectors, spec: tuple[str | None, str], name: str = "axis") -> np.ndarray:
    """The unit direction (d,) of an axis: unit(to) − unit(from), or unit(word) for a single word.

    Raises W2VError naming the unknown word (and the axis), or saying the two words point the same way."""
    unit = vectors.get_normed_vectors()
    rows = []
    for word in [w for w in spec if w is not None]:
        if word not in vectors:
            hint = vectors._suggest(word)
            raise W2VError(f"{name}: {word!r} is not in the vocabulary" + (f"; {hint}" if hint else ""))
        rows.append(unit[vectors.key_to_index[word]])
    direction = rows[-1] - rows[0] if len(rows) == 2 else rows[0]
    length = float(np.linalg.norm(direction))
    if length < 1e-6:
        raise W2VError(f"{name}: {' -> '.join(w for w in spec if w)} has no direction (the same vector twice?)")
    return direction / length


def axes_project(unit: np.ndarray, x_axis: np.ndarray, y_axis: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates: the cosine of each unit row (n, d) with each unit axis (d,), as whatlies and
    the Embedding Projector's custom projection place words (x = how far along he -> she, etc.)."""
    return np.stack([unit @ x_axis, unit @ y_axis], axis=1)


def axis_title(spec: tuple[str | None, str]) -> str:
    """The axis label: "he → she" or "king"."""
    return f"{spec[0]} → {spec[1]}" if spec[0] is not None else spec[1]


# ------------------------------------------------------------------ colour by an uploaded column
MAX_COLOUR_FILE = 20_000_000  # bytes of an uploaded word,value file


def read_word_values(data: bytes, name: str = "") -> pd.DataFrame:
    """An uploaded CSV/TSV of words and values as a frame: column "word" first, then the value columns.

    The word column is the one headed word (or words, token, key; any case), else the first column when
    the first row does not look like a header. Tabs separate in a .tsv or when the first line has one,
    else commas. Numeric columns become floats (empty cells NaN). Repeated words keep their first row.
    Raises W2VError saying what is wrong (not text, no word column, no value column, no rows)."""
    if len(data) > MAX_COLOUR_FILE:
        raise W2VError(f"{name or 'the file'} is {len(data) / 1e6:.0f} MB; a word,value file of at most "
                       f"{MAX_COLOUR_FILE // 1_000_000} MB is enough for any map")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else None
        except UnicodeDecodeError:
            text = None
        if text is None:
            raise W2VError(f"{name or 'the file'} is not UTF-8 text: save it as UTF-8 CSV (word,value per line)")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise W2VError(f"{name or 'the file'} is empty: it needs lines of word,value")
    sep = "\t" if name.lower().endswith(".tsv") or "\t" in lines[0] else ","
    rows = [[cell.strip() for cell in line.split(sep)] for line in lines]
    width = max(len(r) for r in rows)
    if width < 2:
        raise W2VError(f"{name or 'the file'} has one column: give each word a value, e.g. `cat,0.8` "
                       f"({'tab' if sep != ',' else 'comma'} separated)")
    rows = [r + [""] * (width - len(r)) for r in rows]
    head = [c.lower() for c in rows[0]]
    word_col = next((i for i, c in enumerate(head) if c in ("word", "words", "token", "key")), None)
    if word_col is None and _numeric(rows[0][1:]):  # no header: words first, then numbers
        word_col, header = 0, ["value" if width == 2 else f"value {i}" for i in range(1, width)]
        body = rows
    elif word_col is None:
        raise W2VError(f"{name or 'the file'} has no word column: head the words' column `word` in the first "
                       f"line (it reads: {', '.join(rows[0][:5])})")
    else:
        header = [c or f"column {i + 1}" for i, c in enumerate(rows[0]) if i != word_col]
        body = rows[1:]
    if not body:
        raise W2VError(f"{name or 'the file'} has a header but no rows of words")
    frame = pd.DataFrame([[r[word_col]] + [c for i, c in enumerate(r) if i != word_col] for r in body],
                         columns=["word"] + _unique(header))
    frame = frame[frame["word"] != ""].drop_duplicates("word", keep="first").reset_index(drop=True)
    for column in frame.columns[1:]:
        cells = frame[column].replace("", np.nan)
        numbers = pd.to_numeric(cells, errors="coerce")
        if numbers.notna().sum() == cells.notna().sum() and cells.notna().any():
            frame[column] = numbers.astype(float)
        else:
            frame[column] = cells
    return frame


def _numeric(cells: Sequence[str]) -> bool:
    """Whether every non-empty cell is a number (a first row of numbers is data, not a header)."""
    filled = [c for c in cells if c]
    return bool(filled) and all(_is_number(c) for c in filled)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def word_values(table: pd.DataFrame, column: str, words: Sequence[str],
                vocab: dict[str, int]) -> tuple[pd.Series, dict[str, int]]:
    """`column` of an uploaded table for `words` (NaN/None where the table has none), and counts for the
    messages: rows whose word the embedding lacks ("unknown"), map words without a value ("missing"),
    table rows with an empty value ("empty")."""
    values = table.set_index("word")[column]
    out = pd.Series([values.get(w, np.nan) for w in words], index=range(len(words)), name=column)
    unknown = int((~table["word"].isin(vocab)).sum())
    return out, {"unknown": unknown, "missing": int(out.isna().sum()), "empty": int(values.isna().sum()),
                 "rows": len(table)}
