"""Vectors: queries and evaluation agree with gensim's KeyedVectors; files round-trip."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from w2vcore.errors import UnknownWordError, W2VError
from w2vcore.evaldata import load_analogies, load_word_pairs
from w2vcore.vectors import AnalogyScore, PairScore, Vectors


def as_gensim(vectors: Vectors) -> KeyedVectors:
    kv = KeyedVectors(vectors.vector_size)
    kv.add_vectors(vectors.index_to_key, vectors.vectors.copy())
    return kv


@pytest.fixture(scope="module")
def random_vectors() -> Vectors:
    rng = np.random.default_rng(0)
    return Vectors([f"w{i}" for i in range(300)], rng.standard_normal((300, 16)))


def assert_same_results(ours, theirs, tol=1e-5):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=tol)


# ---- construction and lookup -------------------------------------------------------------------

def test_basic_accessors(random_vectors):
    v = random_vectors
    assert len(v) == 300 and v.vector_size == 16 and v.vectors.dtype == np.float32
    assert "w5" in v and "nope" not in v
    assert v.get_index("w5") == v.key_to_index["w5"] == 5 and v.index_to_key[5] == "w5"
    np.testing.assert_array_equal(v["w5"], v.vectors[5])
    assert np.linalg.norm(v.get_vector("w5", norm=True)) == pytest.approx(1, abs=1e-6)
    assert v.get_normed_vectors() is v.get_normed_vectors()  # computed once
    assert not v.vectors.flags.writeable


@pytest.mark.parametrize("keys, matrix, message", [
    (["a", "b"], np.zeros((3, 2)), "2 words, 3 vectors"),
    (["a"], np.zeros(4), "2-D"),
    ([], np.zeros((0, 4)), "at least one word"),
    (["a", "b", "a"], np.zeros((3, 2)), "more than once"),
    (list("abcde"), np.array([[0, 1], [np.nan, 1], [2, 2], [np.inf, 0], [1, 1]]),
     r"2 of 5 vectors contain NaN or infinite values \(the first: 'b'\)"),
], ids=["rows", "1-D", "empty", "duplicates", "nan"])
def test_invalid_input_is_a_user_error(keys, matrix, message):
    with pytest.raises(W2VError, match=message):
        Vectors(keys, matrix)


def test_counts_validated():
    with pytest.raises(W2VError, match="counts"):
        Vectors(["a", "b"], np.ones((2, 3)), counts=np.array([1, 2, 3]))
    assert Vectors(["a", "b"], np.ones((2, 3)), counts=[5, 2]).counts.tolist() == [5, 2]


def test_unknown_word_suggests_close_words():
    v = Vectors(["apple", "apples", "banana", "cherry"], np.eye(4))
    with pytest.raises(UnknownWordError, match="'aple' is not in the vocabulary; did you mean 'apple'") as info:
        v.get_vector("aple")
    assert isinstance(info.value, KeyError) and info.value.word == "aple"
    with pytest.raises(UnknownWordError) as info:
        v.most_similar("zzzzzz")
    assert str(info.value) == "'zzzzzz' is not in the vocabulary"  # nothing close: no hint


def test_zero_rows_stay_zero():
    v = Vectors(["a", "b", "zero"], [[1, 0], [1, 1], [0, 0]])
    unit = v.get_normed_vectors()
    assert np.isfinite(unit).all() and not unit[2].any()
    assert dict(v.most_similar("a"))["zero"] == 0.0
    assert v.similarity("a", "zero") == 0.0


# ---- queries against gensim --------------------------------------------------------------------

QUERIES = [
    dict(positive="w3"),
    dict(positive=["w3", "w10"]),
    dict(positive=["w3", "w10"], negative=["w7"]),
    dict(positive=["w1", "w2", "w250"], negative=["w4", "w5"], topn=25),
    dict(positive=["w3"], negative="w7", restrict_vocab=100),
    dict(positive=["w3", "w150"], negative=["w7"], restrict_vocab=120, topn=5),
]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_most_similar_matches_gensim(random_vectors, query):
    kv = as_gensim(random_vectors)
    assert_same_results(random_vectors.most_similar(**query), kv.most_similar(**query))


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_most_similar_cosmul_matches_gensim(random_vectors, query):
    kv = as_gensim(random_vectors)
    query = dict(query)
    restrict = query.pop("restrict_vocab", None)
    topn = query.pop("topn", 10)
    ours = random_vectors.most_similar_cosmul(**query, topn=topn, restrict_vocab=restrict)
    # gensim ignores restrict_vocab in most_similar_cosmul: filter its full ranking instead
    theirs = [(w, s) for w, s in kv.most_similar_cosmul(**query, topn=len(kv))
              if restrict is None or kv.get_index(w) < restrict][:topn]
    assert_same_results(ours, theirs)


def test_analogy_is_b_minus_a_plus_c(random_vectors):
    kv = as_gensim(random_vectors)
    assert_same_results(random_vectors.analogy("w1", "w2", "w3", topn=5),
                        kv.most_similar(positive=["w2", "w3"], negative=["w1"], topn=5))
    assert_same_results(random_vectors.analogy("w1", "w2", "w3", method="3cosmul", topn=5),
                        kv.most_similar_cosmul(positive=["w2", "w3"], negative=["w1"], topn=5))
    with pytest.raises(W2VError, match="method"):
        random_vectors.analogy("w1", "w2", "w3", method="cos")


def test_query_edge_cases(random_vectors):
    v = random_vectors
    with pytest.raises(W2VError, match="at least one"):
        v.most_similar()
    with pytest.raises(W2VError, match="positive"):
        v.most_similar_cosmul(negative=["w1"])
    assert v.most_similar("w1", topn=0) == []
    assert v.most_similar(positive=None, negative="w1", topn=3) == v.most_similar(negative=["w1"], topn=3)
    assert len(v.most_similar("w1", topn=None)) == len(v) - 1
    assert len(v.most_similar("w1", topn=None, restrict_vocab=10)) == 9
    assert v.similarity("w1", "w2") == pytest.approx(as_gensim(v).similarity("w1", "w2"), abs=1e-6)


# ---- word pairs --------------------------------------------------------------------------------

def wordsim_vectors(seed=0) -> Vectors:
    """Random vectors over ~90% of the (lower-cased) words of gensim's wordsim353.tsv."""
    words = sorted({w.lower() for a, b, _ in load_word_pairs(datapath("wordsim353.tsv")) for w in (a, b)})
    keys = [w for i, w in enumerate(words) if i % 10 != 3] + [f"filler{i}" for i in range(50)] + ["Tiger", "CAT"]
    return Vectors(keys, np.random.default_rng(seed).standard_normal((len(keys), 20)))


