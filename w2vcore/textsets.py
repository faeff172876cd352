"""Labelled text sets for the downstream classifier: loaders and a split that never leaks a document.

A `TextSet` holds tokenized examples, their class and their *group* (the source document an
example was cut from). `split` holds out whole groups, so chunks of one Brown file never land
on both sides. Texts are tokenized with the same `Tokenizer` a run uses, so example tokens
match a run's vocabulary.

Sources: the Brown corpus's 15 genres (NLTK's tagged layout, each file cut into windows),
gensim's bundled `pang_lee_polarity.cor` (200 movie-review sentences in fastText's
`__label__pos text` format) and a user's `text,label` CSV.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .config import CorpusSource, TokenizerConfig
from .errors import W2VError
from .sources import BROWN_FILE, brown_categories, gensim_file, iter_documents
from .tokenize import Tokenizer

PANG_LEE = "pang_lee_polarity.cor"
FASTTEXT_LABEL = "__label__"
# NLTK's genre names by the letter after 'c' in a Brown file name, used when cats.txt is absent.
BROWN_GENRES = {"a": "news", "b": "editorial", "c": "reviews", "d": "religion", "e": "hobbies", "f": "lore",
                "g": "belles_lettres", "h": "government", "j": "learned", "k": "fiction", "l": "mystery",
                "m": "science_fiction", "n": "adventure", "p": "romance", "r": "humor"}


@dataclass(frozen=True)
class TextSet:
    """Tokenized labelled examples; example i belongs to class `classes[labels[i]]` and group `groups[i]`."""

    name: str
    docs: tuple[tuple[str, ...], ...]  # (n,) token sequences
    labels: np.ndarray  # (n,) int64 class indices
    classes: tuple[str, ...]  # class names, sorted
    groups: np.ndarray  # (n,) int64 source-document ids; a split never separates a group
    notes: tuple[str, ...] = field(default=())  # what the loader skipped or changed, for the user

    def __post_init__(self):
        n = len(self.docs)
        if n == 0:
            raise W2VError(f"{self.name}: no examples")
        if self.labels.shape != (n,) or self.groups.shape != (n,):
            raise W2VError(f"{self.name}: need one label and one group per example")
        if len(set(self.labels.tolist())) < 2:
            raise W2VError(f"{self.name}: every example has the class {self.classes[int(self.labels[0])]!r}; "
                           "a classifier needs at least two classes")

    def __len__(self) -> int:
        return len(self.docs)

    def class_counts(self, idx: np.ndarray | None = None) -> dict[str, int]:
        """Examples per class name (over `idx`, or all)."""
        labels = self.labels if idx is None else self.labels[idx]
        counts = np.bincount(labels, minlength=len(self.classes))
        return {c: int(k) for c, k in zip(self.classes, counts)}

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) sorted example indices; whole groups are held out, stratified by class.

        Each class's groups (a group's class is its most common label) are shuffled with `seed`
        and round(test_fraction * n) of them, at least 1 and at most n - 1, go to the test side.
        A class with a single group stays in training only.
        """
        if not 0.0 < test_fraction < 1.0:
            raise W2VError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        group_ids, inverse = np.unique(self.groups, return_inverse=True)
        k = len(self.classes)
        per_group = np.bincount(inverse * k + self.labels, minlength=len(group_ids) * k)
        group_label = per_group.reshape(len(group_ids), k).argmax(axis=1)  # (G,)
        rng = np.random.default_rng(seed)
        test_groups = []
        for c in range(len(self.classes)):
            members = np.flatnonzero(group_label == c)
            if len(members) < 2:
                continue
            k = min(max(1, round(test_fraction * len(members))), len(members) - 1)
            test_groups.append(rng.permutation(members)[:k])
        in_test = np.isin(inverse, np.concatenate(test_groups) if test_groups else [])
        if not in_test.any():
            raise W2VError(f"{self.name}: no class has two source documents, so nothing can be held out")
        return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def from_labelled(name: str, texts: Sequence[str], labels: Sequence[str], groups: Sequence[int] | None = None,
                  tokenizer: TokenizerConfig | None = None, notes: Sequence[str] = ()) -> TextSet:
    """Tokenize raw texts; examples with no token left are dropped (and counted in notes).

    groups: the source document of each text (default: each text its own).
    """
    if len(texts) != len(labels):
        raise W2VError(f"{name}: {len(texts)} texts but {len(labels)} labels")
    tok = Tokenizer(tokenizer or TokenizerConfig())
    groups = list(range(len(texts))) if groups is None else list(groups)
    if len(groups) != len(texts):
        raise W2VError(f"{name}: {len(texts)} texts but {len(groups)} groups")
    return _assemble(name, [tok.words(t) for t in texts], labels, groups, notes)


def _assemble(name: str, token_docs: Sequence[Sequence[str]], labels: Sequence[str], groups: Sequence[int],
              notes: Sequence[str]) -> TextSet:
    """A TextSet from token lists; empty ones are dropped (and counted in notes)."""
    keep = [i for i, words in enumerate(token_docs) if len(words)]
    notes = list(notes)
    if len(keep) < len(token_docs):
        notes.append(f"{len(token_docs) - len(keep)} examples had no tokens after tokenization and were dropped")
    if not keep:
        raise W2VError(f"{name}: no example has any token after tokenization")
    docs = [tuple(token_docs[i]) for i in keep]
    kept_labels = [str(labels[i]) for i in keep]
    kept_groups = [groups[i] for i in keep]
    classes = tuple(sorted(set(kept_labels)))
    index = {c: i for i, c in enumerate(classes)}
    return TextSet(name, tuple(docs), np.array([index[c] for c in kept_labels], dtype=np.int64), classes,
                   np.array(kept_groups, dtype=np.int64), tuple(notes))


