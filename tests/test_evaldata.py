"""Benchmark loaders on the real files (../shared/data and gensim's bundled copies) and on broken ones."""
from __future__ import annotations

from pathlib import Path

import pytest
from gensim.test.utils import datapath

from w2vcore.errors import W2VError
from w2vcore.evaldata import default_benchmarks, load_analogies, load_benchmarks, load_word_pairs

GOOGLE_SECTIONS = 14
GOOGLE_QUESTIONS = 19_544


# ---- real files --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, n_pairs, first, score_range", [
    ("SimLex-999.tsv", 999, ("old", "new", 1.58), (0, 10)),
    ("wordsim353.tsv", 353, ("love", "sex", 6.77), (0, 10)),
    ("MEN_dataset_natural_form_full.tsv", 2997, ("stairs", "staircase", 49.0), (0, 50)),
])
def test_shared_word_pairs(shared_data, name, n_pairs, first, score_range):
    pairs = load_word_pairs(shared_data / "wordsim" / name)
    assert len(pairs) == n_pairs and pairs[0] == first
    assert all(isinstance(a, str) and isinstance(b, str) and a and b for a, b, _ in pairs)
    assert score_range[0] <= min(s for *_, s in pairs) and max(s for *_, s in pairs) <= score_range[1]


@pytest.mark.parametrize("name, n_pairs", [("simlex999.txt", 999), ("wordsim353.tsv", 353)])
def test_gensim_bundled_word_pairs(name, n_pairs):
    pairs = load_word_pairs(datapath(name))
    assert len(pairs) == n_pairs


def check_google_analogies(path):
    sections = load_analogies(path)
    assert len(sections) == GOOGLE_SECTIONS
    assert sum(len(qs) for qs in sections.values()) == GOOGLE_QUESTIONS
    assert sections["capital-common-countries"][0] == ("Athens", "Greece", "Baghdad", "Iraq")
    assert list(sections)[-1] == "gram9-plural-verbs"


def test_shared_google_analogies(shared_data):
    check_google_analogies(shared_data / "wordsim" / "questions-words.txt")


def test_gensim_bundled_google_analogies():
    check_google_analogies(datapath("questions-words.txt"))


def test_default_benchmarks_prefer_the_data_dir(shared_data):
    found = default_benchmarks(shared_data)
    assert set(found) == {"simlex999", "wordsim353", "men", "analogies"}
    assert all(path.parent == shared_data / "wordsim" for path in found.values())
    benchmarks = load_benchmarks(shared_data)
    assert {k: len(v) for k, v in benchmarks.pairs.items()} == {"simlex999": 999, "wordsim353": 353, "men": 2997}
    assert sum(len(qs) for qs in benchmarks.analogies.values()) == GOOGLE_QUESTIONS
    assert all(source.startswith("data dir: ") for source in benchmarks.sources.values())


def test_default_benchmarks_fall_back_to_gensim(tmp_path):
    bundled = default_benchmarks()
    assert set(bundled) == {"simlex999", "wordsim353", "analogies"}  # MEN is not bundled with gensim
    assert bundled["simlex999"].name == "simlex999.txt"
    assert default_benchmarks(tmp_path) == bundled  # nothing in this data dir: gensim's copies
    benchmarks = load_benchmarks()
    assert {k: len(v) for k, v in benchmarks.pairs.items()} == {"simlex999": 999, "wordsim353": 353}
    assert benchmarks.sources["analogies"] == f"gensim: {bundled['analogies']}"


# ---- other layouts -----------------------------------------------------------------------------

ORIGINAL_SIMLEX = (
    "word1\tword2\tPOS\tSimLex999\tconc(w1)\tconc(w2)\tconcQ\tAssoc(USF)\tSimAssoc333\tSD(SimLex)\n"
    "old\tnew\tA\t1.58\t2.72\t2.81\t2\t7.25\t1\t0.41\n"
    "smart\tintelligent\tA\t9.2\t1.75\t2.46\t1\t7.11\t1\t0.67\n"
)


