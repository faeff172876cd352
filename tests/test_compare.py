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
from w2vcore.losses.rsr.human import HumanSimilarity
from w2vcore.things import load_categories
from w2vcore.losses.rsr.loss import RSR, RSRParams
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
    from w2vcore.compare.stats import _groups, _spearman

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
    rsr = RSR(human, good.key_to_index, params=RSRParams(heldout=0.25))
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


# ------------------------------------------------------------------ power, scorecard, sweeps
from types import SimpleNamespace  # noqa: E402

from w2vcore.compare import Power, Scorecard, aggregate, power, rsr_probe, sweep_table  # noqa: E402


@pytest.fixture(scope="module")
def builtin_vocabs(tmp_path_factory):
    """Vocabularies (min_count 5, THINGS phrases joined) of the built-in corpus and, when ../shared/data
    is there, of Brown and of Brown + built-in (word counts added: the vocabulary of both concatenated)."""
    from w2vcore import things
    from w2vcore.config import TokenizerConfig
    from w2vcore.corpus import build_vocab, encode_corpus
    from tests.conftest import SHARED_DATA

    cache = tmp_path_factory.mktemp("power")
    tok = TokenizerConfig(phrases=things.load(None).phrases())
    builtin = encode_corpus(CorpusSource("default"), tok, cache)
    out = {"builtin": build_vocab(builtin, 5, None).key_to_index}
    if (SHARED_DATA / "corpora" / "brown").is_dir():
        brown = encode_corpus(CorpusSource("brown", str(SHARED_DATA / "corpora" / "brown")), tok, cache)
        out["brown"] = build_vocab(brown, 5, None).key_to_index
        counts = {}
        for enc in (builtin, brown):
            for word, count in zip(enc.words, enc.counts.tolist()):
                counts[word] = counts.get(word, 0) + count
        both = sorted((w for w, c in counts.items() if c >= 5), key=lambda w: (-counts[w], w))
        out["both"] = {w: i for i, w in enumerate(both)}
    return out


def test_power_on_the_builtin_corpus_is_the_issues_numbers_and_rsrs_split(builtin_vocabs):
    k2i = builtin_vocabs["builtin"]
    p = power(k2i)
    assert 375 <= p.aligned <= 390 and 72 <= len(p.heldout_concepts) <= 80 and 3 <= len(p.categories) <= 5
    assert p.underpowered and len(p.reasons) == 2 and "need 200" in p.reasons[0] and "need 10" in p.reasons[1]
    assert len(p.categories) + len(p.skipped) == 27 and "underpowered" in p.summary()
    words = sorted(k2i, key=k2i.get)
    probe = rsr_probe(Vectors(words, np.random.default_rng(0).standard_normal((len(words), 4))),
                      LossSpec("rsr", 0.0, {"target": "things", "heldout": 0.2, "seed": 0}))
    assert list(p.heldout_concepts) == [probe.human.words[c] for c in probe.heldout_concepts]
    assert set(p.test_concepts) == set(p.heldout_concepts)  # THINGS names both: the tested concepts are the held-out
    other = power(k2i, split_seed=1)
    assert other.aligned == p.aligned and other.heldout_concepts != p.heldout_concepts
    assert len(power(k2i, heldout=0.4).heldout_concepts) == round(0.4 * p.aligned)


def test_power_grows_with_brown(builtin_vocabs, shared_data):
    sizes = {k: power(v) for k, v in builtin_vocabs.items()}
    assert sizes["builtin"].aligned < sizes["brown"].aligned < sizes["both"].aligned
    assert len(sizes["both"].test_concepts) > len(sizes["builtin"].test_concepts)
    assert len(sizes["both"].categories) > len(sizes["builtin"].categories)


