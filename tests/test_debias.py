"""The debias loss plug-in and Bolukbasi's hard debias."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from w2vcore import losses as loss_registry
from w2vcore.config import LossSpec, TrainConfig
from w2vcore.errors import TrainingDiverged, W2VError
from w2vcore.losses import LossSetup
from w2vcore.losses.debias.bias import direct_bias, gender_direction, gender_subspace, pca_direction, pca_subspace
from w2vcore.losses.debias.biaslists import GenderLists, builtin_lists
from w2vcore.losses.debias.loss import HOLD_FLOOR, Debias, DebiasParams, hard_debias, make_debias, torch_direction
from w2vcore.train import train
from w2vcore.vectors import Vectors

from tablectx import TableContext
from trainkit import FAST as SHORT, Recorder

FAST = {**SHORT, "epochs": 3}  # the debias runs here train three epochs
LEE = {"vocab_top": 1000}  # on Lee the listed professions plus its 1,000 most frequent words


WORDS = ["she", "he", "woman", "man", "nurse", "doctor", "pilot", "table", "chair", "tree", "river", "king", "queen"]


def _debias(lists: GenderLists, words, exclude=(), **params) -> Debias:
    """A debias loss over `words` (a vocabulary in frequency order), `params` over `DebiasParams`' defaults."""
    return Debias(lists, words, params=DebiasParams(**params), exclude=exclude)


def _toy(dim: int = 6, seed: int = 0) -> tuple[GenderLists, torch.Tensor]:
    """Random vectors with a planted gender axis (coordinate 0) in the pairs and the professions."""
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(len(WORDS), dim))
    table[:4, 0] = [2, -2, 2, -2]
    table[4:7, 0] += [1.5, -1.0, -1.2]
    lists = GenderLists([("she", "he"), ("woman", "man")], ["nurse", "doctor", "pilot", "table", "chair", "tree"],
                        frozenset({"king", "queen"}), [("queen", "king")], "toy")
    return lists, torch.tensor(table, dtype=torch.float32)


# ----------------------------------------------------------------- registry
def test_debias_is_registered_with_its_parameters():
    info = {i.name: i for i in loss_registry.available()}["debias"]
    assert {"penalty", "direction", "lists", "vocab_top", "sample", "heldout", "every"} <= set(info.params)


@pytest.mark.parametrize("params, message", [
    ({"penalty": "l1"}, "penalty must be one of"),
    ({"direction": "frozen"}, "direction must be one of"),
    ({"sample": 1}, "sample must be between"),
    ({"heldout": "most"}, "heldout must be a number"),
    ({"lists": "/no/such.json"}, "not found"),
])
def test_bad_parameters_are_refused(lee_data, params, message):
    setup = LossSetup(vocab=lee_data.vocab, dim=8, device=torch.device("cpu"), seed=1)
    with pytest.raises(W2VError, match=message):
        make_debias(LossSpec("debias", 0.1, params), setup)


def test_unknown_words_and_missing_pairs():
    lists, _ = _toy()
    with pytest.raises(W2VError, match="none of the 6 neutral words is in the vocabulary: nurse, doctor"):
        _debias(lists, ["she", "he", "woman", "man", "sofa"])
    with pytest.raises(W2VError, match="none of the 2 definitional pairs .*she/he, woman/man"):
        _debias(lists, ["nurse", "doctor", "she"])
    loss = _debias(lists, ["she", "he", "nurse", "doctor", "sofa"], heldout=0.0)
    assert loss.missing_neutral == ("pilot", "table", "chair", "tree") and "unknown: pilot" in loss.summary
    assert loss.skipped_pairs == [("woman", "man")]
    with pytest.raises(W2VError, match="neutral words is empty"):
        GenderLists([("she", "he")], [], frozenset())


# ---------------------------------------------------------------- the loss
def test_torch_direction_matches_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    g, share = torch_direction(torch.tensor(a), torch.tensor(b))
    g_np, share_np = pca_direction(a, b)
    np.testing.assert_allclose(g.numpy(), g_np, atol=1e-10)
    assert float(share) == pytest.approx(share_np)


def test_projection_penalty_moves_only_neutral_words_and_only_along_g():
    lists, table = _toy()
    loss = _debias(lists, WORDS, heldout=0.0, vocab_top=len(WORDS), penalty="projection")
    assert set(loss.pool_ids.tolist()) == {4, 5, 6, 7, 8, 9, 10}  # not the pairs, not king/queen
    rows = table.clone().requires_grad_(True)
    value, metrics = loss.loss(TableContext(rows))
    value.backward()
    grad = rows.grad.numpy()
    assert not grad[[0, 1, 2, 3, 11, 12]].any()  # detached direction: definitional and specific rows untouched
    unit = torch.nn.functional.normalize(table, dim=1).numpy()
    g, _ = pca_direction(unit[[0, 2]], unit[[1, 3]])
    moved = grad[[4, 5, 6, 7, 8, 9, 10]]
    along = moved @ g
    np.testing.assert_allclose(moved, np.outer(along, g), atol=1e-6)  # nothing orthogonal to g
    assert float(metrics["debias/cos2"]) > 0 and 0 < float(metrics["debias/pc1_share"]) <= 1