@pytest.mark.parametrize("text, expected", [
    (ORIGINAL_SIMLEX, [("old", "new", 1.58), ("smart", "intelligent", 9.2)]),
    ("word1,word2,score\ncat,dog,7.5\n\"new york\",city,3\n", [("cat", "dog", 7.5), ("new york", "city", 3.0)]),
    ("cat,dog,7.5\nsun, moon ,2\n", [("cat", "dog", 7.5), ("sun", "moon", 2.0)]),
    ("sun sunlight 50\nbakery zebra 0\n", [("sun", "sunlight", 50.0), ("bakery", "zebra", 0.0)]),
    ("# comment\n\nw1 w2 rating\na b 1\n", [("a", "b", 1.0)]),
    ("\ufeffa\tb\t1e-1\r\nc\td\t2\r\n", [("a", "b", 0.1), ("c", "d", 2.0)]),
], ids=["simlex-original", "csv-header", "csv", "men-spaces", "comment-header", "bom-crlf"])
def test_word_pair_layouts(tmp_path, text, expected):
    path = tmp_path / "pairs.txt"
    path.write_text(text, encoding="utf-8", newline="")
    assert load_word_pairs(path) == expected


@pytest.mark.parametrize("text, message", [
    ("", "has no word pairs"),
    ("# only a comment\n\n", "has no word pairs"),
    ("word1,word2,score\n", "header but no word pairs"),
    ("a\tb\t1\nc\td\n", r"bad.tsv, line 2: expected word1, word2 and a score"),
    ("a\tb\t1\n# fine\nc\td\tlots\n", r"bad.tsv, line 3: the score 'lots' is not a number"),
    ("a\tb\t1\nc\td\tnan\n", r"bad.tsv, line 2: the score must be a finite number"),
    ("a b inf\n", r"bad.tsv, line 1: the score must be a finite number"),
    ("w1\tw2\tx\ty\na\tb\t1\t2\n", r"bad.tsv, line 1: cannot tell which column holds the score"),
], ids=["empty", "comments-only", "header-only", "short", "not-a-number", "nan", "inf", "unknown-header"])
def test_bad_word_pair_files(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(W2VError, match=message):
        load_word_pairs(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(W2VError, match="cannot read"):
        load_word_pairs(tmp_path / "missing.tsv")
    (tmp_path / "bin.tsv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(W2VError, match="not UTF-8"):
        load_word_pairs(tmp_path / "bin.tsv")


def test_analogy_sections_merge_and_skip_blank_lines(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(": a\nx y z w\n\n: b\np q r s\n: a\nx2 y2 z2 w2\n: empty\n")
    assert load_analogies(path) == {"a": [("x", "y", "z", "w"), ("x2", "y2", "z2", "w2")],
                                    "b": [("p", "q", "r", "s")], "empty": []}


@pytest.mark.parametrize("text, message", [
    ("", "has no analogy questions"),
    (": a\n: b\n", "has no analogy questions"),
    ("x y z w\n", r"q.txt, line 1: a question before the first ': section' header"),
    (": a\nx y z w\nx y z\n", r"q.txt, line 3: expected 4 words"),
    (": a\n:\n", r"q.txt, line 2: the section header ':' has no name"),
], ids=["empty", "headers-only", "no-section", "three-words", "unnamed"])
def test_bad_analogy_files(tmp_path, text, message):
    path = tmp_path / "q.txt"
    path.write_text(text)
    with pytest.raises(W2VError, match=message):
        load_analogies(path)


def test_a_data_folder_that_does_not_exist_is_refused_not_ignored(tmp_path):
    with pytest.raises(W2VError, match="does not exist"):
        load_benchmarks(tmp_path / "typo")
    with pytest.raises(W2VError, match="not a folder"):
        load_benchmarks(Path(__file__))
