"""Continuous word values for ValueVec: loaders, validation, held-out split and metrics.

Every loader returns ``{word: value}`` checked by `check_values`: at least three words, no
word twice, every value finite, not all values equal. Sources:

- `colour_spectrum`: colour words with a wavelength in nm (``light_green`` = green + light's shift).
- `load_vader`: VADER's human-rated mean valence (-4..+4), from the lexicon in vaderSentiment's wheel.
- `load_things_ratings`: a THINGS concept rating (pleasant, arousing, natural, moves, ...), packaged.
- `load_value_csv`: the user's ``word,value`` file.

Metrics compare an embedding with the values: `pair_spearman` (Spearman of |value
difference| against cosine distance over word pairs) and `pc1_correlation` (how well the
first principal component of the unit vectors follows the value). `knn_predict` and
`ridge_predict` predict a held-out word's value from the training words (nearest neighbours,
a linear probe); `difference_spearman` scores predicted values on pairs, as value differences.
"""
from __future__ import annotations

import csv
import importlib.util
import math
import re
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
from scipy import stats

from ... import things
from ...errors import W2VError
from ...evaldata import _is_number
from ...things import _read_text, concept_parts

MIN_WORDS = 3
EVAL_MAX_PAIRS = 200_000  # word pairs scored by `pair_spearman` before it samples
GRAM_MAX_WORDS = 3000  # up to this many words `pair_spearman` takes cosines from the full (n, n) Gram matrix
PAIR_CHUNK = 16_384  # pairs per chunk above that
RIDGE_ALPHAS = np.logspace(-3, 3, 13)  # `ridge_predict` picks its penalty from these by leave-one-out
THINGS_RATINGS_FILE = things.RATINGS_FILE
THINGS_RATINGS = things.RATINGS

# Base colours and a representative wavelength (nm), violet to red.
BASE_COLOURS = {"violet": 400.0, "indigo": 430.0, "blue": 465.0, "cyan": 490.0, "teal": 505.0, "green": 530.0,
                "lime": 555.0, "yellow": 578.0, "amber": 592.0, "orange": 610.0, "vermilion": 630.0,
                "scarlet": 655.0, "red": 680.0, "crimson": 700.0}
# Shade modifiers move a colour by a fixed shift (nm): deeper/darker towards red, paler/lighter towards blue.
SHADE_MODIFIERS = {"deep": 9.0, "dark": 6.0, "dull": 3.0, "bright": -3.0, "light": -6.0, "pale": -9.0}
# Tint modifiers pull a colour a fifth of the way towards their own hue.
TINT_MODIFIERS = {"bluish": BASE_COLOURS["blue"], "greenish": BASE_COLOURS["green"],
                  "yellowish": BASE_COLOURS["yellow"], "reddish": BASE_COLOURS["red"]}
TINT_PULL = 0.2


