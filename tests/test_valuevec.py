"""ValueVec: the article's pairs, the faithful and fast trainers, and the `valuevec` loss plug-in."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from w2vcore import losses as loss_registry
from w2vcore.config import LossSpec, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.losses import LossSetup, build_losses
from w2vcore.losses.valuevec.loss import ValueVecLoss, ValueVecParams, make_valuevec
from w2vcore.losses.valuevec.trainers import ValueVecConfig, build_pairs, train_valuevec
from w2vcore.losses.valuevec.values import colour_spectrum, load_vader, pair_spearman
from w2vcore.train import Trainer, train

from tablectx import TableContext
from trainkit import FAST, Recorder
VALUES = [7.0, 0.0, 3.0, 1.0, 6.0, 2.0, 5.0, 4.0]  # word i has VALUES[i]: 0..7 shuffled, so normalised Δ = k / 7


# ------------------------------------------------------------------ pairs
def test_pairs_follow_the_article_on_a_hand_made_list():
    v = np.array(VALUES)
    p = build_pairs(v, window=2, negatives=3, seed=0)
    diff = np.abs(v[p.a] - v[p.b])  # in value units: sorted positions differ by the same amount here
    pos = p.positive
    # positives: the 2 neighbours either side in sorted order, both orders: 2 * (7 + 6) pairs
    assert pos.sum() == 26
    assert {(int(a), int(b)) for a, b in zip(p.a[pos], p.b[pos])} == \
        {(i, j) for i in range(8) for j in range(8) if 1 <= abs(VALUES[i] - VALUES[j]) <= 2}
    np.testing.assert_allclose(p.label[pos], np.maximum(0, 1 - (2 * diff[pos] / 7) ** 2), rtol=1e-6)
    # negatives: per word the furthest word, then 3 random ones at least ceil(25% of 8) = 2 positions away
    neg_a, neg_b, neg_d = p.a[~pos], p.b[~pos], diff[~pos]
    assert len(neg_a) == 8 * 4 and (np.bincount(neg_a, minlength=8) == 4).all()
    furthest = neg_b[:8]
    for word, other in zip(neg_a[:8], furthest):
        assert VALUES[other] == (0.0 if VALUES[word] >= 3.5 else 7.0)
    assert (neg_d[8:] >= 2).all()
    np.testing.assert_allclose(p.label[~pos], np.maximum(0, 1 - 3 * neg_d / 7), rtol=1e-6)
    assert (p.label[~pos][:8] == 0).all()  # the furthest word is at least half the range away


def test_random_negatives_cover_every_far_word_and_are_seeded():
    v = np.array(VALUES)
    many = build_pairs(v, window=1, negatives=400, seed=1)
    middle = VALUES.index(3.0)
    rand = ~many.positive & (many.a == middle)
    assert {VALUES[b] for b in many.b[rand]} == {0.0, 1.0, 5.0, 6.0, 7.0}  # every word >= 2 positions away
    big = np.random.default_rng(0).normal(size=40)
    q = build_pairs(big, window=3, negatives=6, seed=2)
    rank = np.argsort(np.argsort(big))
    assert (np.abs(rank[q.a] - rank[q.b])[~q.positive] >= 10).all()  # 25% of 40
    again, other = build_pairs(big, 3, 6, seed=2), build_pairs(big, 3, 6, seed=3)
    np.testing.assert_array_equal(q.b, again.b)
    assert not np.array_equal(q.b, other.b)
    with pytest.raises(W2VError, match="not all equal"):
        build_pairs(np.ones(5))


# --------------------------------------------------------------- trainers
@pytest.mark.parametrize("mode", ["faithful", "fast"])
def test_training_orders_a_small_colour_set(mode):
    colours = colour_spectrum(modifiers=["light", "deep"])
    result = train_valuevec(colours, ValueVecConfig(mode=mode, dim=8, seed=0))
    scores = result.scores()
    assert scores["pc1_r"] > 0.85 and scores["pair_rho"] > 0.8  # random vectors: about 0.2 and 0.0
    assert result.losses[-1] < result.losses[0] / 5
    assert result.stopped_early and len(result.losses) < 2000
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, rtol=1e-5)
    kv = result.to_vectors()
    assert kv.most_similar("green", topn=1)[0][0] in ("light_green", "deep_green")


def test_faithful_mode_is_seeded_and_stops_on_patience():
    colours = colour_spectrum(modifiers=["pale"], bases=["violet", "blue", "green", "yellow", "red"])
    seen = []
    a = train_valuevec(colours, ValueVecConfig(dim=4, seed=5, patience=5, min_delta=1e-3),
                       on_epoch=lambda epoch, loss: seen.append(loss))
    b = train_valuevec(colours, ValueVecConfig(dim=4, seed=5, patience=5, min_delta=1e-3))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert seen == a.losses and a.stopped_early
    best = int(np.argmin(a.losses))
    assert len(a.losses) - 1 - best <= 5
    never = train_valuevec(colours, ValueVecConfig(dim=4, seed=5, patience=0, epochs=40))
    assert len(never.losses) == 40 and not never.stopped_early


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "slow"}, "mode must be one of"),
    ({"dim": 0}, "dim must be at least 1"),
    ({"min_gap": 1.0}, "min_gap must be between"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"negatives": -1}, "negatives must be at least 0"),
    ({"epochs": 2.5}, "epochs must be a whole number"),
    ({"min_delta": float("nan")}, "min_delta must be a number"),
])
def test_bad_config_is_refused(kwargs, message):
    with pytest.raises(W2VError, match=message):
        ValueVecConfig(**kwargs)


def test_bad_values_are_refused_before_training():
    with pytest.raises(W2VError, match="NaN"):
        train_valuevec({"a": 1.0, "b": float("nan"), "c": 3.0})
    with pytest.raises(W2VError, match="same value"):
        train_valuevec({"a": 1.0, "b": 1.0, "c": 1.0})
    with pytest.raises(W2VError, match="no words"):
        train_valuevec({})


# ---------------------------------------------------------------- plug-in
def _loss(values, key_to_index, weight: float = 0.0, **params) -> ValueVecLoss:
    """A ValueVec loss, `params` over `ValueVecParams`' defaults (`map` for the map mode)."""
    return ValueVecLoss(values, key_to_index, params=ValueVecParams(**params), weight=weight)