def test_aggregate_is_a_t_interval_over_seeds_or_the_runs_own_ci():
    deltas = [-0.21, -0.12, -0.19]
    r = aggregate(deltas, [None] * 3, level=0.95)
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(deltas), scale=stats.sem(deltas))
    assert r["delta"] == pytest.approx(np.mean(deltas)) and (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    assert r["n_seeds"] == 3 and r["interval"] == "t-interval over 3 seeds"
    one = aggregate([0.05], [(0.01, 0.09)])
    assert (one["delta"], one["ci_low"], one["ci_high"]) == (0.05, 0.01, 0.09) and "bootstrap" in one["interval"]
    assert aggregate([0.3], [None])["ci_low"] is None
    with pytest.raises(W2VError):
        aggregate([])


def _fake(f1, notebook, rho, simlex):
    """A stand-in `Comparison` with per-seed Δs (Δ, CI) of each part."""
    seed = (SimpleNamespace(mean=0.5), SimpleNamespace(mean=0.5 + notebook))
    return SimpleNamespace(category=SimpleNamespace(delta=f1[0], delta_ci=f1[1]), category_seed=seed,
                           human={"delta": rho[0], "ci": rho[1]}, labels=("v", "t"),
                           word_pairs={"simlex999": {"delta": simlex[0], "ci": simlex[1]}}, rsr=None)


POWERED = Power(800, (), tuple("abc"), tuple(f"c{i}" for i in range(300)), tuple(f"k{i}" for i in range(12)), {}, 5,
                False, [])


def test_verdict_wording_for_transfer_no_transfer_and_no_change():
    ci = (-0.01, 0.01)
    cards = {
        "down": {("rsr-rows", s): _fake((d, ci), 0.4, (0.0, ci), (0.0, ci)) for s, d in ((1, -0.2), (2, -0.16), (3, -0.18))},
        "up": {("rsr-map", s): _fake((d, ci), 0.1, (d, ci), (-d, ci)) for s, d in ((1, 0.04), (2, 0.05), (3, 0.06))},
        "flat": {("rsr-rows", s): _fake((d, ci), d, (0.0, ci), (0.0, ci)) for s, d in ((1, -0.05), (2, 0.06))},
    }
    down = Scorecard(cards["down"], POWERED).verdict()
    assert down[0].startswith("RSR per-row, on concepts it never saw: category F1 changed by −0.180 [")
    assert down[0].endswith(": no transfer.")
    assert "on the notebook's split, which tests concepts RSR was trained on: F1 rose by +0.400" in down[1]
    assert down[1].endswith("that is the fit, not generalisation.")
    assert down[-1].startswith("Intervals are 95% t-intervals over the per-seed Δs of 3 seeds (1, 2, 3)")
    up = Scorecard(cards["up"], POWERED).verdict()
    assert up[0] == "RSR learned map, on concepts it never saw: category F1 rose by +0.050 [+0.025, +0.075]: it transfers."
    assert up[2].endswith(": it transfers.") and up[3].endswith("it costs SimLex-999.")
    flat = Scorecard(cards["flat"], POWERED).verdict()
    assert flat[0].endswith(": no detectable change.") and "no detectable change, even on the concepts it fitted" in flat[1]
    one = Scorecard({("rsr-rows", 4): _fake((0.05, (0.01, 0.09)), 0.2, (0.0, ci), (0.0, ci))}, POWERED)
    assert one.verdict()[0].endswith("+0.050 [+0.010, +0.090]: it transfers.")
    assert "paired bootstrap CIs of one run per arm (seed 4)" in one.verdict()[-1]
    rows = one.chart_rows()
    assert rows[0] == {"arm": "rsr-rows", "metric": "f1_unseen", "label": rows[0]["label"], "delta": 0.05,
                       "ci_low": 0.01, "ci_high": 0.09, "n_seeds": 1}
    assert [r["metric"] for r in rows] == ["f1_unseen", "f1_notebook", "rho_heldout", "simlex999"]


def test_an_underpowered_verdict_says_so_first():
    weak = Power(382, (), tuple("abc"), tuple("abc"), ("food",), {}, 5, True,
                 ["only 76 concepts RSR never saw can be tested (need 200)", "only 4 of 27 categories can be scored "
                                                                           "(need 10)"])
    card = Scorecard({("rsr-rows", 1): _fake((-0.17, (-0.3, -0.02)), 0.4, (0.0, (-0.01, 0.01)), (0.0, (-0.1, 0.1)))},
                     weak)
    verdict = card.verdict()
    assert verdict[0].startswith("Underpowered: only 76 concepts RSR never saw can be tested (need 200); only 4 of 27")
    assert "weak evidence" in verdict[0] and verdict[1].endswith("no transfer.")
    assert card.markdown().startswith("Underpowered:") and "| RSR per-row |" in card.markdown()


@pytest.fixture(scope="module")
def flagship_runs(tmp_path_factory):
    """The three-run preset on Lee (dim 16, 1 epoch) with seeds 1 and 2: six thread-mode runs."""
    from gensim.test.utils import datapath

    from w2vcore.presets import flagship_configs

    root = tmp_path_factory.mktemp("flagship")
    store = RunStore(root / "runs", root / "cache")
    base = RunConfig(name="lee", corpus=CorpusConfig(source=CorpusSource("text", datapath("lee_background.cor")),
                                                     min_count=3),
                     train=TrainConfig(dim=16, epochs=1, batch_size=1024, device="cpu", threads=1, log_every_s=0.5,
                                       snapshots=0))
    ids = [store.create(cfg) for cfg in flagship_configs(base, seeds=(1, 2))]
    for run_id in ids:
        store.start(run_id, mode="thread")
    for run_id in ids:
        info = store.wait(run_id, timeout=600)
        assert info.status == "done", info.error
    return store, ids


def test_scorecard_of_tiny_flagship_runs(flagship_runs):
    store, ids = flagship_runs
    card = Scorecard.from_runs(store, ids, n_boot=100, n_overlap=100)
    assert set(card.comparisons) == {("rsr-rows", 1), ("rsr-rows", 2), ("rsr-map", 1), ("rsr-map", 2)}
    verdict = card.verdict()
    assert verdict[0].startswith("Underpowered:") and card.power.aligned > 50  # Lee is far too small
    assert any(v.startswith("RSR per-row, human similarity on held-out concepts: ρ") for v in verdict)
    # measured, or said not to be (Lee's few held-out concepts may leave no category scorable)
    assert any(v.startswith("RSR learned map, on concepts it never saw: category F1 ") for v in verdict)
    rows = card.chart_rows()
    assert {r["arm"] for r in rows} == {"rsr-rows", "rsr-map"} and all(r["n_seeds"] == 2 for r in rows)
    assert {"rho_heldout", "simlex999", "wordsim353"} <= {r["metric"] for r in rows}
    seen, held = card.seen_concepts("rsr-rows"), card.heldout_words()
    assert seen and held and not seen & held and card.seen_concepts("vanilla") == set()
    assert seen == card.seen_concepts("rsr-map")  # one split for both arms and both seeds
    assert "| RSR learned map | human ρ on held-out concept pairs |" in card.markdown()
    with pytest.raises(W2VError, match="both vanilla with seed 1"):
        Scorecard.from_runs(store, ids + [store.create(store.config(ids[0]))])  # a second vanilla s1


def test_sweep_table_of_tiny_runs(flagship_runs):
    store, ids = flagship_runs
    names = {store.config(i).name: i for i in ids}
    sweep = [names[n] for n in ("lee-vanilla-s1", "lee-vanilla-s2", "lee-rsr-rows-s1", "lee-rsr-rows-s2")]
    rows = sweep_table(store, sweep, n_boot=100)
    by = {(r["alpha"], r["metric"]): r for r in rows}
    assert by[(0.0, "rho_heldout")]["n_seeds"] == 2 and by[(0.1, "rho_heldout")]["n_seeds"] == 2
    assert by[(0.0, "f1_unseen")]["mean"] == 0.0  # the baseline
    f1 = by[(0.1, "f1_unseen")]  # Lee's few held-out concepts: scored with a CI, or said why not
    assert (f1["mean"] is None and f1["note"]) or (f1["n_seeds"] == 2 and f1["ci_low"] <= f1["mean"] <= f1["ci_high"])
    logged = [r["rsr/rho_heldout"] for r in store.metrics(names["lee-rsr-rows-s1"]) if r.get("kind") == "epoch"][-1]
    v = store.load_vectors(names["lee-rsr-rows-s2"])
    probe = rsr_probe(v, store.config(names["lee-rsr-rows-s2"]).train.losses[0])
    both = [logged, probe.evaluate(v.vectors)["rsr/rho_heldout"]]
    assert by[(0.1, "rho_heldout")]["mean"] == pytest.approx(np.mean(both), abs=1e-6)
    lo, hi = by[(0.1, "simlex999")]["ci_low"], by[(0.1, "simlex999")]["ci_high"]
    assert lo <= by[(0.1, "simlex999")]["mean"] <= hi
    with pytest.raises(W2VError, match="must be the same apart from the weight"):
        sweep_table(store, sweep + [names["lee-rsr-map-s1"]])
