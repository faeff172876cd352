"""What every embedding reader returns (`Embedding`), the formats and encodings they accept."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

FORMATS = ("auto", "word2vec", "word2vec-binary", "glove", "fasttext", "keyedvectors")
ENCODINGS = ("utf-8", "latin-1", "cp1252", "auto")  # of the words; "auto": UTF-8 if valid, else cp1252
TEXT_BLOCK = 1 << 24  # bytes of text parsed per numpy call, at most (a block costs ~5x its size while parsed)
BINARY_BLOCK = 1 << 20  # bytes read at a time from a binary file, and when counting lines
SNIFF = 1 << 16
HEADER_LINE = re.compile(rb"^\s*(\d+)\s+(\d+)\s*$")
ENCODING_HINT = "pick the file's encoding (--encoding latin-1, cp1252 or auto; the import form's Encoding)"

Progress = Callable[[float], None]


@dataclass
class Embedding:
    """Words (most frequent first, as the file lists them) and their (V, d) float32 vectors."""

    words: list[str]
    vectors: np.ndarray
    format: str  # the format read (never "auto")
    encoding: str  # the codec the words were decoded with
    in_file: int | None  # words the file holds (None when a header-less file was read only up to `limit`)
    notes: list[str] = field(default_factory=list)


def first_nonfinite_row(matrix: np.ndarray, block: int = 1 << 16) -> int | None:
    """The index of the first row holding NaN or an infinity, or None; checked in blocks of rows, so the
    check needs a small boolean buffer however large the matrix."""
    for start in range(0, len(matrix), block):
        bad = np.flatnonzero(~np.isfinite(matrix[start: start + block]).all(axis=1))
        if len(bad):
            return start + int(bad[0])
    return None
