"""Behaviour is pinned: each engine with each loss, one thread, trains the vectors recorded in tests/golden.

A refactor must leave them bit for bit the same on the machine that recorded them. On another CPU (the
kernels are compiled for the host, and float rounding can differ) the recorded sample rows must still agree
to 1e-4, which a change of behaviour (another random draw, another step size) breaks by orders of magnitude.
Re-record with `python tests/golden/cases.py` only for an intended change.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import cases  # noqa: E402

RECORD = np.load(cases.RECORD)


@pytest.fixture(scope="module")
def lee(tmp_path_factory):
    return cases.lee(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("case", list(cases.CASES))
def test_vectors_match_the_record(case, lee):
    assert f"{case}/sha256" in RECORD, f"{case} is not recorded: run python tests/golden/cases.py"
    vecs = cases.run(case, lee)
    assert vecs.shape == tuple(RECORD[f"{case}/shape"])
    if str(RECORD["host"]) == cases.host():
        assert cases.digest(vecs) == str(RECORD[f"{case}/sha256"]), f"{case}: the vectors changed"
    else:
        np.testing.assert_allclose(vecs[cases.sample_rows(len(vecs))], RECORD[f"{case}/rows"], rtol=0, atol=1e-4,
                                   err_msg=f"{case}: the vectors changed (recorded on another CPU: compared to 1e-4)")


def test_the_record_differs_between_cases():
    """Every case exercises something: no two record the same vectors."""
    digests = [str(RECORD[f"{case}/sha256"]) for case in cases.CASES]
    assert len(set(digests)) == len(digests)
