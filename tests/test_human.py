"""Human-similarity targets: THINGS (SPoSE matrix, categories, alignment), word pairs, user files."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import io as sio

from w2vcore import things
from w2vcore.concepts import align_concepts
from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig
from w2vcore.corpus import encode_corpus, prepare
from w2vcore.errors import W2VError
from w2vcore.losses.rsr import human
from w2vcore.losses.rsr.human import HumanSimilarity
from w2vcore.things import concept_parts


@pytest.fixture(scope="session")
def things_matrix(shared_data, tmp_path_factory):
    return human.things_similarity(shared_data, tmp_path_factory.mktemp("spose-cache"))


@pytest.fixture(scope="session")
def brown_vocab(shared_data, tmp_path_factory):
    """Brown tokenised with the THINGS multi-word names joined (air conditioner -> air_conditioner)."""
    tok = TokenizerConfig(phrases=human.thing_phrases(shared_data))
    enc = encode_corpus(CorpusSource("brown", str(shared_data / "corpora" / "brown")), tok,
                        tmp_path_factory.mktemp("brown-phrases"))
    return prepare(enc, CorpusConfig()).vocab


# ------------------------------------------------------------------ THINGS
def test_spose_formula_on_a_small_embedding():
    x = np.random.default_rng(0).gamma(0.5, 0.5, size=(9, 4))
    e = np.exp(x @ x.T)
    expected = np.ones((9, 9))
    for i in range(9):
        for j in range(9):
            if i != j:
                expected[i, j] = np.mean([e[i, j] / (e[i, j] + e[i, k] + e[j, k]) for k in range(9) if k not in (i, j)])
    np.testing.assert_allclose(human.spose_similarity(x), expected, rtol=1e-5)


def test_spose_matrix_reproduces_the_published_statistics(things_matrix):
    s = things_matrix
    assert s.shape == (1854, 1854)
    assert s.min() == pytest.approx(0.052, abs=0.005)
    assert s.max() == pytest.approx(1.0, abs=1e-6)
    assert float(s.mean(dtype=np.float64)) == pytest.approx(0.334, abs=0.005)
    np.testing.assert_array_equal(s, s.T)
    np.testing.assert_array_equal(np.diag(s), 1.0)


def test_spose_matrix_is_cached(shared_data, tmp_path, monkeypatch):
    first = human.things_similarity(shared_data, tmp_path)
    assert len(list(tmp_path.glob("spose_similarity-*.npy"))) == 1

    def recompute(_):
        raise AssertionError("the cached matrix should have been read")

    monkeypatch.setattr(human, "spose_similarity", recompute)
    np.testing.assert_array_equal(human.things_similarity(shared_data, tmp_path), first)


def test_categories_27_columns_without_the_totals_row(shared_data):
    cats = things.load_categories(shared_data)
    assert cats.labels.shape == (1854, 27)
    assert cats.names[0] == "animal" and cats.names[-1] == "weapon"
    assert cats.concepts[0] == "aardvark" and cats.concepts[-1] == "zucchini"
    with open(shared_data / "things" / things.CATEGORIES_FILE, encoding="utf-8") as f:
        totals = list(csv.reader(f, delimiter="\t"))[-1]
    assert not totals[0].strip(), "the last row of the file is the totals row"
    np.testing.assert_array_equal(cats.labels.sum(0), [int(v) for v in totals[2:29]])
    assert cats.labels[cats.concepts.index("aardvark"), 0]  # an animal


def test_thing_phrases_are_the_multi_word_names(shared_data):
    phrases = human.thing_phrases(shared_data)
    assert {"air conditioner", "first aid kit", "t shirt", "hot air balloon"} <= set(phrases)
    assert all(len(p.split()) > 1 and not any(ch.isdigit() for ch in p) for p in phrases)


def test_things_ids_and_embedding_rows_agree(shared_data):
    ids = human.load_things_ids(shared_data)
    assert len(ids) == 1854 and "bat1" in ids and "air_conditioner" in ids
    assert human.load_spose_embedding(shared_data).shape == (1854, 49)
    assert human.find_things(shared_data) == shared_data / "things"
    assert human.find_things(shared_data / "things") == shared_data / "things"


# --------------------------------------------------------------- alignment
@pytest.mark.parametrize("name, parts", [
    ("bat1", ["bat"]), ("air_conditioner", ["air", "conditioner"]), ("T-shirt", ["t", "shirt"]),
    ("first-aid_kit", ["first", "aid", "kit"]), ("ice cream", ["ice", "cream"]),
])
def test_concept_parts(name, parts):
    assert concept_parts(name) == parts


def test_alignment_strategies_and_collisions_on_a_toy_vocabulary():
    vocab = {w: i for i, w in enumerate(["bat", "air_conditioner", "tree", "watering", "hotdog", "kit", "pump"])}
    names = ["bat1", "bat2", "air_conditioner", "apple_tree", "tree", "watering_can", "hot_dog",
             "first-aid_kit", "air_pump", "unicorn"]
    a = align_concepts(names, vocab)
    got = {names[c]: (vocab_word, s) for c, vocab_word, s in
           zip(a.concepts, [list(vocab)[w] for w in a.word_ids], a.strategies)}
    assert got == {"bat1": ("bat", "word"), "air_conditioner": ("air_conditioner", "phrase"),
                   "tree": ("tree", "word"), "watering_can": ("watering", "first"), "hot_dog": ("hotdog", "compound"),
                   "first-aid_kit": ("kit", "last"), "air_pump": ("pump", "last")}
    assert a.collisions == {"bat": ("bat1", "bat2"), "tree": ("tree", "apple_tree")}
    assert set(a.dropped) == {"bat2", "apple_tree"} and a.missing == ("unicorn",)
    assert a.counts == {"word": 2, "phrase": 1, "compound": 1, "last": 2, "first": 1, "missing": 1, "dropped": 2}
    assert len(set(a.word_ids.tolist())) == len(a.word_ids), "no two concepts share a vector"
    assert "bat: bat1, bat2" in a.summary()

    kept = align_concepts(names, vocab, collisions="keep")
    assert len(kept.concepts) == 9 and kept.counts["dropped"] == 0 and kept.collisions == a.collisions
    exact = align_concepts(names, vocab, fallbacks=False)
    assert set(exact.strategies) == {"word", "phrase"} and "hot_dog" in exact.missing
    with pytest.raises(W2VError, match="collisions"):
        align_concepts(names, vocab, collisions="merge")


def test_alignment_counts_on_brown_with_things_phrases(shared_data, brown_vocab):
    ids = human.load_things_ids(shared_data)
    a = align_concepts(ids, brown_vocab.key_to_index)
    # Brown (min_count=5) knows few THINGS concepts; multi-word names come through as MWE tokens
    assert a.counts == {"word": 576, "phrase": 5, "compound": 0, "last": 52, "first": 18,
                        "missing": 986, "dropped": 217}
    assert sum(a.counts.values()) == len(ids)
    assert "station_wagon" in {brown_vocab.index_to_key[w] for w, s in zip(a.word_ids, a.strategies)
                               if s == "phrase"}
    assert len(set(a.word_ids.tolist())) == len(a.word_ids)
    assert a.collisions["bat"] == ("bat1", "bat2", "baseball_bat") and "bat2" in a.dropped  # word before last part
    assert all(len(c) > 1 for c in a.collisions.values())
    assert sum(len(c) - 1 for c in a.collisions.values()) == len(a.dropped)


# --------------------------------------------------------------- word pairs
def test_wordsim_default_target_works_offline():
    sims = human.load_wordsim()  # gensim's bundled SimLex-999 + WordSim-353
    assert sims.kind == "pairs" and len(sims.pairs) > 1200
    assert 0 < sims.scores.min() and sims.scores.max() < 1  # percentile ranks within each benchmark
    assert all(w == w.lower() for w in sims.words)


def test_pair_file(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("word1,word2,score\ncat,dog,8\ncat,car,1\ndog,car,2\ncar,cat,1\n")
    sims = human.load_target(str(path))
    assert sims.kind == "pairs" and len(sims.pairs) == 3 and set(sims.words) == {"cat", "dog", "car"}


# ------------------------------------------------------------ user matrices
WORDS = ["cat", "dog", "car", "bus"]


def _matrix():
    m = np.array([[1, .8, .1, .2], [.8, 1, .2, .1], [.1, .2, 1, .7], [.2, .1, .7, 1]])
    return m


def test_matrix_files_in_every_format(tmp_path):
    m = _matrix()
    np.save(tmp_path / "s.npy", m)
    (tmp_path / "s.npy.words.txt").write_text("\n".join(WORDS))
    sio.savemat(tmp_path / "s.mat", {"sim": m, "words": np.array(WORDS, dtype=object)})
    with open(tmp_path / "s.csv", "w", newline="") as f:
        csv.writer(f).writerows([WORDS] + m.tolist())
    (tmp_path / "list.txt").write_text("\n".join(WORDS) + "\n")
    for name in ("s.npy", "s.mat", "s.csv"):
        sims = human.load_target(str(tmp_path / name))
        assert sims.kind == "matrix" and sims.words == tuple(WORDS), name
        np.testing.assert_allclose(sims.matrix, m)
    assert human.load_matrix(tmp_path / "s.npy", tmp_path / "list.txt").words == tuple(WORDS)


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, dict):
        sio.savemat(path, content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize("name, content, words, message", [
    ("nan.npy", np.where(np.eye(4, dtype=bool), np.nan, _matrix()), WORDS, "NaN or infinite, the first at row 0"),
    ("wide.npy", np.ones((4, 5)), WORDS, "must be square"),
    ("flat.npy", np.ones(4), WORDS, "must be square"),
    ("empty.npy", np.zeros((0, 0)), [], "at least 3"),
    ("asym.npy", _matrix() + np.triu(np.full((4, 4), 0.1), 1), WORDS, "not symmetric"),
    ("short.npy", _matrix(), WORDS[:3], "3 words for a 4 x 4 matrix"),
    ("twice.npy", _matrix(), ["cat", "dog", "cat", "bus"], "appears twice"),
    ("nowords.npy", _matrix(), None, "say which word each row is"),
    ("empty.csv", "", WORDS, "empty"),
    ("ragged.csv", "1,0.5,0.2\n0.5,1\n0.2,0.3,1\n", WORDS[:3], "different lengths"),
    ("text.csv", "cat,dog,car\n1,x,0\n", None, "not a numeric matrix"),
    ("two.mat", {"a": np.eye(3), "b": np.eye(3)}, WORDS[:3], "exactly one numeric 2-D variable"),
    ("sim.json", "{}", WORDS, "must be .npy, .csv or .mat"),
])
def test_bad_matrices_are_refused_with_a_message(tmp_path, name, content, words, message):
    path = _write(tmp_path, name, content)
    with pytest.raises(W2VError, match=message):
        human.load_matrix(path, words)


@pytest.mark.parametrize("content, message", [
    ("", "no word pairs"),
    ("word1,word2,score\n", "no word pairs"),
    ("cat,dog,nan\n", "finite number"),
    ("cat,dog,1\ncat,car,high\n", "not a number"),
    ("cat,dog\n", "expected word1, word2 and a score"),
    ("cat,dog,1\ncat,cat,5\ndog,car,2\n", "compares 'cat' with itself"),
    ("cat,dog,1\ndog,cat,5\ndog,car,2\n", "rated twice"),
    ("cat,dog,1\ncat,car,2\n", "at least 3 different pairs"),
])
def test_bad_pair_files_are_refused_with_a_message(tmp_path, content, message):
    path = _write(tmp_path, "pairs.csv", content)
    with pytest.raises(W2VError, match=message):
        human.load_pairs(path)


def test_unknown_targets_and_things_without_a_folder(tmp_path):
    with pytest.raises(W2VError, match="neither"):
        human.load_target("nonsense")
    # no THINGS files in the folder (or no folder): the packaged copy, not an error
    assert human.find_things(tmp_path) is None
    assert human.load_things(tmp_path, tmp_path).source == "THINGS (SPoSE 49-d, packaged)"
    assert human.load_target("things", None, tmp_path).kind == "matrix"
    assert human.load_target("auto", tmp_path, tmp_path).kind == "matrix"


def test_human_similarity_validates_pair_lists():
    with pytest.raises(W2VError, match="two different words"):
        HumanSimilarity(("a", "b", "c"), pairs=np.array([[0, 0], [0, 1], [1, 2]]), scores=np.ones(3))
    with pytest.raises(W2VError, match="either a matrix or a list of pairs"):
        HumanSimilarity(("a", "b", "c"))
