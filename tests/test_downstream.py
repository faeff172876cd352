"""The downstream classifier: labelled text sets, grouped splits, table init, training and ablation."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig, TrainConfig
from w2vcore.corpus import encode_corpus, prepare
from w2vcore.downstream import (ClassifierConfig, RowAdam, TextClassifier, ablate, build_table, compare_modes, evaluate,
                                fit_classifier, format_table, macro_f1)
from w2vcore.errors import W2VError
from w2vcore.textsets import from_labelled, load_brown_genres, load_csv, load_fasttext_labels
from w2vcore.train import train
from w2vcore.vectors import Vectors

TINY_W2V = dict(dim=16, epochs=1, batch_size=1024, device="cpu", threads=1, seed=3)


@pytest.fixture(scope="module")
def brown_dir(shared_data):
    return shared_data / "corpora" / "brown"


@pytest.fixture(scope="module")
def brown_small(brown_dir):
    """The first 4 windows of 100 tokens of each of the 500 files (~2,000 examples)."""
    return load_brown_genres(brown_dir, chunk_tokens=100, max_chunks_per_file=4)


@pytest.fixture(scope="module")
def brown_vectors(brown_dir, tmp_path_factory):
    """32-d vectors from two epochs over Brown (a few seconds)."""
    enc = encode_corpus(CorpusSource("brown", str(brown_dir)), TokenizerConfig(), tmp_path_factory.mktemp("cache"))
    return train(TrainConfig(**dict(TINY_W2V, dim=32, epochs=2)), prepare(enc, CorpusConfig())).vectors


def toy_set(n_per_class: int = 30, seed: int = 0):
    """Two classes told apart by their words ("sun"-words vs "rain"-words), with shared filler."""
    rng = np.random.default_rng(seed)
    words = {"sunny": ["sun", "bright", "warm", "dry"], "rainy": ["rain", "wet", "cloud", "cold"]}
    texts, labels = [], []
    for label, vocab in words.items():
        for _ in range(n_per_class):
            texts.append(" ".join(rng.choice(vocab + ["the", "day", "was", "a"], size=8)))
            labels.append(label)
    return from_labelled("toy", texts, labels)


def toy_vectors(dim: int = 6) -> Vectors:
    words = ["sun", "bright", "warm", "rain", "wet", "cold", "the", "day"]
    return Vectors(words, np.random.default_rng(1).normal(size=(len(words), dim)))


# ---------------------------------------------------------------- text sets
def test_brown_genres_windows_and_classes(brown_small):
    assert len(brown_small.classes) == 15
    counts = brown_small.class_counts()
    assert sum(counts.values()) == len(brown_small)
    assert counts["learned"] == 4 * 80 and counts["science_fiction"] == 4 * 6  # 80 and 6 files
    assert {len(d) for d in brown_small.docs} == {100}
    assert brown_small.docs[0][:4] == ("the", "fulton", "county", "grand")  # ca01, the default tokenizer


def test_brown_split_never_shares_a_file(brown_small):
    for seed in (0, 1):
        train_idx, test_idx = brown_small.split(0.2, seed)
        assert len(train_idx) + len(test_idx) == len(brown_small)
        assert not set(brown_small.groups[train_idx]) & set(brown_small.groups[test_idx])
        assert all(n > 0 for n in brown_small.class_counts(test_idx).values()), "a genre has no test file"
        n_test_files = len(set(brown_small.groups[test_idx].tolist()))
        assert 0.15 * 500 <= n_test_files <= 0.25 * 500


def test_pang_lee_polarity_has_labels():
    ts = load_fasttext_labels()
    assert ts.class_counts() == {"neg": 100, "pos": 100}
    assert len(set(ts.groups.tolist())) == len(ts)


def test_csv_loader_reads_and_validates(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text('text,label\n"Sunny, warm day",sun\nrain again,rain\n,rain\nwet and cold,rain\n')
    ts = load_csv(good)
    assert ts.class_counts() == {"rain": 2, "sun": 1}
    assert ts.docs[0] == ("sunny", "warm", "day") and any("skipped" in n for n in ts.notes)
    cases = {"empty.csv": "", "header.csv": "text,label\n", "one.csv": "text,label\na b,x\nc d,x\n",
             "nocol.csv": "sentence,label\na b,x\nc d,y\n", "nolabel.csv": "text,tag\na b,x\nc d,y\n"}
    for name, content in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(W2VError):
            load_csv(tmp_path / name)
    with pytest.raises(W2VError, match="cannot read"):
        load_csv(tmp_path / "missing.csv")


# ---------------------------------------------------------------- table and model
def test_pretrained_init_copies_the_known_vectors():
    ts, vectors = toy_set(), toy_vectors()
    key_to_index, table, coverage = build_table(ts.docs, vectors, ClassifierConfig(), torch.Generator().manual_seed(0))
    assert table.shape[1] == vectors.vector_size and torch.all(table[0] == 0)
    for word in vectors.index_to_key:
        assert torch.equal(table[key_to_index[word]], torch.from_numpy(np.array(vectors[word])))
    assert "dry" in key_to_index and "dry" not in vectors  # a training word unknown to the run gets a row
    assert coverage.n_known == 8 and coverage.n_types == 12  # "a", "was", "dry" and "cloud" are unknown
    assert 0 < coverage.token_share < 1


def test_no_shared_vocabulary_is_a_clear_error():
    vectors = Vectors(["zebra", "yak"], np.ones((2, 4)))
    with pytest.raises(W2VError, match="shares no word"):
        fit_classifier(toy_set().docs, toy_set().labels, 2, vectors, ClassifierConfig())
    with pytest.raises(W2VError, match="needs a run's vectors"):
        fit_classifier(toy_set().docs, toy_set().labels, 2, None, ClassifierConfig())


@pytest.mark.parametrize("init", ["pretrained", "random"])
def test_frozen_table_stays_unchanged_and_finetuned_moves(init):
    ts, vectors = toy_set(), toy_vectors()
    cfg = ClassifierConfig(init=init, epochs=3, seed=5)
    _, before, _ = build_table(ts.docs, vectors, cfg, torch.Generator().manual_seed(cfg.seed))
    frozen = fit_classifier(ts.docs, ts.labels, 2, vectors, cfg)
    assert torch.equal(frozen.model.table.detach(), before)
    assert frozen.losses[-1] < frozen.losses[0], "the linear layer did not learn"
    tuned = fit_classifier(ts.docs, ts.labels, 2, vectors, dataclasses.replace(cfg, finetune=True))
    assert not torch.equal(tuned.model.table.detach(), before)
    assert torch.all(tuned.model.table.detach()[0] == 0), "the padding row moved"


def test_fit_is_deterministic_for_a_seed():
    ts, vectors = toy_set(), toy_vectors()
    cfg = ClassifierConfig(finetune=True, pooling="attention", epochs=2, seed=7)
    a, b = (fit_classifier(ts.docs, ts.labels, 2, vectors, cfg) for _ in range(2))
    assert torch.equal(a.model.weight, b.model.weight) and torch.equal(a.model.table, b.model.table)
    c = fit_classifier(ts.docs, ts.labels, 2, vectors, dataclasses.replace(cfg, seed=8))
    assert not torch.equal(a.model.weight, c.model.weight)


def test_attention_with_zero_query_is_mean_pooling():
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(10, 4, generator=gen)
    table[0] = 0
    mean = TextClassifier(table.clone(), 3, "mean", torch.Generator().manual_seed(1))
    attn = TextClassifier(table.clone(), 3, "attention", torch.Generator().manual_seed(1))
    ids = torch.tensor([[1, 2, 3, 0], [4, 0, 0, 0], [0, 0, 0, 0]])
    torch.testing.assert_close(attn.pool(ids), mean.pool(ids))
    torch.testing.assert_close(mean.pool(ids)[1], table[4])
    assert torch.all(mean.pool(ids)[2] == 0)  # an example with no known word pools to zero


def test_row_adam_matches_torch_sparse_adam():
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(12, 5, generator=gen)
    reference = torch.nn.Parameter(table.clone())
    sparse_adam = torch.optim.SparseAdam([reference], lr=0.01)
    ours = RowAdam(table, lr=0.01)
    for rows in (torch.tensor([1, 4, 7]), torch.tensor([4, 9]), torch.tensor([0, 1, 4, 11])):
        grad = torch.randn(len(rows), 5, generator=gen)
        reference.grad = torch.sparse_coo_tensor(rows[None], grad, table.shape, check_invariants=True)
        sparse_adam.step()
        ours.step(rows, grad)
        torch.testing.assert_close(table, reference.detach(), rtol=1e-5, atol=1e-6)
    assert torch.equal(table[[2, 3]], reference.detach()[[2, 3]])  # never touched: unchanged


def test_macro_f1_matches_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, 200), rng.integers(0, 6, 200)
    assert macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-12)


def test_config_rejects_bad_settings():
    for bad in (dict(pooling="max"), dict(init="glove"), dict(epochs=0), dict(lr=float("nan")), dict(dim=2.5)):
        with pytest.raises(W2VError):
            ClassifierConfig(**bad)


# ---------------------------------------------------------------- learning on Brown
def test_brown_genres_learned_above_the_majority_baseline(brown_small, brown_vectors):
    """15 genres: chance is 1/15 and always guessing the biggest genre ('learned') ~16%."""
    score = evaluate(brown_small, brown_vectors, ClassifierConfig(epochs=6, seed=0), test_fraction=0.2, split_seed=0)
    assert score.coverage.token_share > 0.9
    assert 0.1 < score.majority_accuracy < 0.25
    assert score.accuracy > score.majority_accuracy + 0.08, score
    assert score.macro_f1 > 2 * max(score.majority_macro_f1, 1 / 15), score


def test_compare_modes_table(brown_small, brown_vectors):
    rows = compare_modes(brown_small, brown_vectors, ClassifierConfig(epochs=2), seeds=(0,))
    assert [r["mode"] for r in rows] == ["pretrained-frozen", "pretrained-finetuned", "random-frozen",
                                         "random-finetuned"]
    assert all(0 <= r["accuracy"] <= 1 and r["accuracy_std"] == 0 for r in rows)
    assert np.isnan(rows[2]["token_coverage"]) and rows[0]["token_coverage"] > 0.9
    assert "pretrained-frozen" in format_table(rows)


# ---------------------------------------------------------------- ablation
def test_ablation_trains_one_run_per_value(tmp_path):
    from gensim.test.utils import datapath

    enc = encode_corpus(CorpusSource("text", datapath("lee_background.cor")), TokenizerConfig(), tmp_path)
    data = prepare(enc, CorpusConfig(min_count=3))
    textset = load_fasttext_labels()
    base = TrainConfig(**dict(TINY_W2V, dim=8))
    seen = []
    rows = ablate(data, base, "window", [2, 4], textset, ClassifierConfig(epochs=2), seeds=(0, 1),
                  progress=lambda done, total: seen.append((done, total)))
    assert [r["window"] for r in rows] == [2, 4] and seen == [(1, 2), (2, 2)]
    assert all(r["train_seconds"] > 0 and 0 <= r["accuracy"] <= 1 for r in rows)
    for param, values in (("lr", [0.1]), ("dim", []), ("dim", [8, 8]), ("negative", [0])):
        with pytest.raises(W2VError):
            ablate(data, base, param, values, textset)