def test_evaluate_word_pairs_matches_gensim():
    v = wordsim_vectors()
    pearson, spearman, oov_percent = as_gensim(v).evaluate_word_pairs(datapath("wordsim353.tsv"))
    score = v.evaluate_word_pairs(load_word_pairs(datapath("wordsim353.tsv")))
    assert isinstance(score, PairScore) and score.n_pairs == 353
    assert score.pearson == pytest.approx(pearson[0], abs=1e-6)
    assert score.spearman == pytest.approx(spearman[0], abs=1e-6)
    assert score.oov_ratio == pytest.approx(oov_percent / 100, abs=1e-12)
    assert 0.05 < score.oov_ratio < 0.5 and score.n_used == round(353 * (1 - score.oov_ratio))


def test_evaluate_word_pairs_case_sensitive_matches_gensim():
    v = wordsim_vectors(1)
    pearson, spearman, oov_percent = as_gensim(v).evaluate_word_pairs(
        datapath("wordsim353.tsv"), case_insensitive=False, restrict_vocab=200)
    score = v.evaluate_word_pairs(load_word_pairs(datapath("wordsim353.tsv")), case_insensitive=False,
                                  restrict_vocab=200)
    assert (score.pearson, score.spearman) == pytest.approx((pearson[0], spearman[0]), abs=1e-6)
    assert score.oov_ratio == pytest.approx(oov_percent / 100)


def test_evaluate_word_pairs_with_too_few_pairs_gives_nan():
    v = Vectors(["a", "b", "c"], np.eye(3))
    score = v.evaluate_word_pairs([("a", "b", 1.0), ("b", "c", 2.0), ("a", "x", 3.0)])
    assert math.isnan(score.pearson) and math.isnan(score.spearman)
    assert (score.n_pairs, score.n_used, score.oov_ratio) == (3, 2, pytest.approx(1 / 3))
    assert math.isnan(v.evaluate_word_pairs([]).oov_ratio)


def test_pair_similarities_and_csv_export(tmp_path):
    v = Vectors(["a", "b", "c"], [[1, 0], [0, 1], [1, 1]])
    pairs = [("a", "b", 0.0), ("a", "c", 5.0), ("a", "zz", 1.0), ("A", "c", 2.0)]
    sims = v.similarities_for_pairs(pairs)
    np.testing.assert_allclose(sims, [0, math.sqrt(0.5), np.nan, np.nan], atol=1e-6)
    assert v.similarities_for_pairs(pairs, case_insensitive=True)[3] == pytest.approx(math.sqrt(0.5))
    n_unknown = v.export_pair_similarities(pairs, tmp_path / "sims.csv")
    rows = list(csv.reader(open(tmp_path / "sims.csv", encoding="utf-8")))
    assert n_unknown == 2
    assert rows[0] == ["word1", "word2", "sim"] and rows[3] == ["a", "zz", ""]
    assert float(rows[2][2]) == pytest.approx(math.sqrt(0.5), abs=1e-6)


