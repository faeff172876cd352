"""Guards: every config field refuses bad values, preflight refuses runs that cannot work, NaN shows early."""
from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest
import torch

from w2vcore import preflight, train as train_module
from w2vcore.clock import Accumulator
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, RunConfig, TokenizerConfig, TrainConfig
from w2vcore.corpus import encode_corpus, prepare
from w2vcore.errors import TrainingDiverged, W2VError
from w2vcore.sources import iter_documents, read_phrases
from w2vcore.train import Trainer

CLASSES = (TokenizerConfig, CorpusSource, CorpusConfig, LossSpec, TrainConfig, RunConfig)
REQUIRED = {LossSpec: {"name": "rsr"}}


def _bad_values(kind) -> list:
    """Values of the wrong type (or not finite) for a field annotated `kind`."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is not None and type(None) in args:  # X | None: None is fine, the rest of X's bad values are not
        (inner,) = [a for a in args if a is not type(None)]
        return [v for v in _bad_values(inner) if v is not None]
    if kind is bool:
        return ["yes", 1, None]
    if kind is int:
        return ["x", 2.5, True, None, float("nan")]
    if kind is float:
        return ["0.1", True, None, float("nan"), float("inf"), -float("inf")]
    if kind is str:
        return [1, None, b"bytes", ["a"]]
    if origin is tuple:
        return ["abc", 3, [1.5]] if args[0] is not str else ["abc", 3, [1]]
    if origin is dict:
        return ["x", [1], {"a": float("nan")}, {1: 2}]
    if dataclasses.is_dataclass(kind):
        return ["x", 3, [], {"no_such_field": 1}]
    raise AssertionError(f"no bad values known for {kind}: extend this test")


CASES = [pytest.param(cls, f.name, bad, id=f"{cls.__name__}.{f.name}={bad!r}")
         for cls in CLASSES for f in dataclasses.fields(cls)
         for bad in _bad_values(typing.get_type_hints(cls)[f.name])]


@pytest.mark.parametrize("cls, name, bad", CASES)
def test_every_field_refuses_wrong_types_naming_the_field(cls, name, bad):
    with pytest.raises(W2VError, match=name):
        cls(**{**REQUIRED.get(cls, {}), name: bad})


RANGE_CASES = [
    (TokenizerConfig, "min_token_len", 0), (TokenizerConfig, "min_token_len", 10**6),
    (TokenizerConfig, "sentences", "word"), (TokenizerConfig, "letters", "latin"),
    (CorpusSource, "kind", "zip"), (CorpusSource, "path", "a\x00b"), (CorpusSource, "encoding", "ebcdic"),
    (CorpusConfig, "min_count", 0), (CorpusConfig, "max_vocab_size", 1), (CorpusConfig, "sample", -0.1),
    (CorpusConfig, "ns_exponent", 50.0), (CorpusConfig, "val_fraction", 0.95), (CorpusConfig, "split_seed", -1),
    (LossSpec, "name", ""), (LossSpec, "weight", 1.5), (LossSpec, "weight", -0.1),
    *[(TrainConfig, name, 0) for name in ("dim", "window", "negative", "epochs", "batch_size")],
    (TrainConfig, "lr", 0.0), (TrainConfig, "lr", 100.0), (TrainConfig, "min_lr_ratio", 2.0),
    (TrainConfig, "optimizer", "lbfgs"), (TrainConfig, "device", "tpu"), (TrainConfig, "engine", "jax"),
    (TrainConfig, "seed", -1), (TrainConfig, "seed", 2**70), (TrainConfig, "threads", -1),
    (TrainConfig, "threads", 10_000), (TrainConfig, "chunk_tokens", 1), (TrainConfig, "chunk_tokens", 10),
    (TrainConfig, "log_every_s", 0.0), (TrainConfig, "eval_every_s", -1.0), (TrainConfig, "checkpoint_every_s", 0.0),
    (TrainConfig, "early_stopping_patience", -1), (TrainConfig, "snapshots", -1), (TrainConfig, "snapshots", 101),
    (TrainConfig, "sync_every", 0), (TrainConfig, "sync_every", -5),
    (TrainConfig, "sync_mode", "max"), (TrainConfig, "sync_rows", "some"),
    (TrainConfig, "losses", (LossSpec("a", 0.6), LossSpec("b", 0.6))),
    (TrainConfig, "losses", (LossSpec("a", 0.1), LossSpec("a", 0.2))),
    (RunConfig, "data_dir", "x\x00"),
]


@pytest.mark.parametrize("cls, name, bad", RANGE_CASES, ids=[f"{c.__name__}.{n}={b!r}" for c, n, b in RANGE_CASES])
def test_every_field_refuses_out_of_range_values(cls, name, bad):
    with pytest.raises(W2VError):
        cls(**{**REQUIRED.get(cls, {}), name: bad})


def test_every_field_is_covered_by_the_range_cases():
    covered = {(cls, name) for cls, name, _ in RANGE_CASES}
    free = {(CorpusSource, "name"), (RunConfig, "name"), (TokenizerConfig, "lowercase"),
            (TokenizerConfig, "keep_digits"), (TokenizerConfig, "phrases"), (LossSpec, "params"),
            (CorpusConfig, "source"), (CorpusConfig, "tokenizer"), (RunConfig, "corpus"), (RunConfig, "train")}
    every = {(cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls)}
    assert every - covered - free == set(), "a field without a range case: add one (or list it as free)"


def test_numbers_are_normalised_and_round_trip_through_json():
    import json

    cfg = RunConfig(corpus=CorpusConfig(min_count=np.int64(3), sample=0, tokenizer={"phrases": ["ice cream"]}),
                    train=TrainConfig(lr=1, seed=np.uint32(7), losses=[{"name": "rsr", "weight": 0.1}]))
    assert type(cfg.corpus.min_count) is int and type(cfg.corpus.sample) is float and type(cfg.train.lr) is float
    assert cfg.corpus.tokenizer.phrases == ("ice cream",) and cfg.train.losses == (LossSpec("rsr", 0.1),)
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize("bad", [[], "run", 3, None, {"corpus": []}, {"corpus": {"source": "x"}},
                                 {"train": {"losses": "rsr"}}, {"train": {"dim": "100"}}, {"train": {"nope": 1}},
                                 {"unknown": 1}, {"train": {"losses": [{"weight": 0.1}]}}])
def test_from_dict_of_wrong_json_is_a_w2verror(bad):
    with pytest.raises(W2VError):
        RunConfig.from_dict(bad)


# ------------------------------------------------------------------ files
def test_phrases_file_checks(tmp_path):
    good = tmp_path / "p.txt"
    good.write_text("ice cream\n\n air conditioner \n", encoding="utf-8")
    assert read_phrases(good) == ["ice cream", "air conditioner"]
    with pytest.raises(W2VError, match="not found"):
        read_phrases(tmp_path / "missing.txt")
    with pytest.raises(W2VError, match="not a file"):
        read_phrases(tmp_path)
    (tmp_path / "bin").write_bytes(b"\x89PNG\x00\x00")
    with pytest.raises(W2VError, match="does not look like text"):
        read_phrases(tmp_path / "bin")
    (tmp_path / "latin").write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(W2VError, match="not valid UTF-8"):
        read_phrases(tmp_path / "latin")


def test_unreadable_corpus_file_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "c.txt"
    path.write_text("one two three\n")
    real_open = open

    def deny(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(W2VError, match="cannot read .*c.txt: permission denied"):
        list(iter_documents(CorpusSource("text", str(path))))


def test_cache_dir_that_is_a_file_is_a_clear_error(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("one two three\n")
    (tmp_path / "cache").write_text("not a folder")
    with pytest.raises(W2VError, match="is a file, not a folder"):
        encode_corpus(CorpusSource("text", str(corpus)), TokenizerConfig(), tmp_path / "cache")


# -------------------------------------------------------------- preflight
@pytest.fixture(scope="module")
def lee(tmp_path_factory):
    from gensim.test.utils import datapath

    cache = tmp_path_factory.mktemp("cache")
    source = CorpusSource("text", datapath("lee_background.cor"))
    return cache, source, prepare(encode_corpus(source, TokenizerConfig(), cache), CorpusConfig())


def lee_run(source, **train) -> RunConfig:
    return RunConfig(corpus=CorpusConfig(source=source), train=TrainConfig(**{"device": "cpu", **train}))


def test_validate_summarises_a_good_run(lee):
    cache, source, data = lee
    summary = preflight.validate(lee_run(source, dim=50), cache)
    assert summary.vocab_size == len(data.vocab) and summary.train_tokens == data.n_train_tokens
    assert summary.memory_bytes == preflight.estimate_memory(TrainConfig(dim=50, device="cpu"),
                                                             summary.vocab_size, summary.train_tokens)
    assert preflight.RUNTIME_BYTES < summary.memory_bytes < preflight.RUNTIME_BYTES + 2**30


@pytest.mark.parametrize("train, message", [
    (dict(dim=100_000), "more than the .* words of the vocabulary.*GB of memory"),
    (dict(dim=10**9), "needs about .* TB of memory .* lower dim to at most"),
    (dict(batch_size=10**8), "larger than the"),
    (dict(negative=100_000), "negative="),
    (dict(early_stopping_patience=1), "validation split"),
    (dict(engine="numba", optimizer="adam", lr=0.001), "numba engine"),
    (dict(losses=(LossSpec("nope", 0.1),)), "unknown loss 'nope'"),
])
def test_validate_refuses_runs_that_would_fail(lee, train, message):
    cache, source, _ = lee
    with pytest.raises(W2VError, match=message):
        preflight.validate(lee_run(source, **train), cache)


def test_memory_check_names_the_estimate_the_limit_and_what_to_lower(lee, monkeypatch):
    cache, source, data = lee
    cfg = lee_run(source, dim=1500)
    need = preflight.estimate_memory(cfg, len(data.vocab), data.n_train_tokens)
    half_way = preflight.RUNTIME_BYTES + (need - preflight.RUNTIME_BYTES) // 2  # a smaller dim would fit
    monkeypatch.setattr(preflight, "available_memory", lambda: int(half_way / preflight.MEMORY_SHARE))
    with pytest.raises(W2VError, match=r"needs about .* MB of memory .* but about .* MB is available.*lower dim"):
        preflight.check(cfg, data)
    monkeypatch.setattr(preflight, "available_memory", lambda: int(need / preflight.MEMORY_SHARE) + 1)
    preflight.check(cfg, data)


def test_memory_estimate_counts_what_grows_with_the_settings():
    base = TrainConfig(device="cpu")
    m = preflight.estimate_memory
    assert m(base, 10_000, 10**6) - m(base, 5_000, 10**6) >= 4 * 5_000 * 100 * 4  # tables + copies, per word
    assert m(dataclasses.replace(base, optimizer="adam", lr=0.001), 10_000, 10**6) > m(base, 10_000, 10**6) + \
        4 * 10_000 * 100 * 4  # Adam's moments
    torch_cfg = dataclasses.replace(base, engine="torch")
    assert m(dataclasses.replace(torch_cfg, batch_size=8192), 10_000, 10**6) > m(torch_cfg, 10_000, 10**6)


def test_disk_check(lee, monkeypatch, tmp_path):
    cache, source, data = lee

    class Tiny:
        free = 1000

    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: Tiny)
    with pytest.raises(W2VError, match="free"):
        preflight.check(lee_run(source, dim=50), data, tmp_path / "runs")


def test_single_word_sentences_have_no_pairs(tmp_path):
    corpus = tmp_path / "words.txt"
    corpus.write_text("".join(f"{w}\n" for w in ["alpha", "beta", "gamma", "delta"] * 50))
    cfg = RunConfig(corpus=CorpusConfig(source=CorpusSource("text", str(corpus)), min_count=1),
                    train=TrainConfig(batch_size=1, device="cpu"))
    with pytest.raises(W2VError, match="single word"):
        preflight.validate(cfg, tmp_path / "cache")


# -------------------------------------------------------------- divergence
def test_a_log_refuses_nan_vectors_even_when_the_loss_is_finite(lee):
    _, _, data = lee
    trainer = Trainer(TrainConfig(dim=16, batch_size=512, lr=0.025, device="cpu", threads=1, engine="torch"), data)
    trainer._acc = Accumulator(torch.device("cpu"))
    trainer._acc.add("loss/sgns", torch.tensor(2.0), 1)  # a finite loss: only the tables are wrong
    with torch.no_grad():
        trainer.engine.w_in[len(data.vocab) - 1] = float("nan")  # the rarest word, in the evenly spread probe
    with pytest.raises(TrainingDiverged, match=r"word vectors became NaN.*lr=0.025"):
        trainer._log(train_module.TrainState(total_words=1), 0.0, {})


@pytest.mark.parametrize("engine", ["torch", "numba"])
@pytest.mark.parametrize("value, message", [
    (float("nan"), r"became .*lr=0.025"),  # the loss or the vectors, whichever first
    (5e4, r"blew up \(a component of [0-9.]+e\+04\).*lr=0.025"),  # finite: the torch engine at lr 0.05 /
], ids=["nan", "blown"])                                               # window 10 reached 1e9 on Lee
def test_broken_vectors_stop_the_run_at_the_next_log(lee, engine, value, message):
    _, _, data = lee
    cfg = TrainConfig(dim=16, epochs=3, batch_size=512, lr=0.025, log_every_s=0.01, device="cpu", threads=1,
                      engine=engine, snapshots=0)
    trainer = Trainer(cfg, data)

    class Poison:
        logs_after = -1

        def on_step(self, st, metrics):
            if self.logs_after >= 0:
                self.logs_after += 1
                return
            with torch.no_grad():
                trainer.engine.w_in[5] = value  # a probed row: found at the next log whatever the batches touched
            self.logs_after = 0

    poison = Poison()
    trainer.callbacks.append(poison)
    with pytest.raises(TrainingDiverged, match=message):
        trainer.run()
    assert poison.logs_after == 0, "the next log must already refuse"


def test_zero_pair_logs_do_not_divide_by_zero():
    acc = Accumulator(torch.device("cpu"))
    acc.add("loss/sgns", torch.tensor(0.0), 0)
    acc.add("loss/other", torch.tensor(3.0), 2)
    assert acc.flush() == {"loss/other": 1.5}
