"""Trained word vectors: queries, evaluation and export, with gensim's KeyedVectors names.

`Vectors` is plain numpy (float32); nothing here needs torch. Row order is index order,
assumed to be frequency order (most frequent first), as `restrict_vocab` relies on it.
The matrix is copied (or, with `copy=False`, handed over) and made read-only, so the lazily
cached unit vectors stay valid; loading a saved entry costs about one matrix, not two.
Computations take data (pairs, questions); reading benchmark files lives in `evaldata`.
"""
from __future__ import annotations

import csv
import difflib
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

import numpy as np
from scipy import stats

from .errors import UnknownWordError, W2VError

ANALOGY_METHODS = ("3cosadd", "3cosmul")
TOTAL_SECTIONS = ("total", "total accuracy")  # aggregate sections (as gensim returns them): never re-counted
_COSMUL_EPS = 1e-6  # gensim's guard against division by zero in 3CosMul
_SCORE_BUDGET = 1 << 22  # float32 scores per analogy batch (16 MB per array)


@dataclass(frozen=True)
class PairScore:
    """Agreement with human similarity judgements; NaN correlations when < 3 pairs are usable."""

    pearson: float
    spearman: float
    oov_ratio: float  # share of pairs skipped for unknown words, 0..1 (gensim reports a percentage)
    n_pairs: int  # pairs given
    n_used: int  # pairs with both words known


@dataclass(frozen=True)
class AnalogyScore:
    accuracy: float  # correct / answered over all sections; NaN when no question could be answered
    sections: dict[str, tuple[int, int]]  # section -> (correct, answered); OOV questions not included
    n_questions: int  # questions given (aggregate "total" sections excluded)
    n_oov: int  # questions skipped because a word is unknown or beyond restrict_vocab

    @property
    def oov_ratio(self) -> float:
        return self.n_oov / self.n_questions if self.n_questions else float("nan")


