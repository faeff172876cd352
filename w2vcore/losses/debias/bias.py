"""Gender bias in word vectors: the gender direction and four ways to measure bias.

- `gender_direction`: Bolukbasi et al. (2016): the first principal component of the
  definitional pairs' differences (each pair centred on its mean, unit vectors);
  `gender_subspace`: its first k components (k given, or enough to explain a share of
  the variance), for debiasing along more than one direction.
- `direct_bias`: DirectBias_c = mean over neutral words of |cos(w, g)|^c (c = 1 by default).
- `weat`: Caliskan et al. (2017): effect size d and a one-sided permutation p-value.
- `biased_words`, `cluster_accuracy`, `classifier_accuracy`: Gonen & Goldberg (2019), "Lipstick
  on a pig": the most gender-biased words of the *original* space still cluster by gender
  (k-means, k=2) and a classifier still recovers their gender after debiasing. Bias is only
  gone when these accuracies approach chance (0.5), not merely when the projection is zero.

All take a `Vectors` and words; unknown words are skipped and reported, a list with no
known word is a `W2VError` naming them.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .biaslists import GenderLists, WeatTest, find_pairs, find_words
from ...errors import W2VError
from ...vectors import Vectors

MIN_BIASED = 5  # fewest words per side for the Gonen & Goldberg tests


@dataclass(frozen=True)
class Direction:
    vector: np.ndarray  # (d,) unit, pointing from the second (male) word of each pair to the first (female)
    explained: float  # share of the centred pair differences' variance along it (PC1), 0..1
    pairs: tuple[tuple[str, str], ...]  # definitional pairs used
    skipped: tuple[tuple[str, str], ...]  # pairs with an unknown word


def pca_direction(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, float]:
    """Unit (d,) first principal component of the (k, d) pair rows centred per pair, and its variance share.

    Oriented so that first - second projects positively on it on average.
    """
    centre = (first + second) / 2
    diffs = np.concatenate([first - centre, second - centre]).astype(np.float64)  # (2k, d), each pair sums to 0
    _, s, vt = np.linalg.svd(diffs, full_matrices=False)
    total = float((s ** 2).sum())
    if not total > 0:
        raise W2VError("the definitional pairs' words have identical vectors: no gender direction")
    g = vt[0]
    if ((first - second) @ g).sum() < 0:
        g = -g
    return g, float(s[0] ** 2 / total)


def pca_subspace(first: np.ndarray, second: np.ndarray, k: int = 0, explained: float = 0.95,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(k, d) orthonormal principal components of the (m, d) pair rows centred per pair, and all components'
    variance shares (descending).

    k = 0 takes the fewest components whose cumulative share reaches `explained`; k is capped at
    the rank (at most m). Component 0 is `pca_direction`'s PC1, with its orientation.
    """
    if first.shape != second.shape or first.ndim != 2:
        raise W2VError(f"pair rows must be two (m, d) arrays of one shape, got {first.shape} and {second.shape}")
    if k < 0 or not 0 < explained <= 1:
        raise W2VError(f"need k >= 0 and 0 < explained <= 1, got k={k}, explained={explained}")
    centre = (first + second) / 2
    diffs = np.concatenate([first - centre, second - centre]).astype(np.float64)  # (2m, d)
    _, s, vt = np.linalg.svd(diffs, full_matrices=False)
    total = float((s ** 2).sum())
    if not total > 0:
        raise W2VError("the definitional pairs' words have identical vectors: no gender direction")
    shares = s ** 2 / total
    rank = int((shares > 1e-12).sum())
    if k == 0:
        k = int(np.searchsorted(np.cumsum(shares), explained - 1e-12) + 1)
    basis = vt[:min(k, rank)].copy()
    if ((first - second) @ basis[0]).sum() < 0:
        basis[0] = -basis[0]
    return basis, shares


@dataclass(frozen=True)
class Subspace:
    basis: np.ndarray  # (k, d) orthonormal; row 0 is the gender direction (female side positive)
    shares: np.ndarray  # (r,) variance share of every principal component of the pairs, descending
    pairs: tuple[tuple[str, str], ...]  # pairs used
    skipped: tuple[tuple[str, str], ...]  # pairs with an unknown word

    @property
    def explained(self) -> float:
        """Share of the pairs' variance inside the subspace."""
        return float(self.shares[:len(self.basis)].sum())


def gender_subspace(vectors: Vectors, pairs: Sequence[tuple[str, str]], k: int = 0,
                    explained: float = 0.95) -> Subspace:
    """The first k principal components of the pairs (female word first) on unit vectors; k = 0: as many as
    explain `explained` of their variance. k = 1 is `gender_direction`."""
    known, skipped = find_pairs(vectors.key_to_index, pairs, "definitional pairs")
    unit = vectors.get_normed_vectors()
    ids = np.array(known, dtype=np.int64)
    basis, shares = pca_subspace(unit[ids[:, 0]], unit[ids[:, 1]], k, explained)
    used = tuple((vectors.index_to_key[a], vectors.index_to_key[b]) for a, b in known)
    return Subspace(basis, shares, used, tuple(skipped))