# ------------------------------------------------------------- validation
def check_values(values: Mapping[str, float] | Iterable[tuple[str, float]], source: str = "values"
                 ) -> dict[str, float]:
    """The values as a {word: float} dict, or W2VError naming what is wrong with them.

    Takes a mapping or (word, value) pairs; pairs may repeat a word, which is refused.
    """
    items = list(values.items()) if isinstance(values, Mapping) else list(values)
    if not items:
        raise W2VError(f"{source}: no words with values")
    out: dict[str, float] = {}
    repeated = []
    for item in items:
        try:
            word, value = item
        except (TypeError, ValueError):
            raise W2VError(f"{source}: expected (word, value) pairs, got {item!r}") from None
        word = str(word).strip()
        if not word:
            raise W2VError(f"{source}: an empty word has value {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise W2VError(f"{source}: the value of '{word}' is not a number: {value!r}") from None
        if not math.isfinite(number):
            raise W2VError(f"{source}: the value of '{word}' is {number} (NaN or infinite values are not allowed)")
        if word in out:
            repeated.append(word)
        out[word] = number
    if repeated:
        shown = ", ".join(sorted(set(repeated))[:5])
        raise W2VError(f"{source}: {len(set(repeated))} word(s) appear more than once ({shown}); give each word "
                       "one value")
    if len(out) < MIN_WORDS:
        raise W2VError(f"{source}: need at least {MIN_WORDS} words with values, got {len(out)}")
    spread = max(out.values()) - min(out.values())
    if spread == 0:
        raise W2VError(f"{source}: every word has the same value ({next(iter(out.values()))}); ValueVec needs "
                       "values that differ")
    return out


def normalise(values: np.ndarray) -> np.ndarray:
    """(n,) values rescaled to [0, 1] (min -> 0, max -> 1), float64."""
    values = np.asarray(values, dtype=np.float64)
    low, high = values.min(), values.max()
    if not np.isfinite(values).all() or high == low:
        raise W2VError("values must be finite and not all equal to be normalised")
    return (values - low) / (high - low)


def split_words(words: list[str], heldout: float, seed: int) -> tuple[list[str], list[str]]:
    """(training words, held-out words): a seeded share `heldout` of the words, by word; orders kept."""
    if not 0.0 <= heldout < 1.0:
        raise W2VError(f"heldout must be in [0, 1), got {heldout}")
    order = np.random.default_rng(seed).permutation(len(words))
    held = set(order[:int(round(heldout * len(words)))].tolist())
    return ([w for i, w in enumerate(words) if i not in held], [w for i, w in enumerate(words) if i in held])


# ---------------------------------------------------------------- sources
def colour_spectrum(seed: int = 0, jitter: float = 2.0, modifiers: Iterable[str] | None = None,
                    bases: Iterable[str] | None = None) -> dict[str, float]:
    """Colour words -> wavelength (nm): each base colour and each `modifier_base` word.

    A shade modifier adds its shift; a tint pulls the base a fifth of the way towards its own
    hue (bluish_green: 530 + 0.2 * (465 - 530) = 517 nm), and is skipped on a base that is
    already about that hue. Modified words get seeded Gaussian noise of `jitter` nm, so
    "light" is not exactly the same shift everywhere (as colour names are not).
    """
    if not math.isfinite(jitter) or jitter < 0:
        raise W2VError(f"jitter must be a finite number of nm, 0 or more, got {jitter}")
    known = {**SHADE_MODIFIERS, **TINT_MODIFIERS}
    chosen = list(known) if modifiers is None else list(modifiers)
    base_names = list(BASE_COLOURS) if bases is None else list(bases)
    for name, pool in (("modifier", chosen), ("base colour", base_names)):
        unknown = [m for m in pool if m not in (known if name == "modifier" else BASE_COLOURS)]
        if unknown:
            raise W2VError(f"unknown {name}(s) {unknown}; choose from "
                           f"{sorted(known if name == 'modifier' else BASE_COLOURS)}")
    rng = np.random.default_rng(seed)
    out = {b: BASE_COLOURS[b] for b in base_names}
    for base in base_names:
        nm = BASE_COLOURS[base]
        for mod in chosen:
            shift = SHADE_MODIFIERS.get(mod, TINT_PULL * (TINT_MODIFIERS.get(mod, nm) - nm))
            if abs(shift) < 1.0:
                continue  # bluish_blue
            out[f"{mod}_{base}"] = round(nm + shift + jitter * float(rng.standard_normal()), 2)
    return check_values(out, "colour spectrum")


def find_vader_lexicon() -> Path:
    """vader_lexicon.txt inside the installed vaderSentiment package."""
    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or not spec.submodule_search_locations:
        from ...errors import NotInstalled

        raise NotInstalled("vaderSentiment", "the VADER valence lexicon")
    path = Path(list(spec.submodule_search_locations)[0]) / "vader_lexicon.txt"
    if not path.is_file():
        raise W2VError(f"vaderSentiment is installed but {path} is missing; reinstall it: "
                       "pip install --force-reinstall vaderSentiment")
    return path


def load_vader(path: str | Path | None = None, letters_only: bool = True) -> dict[str, float]:
    """VADER token -> mean valence (-4..+4); columns: token, mean, sd, raw ratings (tab-separated).

    `letters_only` keeps tokens made of a-z only (the tokenizer drops everything else, so
    emoticons such as ':)' could never be in a vocabulary). The shipped file rates a few
    tokens twice (lol, ok, fav, ...); those get the mean of their two ratings.
    """
    path = Path(path) if path is not None else find_vader_lexicon()
    ratings: dict[str, list[float]] = {}
    for no, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not _is_number(fields[1]):
            raise W2VError(f"{path}, line {no}: expected token<TAB>mean valence, got {line[:60]!r}")
        token = fields[0].strip()
        if letters_only and not re.fullmatch(r"[a-z]+", token):
            continue
        ratings.setdefault(token, []).append(float(fields[1]))
    return check_values({w: sum(r) / len(r) for w, r in ratings.items()}, str(path))


def things_word(concept_id: str) -> str:
    """The vocabulary token of a THINGS concept id: bat1 -> bat, air_conditioner and T-shirt -> t_shirt."""
    return "_".join(concept_parts(concept_id))


def load_things_ratings(data_dir: str | Path | None = None, rating: str = "pleasant") -> dict[str, float]:
    """THINGS concept word -> mean rating from animacy.csv (1854 concepts, 1..7 scales).

    Read from the user's THINGS folder in `data_dir` when it has one, else from the packaged
    copy (`things.load`). Concept ids become tokens by `things_word`. Homonyms (bat1 the
    animal, bat2 the club) name one word with different ratings, so they are left out rather
    than guessed.
    """
    if rating not in THINGS_RATINGS:
        raise W2VError(f"unknown THINGS rating {rating!r}; choose from {', '.join(THINGS_RATINGS)}")
    source = things.load(data_dir)
    by_word: dict[str, list[float]] = {}
    for concept, value in source.rating(rating):
        word = things_word(concept)
        if word:
            by_word.setdefault(word, []).append(value)
    return check_values({w: v[0] for w, v in by_word.items() if len(v) == 1}, f"{source.describe()} ({rating})")


def load_value_csv(path: str | Path) -> dict[str, float]:
    """The user's `word,value` CSV (a header line is allowed when its value field is not a number)."""
    lines = [(no, line) for no, line in enumerate(_read_text(path).splitlines(), 1) if line.strip()]
    if not lines:
        raise W2VError(f"{path} is empty")
    pairs = []
    for k, (no, line) in enumerate(lines):
        fields = [f.strip() for f in next(csv.reader([line]))]
        if len(fields) != 2:
            raise W2VError(f"{path}, line {no}: expected word,value, got {line.strip()!r}")
        if not _is_number(fields[1]):
            if k == 0:
                continue  # header
            raise W2VError(f"{path}, line {no}: the value {fields[1]!r} is not a number")
        pairs.append((fields[0], fields[1]))
    return check_values(pairs, str(path))


def load_values(source: str, data_dir: str | Path | None = None) -> dict[str, float]:
    """A named source: 'vader', 'colours', 'things:<rating>' (pleasant by default), or a CSV path."""
    if source == "vader":
        return load_vader()
    if source in ("colours", "colors"):
        return colour_spectrum()
    if source == "things" or source.startswith("things:"):
        return load_things_ratings(data_dir, source.partition(":")[2] or "pleasant")
    if Path(source).is_file():
        return load_value_csv(source)
    raise W2VError(f"values {source!r} is neither 'vader', 'colours', 'things:<rating>' nor an existing "
                   "word,value CSV file")


# ---------------------------------------------------------------- metrics
def _check_table(vectors: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.asarray(vectors, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if vectors.ndim != 2 or values.ndim != 1 or len(vectors) != len(values):
        raise W2VError(f"need a (n, d) vector table and n values, got shapes {vectors.shape} and {values.shape}")
    if len(values) < MIN_WORDS or not np.isfinite(vectors).all() or not np.isfinite(values).all():
        raise W2VError(f"need at least {MIN_WORDS} words with finite vectors and values, got {len(values)}")
    return vectors, values


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def sample_pairs(n: int, max_pairs: int | None = EVAL_MAX_PAIRS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) with i < j: all n(n-1)/2 pairs, or a seeded uniform sample of `max_pairs` of them."""
    total = n * (n - 1) // 2
    if max_pairs is None or total <= max_pairs:
        return np.triu_indices(n, 1)
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, max_pairs), rng.integers(0, n - 1, max_pairs)
    j += j >= i  # a uniform ordered pair of two different words
    return np.minimum(i, j), np.maximum(i, j)


def pair_spearman(vectors: np.ndarray, values: np.ndarray, max_pairs: int | None = EVAL_MAX_PAIRS,
                  seed: int = 0) -> float:
    """Spearman rho of |value_i - value_j| against cosine distance 1 - cos(v_i, v_j) over word pairs.

    vectors (n, d), values (n,). 1: words further apart in value are always further apart in
    the embedding. All pairs, or a seeded sample of `max_pairs` when there are more.
    """
    vectors, values = _check_table(vectors, values)
    i, j = sample_pairs(len(values), max_pairs, seed)
    unit = _unit(vectors).astype(np.float32)
    if len(unit) <= GRAM_MAX_WORDS:
        cos = (unit @ unit.T)[i, j]
    else:  # chunks, so no (pairs, d) temporaries
        cos = np.concatenate([np.einsum("kd,kd->k", unit[i[s:s + PAIR_CHUNK]], unit[j[s:s + PAIR_CHUNK]])
                              for s in range(0, len(i), PAIR_CHUNK)])
    return rank_correlation(np.abs(values[i] - values[j]), 1.0 - cos.astype(np.float64))


def pc1_correlation(vectors: np.ndarray, values: np.ndarray) -> float:
    """Pearson r of the first principal component of the unit vectors (n, d) with the values (n,).

    The sign of a principal component is arbitrary, so compare |r|.
    """
    vectors, values = _check_table(vectors, values)
    centred = _unit(vectors) - _unit(vectors).mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ vt[0]
    if np.ptp(scores) == 0:
        return float("nan")
    return float(np.corrcoef(scores, values)[0, 1])


def knn_predict(train_vectors: np.ndarray, train_values: np.ndarray, vectors: np.ndarray, k: int = 10
                ) -> np.ndarray:
    """(m,) value of each query row: the mean value of its k most cosine-similar training rows.

    A held-out word's value as its embedding neighbourhood among the training words implies
    it; `train_vectors` (n, d), `train_values` (n,), `vectors` (m, d).
    """
    train_vectors, train_values = _check_table(train_vectors, train_values)
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[1] != train_vectors.shape[1]:
        raise W2VError(f"query vectors must be (m, {train_vectors.shape[1]}), got shape {vectors.shape}")
    k = max(1, min(int(k), len(train_values)))
    sims = _unit(vectors) @ _unit(train_vectors).T  # (m, n)
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return train_values[top].mean(1)


def ridge_predict(train_vectors: np.ndarray, train_values: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(m,) values of the query rows from a linear probe: ridge regression on the training unit rows.

    The penalty is chosen by leave-one-out over the training words only (sklearn's RidgeCV),
    so the query words never influence the fit. Shapes as in `knn_predict`.
    """
    from sklearn.linear_model import RidgeCV

    train_vectors, train_values = _check_table(train_vectors, train_values)
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[1] != train_vectors.shape[1]:
        raise W2VError(f"query vectors must be (m, {train_vectors.shape[1]}), got shape {vectors.shape}")
    probe = RidgeCV(alphas=RIDGE_ALPHAS).fit(_unit(train_vectors), train_values)
    return probe.predict(_unit(vectors))


def difference_spearman(predicted: np.ndarray, values: np.ndarray, max_pairs: int | None = EVAL_MAX_PAIRS,
                        seed: int = 0, signed: bool = False) -> float:
    """Spearman rho of |p_i - p_j| against |v_i - v_j| over word pairs i < j: predicted (n,) vs true (n,) values.

    How well predicted values rank the value differences of pairs; all pairs, or a seeded
    sample of `max_pairs`. `signed` compares p_i - p_j with v_i - v_j instead, which tracks
    `rank_correlation(predicted, values)` closely (the sign carries the order of the two words).
    """
    predicted, values = np.asarray(predicted, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if predicted.shape != values.shape or predicted.ndim != 1:
        raise W2VError(f"need predicted and true values of the same (n,) shape, got {predicted.shape} and "
                       f"{values.shape}")
    if len(values) < MIN_WORDS or not (np.isfinite(predicted).all() and np.isfinite(values).all()):
        raise W2VError(f"need at least {MIN_WORDS} finite predicted and true values, got {len(values)}")
    i, j = sample_pairs(len(values), max_pairs, seed)
    dp, dv = predicted[i] - predicted[j], values[i] - values[j]
    return rank_correlation(dp, dv) if signed else rank_correlation(np.abs(dp), np.abs(dv))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rho of two (n,) arrays; NaN when n < 3 or either is constant."""
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b)[0])


def value_scores(vectors, values: Mapping[str, float], max_pairs: int | None = EVAL_MAX_PAIRS, seed: int = 0
                 ) -> dict[str, float]:
    """Both metrics for a `Vectors` (words looked up by name) against {word: value}.

    Words missing from `vectors` are skipped and counted (`oov_ratio`); fewer than three
    known words is an error that names some of the missing ones.
    """
    values = check_values(values)
    known = [w for w in values if w in vectors]
    if len(known) < MIN_WORDS:
        missing = [w for w in values if w not in vectors][:5]
        raise W2VError(f"only {len(known)} of the {len(values)} valued words are in the vocabulary (missing e.g. "
                       f"{', '.join(missing)}); need at least {MIN_WORDS}")
    table = np.stack([vectors.get_vector(w) for w in known])
    v = np.array([values[w] for w in known])
    return {"pair_rho": pair_spearman(table, v, max_pairs, seed), "pc1_r": abs(pc1_correlation(table, v)),
            "n_used": float(len(known)), "oov_ratio": 1.0 - len(known) / len(values)}
