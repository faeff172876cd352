"""The over-training animation is honest: a frame shows only the structure its snapshot has."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.distance import pdist

from labui import analysis

N_WORDS, DIM, SHOWN = 3000, 100, np.arange(100)  # the app's default dim and number of words


def layout_r(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two 2-D layouts are: the correlation of their pairwise distances."""
    return float(np.corrcoef(pdist(a), pdist(b))[0, 1])


def trained(seed: int) -> np.ndarray:
    """Final vectors with structure: 10 clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(10, DIM)) * 3
    return centres[rng.integers(0, 10, N_WORDS)] + rng.normal(size=(N_WORDS, DIM))


@pytest.mark.parametrize("seed", range(5))
def test_the_random_start_borrows_nothing_from_the_final_map(seed):
    rng = np.random.default_rng(100 + seed)
    final, start = trained(seed), rng.normal(size=(N_WORDS, DIM))
    middle = 0.5 * final + 0.5 * start
    (f0, f_mid, f_end), how = analysis.trajectory([start, middle, final], SHOWN)
    assert abs(layout_r(f0, f_end)) < 0.15, "the random start looks like the final map"
    assert layout_r(f_mid, f_end) > 0.5, "a half-trained snapshot's structure should show"
    assert "other words" in how


def test_aligning_on_the_shown_words_would_fake_the_structure():
    """Why anchors: the old alignment (Procrustes on the shown words) makes noise look like the final map,
    so the test above can fail."""
    final, start = trained(0), np.random.default_rng(100).normal(size=(N_WORDS, DIM))
    unit = [m[SHOWN] / np.linalg.norm(m[SHOWN], axis=1, keepdims=True) for m in (start, final)]
    rotated = unit[0] @ orthogonal_procrustes(unit[0], unit[1])[0]
    plane = np.linalg.svd(unit[1] - unit[1].mean(0), full_matrices=False)[2][:2].T
    assert layout_r(rotated @ plane, unit[1] @ plane) > 0.4


def test_without_enough_other_words_the_snapshots_are_not_rotated():
    rng = np.random.default_rng(0)
    snaps = [rng.normal(size=(300, DIM)) for _ in range(2)]
    frames, how = analysis.trajectory(snaps, SHOWN)
    assert "not rotated" in how and len(frames) == 2 and frames[0].shape == (100, 2)