def gender_direction(vectors: Vectors, pairs: Sequence[tuple[str, str]]) -> Direction:
    """Bolukbasi's gender direction from definitional pairs (female word first), on unit vectors."""
    known, skipped = find_pairs(vectors.key_to_index, pairs, "definitional pairs")
    unit = vectors.get_normed_vectors()
    ids = np.array(known, dtype=np.int64)
    g, explained = pca_direction(unit[ids[:, 0]], unit[ids[:, 1]])
    used = tuple((vectors.index_to_key[a], vectors.index_to_key[b]) for a, b in known)
    return Direction(g, explained, used, tuple(skipped))


def _as_unit(direction: Direction | np.ndarray, dim: int) -> np.ndarray:
    g = np.asarray(direction.vector if isinstance(direction, Direction) else direction, dtype=np.float64)
    if g.shape != (dim,) or not np.isfinite(g).all() or not np.linalg.norm(g) > 0:
        raise W2VError(f"the direction must be a finite non-zero vector of {dim} numbers, got shape {g.shape}")
    return g / np.linalg.norm(g)


def projections(vectors: Vectors, ids: Sequence[int], direction: Direction | np.ndarray) -> np.ndarray:
    """(n,) cos(w, g) of the given rows."""
    return vectors.get_normed_vectors()[np.asarray(ids, dtype=np.int64)] @ _as_unit(direction, vectors.vector_size)


@dataclass(frozen=True)
class DirectBias:
    value: float  # mean |cos(w, g)|^c over the known words
    words: tuple[str, ...]
    cosines: np.ndarray  # (n,) signed cos(w, g), positive = towards the first (female) words
    missing: tuple[str, ...]


def direct_bias(vectors: Vectors, words: Sequence[str], direction: Direction | np.ndarray,
                c: float = 1.0) -> DirectBias:
    """Bolukbasi's DirectBias_c of the neutral `words` with respect to `direction`."""
    if not c > 0:
        raise W2VError(f"direct bias strictness c must be positive, got {c}")
    match = find_words(vectors.key_to_index, words, "neutral words")
    cos = projections(vectors, match.ids, direction)
    return DirectBias(float(np.mean(np.abs(cos) ** c)), match.words, cos, match.missing)


# ------------------------------------------------------------------------------------- WEAT
@dataclass(frozen=True)
class WeatScore:
    name: str
    effect_size: float  # d: difference of mean associations over their pooled std (ddof=1)
    p_value: float  # one-sided: share of equal-size re-partitions of X u Y at least as extreme
    statistic: float  # s(X, Y, A, B) = sum_x s(x, A, B) - sum_y s(y, A, B)
    n_permutations: int
    exact: bool  # all partitions enumerated (else a seeded sample)
    sizes: tuple[int, int, int, int]  # known words in X, Y, A, B
    missing: dict[str, tuple[str, ...]]  # set name -> its unknown words
    chance: float = float("nan")  # mean |d| over the same re-partitions: |d| with no X/Y difference at all


