"""User-facing errors.

Everything the user can get wrong (a file, a setting, a query) raises a `W2VError`
whose message says what to change. Pages and the CLI show the message and never a
traceback; anything else escaping is a bug.
"""
from __future__ import annotations


class W2VError(ValueError):
    """Bad input or settings; the message is meant for the user."""


class UnknownWordError(W2VError, KeyError):
    """A queried word is not in the vocabulary."""

    def __init__(self, word: str, hint: str = ""):
        self.word = word
        msg = f"'{word}' is not in the vocabulary"
        super().__init__(msg + (f"; {hint}" if hint else ""))

    def __str__(self) -> str:  # KeyError would otherwise repr-quote the message
        return self.args[0]


class TrainingDiverged(W2VError):
    """The loss became NaN or infinite."""


class NotInstalled(W2VError):
    """An optional dependency is missing."""

    def __init__(self, package: str, purpose: str):
        super().__init__(f"{purpose} needs the '{package}' package: pip install {package}")
