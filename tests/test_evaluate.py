"""Evaluation: category prediction (notebook split and repeated CV with CIs), benchmarks against
gensim, neighbour overlap and the pair-similarity CSV."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from w2vcore.errors import W2VError
from w2vcore.evaldata import Benchmarks, load_analogies, load_word_pairs
from w2vcore.evaluate import (CategoryData, category_data, category_f1_cv, category_f1_paired, category_f1_seed,
                              format_report, intrinsic_report, pair_similarity_csv, unseen_mask)
from w2vcore.neighbours import jaccard, neighbour_overlap, neighbours, top_k
from w2vcore.things import Categories, load_categories
from w2vcore.vectors import Vectors


def gaussian_data(n: int, pi: float = 0.25, delta: float = 2.0, d: int = 4, seed: int = 0,
                  extra: int = 0) -> CategoryData:
    """One category: positives shifted by `delta` along axis 0 (unit-variance noise, features rescaled).

    With equal covariances the Bayes rule is linear, so logistic regression approaches it.
    `extra` adds further categories with other prevalences (and a constant and a 1-positive one).
    """
    rng = np.random.default_rng(seed)
    y = rng.random(n) < pi
    X = rng.standard_normal((n, d))
    X[:, 0] += delta * y
    labels = [y]
    for j in range(extra):
        z = rng.random(n) < 0.1 + 0.1 * j
        X[:, 1 + j % (d - 1)] += 1.5 * z
        labels.append(z)
    X *= rng.uniform(0.5, 3.0, size=d)
    names = tuple(f"c{j}" for j in range(len(labels)))
    ids = tuple(f"w{i}" for i in range(n))
    return CategoryData(ids, ids, np.arange(n), names, X, np.stack(labels, axis=1))


def bayes_f1(delta: float, pi: float) -> float:
    """Population F1 of the Bayes rule (posterior > 1/2) for N(0, 1) vs N(delta, 1) with prior pi."""
    threshold = delta / 2 - np.log(pi / (1 - pi)) / delta
    tpr, fpr = norm.sf(threshold - delta), norm.sf(threshold)
    return 2 * pi * tpr / (2 * pi * tpr + (1 - pi) * fpr + pi * (1 - tpr))


# ------------------------------------------------------------------ notebook protocol
def with_outliers(data: CategoryData, scale: float = 40.0) -> CategoryData:
    """A few concepts far out on every axis: a scaler fitted on all concepts (test folds too) shifts a lot."""
    X = data.X.copy()
    X[::25] *= scale
    return CategoryData(data.concepts, data.words, data.word_ids, data.names, X, data.Y)


def test_seed_protocol_matches_direct_sklearn():
    data = gaussian_data(300, extra=3, seed=1)
    Y = np.column_stack([data.Y, np.zeros(300, bool), np.eye(300, 1, dtype=bool)[:, 0]])
    data = with_outliers(CategoryData(data.concepts, data.words, data.word_ids, data.names + ("empty", "single"),
                                      data.X, Y), scale=6.0)  # outliers: a scaler fitted after the split differs
    scores = category_f1_seed(data)
    X = StandardScaler().fit_transform(data.X)  # the notebook: scaler on every concept, then split
    expected = {}
    for c, name in enumerate(data.names[:4]):
        y = data.Y[:, c].astype(int)
        x_tr, x_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
        expected[name] = f1_score(y_te, LogisticRegression(C=1, max_iter=1000).fit(x_tr, y_tr).predict(x_te))
    assert scores.f1 == pytest.approx(expected, abs=1e-12)
    assert set(scores.skipped) == {"empty", "single"}
    assert "no concept" in scores.skipped["empty"] and "too few to stratify" in scores.skipped["single"]
    assert scores.mean == pytest.approx(np.mean(list(expected.values())))
    assert scores.std == pytest.approx(np.std(list(expected.values())))
    assert 0.3 < scores.mean < 1.0


# ------------------------------------------------------------------ repeated CV
@pytest.mark.parametrize("data", [gaussian_data(250, extra=1, seed=2), with_outliers(gaussian_data(100, d=20, seed=2))],
                         ids=["clusters", "outliers"])
def test_cv_matches_a_pipeline_with_the_scaler_inside_each_fold(data):
    scores = category_f1_cv(data, folds=5, repeats=3, seed=7, n_boot=50)
    for c, name in enumerate(data.names):
        y = data.Y[:, c].astype(int)
        f1s = []
        splits = list(RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=7).split(data.X, y))
        for r in range(3):
            pred = np.zeros_like(y)
            for tr, te in splits[5 * r: 5 * r + 5]:
                model = make_pipeline(StandardScaler(), LogisticRegression(C=1, max_iter=1000))
                pred[te] = model.fit(data.X[tr], y[tr]).predict(data.X[te])
            f1s.append(f1_score(y, pred))  # pooled out-of-fold predictions of one repeat
        assert scores.f1[name][0] == pytest.approx(np.mean(f1s), abs=1e-12)
        assert scores.f1[name][1] <= scores.f1[name][0] <= scores.f1[name][2]
    assert scores.macro == pytest.approx(np.mean([v[0] for v in scores.f1.values()]))
    assert scores.repeat_macro.shape == (3,) and scores.n_test == len(data.concepts) and scores.n_train_only == 0


def test_ci_covers_the_bayes_f1_of_gaussian_clusters():
    truth = bayes_f1(2.0, 0.25)  # ~0.726; LR on 4-d data with 320 training concepts is close to Bayes
    results = [category_f1_cv(gaussian_data(400, seed=s), repeats=2, n_boot=500, seed=s) for s in range(10)]
    covered = sum(r.macro_ci[0] <= truth <= r.macro_ci[1] for r in results)
    assert covered >= 8  # nominal 95%; a CI over fold scores (too narrow) covers far less often
    assert np.mean([r.macro for r in results]) == pytest.approx(truth, abs=0.03)


def test_ci_narrows_with_more_concepts_and_repeats_reduce_split_noise():
    small, large = (category_f1_cv(gaussian_data(n, seed=3), repeats=2, n_boot=500) for n in (400, 1600))
    width = lambda r: r.macro_ci[1] - r.macro_ci[0]  # noqa: E731
    assert width(large) < 0.65 * width(small)  # ~1/sqrt(n): half as wide at 4x the concepts
    data = gaussian_data(300, seed=4, pi=0.3, delta=1.5)
    one, many = ([category_f1_cv(data, repeats=r, seed=s, n_boot=300) for s in range(6)] for r in (1, 8))
    # more repeats average away the luck of the fold assignment, and the concept CI does not widen
    assert np.std([r.macro for r in many]) < 0.6 * np.std([r.macro for r in one])
    assert np.mean([width(r) for r in many]) <= np.mean([width(r) for r in one]) + 0.005


def test_paired_delta_sees_a_worse_embedding_and_is_zero_for_a_copy():
    a = gaussian_data(500, extra=2, seed=5)
    noisy = a.X + np.random.default_rng(0).standard_normal(a.X.shape) * a.X.std(0) * 1.5
    b = CategoryData(a.concepts, a.words, a.word_ids, a.names, noisy, a.Y)
    worse = category_f1_paired(a, b, repeats=2, n_boot=500)
    assert worse.delta < 0 and worse.delta_ci[1] < 0  # paired: the shared concept draws cancel
    assert worse.delta == pytest.approx(worse.b.macro - worse.a.macro)
    unpaired_width = (worse.a.macro_ci[1] - worse.a.macro_ci[0])
    assert worse.delta_ci[1] - worse.delta_ci[0] < unpaired_width * 1.5
    same = category_f1_paired(a, a, repeats=2, n_boot=200)
    assert same.delta == 0 and same.delta_ci == (0, 0)
    fewer = CategoryData(a.concepts[:-1], a.words[:-1], a.word_ids[:-1], a.names, a.X[:-1], a.Y[:-1])
    with pytest.raises(W2VError, match="different concepts"):
        category_f1_paired(a, fewer)


def test_test_mask_keeps_unseen_concepts_out_of_training_only():
    data = gaussian_data(400, seed=6)
    mask = unseen_mask(data, data.words[::2])  # every other concept was "seen" by a loss
    assert mask.sum() == 200 and not mask[0] and mask[1]
    scores = category_f1_cv(data, test_mask=mask, repeats=2, n_boot=200)
    assert scores.n_test == 200 and scores.n_train_only == 200
    assert 0.5 < scores.macro < 0.9
    with pytest.raises(W2VError, match="one flag per matched concept"):
        category_f1_cv(data, test_mask=mask[:-1])
    with pytest.raises(W2VError, match="only 3 concepts to test"):
        category_f1_cv(data, test_mask=np.arange(400) < 3)
    rare = CategoryData(data.concepts, data.words, data.word_ids, ("rare",), data.X, (np.arange(400) < 3)[:, None])
    with pytest.raises(W2VError, match="no category can be cross-validated.*rare: 3 positive"):
        category_f1_cv(rare)


def test_category_data_on_things(shared_data):
    cats = load_categories(shared_data)
    words = ["aardvark", "bat", "air_conditioner", "apple", "hammer", "cat", "dog", "car", "banana", "chair",
             "table"] + [f"filler{i}" for i in range(20)]
    vectors = Vectors(words, np.random.default_rng(0).standard_normal((len(words), 8)))
    data = category_data(vectors, cats)
    assert {"aardvark", "bat1", "air_conditioner", "apple", "hammer"} <= set(data.concepts)
    assert data.X.shape == (len(data.concepts), 8) and data.Y.shape == (len(data.concepts), 27)
    row = data.concepts.index("aardvark")
    assert data.Y[row, cats.names.index("animal")] and data.words[row] == "aardvark"
    np.testing.assert_array_equal(data.X[row], vectors["aardvark"])
    with pytest.raises(W2VError, match="no category can be predicted"):
        category_data(Vectors(["xylophonezz", "qqq"], np.eye(2)), cats)


def test_category_data_is_validated():
    data = gaussian_data(50)
    with pytest.raises(W2VError, match="NaN"):
        CategoryData(data.concepts, data.words, data.word_ids, data.names, np.where(data.X > 2, np.nan, data.X), data.Y)
    with pytest.raises(W2VError, match="one vector and one label row per concept"):
        CategoryData(data.concepts, data.words, data.word_ids, data.names, data.X[:-1], data.Y)
    with pytest.raises(W2VError, match="folds >= 2"):
        category_f1_cv(data, folds=1)


def test_no_categories_matched_is_an_error():
    cats = Categories(("cat", "dog"), ("animal",), np.array([[True], [True]]))
    with pytest.raises(W2VError, match="only 0 of the 2 THINGS concepts"):
        category_data(Vectors(["car", "bus"], np.eye(2)), cats)


# ------------------------------------------------------------------ intrinsic benchmarks
def as_gensim(v: Vectors) -> KeyedVectors:
    kv = KeyedVectors(v.vector_size)
    kv.add_vectors(v.index_to_key, v.vectors)
    return kv


@pytest.fixture(scope="module")
def benchmark_vectors():
    """Vectors over the benchmark words where one relation per analogy section partly holds."""
    pairs = {name: load_word_pairs(datapath(f)) for name, f in (("simlex999", "simlex999.txt"),
                                                                  ("wordsim353", "wordsim353.tsv"))}
    sections = {name: qs[::4] for name, qs in load_analogies(datapath("questions-words.txt")).items()}
    rng = np.random.default_rng(0)
    vecs: dict[str, np.ndarray] = {}
    for qs in sections.values():
        relation = rng.standard_normal(16)
        for a, b, c, d in qs:
            for x, y in ((a.lower(), b.lower()), (c.lower(), d.lower())):
                vecs.setdefault(x, rng.standard_normal(16))
                vecs.setdefault(y, vecs[x] + relation + rng.standard_normal(16))
    for p in pairs.values():
        for a, b, _ in p:
            vecs.setdefault(a.lower(), rng.standard_normal(16))
            vecs.setdefault(b.lower(), vecs[a.lower()] + 2 * rng.standard_normal(16))
    keys = [w for i, w in enumerate(sorted(vecs)) if i % 13 != 5]  # some words unknown
    rng.shuffle(keys)
    return Vectors(keys, np.array([vecs[k] for k in keys])), Benchmarks(pairs, sections, {"simlex999": "gensim"})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gensim's own init_sims
@pytest.mark.parametrize("restrict", [None, 1500], ids=["all-words", "restricted"])
def test_intrinsic_report_matches_gensim(benchmark_vectors, restrict, tmp_path):
    v, bench = benchmark_vectors
    kv = as_gensim(v)
    report = intrinsic_report(v, bench, restrict_vocab=restrict)
    for name, f in (("simlex999", "simlex999.txt"), ("wordsim353", "wordsim353.tsv")):
        pearson, spearman, oov = kv.evaluate_word_pairs(datapath(f), restrict_vocab=restrict or len(v))
        r = report.pairs[name]
        assert (r.pearson, r.spearman) == pytest.approx((pearson[0], spearman[0]), abs=1e-6)
        assert r.oov_ratio == pytest.approx(oov / 100)
    path = tmp_path / "questions.txt"
    path.write_text("".join(f": {n}\n" + "".join(" ".join(q) + "\n" for q in qs) for n, qs in bench.analogies.items()))
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict or len(v))
    ours = report.analogies["3cosadd"]
    assert ours.accuracy == pytest.approx(score, abs=1e-12) and 0.1 < ours.accuracy < 0.9
    assert ours.sections == {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
                             for s in sections if s["section"] != "Total accuracy"}
    if restrict is None:  # gensim's evaluate_word_analogies has no 3CosMul: check it with single queries
        sample = [q for q in bench.analogies["family"] + bench.analogies["gram2-opposite"]]
        answered = [q for q in sample if all(w.lower() in v for w in q)]
        hits = sum(kv.most_similar_cosmul([b.lower(), c.lower()], [a.lower()], topn=1)[0][0] == d.lower()
                   for a, b, c, d in answered)
        cosmul = report.analogies["3cosmul"]
        assert (cosmul.sections["family"][0] + cosmul.sections["gram2-opposite"][0]) == hits
    text = format_report(report)
    assert "simlex999" in text and "capital-common-countries" in text
    assert "analogies 3cosadd: accuracy" in text and "analogies 3cosmul: accuracy" in text
    assert "capital-common-countries" not in format_report(report, sections=False)


def test_intrinsic_report_refuses_bad_input(benchmark_vectors):
    v, bench = benchmark_vectors
    with pytest.raises(W2VError, match="analogy methods"):
        intrinsic_report(v, bench, methods=("3coswhat",))
    with pytest.raises(W2VError, match="no benchmarks"):
        intrinsic_report(v, Benchmarks())


# ------------------------------------------------------------------ neighbours
def circle(words, angles) -> Vectors:
    return Vectors(words, np.column_stack([np.cos(angles), np.sin(angles)]))


def test_neighbour_overlap_on_hand_made_vectors():
    words = list("abcdefgh")
    a = circle(words, np.arange(8) * 0.3)  # neighbours along a line of angles
    b = circle(words[::-1], (np.arange(8) * 0.3)[::-1])  # the same geometry, rows in another order
    same = neighbour_overlap(a, b, k=2)
    np.testing.assert_array_equal(same.jaccard, np.ones(8))
    angles = np.arange(8) * 0.3
    angles[[0, 7]] = angles[[7, 0]]  # a and h swap places
    swapped = neighbour_overlap(a, circle(words, angles), words=["b", "d", "g"], k=2)
    # b: {a, c} vs {h, c} -> 1/3; d: {c, e} unchanged -> 1; g: {f, h} vs {f, a} -> 1/3
    np.testing.assert_allclose(swapped.jaccard, [1 / 3, 1, 1 / 3])
    assert swapped.mean == pytest.approx(5 / 9) and swapped.n_candidates == 8
    assert top_k(a.get_normed_vectors(), np.array([0]), 3).tolist() == [[1, 2, 3]]
    assert jaccard(["x", "y"], ["y", "z"]) == pytest.approx(1 / 3) and np.isnan(jaccard([], []))
    with pytest.raises(W2VError, match="not in both vocabularies"):
        neighbour_overlap(a, b, words=["a", "zebra"])
    with pytest.raises(W2VError, match="share 8 words"):
        neighbour_overlap(a, b, k=8)
    found, unknown = neighbours(a, ["a", "zebra", "a"], k=2)
    assert list(found) == ["a"] and [w for w, _ in found["a"]] == ["b", "c"] and unknown == ["zebra"]


def test_neighbour_overlap_ranks_within_the_shared_vocabulary():
    a = circle(list("abcde"), np.array([0, 0.3, 0.7, 1.2, 1.8]))  # uneven gaps: no ties
    b = circle(list("abxcde"), np.array([0, 0.3, 0.25, 0.7, 1.2, 1.8]))  # x only in B, nearest to a and b
    result = neighbour_overlap(a, b, k=1)
    assert result.words == tuple("abcde") and result.mean == 1.0  # x cannot be a neighbour


# ------------------------------------------------------------------ export
def test_pair_similarity_csv_matches_the_file_export(tmp_path):
    v = Vectors(["a", "b", "c"], [[1, 0], [0, 1], [1, 1]])
    pairs = [("a", "b"), ("a", "c", 3.0), ("a", "zz"), ("A", "c")]
    text, unknown = pair_similarity_csv(v, pairs)
    assert unknown == v.export_pair_similarities(pairs, tmp_path / "sims.csv") == 2
    assert text == (tmp_path / "sims.csv").read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["word1", "word2", "sim"] and rows[3] == ["a", "zz", ""]
    assert float(rows[2][2]) == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert pair_similarity_csv(v, [("A", "c")], case_insensitive=True)[1] == 0
    for bad, message in (([], "no word pairs"), ([("a",)], "pair 1 must be two words"),
                         ([("a", "b"), "ab"], "pair 2 must be two words"), ([("a", "")], "pair 1")):
        with pytest.raises(W2VError, match=message):
            pair_similarity_csv(v, bad)
