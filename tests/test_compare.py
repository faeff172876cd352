"""Twin runs and the comparison of two embeddings: configs, bit-identical twins on a real corpus,
paired Spearman statistics, held-out Δρ against RSR.evaluate, and the comparison table."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from w2vcore.compare import (Comparison, heldout_rho, paired_spearman, shared_category_data, start_twins,
                             twin_configs)
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, RunConfig, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.evaldata import load_benchmarks
from w2vcore.human import HumanSimilarity, load_categories
from w2vcore.rsr import RSR
from w2vcore.runs import RunStore
from w2vcore.vectors import Vectors

WORDSIM = {"target": "wordsim", "pairs": 500, "heldout": 0.3}


def lee_config(*losses: LossSpec, name: str = "lee") -> RunConfig:
    from gensim.test.utils import datapath

    return RunConfig(name=name, corpus=CorpusConfig(source=CorpusSource("text", datapath("lee_background.cor")),
                                                    min_count=3),
                     train=TrainConfig(dim=24, epochs=1, batch_size=1024, device="cpu", threads=1, log_every_s=0.2,
                                       eval_every_s=1.0, losses=tuple(losses)))


# ------------------------------------------------------------------ twins
def test_twin_configs_differ_only_in_the_loss_weight():
    cfg = lee_config(LossSpec("rsr", 0.2, WORDSIM))
    vanilla, treated = twin_configs(cfg)
    assert treated.train == cfg.train and vanilla.train.losses == (LossSpec("rsr", 0.0, WORDSIM),)
    assert vanilla.corpus == cfg.corpus and vanilla.train.seed == cfg.train.seed
    assert {vanilla.name, treated.name} == {"lee-vanilla", "lee-rsr0.2"}
    for bad in (lee_config(), lee_config(LossSpec("rsr", 0.0, WORDSIM))):
        with pytest.raises(W2VError, match="needs the 'rsr' loss at a weight above 0"):
            twin_configs(bad)


@pytest.fixture(scope="module")
def twin_runs(tmp_path_factory):
    """A vanilla twin, its RSR run and a run without any loss, all trained on Lee with threads=1."""
    root = tmp_path_factory.mktemp("twins")
    store = RunStore(root / "runs", root / "cache")
    twins = start_twins(store, lee_config(LossSpec("rsr", 0.3, WORDSIM)), mode="thread")
    plain = store.create(lee_config(name="plain"))
    store.start(plain, mode="thread")
    for run_id in (twins.vanilla, twins.treated, plain):
        info = store.wait(run_id, timeout=300)
        assert info.status == "done", info.error
    return store, twins, plain


def test_vanilla_twin_is_bit_identical_to_a_run_without_the_loss(twin_runs):
    store, twins, plain = twin_runs
    assert twins.note == ""  # threads=1: reproducible
    vanilla, treated, alone = (store.load_vectors(i) for i in (twins.vanilla, twins.treated, plain))
    assert vanilla.index_to_key == alone.index_to_key
    np.testing.assert_array_equal(vanilla.vectors, alone.vectors)
    assert treated.index_to_key == vanilla.index_to_key and not np.array_equal(treated.vectors, vanilla.vectors)
    assert store.config(twins.vanilla).train.losses[0].weight == 0.0


def test_comparison_of_twin_runs(twin_runs):
    store, twins, _ = twin_runs
    comp = Comparison.from_runs(store, twins.vanilla, twins.treated, n_boot=200, n_overlap=300)
    assert comp.labels == ("lee-vanilla", "lee-rsr0.3")
    assert comp.categories.concepts[0] == "aardvark"  # no THINGS folder given: the packaged copy
    a, b = comp.a, comp.b
    evaluated = [comp.rsr.evaluate(v.vectors) for v in (a, b)]
    h = comp.human
    assert h["a"] == pytest.approx(evaluated[0]["rsr/rho_heldout"], abs=1e-6)
    assert h["b"] == pytest.approx(evaluated[1]["rsr/rho_heldout"], abs=1e-6)
    assert h["ci"][0] <= h["delta"] <= h["ci"][1]
    assert h["train"][1] > h["train"][0] + 0.2  # RSR fitted its training pairs
    bench = load_benchmarks()
    for name, r in comp.word_pairs.items():  # same vocabulary: the paired numbers are evaluate_word_pairs'
        assert r["a"] == pytest.approx(a.evaluate_word_pairs(bench.pairs[name]).spearman, abs=1e-9)
        assert r["b"] == pytest.approx(b.evaluate_word_pairs(bench.pairs[name]).spearman, abs=1e-9)
    rows = {r["metric"]: r for r in comp.table()}
    assert {"human rho, held-out pairs", "simlex999 Spearman", "analogies 3cosadd accuracy",
            "neighbour overlap Jaccard@10"} <= set(rows)
    overlap = rows["neighbour overlap Jaccard@10"]
    assert overlap["n"] == 300 and 0 < overlap["delta"] < 1
    table = comp.neighbour_table(["government", "zzzz"], k=3)
    assert [r["rank"] for r in table] == [1, 2, 3] and table[0]["word"] == "government"
    text = comp.markdown(["government", "zzzz"])
    assert "| human rho, held-out pairs |" in text and "**government**" in text
    assert "'zzzz' is not in both vocabularies" in text


# ------------------------------------------------------------------ statistics
def test_paired_spearman_weights_equal_repeated_items_and_ci_is_paired():
    rng = np.random.default_rng(0)
    human = rng.random(200)
    a = human + rng.normal(0, 0.5, 200)
    b = human + rng.normal(0, 0.3, 200)
    result = paired_spearman(a, b, np.round(human, 1), n_boot=300)  # rounded: ties in the human ranks
    assert result["a"] == pytest.approx(stats.spearmanr(a, np.round(human, 1))[0], abs=1e-12)
    assert result["delta"] > 0 and result["ci"][0] > 0  # b is clearly closer to human
    from w2vcore.compare import _groups, _spearman

    w = rng.integers(0, 4, 200).astype(float)
    expanded = stats.spearmanr(np.repeat(a, w.astype(int)), np.repeat(np.round(human, 1), w.astype(int)))[0]
    assert _spearman(_groups(a), _groups(np.round(human, 1)), w) == pytest.approx(expanded, abs=1e-12)
    same = paired_spearman(a, a, human, n_boot=50)
    assert same["delta"] == 0 and same["ci"] == (0, 0)
    with pytest.raises(W2VError, match="equally long"):
        paired_spearman(a, b[:-1], human)
    with pytest.raises(W2VError, match="finite"):
        paired_spearman(np.r_[a[:-1], np.nan], b, human)


def _toy(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    words = ["".join(chr(97 + (i // 26 ** k) % 26) for k in range(3)) for i in range(n)]
    return words, HumanSimilarity(tuple(words), matrix=(x @ x.T).astype(np.float32), source="toy"), x


def test_heldout_rho_is_rsr_evaluate_and_resamples_concepts():
    words, human, x = _toy()
    rng = np.random.default_rng(1)
    good = Vectors(words, np.hstack([x, 0.3 * rng.standard_normal((60, 5))]))
    bad = Vectors(words, rng.standard_normal((60, 8)))
    rsr = RSR(human, good.key_to_index, heldout=0.25)
    result = heldout_rho(rsr, bad, good, n_boot=300)
    assert result["a"] == pytest.approx(rsr.evaluate(bad.vectors)["rsr/rho_heldout"], abs=1e-6)
    assert result["b"] == pytest.approx(rsr.evaluate(good.vectors)["rsr/rho_heldout"], abs=1e-6)
    assert result["concepts"] == 15 and result["n"] == 15 * 14 // 2
    assert result["ci"][0] > 0.2  # good tracks the human matrix, random vectors do not
    other = Vectors(words[:-20] + [f"x{w}" for w in words[-20:]], bad.vectors)
    with pytest.raises(W2VError, match="missing from one of the vocabularies"):
        heldout_rho(rsr, other, good)


def test_shared_category_data_keeps_concepts_matched_in_both(shared_data):
    cats = load_categories(shared_data)
    words = ["cat", "dog", "car", "hammer", "apple", "banana", "chair", "table", "shirt", "horse", "boat", "bat"]
    rng = np.random.default_rng(0)
    a = Vectors(words, rng.standard_normal((len(words), 6)))
    b = Vectors(words[::-1] + ["piano"], rng.standard_normal((len(words) + 1, 6)))
    da, db = shared_category_data(a, b, cats)
    assert da.concepts == db.concepts and da.words == db.words and "piano" not in db.words
    np.testing.assert_array_equal(db.X[da.words.index("dog")], b["dog"])
    comp = Comparison(a, b, categories=cats, words=["cat", "unicorn"], folds=2, repeats=1, n_boot=20)
    scores = comp.category  # 12 concepts: only categories with 2+ members (animal: cat, dog, horse, bat) are scored
    assert scores.a.n_test == len(da.concepts) and "animal" in scores.a.names and "weapon" in scores.a.skipped
    assert [r["word"] for r in comp.neighbour_table()] == ["cat"] * 10
    assert any("'unicorn'" in note for note in comp.notes)