def _toy(n: int = 60) -> tuple[dict[str, float], dict[str, int]]:
    words = [f"w{i}" for i in range(n)]
    values = dict(zip(words, np.random.default_rng(0).normal(size=n).tolist()))
    return values, {w: i + 5 for i, w in enumerate(words)}  # rows 0..4 are words without values


def test_loss_touches_only_training_words_and_its_gradient_fits_them():
    values, key_to_index = _toy()
    loss = _loss(values, key_to_index, pairs=300, heldout=0.25, seed=1)
    assert isinstance(loss, loss_registry.ExtraLoss)
    assert len(loss.heldout_words) == 15 and len(loss.train_words) == 45
    table = torch.randn(65, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    before = loss.evaluate(table.detach())
    ctx = TableContext(table)
    values_seen = []
    for _ in range(150):  # plain SGD (torch.optim's first step imports torch._dynamo: seconds)
        table.grad = None
        value, metrics = loss.loss(ctx)
        value.backward()
        with torch.no_grad():
            table -= 20.0 * table.grad
        values_seen.append(value.detach().item())
    train_rows = {key_to_index[w] for w in loss.train_words}
    assert set(torch.cat(ctx.gathered).tolist()) == train_rows  # held-out words never enter the loss
    assert np.mean(values_seen[-10:]) < 0.5 * np.mean(values_seen[:10])
    after = loss.evaluate(table.detach())
    assert after["valuevec/rho_train"] > before["valuevec/rho_train"] + 0.4
    assert {"valuevec/rho_heldout", "valuevec/pc1_heldout", "valuevec/knn_rho_heldout", "valuevec/pc1_train"} <= \
        set(after)
    assert "valuevec/mae" in metrics


def test_the_map_round_trips_through_state_dict():
    values, key_to_index = _toy()
    loss = _loss(values, key_to_index, map=1, map_lr=0.05, weight=1.0)
    assert _loss(values, key_to_index).state_dict() == {}
    loss.sgd_steps(torch.randn(65, 8), 0.1, 4, torch.Generator().manual_seed(0))
    fresh = _loss(values, key_to_index, map=1, map_lr=0.05, weight=1.0)
    fresh.load_state_dict(loss.state_dict())
    torch.testing.assert_close(fresh.output_map(), loss.output_map(), atol=0, rtol=0)
    table = torch.randn(65, 8, generator=torch.Generator().manual_seed(1))
    a, b = table.clone(), table.clone()
    loss.sgd_steps(a, 0.1, 2, torch.Generator().manual_seed(2))
    fresh.sgd_steps(b, 0.1, 2, torch.Generator().manual_seed(2))  # the Adam moments came along too
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    torch.testing.assert_close(fresh.output_map(), loss.output_map(), atol=0, rtol=0)


def test_compiled_path_falls_back_when_it_cannot_run():
    values, key_to_index = _toy()
    loss = _loss(values, key_to_index)
    assert loss.sgd_steps(torch.randn(65, 8, dtype=torch.float64), 0.1, 1, torch.Generator()) is None
    assert loss.sgd_steps(torch.randn(65, 8, requires_grad=True), 0.1, 1, torch.Generator()) is None


def test_a_learned_map_carries_the_value_to_held_out_words():
    """Vectors hold the value on a half circle in two of 16 noisy dimensions: M, fitted on training words
    only, brings it out for held-out words too (their pair rho on w @ M rises above that on w)."""
    rng = np.random.default_rng(0)
    n, d = 300, 16
    words = [f"w{i}" for i in range(n)]
    v = rng.uniform(0, 1, n)
    table = torch.from_numpy((rng.normal(size=(n, d)) + np.outer(np.cos(np.pi * v), np.eye(d)[0]) * 1.5
                              + np.outer(np.sin(np.pi * v), np.eye(d)[1]) * 1.5).astype(np.float32))
    loss = _loss(dict(zip(words, v.tolist())), {w: i for i, w in enumerate(words)}, pairs=1024,
                 map=2, map_lr=0.02, weight=1.0, heldout=0.3)
    before = table.clone()
    gen = torch.Generator().manual_seed(0)
    first, _ = loss.sgd_steps(table, 1.0, 10, gen)
    last, _ = loss.sgd_steps(table, 1.0, 290, gen)
    torch.testing.assert_close(table, before)  # map only: the rows are untouched
    assert float(last) / 290 < 0.8 * float(first) / 10  # about 0.21 -> 0.15
    held = np.array([words.index(w) for w in loss.heldout_words])
    raw = pair_spearman(table.numpy()[held], v[held])
    mapped = pair_spearman(table.numpy()[held] @ loss.output_map().numpy(), v[held])
    assert mapped > raw + 0.07, (raw, mapped)  # about 0.22 -> 0.33


def test_sampling_uses_the_context_generator():
    values, key_to_index = _toy()
    loss = _loss(values, key_to_index, pairs=100)
    table = torch.randn(65, 4)
    first, again, other = (loss.loss(TableContext(table, seed))[0] for seed in (3, 3, 4))
    assert float(first) == float(again) and float(first) != float(other)


def test_too_few_valued_words_in_the_vocabulary():
    values, _ = _toy(10)
    with pytest.raises(W2VError, match="only 2 of the 10 valued words are in the vocabulary"):
        _loss(values, {"w0": 0, "w1": 1, "other": 2})
    with pytest.raises(W2VError, match="same value"):
        _loss({"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}, {"a": 0, "b": 1, "c": 2, "d": 3})


def test_registered_with_parameters_and_refuses_bad_ones(lee_data):
    info = {i.name: i for i in loss_registry.available()}["valuevec"]
    assert info.params_type is ValueVecParams and info.params["map"].default == 0
    setup = LossSetup(vocab=lee_data.vocab, dim=8, device=torch.device("cpu"), seed=1)
    for params, message in (({"pairs": 10}, "pairs must be between"), ({"values": "nonsense"}, "neither 'vader'"),
                            ({"heldout": "half"}, "heldout must be a number")):
        with pytest.raises(W2VError, match=message):
            make_valuevec(LossSpec("valuevec", 0.1, params), setup)
    with pytest.raises(W2VError, match="map must be between 0 and 2"):
        make_valuevec(LossSpec("valuevec", 0.1, {"map": 3}), setup)
    assert build_losses((LossSpec("valuevec", 0.0, {"values": "nonsense"}),), setup) == []  # weight 0: never built


@pytest.fixture(scope="module")
def vanilla_lee(lee_data):
    return train(TrainConfig(**FAST), lee_data).vectors


def test_regulariser_lowers_its_loss_on_a_tiny_run(lee_data, vanilla_lee):
    """Its loss over all its training pairs ends far below the vanilla twin's; both are scored on one split."""
    spec = LossSpec("valuevec", 0.1, {"pairs": 1024})
    rec = Recorder()
    result = train(TrainConfig(**FAST, losses=(spec,)), lee_data, [rec])
    assert any("loss/valuevec" in m for m in rec.steps) and any("valuevec/mae" in m for m in rec.steps)
    final = rec.epochs[-1]
    assert {"valuevec/rho_heldout", "valuevec/rho_train", "valuevec/knn_rho_heldout", "eval/simlex999",
            "eval/wordsim353"} <= set(final)
    setup = LossSetup(vocab=lee_data.vocab, dim=FAST["dim"], device=torch.device("cpu"), seed=1)
    probe = make_valuevec(LossSpec("valuevec", 0.0, {"pairs": 100_000}), setup)  # the run's split, every pair
    assert set(probe.heldout_words) <= set(load_vader()) and len(probe.train_words) > 50
    full_loss = {name: float(probe.loss(TableContext(torch.from_numpy(np.array(kv.vectors))))[0])
                 for name, kv in (("valuevec", result.vectors), ("vanilla", vanilla_lee))}
    assert full_loss["valuevec"] < 0.5 * full_loss["vanilla"]
    ours, vanilla = probe.evaluate(result.vectors.vectors), probe.evaluate(vanilla_lee.vectors)
    assert final["valuevec/rho_train"] == pytest.approx(ours["valuevec/rho_train"], abs=1e-9)
    assert ours["valuevec/rho_train"] > vanilla["valuevec/rho_train"] + 0.3
    assert np.isfinite(ours["valuevec/rho_heldout"]) and np.isfinite(ours["eval/simlex999"])


@pytest.mark.parametrize("engine", ["numba", "torch"])
def test_compiled_path_runs_once_per_optimiser_step_in_training(lee_data, engine):
    """With CPU SGD the loss really runs once per due step (sgd_steps), not folded applications."""
    for every in (1, 3):
        spec = LossSpec("valuevec", 0.1, {"pairs": 256, "every": every, "benchmarks": 0})
        trainer = Trainer(TrainConfig(**FAST, engine=engine, losses=(spec,)), lee_data)
        steps = trainer.run().state.step
        assert trainer.losses[0].applied == steps // every > 0


def test_things_rating_as_the_target(lee_data, shared_data):
    setup = LossSetup(vocab=lee_data.vocab, dim=8, device=torch.device("cpu"), seed=1, data_dir=str(shared_data))
    loss = make_valuevec(LossSpec("valuevec", 0.1, {"values": "things:pleasant", "benchmarks": 0}), setup)
    assert len(loss.train_words) > 50 and len(loss.heldout_words) > 10
    assert all(w in lee_data.vocab for w in loss.train_words)
    metrics = loss.evaluate(torch.randn(len(lee_data.vocab), 8, generator=torch.Generator().manual_seed(0)))
    assert set(metrics) == {"valuevec/rho_heldout", "valuevec/rho_train", "valuevec/pc1_heldout",
                            "valuevec/pc1_train"} | {f"valuevec/{probe}_{kind}rho_heldout" for probe in ("knn", "ridge")
                                                     for kind in ("", "diff_", "signed_diff_")}
    assert abs(metrics["valuevec/rho_train"]) < 0.15  # random vectors know nothing of pleasantness
