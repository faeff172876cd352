"""Human similarity judgements as RSR targets: loaders and validation.

Every source ends up as a `HumanSimilarity`: concept names plus either a full symmetric
matrix (THINGS, a user's .npy/.csv/.mat) or a list of rated pairs (SimLex-999, WordSim-353,
MEN, a user's `word1,word2,score` CSV), so the RSR loss does not care where it came from.

THINGS (Hebart et al. 2020): the 1854 x 1854 similarity matrix is computed from the 49-d
SPoSE embedding X. For concepts i, j it is the mean over every third concept k of the
probability that i and j form the odd-one-out task's most similar pair,

    S_ij = mean_{k != i, j} e_ij / (e_ij + e_ik + e_jk),   e_ij = exp(x_i . x_j),   S_ii = 1,

an O(n^3) sum (3.2e9 terms): a numba kernel on every core takes seconds; the result is cached as .npy.
The THINGS files themselves (ids, embedding, categories) are read by `things`; concept ids carry
homonym digits (bat1, bat2) and underscores for multi-word names (air_conditioner), and
`concepts.align_concepts` maps them to vocabulary rows and says how.
"""
from __future__ import annotations

import csv
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ... import things
from ...errors import W2VError
from ...evaldata import _is_number, load_benchmarks, load_word_pairs
from ...things import _read_text
from ...compiled import kernel

THINGS_IDS = things.IDS_FILE
THINGS_EMBEDDING = things.EMBEDDING_FILE
SYMMETRY_TOL = 1e-6  # largest |S - S.T| accepted, relative to max |S|
MIN_CONCEPTS = 3


@dataclass(frozen=True)
class HumanSimilarity:
    """Human similarity over `words`: a (n, n) matrix, or rated pairs of word indices."""

    words: tuple[str, ...]  # concept names as the source spells them (THINGS ids, words, phrases)
    matrix: np.ndarray | None = None  # (n, n) float32, symmetric
    pairs: np.ndarray | None = None  # (P, 2) int64 indices into words, never (i, i)
    scores: np.ndarray | None = None  # (P,) float64 human score of each pair
    source: str = ""  # where it came from, for display

    def __post_init__(self):
        object.__setattr__(self, "words", tuple(self.words))
        if (self.matrix is None) == (self.pairs is None):
            raise W2VError("human similarity needs either a matrix or a list of pairs")
        if self.matrix is not None:
            _check_matrix(self.matrix, self.words, self.source or "the similarity matrix")
        else:
            pairs = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2)
            scores = np.asarray(self.scores, dtype=np.float64)
            if len(scores) != len(pairs) or len(pairs) < MIN_CONCEPTS:
                raise W2VError(f"{self.source or 'the pair list'}: need one score per pair and at least "
                               f"{MIN_CONCEPTS} pairs, got {len(pairs)} pairs and {len(scores)} scores")
            if pairs.min() < 0 or pairs.max() >= len(self.words) or (pairs[:, 0] == pairs[:, 1]).any():
                raise W2VError(f"{self.source or 'the pair list'}: pair indices must name two different words")
            object.__setattr__(self, "pairs", pairs)
            object.__setattr__(self, "scores", scores)

    @property
    def kind(self) -> str:
        return "matrix" if self.matrix is not None else "pairs"

    def __len__(self) -> int:
        return len(self.words)


# ------------------------------------------------------------------- THINGS
def find_things(data_dir: str | Path | None) -> Path | None:
    """The user's own THINGS folder (`data_dir/things` or `data_dir`), else None: see `things.find`.

    None does not mean THINGS is unavailable: the packaged copy is used then (`things.available`).
    """
    return things.find(data_dir)


def load_things_ids(data_dir: str | Path | None = None) -> list[str]:
    """The 1854 THINGS concept ids in their canonical order (aardvark ... zucchini)."""
    return list(things.load(data_dir).ids)


def load_spose_embedding(data_dir: str | Path | None = None) -> np.ndarray:
    """(1854, 49) float64 non-negative SPoSE embedding, rows in `load_things_ids` order (read-only)."""
    return things.load(data_dir).spose