class Vectors:
    """Word vectors `vectors` (V, d) float32, row i belonging to `index_to_key[i]`."""

    def __init__(self, index_to_key: Sequence[str], vectors: np.ndarray, counts: np.ndarray | None = None,
                 copy: bool = True):
        """`copy=False` hands `vectors` over: a float32 C-contiguous array is kept as it is (no second
        matrix in memory) and made read-only, so the caller must not hold on to it to change it."""
        vectors = np.array(vectors, dtype=np.float32, order="C", copy=True if copy else None)
        if vectors.ndim != 2:
            raise W2VError(f"vectors must be a 2-D (words, dimensions) matrix, got shape {vectors.shape}")
        if len(index_to_key) != len(vectors) or len(vectors) == 0:
            raise W2VError(f"need one vector per word and at least one word: {len(index_to_key)} words, "
                           f"{len(vectors)} vectors")
        bad = np.flatnonzero(~np.isfinite(vectors.sum(axis=1, dtype=np.float64)))  # NaN/inf rows, no (V, d) mask
        if len(bad):
            raise W2VError(f"{len(bad)} of {len(vectors)} vectors contain NaN or infinite values "
                           f"(the first: {index_to_key[bad[0]]!r}); was the training diverging?")
        self.index_to_key = [str(k) for k in index_to_key]
        self.key_to_index = {k: i for i, k in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            dups = sorted(k for k, n in Counter(self.index_to_key).items() if n > 1)
            raise W2VError(f"{len(dups)} words appear more than once, e.g. {dups[:5]}")
        if counts is not None:
            counts = np.asarray(counts)
            if counts.shape != (len(vectors),) or counts.dtype.kind not in "iu" or (counts < 0).any():
                raise W2VError(f"counts must be {len(vectors)} non-negative integers, "
                               f"got {counts.dtype} of shape {counts.shape}")
            counts = counts.astype(np.int64)
        vectors.flags.writeable = False
        self.vectors, self.counts = vectors, counts
        self._unit: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"Vectors({len(self)} words x {self.vector_size} dimensions)"

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.get_vector(word)

    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def get_index(self, word: str) -> int:
        try:
            return self.key_to_index[word]
        except KeyError:
            raise UnknownWordError(word, self._suggest(word)) from None

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        return (self.get_normed_vectors() if norm else self.vectors)[self.get_index(word)]

    def get_normed_vectors(self) -> np.ndarray:
        """(V, d) rows scaled to unit length; all-zero rows stay zero. Computed once, on first use
        (the squared-entry temporary of the norms is freed before the result is allocated: peak 1x)."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            unit = np.divide(self.vectors, norms, out=np.zeros_like(self.vectors), where=norms > 0)
            unit.flags.writeable = False
            self._unit = unit
        return self._unit

    def _suggest(self, word: str) -> str:
        close = difflib.get_close_matches(word, self.index_to_key[:50_000], n=3)  # frequent words: fast enough
        close = list(dict.fromkeys([w for w in (word.lower(), word.upper(), word.title()) if w in self] + close))[:3]
        return "did you mean " + ", ".join(repr(w) for w in close) + "?" if close else ""

    # ---- queries -------------------------------------------------------------------------------

    def similarity(self, w1: str, w2: str) -> float:
        unit = self.get_normed_vectors()
        return float(unit[self.get_index(w1)] @ unit[self.get_index(w2)])

    def most_similar(self, positive: str | Iterable[str] = (), negative: str | Iterable[str] = (),
                     topn: int | None = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """3CosAdd: cosine to the normalised sum of positive minus negative unit vectors.

        Query words are left out of the results; only the first `restrict_vocab` words are
        candidates. `topn=None` ranks every candidate.
        """
        pos, neg = self._query(positive, negative)
        unit = self.get_normed_vectors()
        target = unit[pos].sum(axis=0) - unit[neg].sum(axis=0)  # (d,)
        length = np.linalg.norm(target)
        target = target / length if length > 0 else target
        scores = unit[: self._n_candidates(restrict_vocab)] @ target  # (R,)
        return self._ranked(scores, set(pos + neg), topn)

    def most_similar_cosmul(self, positive: str | Iterable[str] = (), negative: str | Iterable[str] = (),
                            topn: int | None = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """3CosMul (Levy & Goldberg 2014) as in gensim: prod((1+cos)/2 over positive) / (prod(... negative) + 1e-6).

        Unlike gensim (which ignores it here), `restrict_vocab` limits the candidates.
        """
        pos, neg = self._query(positive, negative)
        if not pos:
            raise W2VError("most_similar_cosmul needs at least one positive word")
        unit = self.get_normed_vectors()
        shifted = (1 + unit[: self._n_candidates(restrict_vocab)] @ unit[pos + neg].T) / 2  # (R, P + N)
        scores = shifted[:, : len(pos)].prod(axis=1) / (shifted[:, len(pos):].prod(axis=1) + _COSMUL_EPS)
        return self._ranked(scores, set(pos + neg), topn)

    def analogy(self, a: str, b: str, c: str, method: str = "3cosadd", topn: int = 1) -> list[tuple[str, float]]:
        """"a is to b as c is to ?": the best answers (b - a + c), question words excluded."""
        if method not in ANALOGY_METHODS:
            raise W2VError(f"analogy method must be one of {ANALOGY_METHODS}, got {method!r}")
        search = self.most_similar if method == "3cosadd" else self.most_similar_cosmul
        return search(positive=[b, c], negative=[a], topn=topn)

    def _query(self, positive, negative) -> tuple[list[int], list[int]]:
        positive, negative = ([] if w is None else [w] if isinstance(w, str) else list(w) for w in (positive, negative))
        if not positive and not negative:
            raise W2VError("give at least one word to compare with")
        return [self.get_index(w) for w in positive], [self.get_index(w) for w in negative]

    def _n_candidates(self, restrict_vocab: int | None) -> int:
        if restrict_vocab is None:
            return len(self)
        if restrict_vocab < 1:
            raise W2VError(f"restrict_vocab must be at least 1 (or None for all words), got {restrict_vocab}")
        return min(int(restrict_vocab), len(self))

    def _ranked(self, scores: np.ndarray, exclude: set[int], topn: int | None) -> list[tuple[str, float]]:
        excluded = [i for i in exclude if i < len(scores)]
        scores[excluded] = -np.inf
        k = len(scores) - len(excluded) if topn is None else min(topn, len(scores) - len(excluded))
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.index_to_key[i], float(scores[i])) for i in best]

    # ---- evaluation ----------------------------------------------------------------------------

    def _lookup(self, restrict_vocab: int | None, case_insensitive: bool) -> tuple[dict[str, int], np.ndarray]:
        """(word -> row, canon) over the first `restrict_vocab` rows, as gensim does it.

        Case-insensitive keys are upper-cased and the first (most frequent) case variant wins;
        canon (R,) maps every candidate row to the row standing for its folded word.
        """
        n = self._n_candidates(restrict_vocab)
        if not case_insensitive:
            lookup = self.key_to_index if n == len(self) else {k: i for i, k in enumerate(self.index_to_key[:n])}
            return lookup, np.arange(n)
        lookup = {}
        for i, key in enumerate(self.index_to_key[:n]):
            lookup.setdefault(key.upper(), i)
        return lookup, np.array([lookup[k.upper()] for k in self.index_to_key[:n]], dtype=np.int64)

    def similarities_for_pairs(self, pairs: Sequence[Sequence], case_insensitive: bool = False,
                               restrict_vocab: int | None = None) -> np.ndarray:
        """(n,) float64 cosine similarity of each (word1, word2, ...) pair; NaN where a word is unknown."""
        lookup, _ = self._lookup(restrict_vocab, case_insensitive)
        fold = str.upper if case_insensitive else str
        rows = np.array([[lookup.get(fold(p[0]), -1), lookup.get(fold(p[1]), -1)] for p in pairs],
                        dtype=np.int64).reshape(-1, 2)
        known = (rows >= 0).all(axis=1)
        unit = self.get_normed_vectors()
        sims = np.full(len(rows), np.nan)
        sims[known] = np.einsum("ij,ij->i", unit[rows[known, 0]], unit[rows[known, 1]])
        return sims

    def export_pair_similarities(self, pairs: Sequence[Sequence], path: str | Path,
                                 case_insensitive: bool = False) -> int:
        """Write the `word1,word2,sim` CSV (empty sim for unknown words); returns how many were unknown."""
        sims = self.similarities_for_pairs(pairs, case_insensitive)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["word1", "word2", "sim"])
            writer.writerows([p[0], p[1], "" if np.isnan(s) else f"{s:.6f}"] for p, s in zip(pairs, sims))
        return int(np.isnan(sims).sum())

    def evaluate_word_pairs(self, pairs: Sequence[tuple[str, str, float]], restrict_vocab: int | None = 300_000,
                            case_insensitive: bool = True) -> PairScore:
        """Pearson and Spearman between model cosines and human scores, like gensim.

        Pairs with a word outside the first `restrict_vocab` words are skipped and counted in
        `oov_ratio` (a fraction). `case_insensitive` matches words upper-cased, the most frequent
        case variant standing for all (for a lower-case vocabulary: the pair words lower-cased).
        """
        model = self.similarities_for_pairs(pairs, case_insensitive, restrict_vocab)
        used = ~np.isnan(model)
        gold = np.array([float(p[2]) for p in pairs], dtype=np.float64)[used]
        pearson = spearman = float("nan")
        if used.sum() >= 3:
            with warnings.catch_warnings():  # constant input: scipy warns and returns NaN, which we keep
                warnings.simplefilter("ignore")
                pearson = float(stats.pearsonr(gold, model[used])[0])
                spearman = float(stats.spearmanr(gold, model[used])[0])
        n = len(model)
        return PairScore(pearson, spearman, float(n - used.sum()) / n if n else float("nan"), n, int(used.sum()))

    def evaluate_word_analogies(self, sections: dict[str, Sequence[tuple[str, str, str, str]]],
                                restrict_vocab: int | None = 300_000, method: str = "3cosadd",
                                case_insensitive: bool = True) -> AnalogyScore:
        """Accuracy on "a : b :: c : d" questions, like gensim's (compute-accuracy of word2vec C).

        Only the first `restrict_vocab` words are candidates; questions using other words are
        skipped and counted in `n_oov`. The three question words (and, case-insensitively, their
        case variants) are never an answer. Sections named "total"/"Total accuracy" are skipped.
        """
        if method not in ANALOGY_METHODS:
            raise W2VError(f"analogy method must be one of {ANALOGY_METHODS}, got {method!r}")
        lookup, canon = self._lookup(restrict_vocab, case_insensitive)
        fold = str.upper if case_insensitive else str
        names = [name for name in sections if name.strip().lower() not in TOTAL_SECTIONS]
        questions, owner, n_questions = [], [], 0
        for s, name in enumerate(names):
            for q in sections[name]:
                if len(q) != 4:
                    raise W2VError(f"analogy questions need 4 words, got {q!r} in section {name!r}")
                n_questions += 1
                rows = [lookup.get(fold(w), -1) for w in q]
                if -1 not in rows:
                    questions.append(rows)
                    owner.append(s)
        hits = self._solve_analogies(np.array(questions, dtype=np.int64).reshape(-1, 4), canon, method)
        owner = np.array(owner, dtype=np.int64)
        correct = np.bincount(owner, weights=hits, minlength=len(names)).astype(int)
        answered = np.bincount(owner, minlength=len(names))
        accuracy = float(hits.mean()) if len(hits) else float("nan")
        return AnalogyScore(accuracy, {name: (int(correct[s]), int(answered[s])) for s, name in enumerate(names)},
                            n_questions, n_questions - len(questions))

    def _solve_analogies(self, questions: np.ndarray, canon: np.ndarray, method: str) -> np.ndarray:
        """(n,) bool: is the best candidate, other than the question words, the expected word."""
        unit = self.get_normed_vectors()
        candidates_t = unit[: len(canon)].T  # (d, R)
        variants = bool((canon != np.arange(len(canon))).any())
        hits = np.zeros(len(questions), dtype=bool)
        batch = max(1, _SCORE_BUDGET // len(canon))
        for start in range(0, len(questions), batch):
            a, b, c, expected = questions[start: start + batch].T  # (B,) each
            if method == "3cosadd":  # ranking by cos(x, b - a + c) = ranking by dot with b - a + c
                scores = (unit[b] - unit[a] + unit[c]) @ candidates_t  # (B, R)
            else:  # (1+cos_b)/2 * (1+cos_c)/2 / ((1+cos_a)/2 + eps), times 2 (same ranking)
                scores, cos_c, cos_a = np.split(unit[np.concatenate([b, c, a])] @ candidates_t, 3)
                scores += 1
                scores *= cos_c + 1
                scores /= cos_a + (1 + 2 * _COSMUL_EPS)
            rows = np.arange(len(a))
            for x in (a, b, c):
                scores[rows, x] = -np.inf
            best = scores.argmax(axis=1)
            while variants:  # a case variant of a question word won: drop it and look again
                clash = (canon[best] == a) | (canon[best] == b) | (canon[best] == c)
                if not clash.any():
                    break
                scores[rows[clash], best[clash]] = -np.inf
                best[clash] = scores[clash].argmax(axis=1)
            hits[start: start + batch] = canon[best] == expected
        return hits

    # ---- files ---------------------------------------------------------------------------------

    def _check_plain_keys(self, fmt: str) -> None:
        bad = [k for k in self.index_to_key if not k or any(ch.isspace() for ch in k)]
        if bad:
            raise W2VError(f"{len(bad)} words are empty or contain whitespace (e.g. {bad[:3]!r}), "
                           f"which the {fmt} format cannot store")

    def save_word2vec_format(self, path: str | Path, binary: bool = False) -> None:
        """The C word2vec format: header "V d", then per word "word v1 v2 ..." (text) or
        "word " + d little-endian float32 + newline (binary). UTF-8 words, counts not stored."""
        self._check_plain_keys("word2vec")
        with open(path, "wb") as f:
            f.write(f"{len(self)} {self.vector_size}\n".encode())
            row_format = " ".join(["%.9g"] * self.vector_size)  # 9 digits: float32 round-trips exactly
            for word, row in zip(self.index_to_key, self.vectors):
                if binary:
                    f.write(word.encode() + b" " + row.astype("<f4").tobytes() + b"\n")
                else:
                    f.write(f"{word} {row_format % tuple(row.tolist())}\n".encode())

    @classmethod
    def load_word2vec_format(cls, path: str | Path, binary: bool = False, limit: int | None = None) -> Vectors:
        """Read a C word2vec text or binary file (UTF-8); `limit` keeps only the first words."""
        try:
            with open(path, "rb") as f:
                header = f.readline().split()
                if len(header) != 2 or not all(x.isdigit() for x in header):
                    raise W2VError(f"{path}: line 1 should be '<number of words> <dimensions>', got {header!r}")
                n, d = int(header[0]), int(header[1])
                n = min(n, limit) if limit else n
                keys, matrix = [], np.empty((n, d), dtype=np.float32)
                buf, pos, row_bytes = b"", 0, 4 * d
                for i in range(n):
                    if binary:
                        while (space := buf.find(b" ", pos)) < 0 or len(buf) < space + 1 + row_bytes:
                            more = f.read(1 << 20)
                            if not more:
                                raise W2VError(f"{path} ends after {i} of {n} vectors; "
                                               "is it a text file (binary=False)?")
                            buf, pos = buf[pos:] + more, 0
                        keys.append(buf[pos:space].lstrip(b"\n").decode())
                        matrix[i] = np.frombuffer(buf, "<f4", d, space + 1)
                        pos = space + 1 + row_bytes
                    else:
                        parts = f.readline().decode().rstrip().split(" ")
                        if len(parts) != d + 1:
                            raise W2VError(f"{path}, line {i + 2}: expected a word and {d} numbers, got "
                                           f"{len(parts) - 1} values; is it a binary file (binary=True)?")
                        keys.append(parts[0])
                        matrix[i] = np.array(parts[1:], dtype=np.float32)
        except W2VError:
            raise
        except ValueError as e:  # including UnicodeDecodeError
            raise W2VError(f"{path} is not a valid word2vec {'binary' if binary else 'text'} file: {e}") from None
        except OSError as e:
            raise W2VError(f"cannot read {path}: {e.strerror}") from None
        return cls(keys, matrix, copy=False)

    def save_projector(self, directory: str | Path) -> tuple[Path, Path]:
        """TensorBoard projector files: vectors.tsv (V rows of d tab-separated floats) and
        metadata.tsv (one word a line, or a `word<TAB>count` header and columns when counts exist)."""
        self._check_plain_keys("projector TSV")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vectors_path, metadata_path = directory / "vectors.tsv", directory / "metadata.tsv"
        np.savetxt(vectors_path, self.vectors, fmt="%.7g", delimiter="\t", encoding="utf-8")
        with open(metadata_path, "w", encoding="utf-8", newline="\n") as f:
            if self.counts is None:
                f.writelines(f"{w}\n" for w in self.index_to_key)
            else:
                f.write("word\tcount\n")
                f.writelines(f"{w}\t{c}\n" for w, c in zip(self.index_to_key, self.counts.tolist()))
        return vectors_path, metadata_path

    def save(self, path: str | Path | BinaryIO) -> None:
        """The native format: one .npz with `keys` (unicode), `vectors` and, if known, `counts`.

        `path` may be an open binary file (a run folder writes to a temporary one and renames it).
        """
        arrays = {"keys": np.array(self.index_to_key, dtype=np.str_), "vectors": self.vectors}
        if self.counts is not None:
            arrays["counts"] = self.counts
        if hasattr(path, "write"):
            np.savez(path, **arrays)
            return
        with open(path, "wb") as f:  # a file object: numpy must not append ".npz" to the name
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Vectors:
        try:
            with np.load(path, allow_pickle=False) as data:
                if "keys" not in data or "vectors" not in data:
                    raise W2VError(f"{path} has no 'keys' and 'vectors' arrays; was it written by Vectors.save?")
                return cls(data["keys"].tolist(), data["vectors"], data["counts"] if "counts" in data else None,
                           copy=False)  # np.load gives a fresh array: no second matrix
        except OSError as e:
            raise W2VError(f"cannot read {path} as saved vectors (.npz): {e}") from None
        except W2VError:
            raise
        except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # a truncated or damaged file
            raise W2VError(f"{path} is not a complete saved vectors file (.npz): {e or type(e).__name__}") from None
