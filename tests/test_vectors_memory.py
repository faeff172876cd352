"""Memory of vectors at rest: loading an entry costs about one matrix (np.load's own array is
kept, not copied), and the unit vectors add one more, without whole-matrix temporaries."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from w2vcore.embeddings import import_embedding
from w2vcore.runs import RunStore
from w2vcore.vectors import Vectors

ROWS, DIM = 50_000, 100


def peak_of(fn):
    """(result, peak bytes traced above the start) of calling `fn`."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    """A 50k x 100 imported entry (20 MB of float32) and the matrix it holds."""
    folder = tmp_path_factory.mktemp("mem")
    matrix = np.random.default_rng(0).standard_normal((ROWS, DIM)).astype(np.float32)
    Vectors([f"w{i}" for i in range(ROWS)], matrix).save_word2vec_format(folder / "big.bin", binary=True)
    store = RunStore(folder / "runs", folder / "cache")
    return store, import_embedding(store, folder / "big.bin"), matrix


def test_loading_an_entry_costs_about_one_matrix(entry):
    store, run_id, matrix = entry
    vectors, peak = peak_of(lambda: store.load_vectors(run_id))
    assert np.array_equal(vectors.vectors, matrix) and not vectors.vectors.flags.writeable
    assert peak < 1.4 * matrix.nbytes, f"peak {peak / 2**20:.1f} MB for a {matrix.nbytes / 2**20:.1f} MB matrix"


def test_unit_vectors_cost_one_matrix_more(entry):
    store, run_id, matrix = entry
    vectors = store.load_vectors(run_id)
    unit, peak = peak_of(vectors.get_normed_vectors)
    expected = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    assert np.allclose(unit, expected, atol=1e-6) and unit is vectors.get_normed_vectors()
    assert peak < 1.2 * matrix.nbytes, f"peak {peak / 2**20:.1f} MB for a {matrix.nbytes / 2**20:.1f} MB matrix"


def test_handing_over_keeps_the_array_and_copying_does_not():
    matrix = np.eye(3, dtype=np.float32)
    kept, copied = Vectors(["a", "b", "c"], matrix, copy=False), Vectors(["a", "b", "c"], matrix)
    assert kept.vectors is matrix and not matrix.flags.writeable
    assert not np.shares_memory(copied.vectors, matrix)
    as_float32 = Vectors(["a", "b", "c"], np.eye(3), copy=False)  # float64 in: converted, as before
    assert as_float32.vectors.dtype == np.float32
