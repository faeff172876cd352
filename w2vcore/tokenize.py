"""Raw text -> sentences of tokens, with the RSR notebook's normalisation.

Default rules: lowercase, replace everything but a-z and whitespace with a space,
split on whitespace. Non-ASCII letters are dropped ("café" -> "caf"), as in the
notebook. Multi-word expressions from `TokenizerConfig.phrases` are joined with "_"
after normalisation ("air conditioner" -> "air_conditioner"), so the underscore survives.
"""
from __future__ import annotations

import re

from .config import TokenizerConfig

# A run of . ! ? ends a sentence unless a letter or digit follows at once ("3.5", "e.g.x").
_SENTENCE_END = re.compile(r"[.!?]+(?![A-Za-z0-9])")


class Tokenizer:
    """Splits text into sentences of normalised tokens according to a `TokenizerConfig`."""

    def __init__(self, cfg: TokenizerConfig):
        self.cfg = cfg
        allowed = ("a-z" if cfg.lowercase else "a-zA-Z") + ("0-9" if cfg.keep_digits else "")
        self._strip = re.compile(rf"[^{allowed}\s]")
        self._phrases = self._index_phrases(cfg.phrases)

    def sentences(self, text: str) -> list[list[str]]:
        """Non-empty sentences of `text`: one per line ("line"), also split at . ! ? ("punct")."""
        if self.cfg.sentences == "punct":
            text = _SENTENCE_END.sub("\n", text)
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
        if self.cfg.lowercase:
            text = text.lower()
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
