"""Word values for ValueVec: validation, loaders and metrics against hand-computed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from w2vcore.errors import W2VError
from w2vcore.losses.valuevec.values import (BASE_COLOURS, SHADE_MODIFIERS, check_values, colour_spectrum,
                                            difference_spearman, knn_predict, load_values, load_things_ratings,
                                            load_vader, load_value_csv, normalise, pair_spearman, pc1_correlation,
                                            rank_correlation, ridge_predict, sample_pairs, split_words, value_scores)
from w2vcore.vectors import Vectors


def _at(*degrees: float) -> np.ndarray:
    """Unit 2-D vectors at the given angles."""
    r = np.radians(degrees)
    return np.stack([np.cos(r), np.sin(r)], 1)


# ------------------------------------------------------------- validation
@pytest.mark.parametrize("values, message", [
    ({}, "no words with values"),
    ([], "no words with values"),
    ({"a": 1.0, "b": float("nan"), "c": 2.0}, "the value of 'b' is nan"),
    ({"a": 1.0, "b": math.inf, "c": 2.0}, "NaN or infinite"),
    ({"a": 2.0, "b": 2.0, "c": 2.0}, "every word has the same value"),
    ([("a", 1), ("b", 2), ("a", 3)], "1 word\\(s\\) appear more than once \\(a\\)"),
    ({"a": 1.0, "b": "cheap", "c": 2.0}, "the value of 'b' is not a number"),
    ({"a": 1.0, "b": 2.0}, "at least 3 words"),
    ([("a", 1), ("", 2), ("c", 3)], "an empty word"),
])
def test_bad_values_are_refused(values, message):
    with pytest.raises(W2VError, match=message):
        check_values(values, "test")


def test_normalise_and_split():
    np.testing.assert_allclose(normalise(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    with pytest.raises(W2VError, match="not all equal"):
        normalise(np.array([1.0, 1.0]))
    words = [f"w{i}" for i in range(50)]
    train, held = split_words(words, 0.2, seed=3)
    assert len(held) == 10 and len(train) == 40 and set(train).isdisjoint(held) and set(train) | set(held) == set(words)
    assert split_words(words, 0.2, seed=3) == (train, held)
    assert split_words(words, 0.2, seed=4)[1] != held


# ---------------------------------------------------------------- sources
def test_colour_spectrum_follows_its_rules():
    exact = colour_spectrum(jitter=0.0)
    assert exact["violet"] == 400.0 and exact["red"] == BASE_COLOURS["red"]
    assert exact["light_green"] == 530.0 + SHADE_MODIFIERS["light"]
    assert exact["bluish_green"] == pytest.approx(530.0 + 0.2 * (465.0 - 530.0))  # a fifth of the way to blue
    assert "reddish_red" not in exact and "bluish_violet" in exact
    noisy, again, other = colour_spectrum(seed=1), colour_spectrum(seed=1), colour_spectrum(seed=2)
    assert noisy == again and noisy != other and set(noisy) == set(exact)
    assert max(abs(noisy[w] - exact[w]) for w in exact) < 12.0  # 2 nm jitter, base words exact
    small = colour_spectrum(modifiers=["deep"], bases=["blue", "red"])
    assert set(small) == {"blue", "red", "deep_blue", "deep_red"}
    with pytest.raises(W2VError, match="unknown modifier"):
        colour_spectrum(modifiers=["sparkly"])


def test_vader_lexicon_from_the_installed_package():
    vader = load_vader()
    assert len(vader) > 7000 and all(w.isalpha() and w.islower() for w in vader)
    assert vader["good"] > 1.0 and vader["terrible"] < -1.0
    assert all(-4.0 <= v <= 4.0 for v in vader.values())
    assert vader["lol"] == pytest.approx((2.9 + 1.8) / 2)  # listed twice in the shipped file
    assert ":)" in load_vader(letters_only=False)


def test_things_ratings(shared_data):
    pleasant = load_things_ratings(shared_data, "pleasant")
    assert pleasant["aardvark"] == pytest.approx(4.3947)
    assert "air_conditioner" in pleasant and "t_shirt" in pleasant
    assert "bat" not in pleasant and "baton" not in pleasant  # homonyms are left out
    assert len(pleasant) > 1700
    moves = load_values("things:moves", shared_data)
    assert moves["aardvark"] == pytest.approx(6.9211)
    with pytest.raises(W2VError, match="unknown THINGS rating"):
        load_things_ratings(shared_data, "tasty")


def test_user_csv(tmp_path):
    good = tmp_path / "prices.csv"
    good.write_text("word,price\napple,1.5\nbanana,0.25\ncaviar,120\n")
    assert load_value_csv(good) == {"apple": 1.5, "banana": 0.25, "caviar": 120.0}
    assert load_values(str(good)) == load_value_csv(good)
    cases = {"dup.csv": ("a,1\nb,2\na,3\n", "appear more than once"),
             "nan.csv": ("a,1\nb,nan\nc,3\n", "NaN"),
             "flat.csv": ("a,1\nb,1\nc,1\n", "same value"),
             "empty.csv": ("\n\n", "is empty"),
             "text.csv": ("a,1\nb,cheap\nc,3\n", "line 2: the value 'cheap' is not a number"),
             "three.csv": ("a,1,2\n", "expected word,value")}
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(W2VError, match=message):
            load_value_csv(tmp_path / name)
    with pytest.raises(W2VError, match="neither 'vader'"):
        load_values(str(tmp_path / "missing.csv"))
    assert load_values("things:pleasant", None)["aardvark"] == pytest.approx(4.3947)  # the packaged copy
    with pytest.raises(W2VError, match="unknown THINGS rating"):
        load_values("things:tasty", None)


# ---------------------------------------------------------------- metrics
def test_pair_spearman_hand_case():
    # cosine distances: (0,1) 1 - cos 60 = 0.5, (0,2) 2, (1,2) 1.5 -> ranks 1, 3, 2
    # |value differences| for values (0, 3, 2): 3, 2, 1 -> ranks 3, 2, 1; sum d^2 = 4 + 1 + 1 = 6
    # rho = 1 - 6 * 6 / (3 * (9 - 1)) = -0.5
    vectors = _at(0, 60, 180)
    assert pair_spearman(vectors, np.array([0.0, 3.0, 2.0])) == pytest.approx(-0.5)
    assert pair_spearman(vectors * [[2.0], [0.5], [3.0]], np.array([0.0, 1.0, 5.0])) == pytest.approx(1.0)
    with pytest.raises(W2VError, match="shapes"):
        pair_spearman(vectors, np.zeros(4))


def test_pair_spearman_samples_pairs_when_there_are_many():
    rng = np.random.default_rng(0)
    vectors, values = rng.normal(size=(300, 5)), rng.normal(size=300)
    i, j = sample_pairs(300, 1000, seed=1)
    assert len(i) == 1000 and (i < j).all()
    full = pair_spearman(vectors, values, max_pairs=None)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    a, b = np.triu_indices(300, 1)
    exact = stats.spearmanr(np.abs(values[a] - values[b]), 1 - (unit[a] * unit[b]).sum(1))[0]
    assert full == pytest.approx(exact, abs=1e-5)  # cosines in float32
    sampled = pair_spearman(vectors, values, max_pairs=5000, seed=1)
    assert sampled == pair_spearman(vectors, values, max_pairs=5000, seed=1)
    assert abs(sampled - full) < 0.05


def test_pair_spearman_chunked_cosines_match_the_gram_matrix(monkeypatch):
    import w2vcore.losses.valuevec.values as values_module

    rng = np.random.default_rng(2)
    vectors, values = rng.normal(size=(120, 6)), rng.normal(size=120)
    gram = pair_spearman(vectors, values)
    monkeypatch.setattr(values_module, "GRAM_MAX_WORDS", 10)
    monkeypatch.setattr(values_module, "PAIR_CHUNK", 1000)
    assert pair_spearman(vectors, values) == pytest.approx(gram, abs=1e-6)


def test_pc1_correlation_hand_case():
    # unit rows of (1, -1), (1, 0), (1, 1): centred, the x spread is 0.057 and the y spread 1,
    # so PC1 is the y axis with scores (-0.707, 0, 0.707). Against values (0, 1, 3):
    # cov = 3 * 0.707 / 3, r = 3 / sqrt(2 * 42 / 9) = 9 / sqrt(84)
    vectors = np.array([[1.0, -1.0], [1.0, 0.0], [1.0, 1.0]])
    assert abs(pc1_correlation(vectors, np.array([0.0, 1.0, 3.0]))) == pytest.approx(9 / math.sqrt(84))
    assert abs(pc1_correlation(_at(-80, -40, 0, 40, 80), np.arange(5.0))) > 0.99


def test_knn_predict_hand_case():
    train = _at(0, 10, 90, 100, 180)
    values = np.array([1.0, 3.0, 10.0, 20.0, 100.0])
    predicted = knn_predict(train, values, _at(5, 95, 175), k=2)
    np.testing.assert_allclose(predicted, [2.0, 15.0, (100.0 + 20.0) / 2])  # 175 deg: 180 and 100 are nearest
    np.testing.assert_allclose(knn_predict(train, values, _at(0), k=50), [values.mean()])  # k capped at n
    with pytest.raises(W2VError, match="query vectors"):
        knn_predict(train, values, np.zeros((2, 3)))


def test_value_scores_skips_unknown_words_and_refuses_too_few():
    kv = Vectors(["cold", "cool", "warm", "hot"], _at(0, 30, 120, 180))
    scores = value_scores(kv, {"cold": 0.0, "cool": 3.0, "warm": 12.0, "hot": 18.0, "lava": 1000.0})
    assert scores["pair_rho"] == pytest.approx(1.0) and scores["oov_ratio"] == pytest.approx(0.2)
    assert scores["n_used"] == 4 and scores["pc1_r"] > 0.9
    with pytest.raises(W2VError, match="only 2 of the 4 valued words are in the vocabulary"):
        value_scores(kv, {"cold": 0.0, "hot": 40.0, "lava": 1000.0, "ice": -5.0})


def test_ridge_probe_predicts_held_out_values_from_a_direction():
    """Values written along one direction of noisy vectors: the probe finds it for unseen rows."""
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, 300)
    vectors = rng.normal(size=(300, 12)) * 0.5 + 4.0 * values[:, None] * np.eye(12)[3]
    predicted = ridge_predict(vectors[:200], values[:200], vectors[200:])
    assert predicted.shape == (100,)
    assert rank_correlation(predicted, values[200:]) > 0.9
    noise = ridge_predict(rng.normal(size=(200, 12)), values[:200], rng.normal(size=(100, 12)))
    assert abs(rank_correlation(noise, values[200:])) < 0.3
    with pytest.raises(W2VError, match="query vectors must be"):
        ridge_predict(vectors[:200], values[:200], vectors[200:, :5])


def test_difference_spearman_hand_cases():
    v = np.array([0.0, 1.0, 3.0, 6.0])
    assert difference_spearman(v, v) == pytest.approx(1.0)
    assert difference_spearman(2 * v + 5, v) == pytest.approx(1.0)  # any increasing map of the differences
    assert difference_spearman(-v, v) == pytest.approx(1.0)  # |differences| ignore the direction
    assert difference_spearman(-v, v, signed=True) == pytest.approx(-1.0)
    i, j = np.triu_indices(4, 1)
    p = np.array([0.0, 2.0, 1.0, 6.0])
    expected = stats.spearmanr(np.abs(p[i] - p[j]), np.abs(v[i] - v[j]))[0]
    assert difference_spearman(p, v) == pytest.approx(expected)
    with pytest.raises(W2VError, match="same \\(n,\\) shape"):
        difference_spearman(v[:3], v)
    with pytest.raises(W2VError, match="finite"):
        difference_spearman(np.array([0.0, np.nan, 1.0, 2.0]), v)