def weat_associations(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b) for each row of [x; y] (unit rows)."""
    targets = np.concatenate([x, y]).astype(np.float64)
    return (targets @ a.T.astype(np.float64)).mean(1) - (targets @ b.T.astype(np.float64)).mean(1)


def weat_effect_size(s: np.ndarray, n_x: int) -> float:
    """d from the associations s of X (the first n_x) and Y (the rest)."""
    spread = np.std(s, ddof=1)
    if not spread > 1e-12:
        raise W2VError("WEAT: every target word has the same association with A and B (constant values)")
    return float((s[:n_x].mean() - s[n_x:].mean()) / spread)


def weat(vectors: Vectors, test: WeatTest, permutations: int = 100_000, seed: int = 0) -> WeatScore:
    """Effect size and permutation p-value of one WEAT test.

    All C(|X|+|Y|, |X|) partitions are enumerated when there are at most `permutations` of
    them, else `permutations` seeded random ones are drawn (p = (1 + hits) / (1 + draws)).
    """
    if permutations < 1:
        raise W2VError(f"WEAT needs at least one permutation, got {permutations}")
    unit = vectors.get_normed_vectors()
    matches = [find_words(vectors.key_to_index, words, f"'{label}' words of WEAT {test.name}")
               for words, label in zip((test.x, test.y, test.a, test.b), test.names)]
    x, y, a, b = (unit[np.array(m.ids)] for m in matches)
    s = weat_associations(x, y, a, b)  # (n_x + n_y,)
    n, k = len(s), len(x)
    if n < 3:
        raise W2VError(f"WEAT {test.name}: need at least 3 known target words, got {n}")
    d = weat_effect_size(s, k)
    observed = s[:k].sum()
    tol = 1e-9 * max(1.0, float(np.abs(s).sum()))
    total = math.comb(n, k)
    if total <= permutations:
        sums = np.array([s[list(c)].sum() for c in itertools.combinations(range(n), k)])
        p, used, exact = float((sums >= observed - tol).mean()), total, True
    else:
        rng = np.random.default_rng(seed)
        order = np.argsort(rng.random((permutations, n)), axis=1)[:, :k]  # (P, k) random subsets
        sums = s[order].sum(1)
        hits = int((sums >= observed - tol).sum())
        p, used, exact = (1 + hits) / (1 + permutations), permutations, False
    # d of each re-partition (the pooled spread does not depend on the split): its mean |d| is what a
    # space with no X/Y difference scores on these words (about 0.4 for 8 + 8 words), the floor of |d|
    chance = float(np.abs(sums / k - (s.sum() - sums) / (n - k)).mean() / np.std(s, ddof=1))
    return WeatScore(test.name, d, p, float(2 * observed - s.sum()), used, exact, tuple(len(m.ids) for m in matches),
                     {label: m.missing for label, m in zip(test.names, matches) if m.missing}, chance)


# ----------------------------------------------------------------------- Gonen & Goldberg
@dataclass(frozen=True)
class BiasedWords:
    """The most gender-biased words of a space: `n` towards each end of the direction."""

    words: tuple[str, ...]
    labels: np.ndarray  # (2n,) 1 = towards the first (female) words, 0 = towards the second (male)
    cosines: np.ndarray  # (2n,) cos(w, g) in the space they were chosen in


def biased_words(vectors: Vectors, direction: Direction | np.ndarray, n: int = 500, exclude=(),
                 restrict_vocab: int | None = 50_000) -> BiasedWords:
    """The `n` words with the largest and the `n` with the smallest cos(w, g) among the most frequent.

    `exclude` (e.g. gender-specific words, compared lower-cased) are never chosen; fewer
    than `n` a side are taken when the vocabulary is small (at least MIN_BIASED).
    """
    limit = len(vectors) if restrict_vocab is None else min(int(restrict_vocab), len(vectors))
    banned = {w.lower() for w in exclude}
    ids = np.array([i for i, w in enumerate(vectors.index_to_key[:limit]) if w.lower() not in banned], dtype=np.int64)
    n = min(int(n), len(ids) // 2)
    if n < MIN_BIASED:
        raise W2VError(f"need at least {2 * MIN_BIASED} candidate words for the clustering test, got {len(ids)}")
    cos = projections(vectors, ids, direction)
    order = np.argsort(-cos, kind="stable")
    chosen = np.concatenate([order[:n], order[-n:]])
    return BiasedWords(tuple(vectors.index_to_key[i] for i in ids[chosen]),
                       np.r_[np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)], cos[chosen])


def _rows(vectors: Vectors, words: BiasedWords) -> np.ndarray:
    match = find_words(vectors.key_to_index, words.words, "biased words")
    if match.missing:
        raise W2VError(f"{len(match.missing)} biased words are not in these vectors, e.g. {match.missing[:5]}; "
                       "choose them from a space with the same vocabulary")
    return vectors.get_normed_vectors()[np.array(match.ids)]


def cluster_accuracy(vectors: Vectors, words: BiasedWords, seed: int = 0) -> float:
    """Agreement of k-means (k=2) clusters with the original gender labels, 0.5 (chance) .. 1."""
    from sklearn.cluster import KMeans

    pred = KMeans(n_clusters=2, n_init=10, random_state=seed).fit_predict(_rows(vectors, words))
    agree = float((pred == words.labels).mean())
    return max(agree, 1.0 - agree)


def classifier_accuracy(vectors: Vectors, words: BiasedWords, folds: int = 5, seed: int = 0,
                        kernel: str = "rbf") -> float:
    """Cross-validated accuracy of an SVM predicting the original gender label from the vectors."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.svm import SVC

    if not 2 <= folds <= len(words.labels) // 2:
        raise W2VError(f"folds must be between 2 and {len(words.labels) // 2}, got {folds}")
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(SVC(kernel=kernel), _rows(vectors, words), words.labels, cv=cv).mean())


# ------------------------------------------------------------------------------- together
def bias_report(vectors: Vectors, lists: GenderLists, tests: Sequence[WeatTest] = (),
                biased: BiasedWords | None = None, neutral: Sequence[str] | None = None,
                permutations: int = 100_000, seed: int = 0) -> dict[str, float]:
    """Every metric as `bias/...` floats: direct bias (on `neutral`, default the lists' neutral words),
    WEAT d and p per test, and the Gonen & Goldberg accuracies on `biased` (chosen in the original space)."""
    g = gender_direction(vectors, lists.definitional)
    out = {"bias/direct_bias": direct_bias(vectors, neutral or lists.neutral, g).value,
           "bias/direction_explained": g.explained}
    for test in tests:
        score = weat(vectors, test, permutations, seed)
        out[f"bias/weat_d/{test.name}"], out[f"bias/weat_p/{test.name}"] = score.effect_size, score.p_value
        out[f"bias/weat_chance/{test.name}"] = score.chance
    if biased is not None:
        out["bias/cluster_accuracy"] = cluster_accuracy(vectors, biased, seed)
        out["bias/classifier_accuracy"] = classifier_accuracy(vectors, biased, seed=seed)
    return out