def load_brown_genres(path: str | Path, chunk_tokens: int = 100, max_chunks_per_file: int | None = None,
                      tokenizer: TokenizerConfig | None = None) -> TextSet:
    """The Brown corpus's genres: each file cut into consecutive windows of `chunk_tokens` tokens.

    The label is the file's genre (cats.txt, else the letter after 'c'); the group is the file,
    so `TextSet.split` never shares a file between train and test. A trailing window shorter than
    half of `chunk_tokens` is dropped. `max_chunks_per_file` keeps only each file's first windows.
    """
    if chunk_tokens < 1:
        raise W2VError(f"chunk_tokens must be at least 1, got {chunk_tokens}")
    if max_chunks_per_file is not None and max_chunks_per_file < 1:
        raise W2VError(f"max_chunks_per_file must be at least 1, got {max_chunks_per_file}")
    root = Path(path).expanduser()
    source = CorpusSource("brown", str(root))
    documents = list(iter_documents(source))  # validates the folder; one document per file, in file order
    genres = brown_categories(root)
    files = sorted(genres) if genres else sorted(p.name for p in root.iterdir() if BROWN_FILE.match(p.name))
    if len(files) != len(documents):
        raise W2VError(f"{root}: {len(files)} Brown files but {len(documents)} non-empty documents; "
                       "is a file empty?")
    tok = Tokenizer(tokenizer or TokenizerConfig())
    docs, labels, groups = [], [], []
    for g, (file_id, segments) in enumerate(zip(files, documents)):
        genre = genres.get(file_id) or BROWN_GENRES.get(file_id[1:2], file_id[1:2])
        words = tok.words("\n".join(segments))
        starts = range(0, len(words), chunk_tokens)
        for i, start in enumerate(starts):
            chunk = words[start:start + chunk_tokens]
            if (max_chunks_per_file is not None and i >= max_chunks_per_file) or 2 * len(chunk) < chunk_tokens:
                break
            docs.append(chunk)
            labels.append(genre)
            groups.append(g)
    return _assemble(f"Brown genres ({chunk_tokens}-token windows)", docs, labels, groups, [])


def load_fasttext_labels(path: str | Path | None = None, tokenizer: TokenizerConfig | None = None) -> TextSet:
    """Lines `__label__<class> text` (fastText's format); default: gensim's `pang_lee_polarity.cor`.

    That file holds 200 movie-review sentences, 100 `neg` and 100 `pos` (Pang & Lee), in
    Windows-1252, so undecodable UTF-8 falls back to cp1252. Each line is its own group.
    """
    if path is None:
        path = gensim_file(PANG_LEE)
    path = Path(path).expanduser()
    lines = _read_lines(path)
    texts, labels, bad = [], [], 0
    for line in lines:
        head, _, text = line.strip().partition(" ")
        if not head:
            continue
        if not head.startswith(FASTTEXT_LABEL) or len(head) == len(FASTTEXT_LABEL):
            bad += 1
            continue
        texts.append(text)
        labels.append(head[len(FASTTEXT_LABEL):])
    if not texts:
        raise W2VError(f"{path}: no line starts with '{FASTTEXT_LABEL}<class> ', the fastText label format")
    notes = [f"{bad} lines without a {FASTTEXT_LABEL} prefix were skipped"] if bad else []
    return from_labelled(path.name, texts, labels, tokenizer=tokenizer, notes=notes)


def load_csv(path: str | Path, text_column: str = "text", label_column: str = "label",
             tokenizer: TokenizerConfig | None = None) -> TextSet:
    """A user's CSV with a header naming a text and a label column; each row is its own group.

    Rows with an empty text or label are skipped (and counted in notes).
    """
    path = Path(path).expanduser()
    reader = csv.DictReader(io.StringIO("\n".join(_read_lines(path))))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise W2VError(f"{path} is empty; expected a header line '{text_column},{label_column}' and rows")
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        raise W2VError(f"{path}: no column {' or '.join(repr(c) for c in missing)} in the header {header}; "
                       f"expected '{text_column},{label_column}'")
    reader.fieldnames = header
    texts, labels, skipped = [], [], 0
    try:
        for row in reader:
            text, label = (row.get(text_column) or "").strip(), (row.get(label_column) or "").strip()
            if text and label:
                texts.append(text)
                labels.append(label)
            elif any((v or "").strip() for v in row.values() if isinstance(v, str)):
                skipped += 1
    except csv.Error as e:
        raise W2VError(f"{path} is not a valid CSV: {e}") from None
    if not texts:
        raise W2VError(f"{path} has no rows with both a {text_column!r} and a {label_column!r} value")
    found = Counter(labels)
    if len(found) < 2:
        raise W2VError(f"{path}: every row has the label {labels[0]!r}; a classifier needs at least two classes")
    notes = [f"{skipped} rows with an empty text or label were skipped"] if skipped else []
    return from_labelled(path.name, texts, labels, tokenizer=tokenizer, notes=notes)


def _read_lines(path: Path) -> list[str]:
    """A small text file's lines: UTF-8 (BOM allowed), else Windows-1252."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror}") from None
    if not data.strip():
        raise W2VError(f"{path} is empty")
    if b"\x00" in data[:8192]:
        raise W2VError(f"{path} does not look like text (it contains NUL bytes); save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.splitlines()
