"""RSR's learned map fitted alone on finished vectors (w2vcore.mapfit)."""
from __future__ import annotations

import numpy as np
import pytest

from w2vcore.compare import Comparison, rsr_probe
from w2vcore.config import LossSpec, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.mapfit import MAP_DEFAULTS, fit_map
from w2vcore.train import train


@pytest.fixture(scope="module")
def lee_vectors(lee_data):
    cfg = TrainConfig(dim=32, epochs=3, batch_size=1024, threads=1, device="cpu", snapshots=0, log_every_s=60.0)
    return train(cfg, lee_data).vectors


@pytest.fixture(scope="module")
def fitted(lee_vectors):
    return fit_map(lee_vectors, {"heldout": 0.3}, steps=300, log_every=100)


def test_the_map_fits_training_concepts_and_leaves_the_vectors_as_they_were(lee_vectors, fitted):
    before = lee_vectors.vectors.copy()
    rsr = fitted.rsr
    m = rsr.output_map().numpy()
    assert np.array_equal(lee_vectors.vectors, before)
    np.testing.assert_allclose(fitted.vectors.vectors, before @ m, rtol=1e-5, atol=1e-5)
    assert fitted.vectors.index_to_key == lee_vectors.index_to_key
    raw, mapped = rsr.evaluate(lee_vectors.vectors), rsr.evaluate(fitted.vectors.vectors)
    assert mapped["rsr/rho_train"] > raw["rsr/rho_train"] + 0.05  # the fit: pairs of concepts it trained on
    assert [s for s, _ in fitted.curve] == [100, 200, 300]
    assert fitted.heldout_rho == pytest.approx(mapped["rsr/rho_heldout"], abs=1e-3)


def test_the_split_is_rsrs_own_and_does_not_depend_on_the_fit_seed(lee_vectors, fitted):
    probe = rsr_probe(lee_vectors, LossSpec("rsr", 0.0, {**MAP_DEFAULTS, "heldout": 0.3}))
    assert np.array_equal(probe.heldout_concepts, fitted.rsr.heldout_concepts)
    other = fit_map(lee_vectors, {"heldout": 0.3}, steps=50, seed=7)
    assert np.array_equal(other.rsr.heldout_concepts, fitted.rsr.heldout_concepts)
    assert not set(fitted.rsr.heldout_concepts) & set(fitted.rsr.train_concepts)


def test_the_fitted_map_is_scored_with_the_twin_scorecard(lee_vectors, fitted):
    card = Comparison(lee_vectors, fitted.vectors, ("run", "run + fitted map"), rsr=fitted.rsr, n_boot=200)
    rows = {r["metric"]: r for r in card.table()}
    held = rows["human rho, held-out pairs"]
    assert held["a"] == pytest.approx(fitted.rsr.evaluate(lee_vectors.vectors)["rsr/rho_heldout"], abs=1e-3)
    assert held["b"] == pytest.approx(fitted.heldout_rho, abs=1e-3)  # float64 vs float32 cosines


def test_bad_step_counts_are_refused(lee_vectors):
    with pytest.raises(W2VError, match="steps"):
        fit_map(lee_vectors, steps=0)