# ---- analogies ---------------------------------------------------------------------------------

ANALOGY_SECTIONS = ("capital-common-countries", "family", "gram1-adjective-to-adverb", "gram8-plural")


@pytest.fixture(scope="module")
def analogy_setup(tmp_path_factory):
    """A subset of Google's questions and vectors where many (not all) of its analogies hold.

    Each section has a relation vector r: vec[d] = vec[c] + r + noise. Some words are left out
    (OOV), some put after the restrict_vocab cut, and some case variants added.
    """
    questions = load_analogies(datapath("questions-words.txt"))
    subset = {name: questions[name][::3] for name in ANALOGY_SECTIONS}
    rng = np.random.default_rng(0)
    dim, vecs = 24, {}
    for name, qs in subset.items():
        relation = rng.standard_normal(dim)
        for a, b, c, d in qs:
            for x, y in ((a, b), (c, d)):
                x, y = x.lower(), y.lower()
                vecs.setdefault(x, rng.standard_normal(dim))
                vecs.setdefault(y, vecs[x] + relation + 0.9 * rng.standard_normal(dim))
    words = sorted(vecs)
    late = words[5::17]  # beyond restrict_vocab
    kept = [w for i, w in enumerate(words) if i % 23 != 4 and w not in late]  # some are OOV
    # case variants of a question word c that sit exactly on b - a + c: the best match, but never the answer
    unit = {w: x / np.linalg.norm(x) for w, x in vecs.items()}
    traps = {c.title(): unit[b] - unit[a] + unit[c] for a, b, c, _ in subset["family"][:60:6] if c.title() != c}
    keys = kept + [f"noise{i}" for i in range(200)] + ["Athens", "GREECE"] + list(traps) + late
    vectors = [traps.get(k, vecs.get(k.lower())) for k in keys]
    vectors = [v if v is not None else rng.standard_normal(dim) for v in vectors]
    vectors[keys.index("GREECE")] = vecs["greece"] + 0.05 * rng.standard_normal(dim)  # a near-duplicate
    path = tmp_path_factory.mktemp("analogies") / "subset.txt"
    path.write_text("".join(f": {n}\n" + "".join(" ".join(q) + "\n" for q in qs) for n, qs in subset.items()))
    return Vectors(keys, np.array(vectors)), subset, path, len(keys) - len(late)


@pytest.mark.parametrize("case_insensitive", [True, False], ids=["folded", "exact-case"])
def test_evaluate_word_analogies_matches_gensim(analogy_setup, case_insensitive):
    v, subset, path, restrict = analogy_setup
    score_g, sections_g = as_gensim(v).evaluate_word_analogies(path, restrict_vocab=restrict,
                                                               case_insensitive=case_insensitive)
    score = v.evaluate_word_analogies(subset, restrict_vocab=restrict, case_insensitive=case_insensitive)
    assert isinstance(score, AnalogyScore)
    expected = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections_g}
    total = expected.pop("Total accuracy")
    assert score.sections == expected
    assert score.accuracy == pytest.approx(score_g, abs=1e-12)
    assert score.n_questions == sum(len(qs) for qs in subset.values())
    assert score.n_oov == score.n_questions - total[1]
    if case_insensitive:  # the constructed analogies are solvable but noisy
        assert 0.2 < score.accuracy < 0.95 and 0 < score.n_oov < score.n_questions / 2


def test_evaluate_word_analogies_skips_total_sections(analogy_setup):
    v, subset, _, restrict = analogy_setup
    plain = v.evaluate_word_analogies(subset, restrict_vocab=restrict)
    everything = [q for qs in subset.values() for q in qs]
    again = v.evaluate_word_analogies({**subset, "Total accuracy": everything, "total": everything},
                                      restrict_vocab=restrict)
    assert again == plain


def test_evaluate_word_analogies_cosmul_matches_single_queries(analogy_setup):
    v, subset, _, _ = analogy_setup
    qs = subset["family"] + subset["gram8-plural"][:40]
    score = v.evaluate_word_analogies({"mixed": qs}, method="3cosmul", case_insensitive=False, restrict_vocab=None)
    answered = [q for q in qs if all(w in v for w in q)]
    correct = sum(v.analogy(a, b, c, method="3cosmul")[0][0] == d for a, b, c, d in answered)
    assert score.sections == {"mixed": (correct, len(answered))}
    cosadd = v.evaluate_word_analogies({"mixed": qs}, case_insensitive=False, restrict_vocab=None)
    assert cosadd.sections["mixed"][0] == sum(v.analogy(a, b, c)[0][0] == d for a, b, c, d in answered)