def test_differentiable_direction_reaches_the_definitional_words():
    lists, table = _toy()
    for penalty in ("projection", "pairs"):
        loss = _debias(lists, WORDS, heldout=0.0, direction="differentiable", penalty=penalty)
        rows = table.clone().requires_grad_(True)
        loss.loss(TableContext(rows))[0].backward()
        assert rows.grad[:4].abs().sum() > 0


@pytest.mark.parametrize("penalty", ["projection", "pairs"])
def test_gradient_steps_remove_the_bias_and_keep_the_rest(penalty):
    lists, table = _toy()
    loss = _debias(lists, WORDS, heldout=0.0, penalty=penalty, vocab_top=0, scale=1.0)
    rows = table.clone().requires_grad_(True)
    before = loss.evaluate(table)
    for _ in range(200):  # plain SGD (torch.optim's first import costs seconds)
        rows.grad = None
        loss.loss(TableContext(rows))[0].backward()
        with torch.no_grad():
            rows -= 0.5 * rows.grad
    after = loss.evaluate(rows.detach())
    assert before["debias/direct_bias"] > 0.2 and after["debias/direct_bias"] < 0.1 * before["debias/direct_bias"]
    unit = torch.nn.functional.normalize(table, dim=1).numpy()
    g, _ = pca_direction(unit[[0, 2]], unit[[1, 3]])
    ids = [4, 5, 6, 7, 8, 9]
    orth = lambda m: m[ids] - np.outer(m[ids] @ g, g)  # noqa: E731
    if penalty == "projection":  # the component orthogonal to the (fixed) direction is kept exactly
        np.testing.assert_allclose(orth(rows.detach().numpy()), orth(table.numpy()), atol=1e-5)


def test_subspace_penalty_moves_neutral_words_only_inside_the_subspace():
    lists, table = _toy(dim=8)
    lists = GenderLists(lists.definitional, lists.neutral, lists.specific, [("queen", "king")], "toy")
    loss = _debias(lists, WORDS, heldout=0.0, vocab_top=len(WORDS), penalty="subspace", pair_set="all", k=0)
    rows = table.clone().requires_grad_(True)
    value, metrics = loss.loss(TableContext(rows))
    value.backward()
    grad = rows.grad.numpy()
    assert not grad[[0, 1, 2, 3, 11, 12]].any()  # pairs (definitional and equalize) untouched
    unit = torch.nn.functional.normalize(table, dim=1).numpy()
    pairs = [(0, 1), (2, 3), (12, 11)]
    basis, _ = pca_subspace(unit[[a for a, _ in pairs]], unit[[b for _, b in pairs]], k=0)
    assert len(basis) == 3 and float(metrics["debias/k"]) == 3  # three independent pairs
    moved = grad[[4, 5, 6, 7, 8, 9, 10]]
    # nothing outside the subspace, up to float32 rounding of gradients of size ~4 (an escape would be O(1))
    np.testing.assert_allclose(moved, (moved @ basis.T) @ basis, atol=1e-5 * np.abs(moved).max())
    inside = ((table[[4, 5, 6, 7, 8, 9, 10]].numpy() @ basis.T) ** 2).sum(1).mean()
    assert float(value.detach()) == pytest.approx(10.0 * inside, rel=1e-5)  # scale * mean |B w|^2
    assert 0 < float(metrics["debias/explained"]) <= 1 + 1e-6


def test_refresh_keeps_a_snapshot_of_the_directions():
    lists, table = _toy()
    moved = table.clone()
    moved[:4] = torch.roll(moved[:4], 1, dims=1)  # the pairs rotate between two steps
    grads = {}
    for refresh in (1, 5):
        loss = _debias(lists, WORDS, heldout=0.0, vocab_top=len(WORDS), penalty="subspace", k=1, refresh=refresh)
        loss.loss(TableContext(table))
        rows = moved.clone().requires_grad_(True)
        loss.loss(TableContext(rows))[0].backward()
        grads[refresh] = rows.grad[4].numpy()
    unit = torch.nn.functional.normalize(table, dim=1).numpy()
    g_old, _ = pca_direction(unit[[0, 2]], unit[[1, 3]])
    cos = abs(grads[5] @ g_old) / np.linalg.norm(grads[5])
    assert cos == pytest.approx(1.0, abs=1e-5)  # the snapshot's direction, not the rotated one
    assert abs(grads[1] @ g_old) / np.linalg.norm(grads[1]) < 0.99


