"""Shared fixtures. Real data sets live in ../shared/data beside the clone (never in the repo)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # so plain `pytest` finds w2vcore too
SHARED_DATA = REPO.parent / "shared" / "data"
os.environ.setdefault("W2V_STANDBY", "0")  # no warm spare workers in page tests (tests that want one ask)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: the real data sets are needed for this test")
    return SHARED_DATA


@pytest.fixture(scope="session")
def lee_data(tmp_path_factory):
    """gensim's bundled Lee corpus (~60k tokens), min_count 3, no validation split: tiny loss runs."""
    from gensim.test.utils import datapath

    from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig
    from w2vcore.corpus import encode_corpus, prepare

    enc = encode_corpus(CorpusSource("text", datapath("lee_background.cor")), TokenizerConfig(),
                        tmp_path_factory.mktemp("lee"))
    return prepare(enc, CorpusConfig(min_count=3))