def test_evaluate_word_analogies_nothing_answerable():
    v = Vectors(["a", "b"], np.eye(2))
    score = v.evaluate_word_analogies({"s": [("a", "b", "c", "d")]})
    assert math.isnan(score.accuracy) and score.sections == {"s": (0, 0)} and score.n_oov == 1
    with pytest.raises(W2VError, match="4 words"):
        v.evaluate_word_analogies({"s": [("a", "b", "c")]})


# ---- files -------------------------------------------------------------------------------------

UNICODE_KEYS = ["the", "naïve", "Zürich", "日本語", "café_au_lait", "ünïcödé"]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_word2vec_format_round_trip_through_gensim(tmp_path, binary):
    rng = np.random.default_rng(3)
    v = Vectors(UNICODE_KEYS, rng.standard_normal((6, 7)) * [1, 1e-8, 1e8, 1, 1, 1, 1])
    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    v.save_word2vec_format(path, binary=binary)
    kv = KeyedVectors.load_word2vec_format(path, binary=binary)
    assert kv.index_to_key == UNICODE_KEYS
    np.testing.assert_array_equal(kv.vectors, v.vectors)
    back = Vectors.load_word2vec_format(path, binary=binary)
    assert back.index_to_key == UNICODE_KEYS and back.counts is None
    np.testing.assert_array_equal(back.vectors, v.vectors)
    kv.save_word2vec_format(tmp_path / "from_gensim", binary=binary)  # gensim's flavour (no newline in binary)
    from_gensim = Vectors.load_word2vec_format(tmp_path / "from_gensim", binary=binary)
    assert from_gensim.index_to_key == UNICODE_KEYS
    np.testing.assert_allclose(from_gensim.vectors, v.vectors, rtol=1e-6)
    assert len(Vectors.load_word2vec_format(path, binary=binary, limit=2)) == 2


def test_word2vec_format_errors(tmp_path):
    with pytest.raises(W2VError, match="whitespace"):
        Vectors(["a b", "c"], np.eye(2)).save_word2vec_format(tmp_path / "x.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(W2VError, match=r"bad.txt, line 3: expected a word and 3 numbers"):
        Vectors.load_word2vec_format(bad)
    bad.write_text("hello world\n")
    with pytest.raises(W2VError, match="line 1"):
        Vectors.load_word2vec_format(bad)
    bad.write_text("2 3\na 1 2 x\nb 1 2 3\n")
    with pytest.raises(W2VError, match="not a valid word2vec text file"):
        Vectors.load_word2vec_format(bad)
    Vectors(["a", "b"], np.eye(2)).save_word2vec_format(bad, binary=True)
    bad.write_bytes(bad.read_bytes()[:-5])
    with pytest.raises(W2VError, match="ends after 1 of 2 vectors"):
        Vectors.load_word2vec_format(bad, binary=True)
    with pytest.raises(W2VError, match="cannot read"):
        Vectors.load_word2vec_format(tmp_path / "missing.txt")


@pytest.mark.parametrize("counts", [None, [10, 7, 5, 3, 2, 1]], ids=["no-counts", "counts"])
def test_projector_files(tmp_path, counts):
    v = Vectors(UNICODE_KEYS, np.random.default_rng(1).standard_normal((6, 5)), counts=counts)
    vectors_path, metadata_path = v.save_projector(tmp_path / "projector")
    loaded = np.loadtxt(vectors_path, delimiter="\t")
    assert loaded.shape == (6, 5)
    np.testing.assert_allclose(loaded, v.vectors, rtol=1e-6)
    lines = metadata_path.read_text(encoding="utf-8").splitlines()
    if counts is None:
        assert lines == UNICODE_KEYS
    else:
        assert lines[0] == "word\tcount" and lines[1:] == [f"{w}\t{c}" for w, c in zip(UNICODE_KEYS, counts)]


@pytest.mark.parametrize("counts", [None, [10, 7, 5, 3, 2, 1]], ids=["no-counts", "counts"])
def test_native_npz_round_trip(tmp_path, counts):
    v = Vectors(UNICODE_KEYS, np.random.default_rng(2).standard_normal((6, 5)), counts=counts)
    path = tmp_path / "model.vectors"  # no .npz suffix: the name is kept as given
    v.save(path)
    back = Vectors.load(path)
    assert path.exists() and back.index_to_key == UNICODE_KEYS
    np.testing.assert_array_equal(back.vectors, v.vectors)
    assert (back.counts is None) if counts is None else back.counts.tolist() == counts


def test_native_load_errors(tmp_path):
    (tmp_path / "x.npz").write_text("not numpy")
    with pytest.raises(W2VError, match="x.npz"):
        Vectors.load(tmp_path / "x.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(W2VError, match="Vectors.save"):
        Vectors.load(tmp_path / "other.npz")
    with pytest.raises(W2VError, match="cannot read"):
        Vectors.load(tmp_path / "missing.npz")