@kernel
def _spose_rows(e, rows, s):  # pragma: no cover - compiled
    """Fill s[i, j] and s[j, i] for every i in `rows` and j > i."""
    n = e.shape[0]
    one = np.float32(1.0)
    for i in rows:
        s[i, i] = 1.0
        for j in range(i + 1, n):
            e_ij = e[i, j]
            acc = np.float32(0.0)
            for k in range(n):
                acc += one / (e_ij + e[i, k] + e[j, k])
            acc -= one / (e_ij + e[i, i] + e_ij) + one / (e_ij + e_ij + e[j, j])  # k = i and k = j
            s[i, j] = s[j, i] = e_ij * acc / (n - 2)


def spose_similarity(embedding: np.ndarray) -> np.ndarray:
    """(n, n) float32 triplet-choice similarity of an (n, d) SPoSE embedding (formula above)."""
    x = np.asarray(embedding, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < MIN_CONCEPTS:
        raise W2VError(f"the SPoSE embedding must be (concepts, dims) with at least {MIN_CONCEPTS} rows, "
                       f"got shape {x.shape}")
    n = x.shape[0]
    e = np.ascontiguousarray(np.exp(x @ x.T), dtype=np.float32)
    s = np.empty((n, n), dtype=np.float32)
    workers = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                         16))
    # interleaved rows balance the triangle; each (i, j > i) cell has one writer
    parts = [np.arange(w, n, workers, dtype=np.int64) for w in range(workers)]
    with ThreadPoolExecutor(workers) as pool:  # the compiled kernel releases the GIL
        list(pool.map(lambda rows: _spose_rows(e, rows, s), parts))
    return s


def things_similarity(data_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> np.ndarray:
    """The THINGS (1854, 1854) matrix, read from `cache_dir` when computed before.

    The cache is keyed by the embedding's bytes, not by where it came from: the packaged copy
    and the original files hold the same values, so they share one cached matrix.
    """
    embedding = things.load(data_dir).spose
    if cache_dir is None:
        return spose_similarity(embedding)
    key = hashlib.sha256(np.ascontiguousarray(embedding).tobytes()).hexdigest()[:16]
    path = Path(cache_dir) / f"spose_similarity-{key}.npy"
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(embedding),) * 2:
                return cached
        except (OSError, ValueError):
            pass  # a damaged cache file is recomputed
    matrix = spose_similarity(embedding)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, matrix)
    os.replace(tmp, path)
    return matrix