def test_excluded_words_never_enter_the_loss():
    lists, table = _toy()
    loss = _debias(lists, WORDS, heldout=0.0, vocab_top=len(WORDS), exclude=["Nurse", "table", "unknown"])
    ids = set(loss.pool_ids.tolist())
    assert 4 not in ids and 7 not in ids and {5, 6, 8, 9, 10} <= ids
    assert sorted(loss.excluded_ids.tolist()) == [4, 7] and "2 excluded" in loss.summary
    with pytest.raises(W2VError, match="pair_set must be one of"):
        _debias(lists, WORDS, pair_set="some")
    with pytest.raises(W2VError, match="refresh must be between"):
        _debias(lists, WORDS, refresh=0)
    with pytest.raises(W2VError, match="schedule must be one of"):
        _debias(lists, WORDS, schedule="rising")


def test_hold_schedule_undoes_the_learning_rate_decay():
    lists, _ = _toy()
    hold, constant = _debias(lists, WORDS, schedule="hold"), _debias(lists, WORDS)
    for progress in (0.0, 0.3, 0.9):  # weight x lr stays at its start value
        assert hold.ramp(progress) * (1 - progress) == pytest.approx(1.0)
        assert constant.ramp(progress) == 1.0
    assert hold.ramp(1.0) == pytest.approx(1 / HOLD_FLOOR)  # bounded at the very end


def test_heldout_neutral_words_never_enter_the_loss():
    lists, table = _toy()
    loss = _debias(lists, WORDS, heldout=0.5, vocab_top=len(WORDS), seed=2)
    assert len(loss.heldout_ids) == 3 and set(loss.heldout_ids).isdisjoint(loss.pool_ids.tolist())
    assert set(_debias(lists, WORDS, heldout=0.5, seed=2).heldout_ids) == set(loss.heldout_ids)
    assert {"debias/penalty", "debias/direct_bias", "debias/direct_bias_heldout", "debias/pc1_share"} == set(
        loss.evaluate(table))


# ---------------------------------------------------------------- training
@pytest.fixture(scope="module")
def vanilla_lee(lee_data):
    return train(TrainConfig(**FAST), lee_data).vectors


@pytest.mark.parametrize("threads", [1, 2])
def test_short_debias_run_against_its_vanilla_twin(lee_data, vanilla_lee, threads):
    """The projection penalty falls far below its vanilla twin's, and so does the trained words' direct bias.

    With 2 threads the loss (autograd, no compiled path) runs on the side thread beside the kernel.

    Not asserted, because it does not hold on Lee: the held-out professions (never in the loss)
    end up *more* biased than in the vanilla run, and the pairs penalty ends higher than
    vanilla's (the definitional pairs drift apart); see docs/DEBIAS.md.
    """
    rec = Recorder()
    params = {**LEE, "penalty": "projection"}
    result = train(TrainConfig(**{**FAST, "threads": threads}, losses=(LossSpec("debias", 0.05, params),)),
                   lee_data, [rec])
    assert {"loss/sgns", "loss/debias", "loss/total", "debias/cos2", "debias/pc1_share"} <= set().union(*rec.steps)
    setup = LossSetup(vocab=lee_data.vocab, dim=FAST["dim"], device=torch.device("cpu"), seed=1)
    probe = make_debias(LossSpec("debias", 0.0, params), setup)  # the same lists and held-out split
    ours, vanilla = probe.evaluate(result.vectors.vectors), probe.evaluate(vanilla_lee.vectors)
    assert rec.epochs[-1]["debias/direct_bias"] == pytest.approx(ours["debias/direct_bias"], abs=1e-6)
    assert ours["debias/penalty"] < 0.2 * vanilla["debias/penalty"]
    assert ours["debias/direct_bias"] < 0.5 * vanilla["debias/direct_bias"]
    lists = builtin_lists()  # measured independently: the direction of the final vectors, the loss's words only
    trained = [lee_data.vocab.index_to_key[i] for i in probe.train_ids]
    g0, g1 = gender_direction(vanilla_lee, lists.definitional), gender_direction(result.vectors, lists.definitional)
    assert direct_bias(result.vectors, trained, g1).value < 0.5 * direct_bias(vanilla_lee, trained, g0).value


