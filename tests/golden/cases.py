"""The runs whose vectors pin the trainer's behaviour: each engine with each loss, one thread, on Lee.

`python tests/golden/cases.py` records them in `tests/golden/vectors.npz` (run it only when a change of
behaviour is intended, and say so in the commit). `tests/test_golden.py` trains them again and compares.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RECORD = HERE / "vectors.npz"
SAMPLE_ROWS = 64  # rows kept verbatim per case, for machines whose CPU rounds differently

TRAIN = dict(dim=32, epochs=1, batch_size=1024, log_every_s=0.05, eval_every_s=0.2, device="cpu", threads=1)
WORDSIM = {"target": "wordsim", "pairs": 500, "heldout": 0.3}
CASES = {
    "torch": dict(engine="torch"),
    "torch-adam": dict(engine="torch", optimizer="adam", lr=0.01),
    "numba": dict(engine="numba"),
    "numba-w5-n10": dict(engine="numba", window=5, negative=10),
    "torch-rsr": dict(engine="torch", losses=(("rsr", 0.1, WORDSIM),)),
    "numba-rsr": dict(engine="numba", losses=(("rsr", 0.1, WORDSIM),)),
    "numba-rsr-map": dict(engine="numba", losses=(("rsr", 0.1, {**WORDSIM, "metric": "gauge_only"}),)),
    "torch-debias": dict(engine="torch", losses=(("debias", 0.1, {"vocab_top": 1000}),)),
    "numba-debias": dict(engine="numba", losses=(("debias", 0.1, {"vocab_top": 1000}),)),
    "torch-valuevec": dict(engine="torch", losses=(("valuevec", 0.1, {"pairs": 1024}),)),
    "numba-valuevec": dict(engine="numba", losses=(("valuevec", 0.1, {"pairs": 1024}),)),
    "numba-valuevec-map": dict(engine="numba", losses=(("valuevec", 0.1, {"pairs": 1024, "map": 1.0}),)),
    "numba-all": dict(engine="numba", losses=(("rsr", 0.05, WORDSIM), ("debias", 0.05, {"vocab_top": 1000}),
                                              ("valuevec", 0.05, {"pairs": 1024}))),
}


def host() -> str:
    """The CPU the kernels were compiled for: bit-identity is promised only on the same one."""
    import llvmlite.binding as llvm
    import torch

    return f"{llvm.get_host_cpu_name()} {llvm.get_host_cpu_features().flatten()} torch {torch.__version__}"


def lee(cache_dir: Path):
    from gensim.test.utils import datapath

    from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig
    from w2vcore.corpus import encode_corpus, prepare

    enc = encode_corpus(CorpusSource("text", datapath("lee_background.cor")), TokenizerConfig(), cache_dir)
    return prepare(enc, CorpusConfig(min_count=3))


def run(case: str, data) -> np.ndarray:
    """The word vectors and context vectors of one case, stacked (2V, d) float32."""
    from w2vcore.config import LossSpec, TrainConfig
    from w2vcore.train import train

    opts = dict(CASES[case])
    losses = tuple(LossSpec(n, w, p) for n, w, p in opts.pop("losses", ()))
    result = train(TrainConfig(**{**TRAIN, **opts}, losses=losses), data)
    return np.concatenate([result.vectors.vectors, result.context_vectors]).astype(np.float32)


def sample_rows(n: int) -> np.ndarray:
    return np.linspace(0, n - 1, SAMPLE_ROWS).astype(np.int64)


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def main() -> None:
    import tempfile

    sys.path.insert(0, str(HERE.parents[1]))
    with tempfile.TemporaryDirectory() as tmp:
        data = lee(Path(tmp))
        out = {"host": np.array(host())}
        for case in CASES:
            vecs = run(case, data)
            out[f"{case}/sha256"] = np.array(digest(vecs))
            out[f"{case}/shape"] = np.array(vecs.shape)
            out[f"{case}/rows"] = vecs[sample_rows(len(vecs))]
            print(f"{case:20s} {vecs.shape} {digest(vecs)[:16]}")
    np.savez_compressed(RECORD, **out)


if __name__ == "__main__":
    main()
