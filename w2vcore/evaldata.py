"""Loaders for word-similarity and analogy benchmark files.

Word pairs: SimLex-999 (the 3-column `#word1 word2 SimLex999` file and the original
10-column release), WordSim-353 and gensim's bundled copies (`#` comments), MEN
(`w1 w2 score`, no header, tab or space separated, scores 0-50) and generic CSV
`word1,word2,score` with or without a header. Analogies: Google's questions-words.txt.
Anything unreadable raises `W2VError` naming the file and line.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import W2VError
from .sources import gensim_test_data

# benchmark name -> (file under <data_dir>/wordsim, file bundled with gensim or None)
BENCHMARK_FILES = {
    "simlex999": ("SimLex-999.tsv", "simlex999.txt"),
    "wordsim353": ("wordsim353.tsv", "wordsim353.tsv"),
    "men": ("MEN_dataset_natural_form_full.tsv", None),
    "analogies": ("questions-words.txt", "questions-words.txt"),
}
PAIR_BENCHMARKS = ("simlex999", "wordsim353", "men")
# header names of the score column, by preference (lower case)
SCORE_COLUMNS = ("simlex999", "score", "sim", "similarity", "relatedness", "human (mean)", "mean", "rating")


def _read_lines(path: str | Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise W2VError(f"{path} is not UTF-8 text") from None


def _split(line: str, sep: str) -> list[str]:
    if sep == ",":
        return [f.strip() for f in next(csv.reader([line]))]
    return [f.strip() for f in (line.split(sep) if sep == "\t" else line.split())]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_word_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """(word1, word2, human score) for every pair, words as written in the file.

    Lines starting with `#` are comments. The first other line is a header when its score
    field is not a number; the score column is then found by name (e.g. "SimLex999").
    """
    rows = [(no, line) for no, line in enumerate(_read_lines(path), 1) if line.strip() and not line.startswith("#")]
    if not rows:
        raise W2VError(f"{path} has no word pairs")
    sep = "\t" if "\t" in rows[0][1] else "," if "," in rows[0][1] else " "
    score_col = 2
    first = _split(rows[0][1], sep)
    if len(first) >= 3 and not _is_number(first[2]):  # a header
        names = [name.lower().lstrip("#") for name in first]
        found = [names.index(n) for n in SCORE_COLUMNS if n in names]
        if not found and len(names) != 3:
            raise W2VError(f"{path}, line {rows[0][0]}: cannot tell which column holds the score "
                           f"(expected one named {SCORE_COLUMNS[0]!r} or {SCORE_COLUMNS[1]!r})")
        score_col = found[0] if found else 2
        rows = rows[1:]
        if not rows:
            raise W2VError(f"{path} has a header but no word pairs")
    pairs = []
    for no, line in rows:
        fields = _split(line, sep)
        if len(fields) <= max(score_col, 1) or not fields[0] or not fields[1]:
            raise W2VError(f"{path}, line {no}: expected word1, word2 and a score, got {line.strip()!r}")
        try:
            score = float(fields[score_col])
        except ValueError:
            raise W2VError(f"{path}, line {no}: the score {fields[score_col]!r} is not a number") from None
        if not math.isfinite(score):
            raise W2VError(f"{path}, line {no}: the score must be a finite number, got {fields[score_col]!r}")
        pairs.append((fields[0], fields[1], score))
    return pairs


def load_analogies(path: str | Path) -> dict[str, list[tuple[str, str, str, str]]]:
    """Sections of "a b c d" questions (a is to b as c is to d), from `: section` headed files.

    A section name that appears twice is merged into one.
    """
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    for no, line in enumerate(_read_lines(path), 1):
        if not line.strip():
            continue
        if line.startswith(":"):
            current = line[1:].strip()
            if not current:
                raise W2VError(f"{path}, line {no}: the section header ':' has no name")
            sections.setdefault(current, [])
            continue
        if current is None:
            raise W2VError(f"{path}, line {no}: a question before the first ': section' header")
        words = line.split()
        if len(words) != 4:
            raise W2VError(f"{path}, line {no}: expected 4 words (a b c d), got {len(words)}: {line.strip()!r}")
        sections[current].append(tuple(words))
    if not any(sections.values()):
        raise W2VError(f"{path} has no analogy questions")
    return sections


def default_benchmarks(data_dir: str | Path | None = None) -> dict[str, Path]:
    """Benchmark name ("simlex999", "wordsim353", "men", "analogies") -> file.

    Each comes from `<data_dir>/wordsim/` when that file exists (SimLex-999.tsv, wordsim353.tsv,
    MEN_dataset_natural_form_full.tsv, questions-words.txt), else from gensim's bundled copy
    (simlex999.txt, wordsim353.tsv, questions-words.txt). MEN is not bundled with gensim, so
    it is left out without a data directory; so is anything missing from both.
    """
    bundled = gensim_test_data()
    found = {}
    for name, (own, gensim_name) in BENCHMARK_FILES.items():
        if data_dir is not None and (Path(data_dir) / "wordsim" / own).is_file():
            found[name] = Path(data_dir) / "wordsim" / own
        elif bundled is not None and gensim_name and (bundled / gensim_name).is_file():
            found[name] = bundled / gensim_name
    return found


@dataclass
class Benchmarks:
    pairs: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)  # name -> word pairs
    analogies: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)  # section -> questions
    sources: dict[str, str] = field(default_factory=dict)  # name -> "data dir: <path>" or "gensim: <path>"


def load_benchmarks(data_dir: str | Path | None = None) -> Benchmarks:
    """Load every benchmark `default_benchmarks` finds; a `data_dir` that is not a folder is refused, not ignored."""
    if data_dir is not None and str(data_dir).strip() and not Path(data_dir).expanduser().is_dir():
        raise W2VError(f"the data folder {data_dir} does not exist or is not a folder; give the folder that holds "
                       "wordsim/ (SimLex-999, WordSim-353, MEN, analogies), or none for gensim's bundled copies")
    files = default_benchmarks(data_dir)
    if not files:
        raise W2VError("no benchmark files found: give the data folder (with a wordsim/ subfolder) "
                       "or pip install gensim for its bundled copies")
    bundled = gensim_test_data()
    result = Benchmarks()
    for name, path in files.items():
        origin = "gensim" if bundled is not None and path.parent == bundled else "data dir"
        result.sources[name] = f"{origin}: {path}"
        if name in PAIR_BENCHMARKS:
            result.pairs[name] = load_word_pairs(path)
        else:
            result.analogies = load_analogies(path)
    return result
