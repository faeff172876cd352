"""Raw text -> sentences of tokens, with the RSR notebook's normalisation.

Default rules (`letters="ascii"`): lowercase, replace everything but a-z and whitespace
with a space, split on whitespace. Non-ASCII letters are dropped ("café" -> "caf"), as in
the notebook, whose THINGS experiments and the golden vectors depend on it.
`letters="unicode"` keeps letters of any script instead: the text is NFC-normalised
(a decomposed "cafe\u0301" becomes "café"), then letters (Unicode categories L*), combining
marks (M*, e.g. Devanagari vowel signs) and, with keep_digits, decimal digits of any script
(Nd) are kept; scripts written without spaces (Chinese, Japanese) give one token per run
of letters. Multi-word expressions from `TokenizerConfig.phrases` are joined with "_"
after normalisation ("air conditioner" -> "air_conditioner"), so the underscore survives.
"""
from __future__ import annotations

import re
import unicodedata

from .config import TokenizerConfig

# A run of . ! ? ends a sentence unless a letter or digit follows at once ("3.5", "e.g.x").
_SENTENCE_END = re.compile(r"[.!?]+(?![A-Za-z0-9])")
_SENTENCE_END_ANY = re.compile(r"[.!?]+(?![^\W_])|[。！？]+")  # any script's letters or digits; CJK stops always end


class _UnicodeFilter(dict):
    """A `str.translate` table that maps every character outside letters, marks, (digits) and
    whitespace to a space; each character's decision is made once, on first sight."""

    def __init__(self, keep_digits: bool):
        super().__init__()
        self.keep = ("L", "M", "Nd") if keep_digits else ("L", "M")

    def __missing__(self, code: int) -> int | None:
        ch = chr(code)
        kept = ch.isspace() or unicodedata.category(ch).startswith(self.keep)
        self[code] = code if kept else 32  # 32: a space
        return self[code]


class Tokenizer:
    """Splits text into sentences of normalised tokens according to a `TokenizerConfig`."""

    def __init__(self, cfg: TokenizerConfig):
        self.cfg = cfg
        allowed = ("a-z" if cfg.lowercase else "a-zA-Z") + ("0-9" if cfg.keep_digits else "")
        self._strip = re.compile(rf"[^{allowed}\s]")
        self._unicode = _UnicodeFilter(cfg.keep_digits) if cfg.letters == "unicode" else None
        self._phrases = self._index_phrases(cfg.phrases)

    def sentences(self, text: str) -> list[list[str]]:
        """Non-empty sentences of `text`: one per line ("line"), also split at . ! ? ("punct")."""
        if self.cfg.sentences == "punct":
            text = (_SENTENCE_END_ANY if self._unicode is not None else _SENTENCE_END).sub("\n", text)
        out = []
        for line in self._normalise(text).splitlines():
            tokens = self._filter(line.split())
            if tokens:
                out.append(self._join_phrases(tokens) if self._phrases else tokens)
        return out

    def words(self, text: str) -> list[str]:
        """All tokens of `text` in order, sentences concatenated (for queries and labels)."""
        return [w for sentence in self.sentences(text) for w in sentence]

    def _normalise(self, text: str) -> str:
        if self._unicode is not None:
            text = unicodedata.normalize("NFC", text)
        if self.cfg.lowercase:
            text = text.lower()
        if self._unicode is not None:
            return text.translate(self._unicode)
        return self._strip.sub(" ", text)

    def _filter(self, tokens: list[str]) -> list[str]:
        n = self.cfg.min_token_len
        return tokens if n <= 1 else [t for t in tokens if len(t) >= n]

    def _index_phrases(self, phrases: tuple[str, ...]) -> dict[str, list[list[str]]]:
        """First word -> candidate phrases (full token lists), longest first."""
        index: dict[str, list[list[str]]] = {}
        for phrase in phrases:
            parts = self._filter(self._normalise(phrase).split())
            if len(parts) < 2 or parts in index.get(parts[0], []):
                continue
            index.setdefault(parts[0], []).append(parts)
        for candidates in index.values():
            candidates.sort(key=len, reverse=True)
        return index

    def _join_phrases(self, tokens: list[str]) -> list[str]:
        """Greedy longest match, left to right: ["new", "york", "city"] -> ["new_york_city"]."""
        if self._phrases.keys().isdisjoint(tokens):
            return tokens
        out = []
        i, n = 0, len(tokens)
        while i < n:
            for candidate in self._phrases.get(tokens[i], ()):
                k = len(candidate)
                if tokens[i:i + k] == candidate:
                    out.append("_".join(candidate))
                    i += k
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out
