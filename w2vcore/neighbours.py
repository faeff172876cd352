"""Nearest neighbours of words and how much two embeddings' neighbourhoods overlap (Jaccard@k)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import W2VError
from .vectors import Vectors

NEIGHBOUR_BATCH = 512  # query rows scored at once by `top_k`


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """|A ∩ B| / |A ∪ B| of two word sets; NaN when both are empty."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else float("nan")


def top_k(unit: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """(len(rows), k) indices of the k rows of `unit` (V, d) nearest each query row by dot
    product (cosine for unit rows), best first, the query row itself excluded."""
    rows = np.asarray(rows, dtype=np.int64)
    if not 1 <= k < len(unit):
        raise W2VError(f"k must be between 1 and {len(unit) - 1} (the vocabulary minus the word), got {k}")
    out = np.empty((len(rows), k), dtype=np.int64)
    for s in range(0, len(rows), NEIGHBOUR_BATCH):
        q = rows[s:s + NEIGHBOUR_BATCH]
        scores = unit[q] @ unit.T  # (B, V)
        scores[np.arange(len(q)), q] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[s:s + NEIGHBOUR_BATCH] = np.take_along_axis(part, order, axis=1)
    return out


def neighbours(vectors: Vectors, words: Sequence[str], k: int = 10) -> tuple[dict[str, list[tuple[str, float]]],
                                                                              list[str]]:
    """({word: its k nearest words with cosines}, unknown words), for the known words in order."""
    known = [w for w in dict.fromkeys(words) if w in vectors]
    unknown = [w for w in dict.fromkeys(words) if w not in vectors]
    return {w: vectors.most_similar(w, topn=k) for w in known}, unknown


@dataclass(frozen=True)
class Overlap:
    words: tuple[str, ...]  # (n,) query words
    jaccard: np.ndarray  # (n,) Jaccard@k of each word's neighbours in A and B
    k: int
    n_candidates: int  # shared vocabulary the neighbours were drawn from

    @property
    def mean(self) -> float:
        return float(self.jaccard.mean())


def neighbour_overlap(a: Vectors, b: Vectors, words: Sequence[str] | None = None, k: int = 10,
                      n_words: int = 1000) -> Overlap:
    """Jaccard@k between each word's k nearest neighbours in A and in B.

    Neighbours are ranked within the words both vocabularies share (so a word only one model
    knows cannot count as a disagreement). Default queries: the `n_words` most frequent shared
    words (A's row order is frequency order).
    """
    shared = [w for w in a.index_to_key if w in b.key_to_index]
    if words is None:
        if n_words < 1:
            raise W2VError(f"n_words must be at least 1, got {n_words}")
        words = shared[:n_words]
    else:
        words = list(dict.fromkeys(words))
        missing = [w for w in words if w not in a or w not in b]
        if missing or not words:
            raise W2VError(f"{len(missing)} word(s) are not in both vocabularies: {missing[:10]}" if missing
                           else "give at least one word to compare neighbours of")
    if len(shared) <= k:
        raise W2VError(f"the two vocabularies share {len(shared)} words; Jaccard@{k} needs more than {k}")
    rows_a = np.array([a.key_to_index[w] for w in shared])
    rows_b = np.array([b.key_to_index[w] for w in shared])
    unit_a, unit_b = a.get_normed_vectors()[rows_a], b.get_normed_vectors()[rows_b]  # (S, d) each
    position = {w: i for i, w in enumerate(shared)}
    queries = np.array([position[w] for w in words])
    na, nb = top_k(unit_a, queries, k), top_k(unit_b, queries, k)
    scores = np.array([len(set(x) & set(y)) / len(set(x) | set(y)) for x, y in zip(na.tolist(), nb.tolist())])
    return Overlap(tuple(words), scores, k, len(shared))