def load_things(data_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> HumanSimilarity:
    """THINGS as a similarity target: the user's folder in `data_dir` if any, else the packaged copy."""
    source = things.load(data_dir)
    where = "packaged" if source.packaged else source.source
    return HumanSimilarity(source.ids, matrix=things_similarity(data_dir, cache_dir),
                           source=f"THINGS (SPoSE 49-d, {where})")


def thing_phrases(data_dir: str | Path | None = None) -> tuple[str, ...]:
    """Multi-word THINGS concept names ("air conditioner", "first aid kit") for `TokenizerConfig.phrases`."""
    return things.load(data_dir).phrases()


# -------------------------------------------------------------- word pairs
def load_wordsim(data_dir: str | Path | None = None,
                 names: Sequence[str] = ("simlex999", "wordsim353")) -> HumanSimilarity:
    """SimLex-999 + WordSim-353 (or `names`) as one pair list: the offline default target.

    Scores become percentile ranks within each benchmark so their scales (0-10, 0-50)
    agree; a pair rated by several benchmarks gets the mean. Words are lower-cased.
    """
    bench = load_benchmarks(data_dir)
    chosen = [n for n in names if n in bench.pairs]
    if not chosen:
        raise W2VError(f"none of the benchmarks {list(names)} was found (have: {sorted(bench.pairs)})")
    merged: dict[tuple[str, str], list[float]] = {}
    for name in chosen:
        pairs = bench.pairs[name]
        scores = np.array([p[2] for p in pairs], dtype=np.float64)
        pct = (np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 0.5) / len(scores)
        for (a, b, _), s in zip(pairs, pct):
            a, b = a.lower(), b.lower()
            if a != b:
                merged.setdefault((min(a, b), max(a, b)), []).append(float(s))
    human = _from_pair_dict({k: float(np.mean(v)) for k, v in merged.items()},
                            source=" + ".join(bench.sources[n] for n in chosen))
    return human


def _from_pair_dict(scored: dict[tuple[str, str], float], source: str) -> HumanSimilarity:
    words = sorted({w for pair in scored for w in pair})
    index = {w: i for i, w in enumerate(words)}
    pairs = np.array([[index[a], index[b]] for a, b in scored], dtype=np.int64).reshape(-1, 2)
    return HumanSimilarity(tuple(words), pairs=pairs, scores=np.array(list(scored.values())), source=source)


def load_pairs(path: str | Path) -> HumanSimilarity:
    """A user's `word1,word2,score` file (CSV, TSV or space separated; header optional).

    Refused: a word paired with itself, and one pair rated twice with different scores
    (in either order: similarity is symmetric). Exact repeats are merged.
    """
    scored: dict[tuple[str, str], float] = {}
    for no, (a, b, score) in enumerate(load_word_pairs(path), 1):
        if a == b:
            raise W2VError(f"{path}: pair {no} compares {a!r} with itself")
        key = (min(a, b), max(a, b))
        if key in scored and scored[key] != score:
            raise W2VError(f"{path}: the pair ({a}, {b}) is rated twice, {scored[key]:g} and {score:g}; "
                           "similarity must be symmetric, so keep one rating per pair")
        scored[key] = score
    if len(scored) < MIN_CONCEPTS:
        raise W2VError(f"{path}: need at least {MIN_CONCEPTS} different pairs, got {len(scored)}")
    return _from_pair_dict(scored, source=str(path))


# ------------------------------------------------------------ user matrices
def load_word_list(path: str | Path) -> list[str]:
    """One word (or phrase) per line; blank lines skipped."""
    words = [line.strip() for line in _read_text(Path(path)).splitlines() if line.strip()]
    if not words:
        raise W2VError(f"{path} has no words")
    return words


def load_matrix(path: str | Path, words: Sequence[str] | str | Path | None = None) -> HumanSimilarity:
    """A user's square similarity matrix: .npy, .csv (optionally with a header row of words) or .mat.

    `words` is the row/column order: a list, or a file with one word per line. Without it
    the words come from the CSV header, the .mat file's `words` variable, or a file
    `<matrix>.words.txt` beside the matrix.
    """
    path = Path(path)
    if not path.is_file():
        raise W2VError(f"{path} does not exist")
    suffix = path.suffix.lower()
    found: list[str] | None = None
    if suffix == ".npy":
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise W2VError(f"{path} is not a readable .npy array: {e}") from None
    elif suffix == ".csv":
        matrix, found = _read_matrix_csv(path)
    elif suffix == ".mat":
        matrix, found = _read_mat(path)
    else:
        raise W2VError(f"{path}: a similarity matrix must be .npy, .csv or .mat, not {suffix or 'no extension'!r}")
    if isinstance(words, (str, Path)):
        words = load_word_list(words)
    elif words is None:
        sibling = path.with_name(path.name + ".words.txt")
        words = found if found is not None else load_word_list(sibling) if sibling.is_file() else None
    if words is None:
        raise W2VError(f"{path}: say which word each row is: give a word list (one per line), "
                       f"or put it in {path.name}.words.txt beside the matrix")
    return HumanSimilarity(tuple(words), matrix=np.asarray(matrix), source=str(path))


def _read_matrix_csv(path: Path) -> tuple[np.ndarray, list[str] | None]:
    rows = [r for r in csv.reader(_read_text(path).splitlines()) if any(f.strip() for f in r)]
    if not rows:
        raise W2VError(f"{path} is empty")
    header = None
    if not all(_is_number(f) for f in rows[0]):
        header, rows = [f.strip() for f in rows[0]], rows[1:]
        if not rows:
            raise W2VError(f"{path} has a header but no matrix rows")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise W2VError(f"{path}: rows have different lengths {sorted(widths)}; a similarity matrix is square")
    try:
        matrix = np.array([[float(f) for f in r] for r in rows], dtype=np.float64)
    except ValueError as e:
        raise W2VError(f"{path}: not a numeric matrix ({e})") from None
    return matrix, header


def _read_mat(path: Path) -> tuple[np.ndarray, list[str] | None]:
    from scipy import io as sio

    try:
        contents = {k: v for k, v in sio.loadmat(str(path)).items() if not k.startswith("__")}
    except (OSError, ValueError, NotImplementedError) as e:
        raise W2VError(f"{path} is not a readable MATLAB file: {e}") from None
    words = None
    if "words" in contents:
        words = [str(np.asarray(w).ravel()[0]).strip() for w in np.asarray(contents.pop("words")).ravel()]
    numeric = {k: v for k, v in contents.items() if isinstance(v, np.ndarray) and v.ndim == 2
               and np.issubdtype(v.dtype, np.number)}
    if len(numeric) != 1:
        raise W2VError(f"{path}: expected exactly one numeric 2-D variable (the matrix), found "
                       f"{sorted(numeric) or 'none'}")
    return next(iter(numeric.values())), words


def _check_matrix(matrix: np.ndarray, words: Sequence[str], origin: str) -> None:
    m = matrix
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise W2VError(f"{origin}: a similarity matrix must be square, got shape {m.shape}")
    if m.shape[0] < MIN_CONCEPTS:
        raise W2VError(f"{origin}: need at least {MIN_CONCEPTS} concepts, got {m.shape[0]}")
    if not np.issubdtype(m.dtype, np.number):
        raise W2VError(f"{origin}: the matrix must be numeric, got {m.dtype}")
    bad = np.argwhere(~np.isfinite(m))
    if len(bad):
        i, j = bad[0]
        raise W2VError(f"{origin}: {len(bad)} entries are NaN or infinite, the first at row {i}, column {j}")
    gap = np.abs(m - m.T)
    if gap.max() > SYMMETRY_TOL * max(1.0, float(np.abs(m).max())):
        i, j = np.unravel_index(int(gap.argmax()), gap.shape)
        raise W2VError(f"{origin}: the matrix is not symmetric: [{i}, {j}] = {m[i, j]:g} but [{j}, {i}] = "
                       f"{m[j, i]:g}; similarity must not depend on order (average it with its transpose)")
    if len(words) != m.shape[0]:
        raise W2VError(f"{origin}: {len(words)} words for a {m.shape[0]} x {m.shape[0]} matrix; "
                       "give one word per row")
    seen = set()
    for w in words:
        if not w.strip():
            raise W2VError(f"{origin}: the word list has an empty entry")
        if w in seen:
            raise W2VError(f"{origin}: {w!r} appears twice in the word list")
        seen.add(w)


# ------------------------------------------------------------------ dispatch
def load_target(target: str, data_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                words: str | Path | None = None) -> HumanSimilarity:
    """"auto" (THINGS, else SimLex + WordSim-353), "things", "wordsim", or a file.

    THINGS comes from the user's folder in `data_dir` when it has one, else from the packaged
    copy, so "auto" means THINGS unless the package lost its resource file. A file is a pair list (`word1,word2,score` .csv/.tsv/.txt) or a matrix (.npy, .mat, or a
    .csv whose data rows are all numbers) with `words`.
    """
    if target == "auto":
        target = "things" if things.available(data_dir) else "wordsim"
    if target == "things":
        return load_things(data_dir, cache_dir)
    if target == "wordsim":
        return load_wordsim(data_dir)
    path = Path(target)
    if not path.is_file():
        raise W2VError(f"RSR target {target!r} is neither 'auto', 'things', 'wordsim' nor an existing file")
    if path.suffix.lower() in (".npy", ".mat") or (path.suffix.lower() == ".csv" and _is_matrix_csv(path)):
        return load_matrix(path, words)
    return load_pairs(path)


def _is_matrix_csv(path: Path) -> bool:
    """True when a data row (the second non-empty line, or the first) starts with a number."""
    lines = [line for line in _read_text(path).splitlines() if line.strip()]
    if not lines:
        raise W2VError(f"{path} is empty")
    row = next(csv.reader([lines[1] if len(lines) > 1 else lines[0]]))
    return _is_number(row[0])