def test_subspace_hold_run_removes_every_component_from_the_trained_words(lee_data, vanilla_lee):
    params = {**LEE, "penalty": "subspace", "schedule": "hold", "sample": 4096, "scale": 100.0}
    result = train(TrainConfig(**FAST, losses=(LossSpec("debias", 0.05, params),)), lee_data)
    setup = LossSetup(vocab=lee_data.vocab, dim=FAST["dim"], device=torch.device("cpu"), seed=1)
    probe = make_debias(LossSpec("debias", 0.0, params), setup)
    trained = [lee_data.vocab.index_to_key[i] for i in probe.train_ids]
    lists = builtin_lists()

    def inside(vectors):  # mean |B w|^2 / |w|^2 of the trained words, B from the vectors' own pairs
        basis = gender_subspace(vectors, lists.definitional, k=0, explained=1.0).basis
        unit = vectors.get_normed_vectors()[[vectors.key_to_index[w] for w in trained]]
        return float(((unit @ basis.T) ** 2).sum(1).mean())

    assert inside(result.vectors) < 0.01 * inside(vanilla_lee)  # ~1e-6 of it measured; 0.03 with a constant weight


def test_diverging_vectors_are_reported():
    lists, table = _toy()
    table[0] = float("nan")
    for penalty in ("projection", "pairs"):
        with pytest.raises(TrainingDiverged, match="lower the weight or the scale"):
            _debias(lists, WORDS, penalty=penalty).loss(TableContext(table))


# ------------------------------------------------------------- hard debias
def test_hard_debias_neutralises_and_equalises(tmp_path):
    lists, table = _toy()
    lists = GenderLists(lists.definitional, lists.neutral, lists.specific, [("queen", "king"), ("she", "he")])
    before = Vectors(WORDS, table.numpy())
    after = hard_debias(before, lists)
    g = gender_direction(before, lists.definitional).vector
    unit = after.vectors
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-5)
    neutral = [after.key_to_index[w] for w in ("nurse", "doctor", "pilot", "table", "chair", "tree", "river")]
    np.testing.assert_allclose(unit[neutral] @ g, 0, atol=1e-5)  # no projection left
    for a, b in lists.equalize:  # symmetric: same part orthogonal to g, opposite parts along it
        ua, ub = after[a], after[b]
        np.testing.assert_allclose(ua - (ua @ g) * g, ub - (ub @ g) * g, atol=1e-5)
        assert ua @ g == pytest.approx(-(ub @ g), abs=1e-5) and ua @ g > 0
        for w in neutral:
            assert unit[w] @ ua == pytest.approx(unit[w] @ ub, abs=1e-5)
    np.testing.assert_allclose(after["woman"], before.get_vector("woman", norm=True), atol=1e-6)  # not touched
    # the export reuses Vectors: word1,word2,sim with an empty sim for an unknown word
    out = tmp_path / "pairs.csv"
    assert after.export_pair_similarities([("nurse", "she"), ("nurse", "he"), ("nurse", "zzz")], out) == 1
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["word1", "word2", "sim"] and rows[3][2] == ""
    assert float(rows[1][2]) == pytest.approx(float(rows[2][2]), abs=1e-5)  # she/he equalised


def test_hard_debias_on_a_subspace_neutralises_every_component_and_equalises():
    lists, table = _toy(dim=8)
    lists = GenderLists(lists.definitional, lists.neutral, lists.specific, [("queen", "king"), ("she", "he")])
    before = Vectors(WORDS, table.numpy())
    after = hard_debias(before, lists, k=0, pair_set="all")
    basis = gender_subspace(before, lists.definitional + lists.equalize, k=0).basis
    assert len(basis) == 3
    unit = after.vectors
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-5)
    neutral = [after.key_to_index[w] for w in ("nurse", "doctor", "pilot", "table", "chair", "tree", "river")]
    np.testing.assert_allclose(unit[neutral] @ basis.T, 0, atol=1e-5)  # no component left in the subspace
    for a, b in lists.equalize:
        ua, ub = after[a], after[b]
        np.testing.assert_allclose(ua - (ua @ basis.T) @ basis, ub - (ub @ basis.T) @ basis, atol=1e-5)
        np.testing.assert_allclose(ua @ basis.T, -(ub @ basis.T), atol=1e-5)  # opposite inside the subspace
        np.testing.assert_allclose(unit[neutral] @ ua, unit[neutral] @ ub, atol=1e-5)
    one = hard_debias(before, lists, k=1)  # k = 1 leaves the other components
    assert np.abs(one.vectors[neutral] @ basis[1:].T).max() > 0.05
    with pytest.raises(W2VError, match="pair_set must be one of"):
        hard_debias(before, lists, pair_set="some")


def test_hard_debias_without_equalize_keeps_pair_words():
    lists, table = _toy()
    before = Vectors(WORDS, table.numpy())
    after = hard_debias(before, lists, equalize=False)
    np.testing.assert_allclose(after["queen"], before.get_vector("queen", norm=True), atol=1e-6)
    with pytest.raises(W2VError, match="definitional pairs"):
        hard_debias(Vectors(["nurse", "table"], np.eye(2, dtype=np.float32)), lists)
