"""The SGNS engine and training loop: sampling maths, learning, control and extra losses."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch
from scipy import stats

from w2vcore import losses as loss_registry
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig
from w2vcore.corpus import encode_corpus, prepare
from w2vcore import config, engines
from w2vcore.engines import numba_spans
from w2vcore.engines.driver import StepReport, Streams, TablesDriver
from w2vcore.errors import TrainingDiverged, W2VError
from w2vcore.engines.sgns_torch import NoiseSampler, TorchSGD, alias_table, init_tables, make_pairs
from w2vcore import train as train_module
from w2vcore.train import train

from trainkit import FAST as SHORT, Recorder, stopped_run

FAST = {**SHORT, "eval_every_s": 1.0, "engine": "torch"}  # this file trains with torch, evaluating once a second
both_engines = pytest.mark.parametrize("engine", ["torch", "numba"])


@pytest.fixture(scope="session")
def lee_data(tmp_path_factory):
    """gensim's bundled Lee corpus (~60k tokens, 300 documents), with a 10% validation split."""
    from gensim.test.utils import datapath

    enc = encode_corpus(CorpusSource("text", datapath("lee_background.cor")), TokenizerConfig(),
                        tmp_path_factory.mktemp("cache"))
    return prepare(enc, CorpusConfig(min_count=3, val_fraction=0.1))


# ---------------------------------------------------------------- sampling maths
def test_pairs_never_cross_sentences_and_respect_window():
    gen = torch.Generator().manual_seed(0)
    lens = torch.tensor([7, 1, 12, 3, 9] * 40)
    sent_of = torch.repeat_interleave(torch.arange(len(lens)), lens)
    ids = sent_of.clone()  # every token's id is its sentence number
    pos = torch.arange(len(ids))
    window = 4
    # encode positions into ids so each pair tells us both sentences and distance
    centre, context = make_pairs(pos, lens, torch.ones(len(ids)), window, gen, shuffle=False)
    assert len(centre) > 0
    assert torch.equal(sent_of[centre], sent_of[context]), "a context crossed a sentence boundary"
    dist = (centre - context).abs()
    assert dist.min() >= 1 and dist.max() <= window


def test_reduced_window_distance_distribution():
    """word2vec's reduced window: P(distance = k) is proportional to window - k + 1."""
    gen = torch.Generator().manual_seed(1)
    n, window = 200_000, 5
    pos = torch.arange(n)
    centre, context = make_pairs(pos, torch.tensor([n]), torch.ones(n), window, gen, shuffle=False)
    observed = torch.bincount((centre - context).abs(), minlength=window + 1)[1:].numpy()
    weights = np.arange(window, 0, -1, dtype=float)
    expected = weights / weights.sum() * observed.sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_subsampling_keeps_words_at_their_keep_probability():
    gen = torch.Generator().manual_seed(2)
    n = 100_000
    ids = torch.randint(0, 2, (n,))
    keep = torch.tensor([0.25, 1.0])
    centre, _ = make_pairs(ids, torch.tensor([n]), keep, 1, gen)
    # each kept interior token is the centre of 2 pairs with window 1
    kept0 = (centre == 0).sum().item() / 2
    assert kept0 / (ids == 0).sum().item() == pytest.approx(0.25, abs=0.01)


def test_alias_table_is_exact():
    p = np.random.default_rng(0).pareto(1.0, 5000) + 1e-9
    accept, alias = alias_table(p)
    implied = accept / len(p)
    np.add.at(implied, alias, (1 - accept) / len(p))
    np.testing.assert_allclose(implied, p / p.sum(), rtol=1e-9)


def test_negatives_follow_unigram_075_chi_square():
    counts = np.array([5000, 2000, 900, 400, 120, 60, 25, 9, 5, 1], dtype=float)
    noise = counts ** 0.75 / (counts ** 0.75).sum()
    sampler = NoiseSampler(noise, torch.device("cpu"))
    draws = sampler.sample((200_000,), torch.Generator().manual_seed(3)).numpy()
    observed = np.bincount(draws, minlength=len(counts))
    assert stats.chisquare(observed, noise * draws.size).pvalue > 1e-3
    # and they are clearly not raw unigram frequencies
    assert stats.chisquare(observed, counts / counts.sum() * draws.size).pvalue < 1e-12


def test_sgd_step_matches_autograd():
    """The hand-written SGNS gradient equals autograd's on the summed loss."""
    torch.manual_seed(0)
    w_in, w_out = torch.randn(20, 8) * 0.3, torch.randn(20, 8) * 0.3
    centre, context = torch.tensor([1, 2, 2, 5]), torch.tensor([3, 4, 7, 1])
    neg = torch.tensor([[6, 7], [8, 9], [1, 3], [0, 2]])
    a, b = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    targets = torch.cat([context[:, None], neg], 1)
    scores = (b[targets] * a[centre][:, None, :]).sum(-1)
    loss = -(torch.nn.functional.logsigmoid(scores[:, 0]).sum() + torch.nn.functional.logsigmoid(-scores[:, 1:]).sum())
    loss.backward()
    eng = TorchSGD(w_in.clone(), w_out.clone())
    out = eng.step(centre, context, neg, lr=0.1, scale=1.0)
    assert out.item() == pytest.approx(loss.item(), rel=1e-5)
    torch.testing.assert_close(eng.w_in, w_in - 0.1 * a.grad)
    torch.testing.assert_close(eng.w_out, w_out - 0.1 * b.grad)


# ------------------------------------------------------------------- learning
@both_engines
def test_loss_falls_on_a_real_corpus(lee_data, engine):
    rec = Recorder()
    train(TrainConfig(**{**FAST, "epochs": 3, "engine": engine}), lee_data, [rec])
    sgns = [m["loss/sgns"] for m in rec.steps]
    assert sgns[-1] < sgns[0] - 0.5, sgns
    val = [m["loss/val"] for m in rec.epochs]
    assert val[-1] < val[0], val
    for m in rec.steps:  # per-step values, not a running tally
        assert all(isinstance(v, float) for v in m.values())
    assert 0 < rec.steps[-1]["lr"] < rec.steps[0]["lr"]  # linear decay


def test_adam_option_learns(lee_data):
    rec = Recorder()
    train(TrainConfig(**{**FAST, "epochs": 2, "optimizer": "adam", "lr": 0.005}), lee_data, [rec])
    assert rec.epochs[-1]["loss/val"] < rec.epochs[0]["loss/val"] + 1e-6
    assert rec.steps[-1]["loss/sgns"] < rec.steps[0]["loss/sgns"] - 0.5


@both_engines
def test_same_seed_same_vectors(lee_data, engine):
    fast = {**FAST, "engine": engine}
    a = train(TrainConfig(**fast, seed=7), lee_data).vectors.vectors
    b = train(TrainConfig(**fast, seed=7), lee_data).vectors.vectors
    c = train(TrainConfig(**fast, seed=8), lee_data).vectors.vectors
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.fixture(scope="session")
def brown_vectors(shared_data, tmp_path_factory):
    enc = encode_corpus(CorpusSource("brown", str(shared_data / "corpora" / "brown")), TokenizerConfig(),
                        tmp_path_factory.mktemp("brown-cache"))
    data = prepare(enc, CorpusConfig())
    return train(TrainConfig(epochs=3, device="cpu", seed=1), data).vectors


@pytest.mark.parametrize("word, family", [
    ("monday", {"tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}),
    ("april", {"january", "february", "march", "may", "june", "july", "august", "september", "october",
               "november", "december"}),
    ("five", {"two", "three", "four", "six", "seven", "eight", "nine", "ten", "twenty"}),
])
def test_brown_neighbours_make_sense(brown_vectors, word, family):
    top = {w for w, _ in brown_vectors.most_similar(word, topn=10)}
    assert top & family, f"{word}: {sorted(top)}"


# --------------------------------------------------------------------- control
@both_engines
def test_stop_signal_ends_the_run_with_vectors_and_checkpoint(lee_data, engine):
    stop = threading.Event()

    class StopAfterFirstLog(Recorder):
        def on_step(self, st, m):
            super().on_step(st, m)
            stop.set()

    rec = StopAfterFirstLog()
    result = train(TrainConfig(**{**FAST, "epochs": 50, "engine": engine}), lee_data, [rec], stop=stop)
    assert result.state.status == "stopped"
    assert result.state.progress < 0.5
    assert rec.ended is result and len(result.vectors) == len(lee_data.vocab)
    assert rec.checkpoints and rec.checkpoints[-1]["epoch"] == result.state.epoch


@both_engines
def test_resume_from_epoch_checkpoint_is_exact(lee_data, engine):
    cfg = TrainConfig(**{**FAST, "epochs": 2, "engine": engine})
    full = train(cfg, lee_data).vectors.vectors
    first, rec = stopped_run(cfg, lee_data, epochs=1)
    assert first.state.status == "stopped" and first.state.epoch == 1
    resumed = train(cfg, lee_data, resume=rec.checkpoints[-1])
    assert resumed.state.status == "done"
    np.testing.assert_allclose(resumed.vectors.vectors, full, atol=1e-6)


@both_engines
def test_resume_mid_chunk_is_exact(lee_data, engine, monkeypatch):
    monkeypatch.setattr(numba_spans, "KERNEL_MIN_SPAN", 500)
    monkeypatch.setattr(numba_spans, "KERNEL_MIN_SPAN_PLAIN", 500)
    cfg = TrainConfig(**{**FAST, "epochs": 2, "chunk_tokens": 5000, "batch_size": 256, "engine": engine,
                         "log_every_s": 1e-9})
    full = train(cfg, lee_data).vectors.vectors
    first, rec = stopped_run(cfg, lee_data, steps=5, inside=lambda st: st.batch > 0)  # the next step sees it
    ck = rec.checkpoints[-1]
    assert first.state.status == "stopped" and ck["batch"] > 0, "the stop should land inside a chunk"
    resumed = train(cfg, lee_data, resume=ck)
    np.testing.assert_allclose(resumed.vectors.vectors, full, atol=1e-6)


def test_divergence_stops_with_a_message(lee_data, monkeypatch):
    original = TorchSGD.step

    def poisoned(self, *args):
        return original(self, *args) * float("nan")

    monkeypatch.setattr(TorchSGD, "step", poisoned)
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        train(TrainConfig(**FAST), lee_data)


def test_early_stopping_needs_validation_split(lee_data, tmp_path):
    from gensim.test.utils import datapath

    enc = encode_corpus(CorpusSource("text", datapath("lee_background.cor")), TokenizerConfig(), tmp_path)
    no_val = prepare(enc, CorpusConfig(min_count=3))
    with pytest.raises(W2VError, match="validation split"):
        train(TrainConfig(**FAST, early_stopping_patience=1), no_val)


def test_early_stopping_stops_when_val_loss_stalls(lee_data):
    # a tiny learning rate barely moves the validation loss, so patience 1 ends the run early
    result = train(TrainConfig(**{**FAST, "epochs": 20, "lr": 1e-7, "early_stopping_patience": 1}), lee_data)
    assert result.state.status == "early_stopped"
    assert result.state.epoch < 20


@pytest.mark.parametrize("change, message", [
    (dict(batch_size=10_000_000), "larger than"),
    (dict(negative=100_000), "negative="),
])
def test_sizes_that_do_not_fit_the_corpus(lee_data, change, message):
    with pytest.raises(W2VError, match=message):
        train(TrainConfig(**{**FAST, **change}), lee_data)


# ---------------------------------------------------------------- extra losses
class PullTogether(loss_registry.LossBase):
    """A real (if simple) extra loss: half the squared distance between two word vectors."""

    every = 1

    def __init__(self, spec, setup):
        self.name, self.weight = spec.name, spec.weight
        self.ids = torch.tensor([setup.vocab.key_to_index[w] for w in spec.params["words"].split()],
                                device=setup.device)

    def loss(self, ctx):
        a, b = ctx.gather(self.ids)
        dist2 = ((a - b) ** 2).sum()
        return dist2 / 2, {"pull/dist": dist2.detach().sqrt()}

    def evaluate(self, vectors):
        a, b = vectors[self.ids]
        return {"pull/dist_eval": (a - b).norm().item()}


@pytest.fixture
def pull_loss(monkeypatch):
    monkeypatch.setitem(loss_registry.REGISTRY, "pull", loss_registry.LossInfo(
        "pull", "pull two words together", PullTogether, {"words": loss_registry.Param("")}))
    return "pull"


def _dist(vectors, a, b):
    return float(np.linalg.norm(vectors[a] - vectors[b]))


@pytest.mark.parametrize("engine, optimizer, lr", [("torch", "sgd", 0.025), ("numba", "sgd", 0.025),
                                                   ("torch", "adam", 0.005)])
def test_extra_loss_at_weight_zero_is_vanilla(lee_data, pull_loss, engine, optimizer, lr):
    base = dict(FAST, optimizer=optimizer, lr=lr, engine=engine)
    vanilla = train(TrainConfig(**base), lee_data).vectors.vectors
    zero = train(TrainConfig(**base, losses=(LossSpec(pull_loss, 0.0, {"words": "government fire"}),)),
                 lee_data).vectors.vectors
    np.testing.assert_array_equal(vanilla, zero)


@pytest.fixture(scope="module")
def vanilla_runs(lee_data):
    """engine -> the final vectors of FAST's vanilla run, trained once per module."""
    runs = {}

    def get(engine: str) -> np.ndarray:
        if engine not in runs:
            runs[engine] = train(TrainConfig(**{**FAST, "engine": engine}), lee_data).vectors.vectors
        return runs[engine]

    return get


@pytest.mark.parametrize("name", [info.name for info in loss_registry.available()])
@both_engines
def test_a_registered_loss_at_weight_zero_only_evaluates(lee_data, vanilla_runs, name, engine):
    """At weight 0 a loss is built evaluation-only: the run is bit for bit the run without it (threads=1),
    its own generator is never drawn from, and every evaluation logs the loss's metrics (no loss value)."""
    base = dict(FAST, engine=engine)
    vanilla = vanilla_runs(engine)
    rec = Recorder()
    trainer = train_module.Trainer(TrainConfig(**base, losses=(LossSpec(name, 0.0),)), lee_data, [rec])
    result = trainer.run()
    np.testing.assert_array_equal(vanilla, result.vectors.vectors)
    assert torch.equal(trainer.loss_gen.get_state(), torch.Generator().manual_seed(trainer.cfg.seed + 1).get_state())
    assert trainer.losses == [] and [e.name for e in trainer.evaluators] == [name]
    scored = {k for k in rec.epochs[-1] if k.startswith(f"{name}/")}
    assert scored, f"{name} logged nothing at the epoch end: {sorted(rec.epochs[-1])}"
    direct = trainer.evaluators[0].evaluate(torch.from_numpy(vanilla.copy()))
    assert scored == {k for k in direct if k.startswith(f"{name}/")}
    assert not any(k in m for m in rec.steps for k in (f"loss/{name}", "loss/total"))


# SGD steps the extra loss at lr * batch_size (the batch-mean scale), so a 2-row loss needs a small weight
@pytest.mark.parametrize("engine, optimizer, lr, weight", [("torch", "sgd", 0.025, 0.02), ("numba", "sgd", 0.025, 0.02),
                                                           ("torch", "adam", 0.005, 0.3)])
def test_extra_loss_moves_the_vectors_and_is_logged(lee_data, pull_loss, engine, optimizer, lr, weight):
    base = dict(FAST, optimizer=optimizer, lr=lr, engine=engine)
    vanilla = train(TrainConfig(**base), lee_data).vectors
    rec = Recorder()
    pulled = train(TrainConfig(**base, losses=(LossSpec(pull_loss, weight, {"words": "government fire"}),)),
                   lee_data, [rec]).vectors
    assert _dist(pulled, "government", "fire") < 0.5 * _dist(vanilla, "government", "fire")
    logged = rec.steps[-1]
    assert {"loss/pull", "pull/dist", "loss/total", "loss/sgns"} <= set(logged)
    assert any("pull/dist_eval" in m for m in rec.steps + rec.epochs)


def test_unknown_loss_and_parameter_are_refused(lee_data, pull_loss):
    with pytest.raises(W2VError, match="unknown loss 'nope'"):
        train(TrainConfig(**FAST, losses=(LossSpec("nope", 0.1),)), lee_data)
    with pytest.raises(W2VError, match="no parameter"):
        train(TrainConfig(**FAST, losses=(LossSpec(pull_loss, 0.1, {"colour": 1}),)), lee_data)


def test_auto_engine_picks_the_kernel_on_cpu_sgd_only():
    from w2vcore.engines import resolve_engine

    cpu = torch.device("cpu")
    assert resolve_engine(TrainConfig(), cpu) == "numba"
    assert resolve_engine(TrainConfig(optimizer="adam", lr=0.001), cpu) == "torch"
    assert resolve_engine(TrainConfig(engine="torch"), cpu) == "torch"
    assert resolve_engine(TrainConfig(), torch.device("cuda")) == "torch"
    with pytest.raises(W2VError, match="numba engine"):
        resolve_engine(TrainConfig(engine="numba", optimizer="adam", lr=0.001), cpu)


# ----------------------------------------------------------------- output maps
class FixedMap(loss_registry.LossBase):
    """A loss that only carries a fixed output map (its own loss has no gradient); records what it evaluates."""

    every = 1
    MAP = torch.eye(32) + 0.3 * torch.randn(32, 32, generator=torch.Generator().manual_seed(5))

    def __init__(self, spec, setup):
        self.name, self.weight, self.seen = spec.name, spec.weight, []
        self.ids = torch.arange(4, device=setup.device)

    def loss(self, ctx):
        return 0.0 * ctx.gather(self.ids).sum(), {}

    def evaluate(self, vectors):
        self.seen.append(vectors.clone())
        return {}

    def output_map(self):
        return self.MAP if self.weight != 0.5 else None  # weight 0.5: a loss that has the hook but no map


class NoMap(FixedMap):
    output_map = loss_registry.LossBase.output_map  # the default hook: no map


class Snapshots(Recorder):
    def __init__(self):
        super().__init__()
        self.snapshots = []

    def on_snapshot(self, st, rows, words):
        self.snapshots.append(rows)


@pytest.fixture
def map_losses(monkeypatch):
    for name, cls in (("fixedmap", FixedMap), ("nomap", NoMap)):
        monkeypatch.setitem(loss_registry.REGISTRY, name, loss_registry.LossInfo(name, "test", cls, {}))


class Incomplete:
    """A loss written without `LossBase`: it lacks the optional hooks."""

    every = 1

    def __init__(self, spec, setup):
        self.name, self.weight = spec.name, spec.weight

    def loss(self, ctx):
        return torch.zeros(()), {}


def test_a_loss_missing_hooks_is_refused_by_name(lee_data, monkeypatch):
    monkeypatch.setitem(loss_registry.REGISTRY, "incomplete", loss_registry.LossInfo("incomplete", "test", Incomplete))
    with pytest.raises(W2VError, match="incomplete.*lacks.*evaluate.*LossBase"):
        train(TrainConfig(**FAST, losses=(LossSpec("incomplete", 0.1),)), lee_data)


@both_engines
def test_output_map_is_applied_wherever_vectors_leave_training(lee_data, map_losses, engine):
    rec = Snapshots()
    cfg = TrainConfig(**{**FAST, "engine": engine, "snapshots": 2, "losses": (LossSpec("fixedmap", 0.1),)})
    trainer = train_module.Trainer(cfg, lee_data, [rec])
    result = trainer.run()
    raw_in, raw_out = rec.checkpoints[-1]["w_in"], rec.checkpoints[-1]["w_out"]  # the epoch-end checkpoint: raw
    assert torch.equal(raw_in, trainer.engine.w_in.detach())
    m = FixedMap.MAP
    np.testing.assert_allclose(result.vectors.vectors, (raw_in @ m).numpy(), rtol=1e-5, atol=1e-6)
    # the context vectors are w_out M^-T, so every SGNS score w_in . w_out is unchanged
    scores = result.vectors.vectors[:50] @ result.context_vectors[:50].T
    np.testing.assert_allclose(scores, (raw_in[:50] @ raw_out[:50].T).numpy(), atol=1e-4)
    seen = trainer.losses[0].seen[-1]  # the last epoch-end evaluation saw the exported vectors
    np.testing.assert_allclose(seen.numpy(), result.vectors.vectors, atol=1e-6)
    np.testing.assert_allclose(rec.snapshots[-1].astype(np.float32), result.vectors.vectors[:len(rec.snapshots[-1])],
                               rtol=1e-2, atol=1e-3)  # float16 rows


@both_engines
def test_without_a_map_the_output_is_unchanged(lee_data, map_losses, engine):
    """A loss with no map (the default hook, or its own returning None) exports the raw tables bit for bit."""
    runs = []
    for spec in (LossSpec("nomap", 0.5), LossSpec("fixedmap", 0.5)):  # 0.5: FixedMap's hook returns None
        rec = Snapshots()
        result = train(TrainConfig(**{**FAST, "engine": engine, "snapshots": 2, "losses": (spec,)}), lee_data, [rec])
        assert "losses" not in rec.checkpoints[-1]
        np.testing.assert_array_equal(result.vectors.vectors, rec.checkpoints[-1]["w_in"].numpy())
        np.testing.assert_array_equal(result.context_vectors, rec.checkpoints[-1]["w_out"].numpy())
        runs.append((result, rec.snapshots))
    np.testing.assert_array_equal(runs[0][0].vectors.vectors, runs[1][0].vectors.vectors)
    np.testing.assert_array_equal(runs[0][1][-1], runs[1][1][-1])


def test_text_parameters_with_choices_accept_only_those():
    params = {"how": loss_registry.Param("a", choices=("a", "b")), "path": loss_registry.Param("")}
    chosen = loss_registry.resolve_params(LossSpec("x", 0.1, {"how": "b", "path": "any/thing"}), params)
    assert chosen == {"how": "b", "path": "any/thing"}
    with pytest.raises(W2VError, match="how must be one of a, b"):
        loss_registry.resolve_params(LossSpec("x", 0.1, {"how": "c"}), params)


def test_blas_threads_are_capped_while_the_cpu_engine_runs(lee_data):
    """Spinning OpenBLAS workers fought the kernel's threads (RSR's map: 2.6x vanilla CPU); the run caps them."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    np.dot(np.ones((64, 64)), np.ones((64, 64)))  # BLAS is loaded
    blas = lambda: [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]  # noqa: E731
    before, seen = blas(), []

    class Probe:
        def on_step(self, st, metrics):
            seen.append(blas())

    train(TrainConfig(**{**FAST, "threads": 2, "engine": "numba"}), lee_data, [Probe()])
    assert seen and all(counts and set(counts) == {1} for counts in seen)
    assert blas() == before


@both_engines
def test_a_run_shorter_than_its_log_interval_still_gets_every_snapshot(lee_data, engine):
    """Snapshots follow progress, not the log clock: the Explore page's "over training" view of a quick
    run used to get only its first and last one."""
    rec = Snapshots()
    train(TrainConfig(**{**FAST, "engine": engine, "epochs": 2, "snapshots": 10, "log_every_s": 1e9}), lee_data, [rec])
    assert len(rec.snapshots) == 11  # the random start, then every 1/10 of the run


# ------------------------------------------------------------------ new engines
class Bigrams(TablesDriver):
    """A test engine written against the driver protocol alone: each word predicts the next one (window 1,
    no subsampling, uniform negatives), `batch_size` pairs per step, tables in a `TorchSGD`."""

    own_threads = False

    def __init__(self, cfg, data, device, *, threads, scale, extra):
        self.cfg, self.scale, self.vocab_size = cfg, scale, len(data.vocab)
        self.update = TorchSGD(*init_tables(len(data.vocab), cfg.dim, cfg.seed, device))
        self.streams = Streams(cfg.seed, 1, device)
        self.calls = {"run_chunk": 0, "beside": 0, "sync": 0, "close": 0}

    def run_chunk(self, chunk, lr_at, stop):
        self.calls["run_chunk"] += 1
        self.streams.resume()
        ids, size = torch.as_tensor(chunk.ids).long(), self.cfg.batch_size
        n = max(1, -(-(len(ids) - 1) // size))
        for k in range(chunk.start, n):
            if stop.is_set():
                return
            centre, context = ids[:-1][k * size:(k + 1) * size], ids[1:][k * size:(k + 1) * size]
            neg = torch.randint(0, self.vocab_size, (len(centre), self.cfg.negative), generator=self.streams.gens[0])
            words = min(len(ids), (k + 1) * size)
            loss = self.update.step(centre, context, neg, lr_at(words), self.scale)
            yield StepReport(1, k + 1, words, lr_at(words), [(loss, len(centre))], k + 1 == n)
        self.streams.chunk_done()

    def beside(self, work):
        self.calls["beside"] += 1
        work()

    def sync(self):
        self.calls["sync"] += 1

    def close(self):
        self.calls["close"] += 1


def test_a_new_engine_is_one_class_the_trainer_drives_through_the_protocol(lee_data, pull_loss, monkeypatch):
    """An engine the trainer has never heard of trains, logs, steps extra losses, checkpoints and resumes exactly."""
    monkeypatch.setattr(config, "ENGINES", (*config.ENGINES, "bigrams"))
    monkeypatch.setitem(engines.DRIVERS, "bigrams", Bigrams)
    cfg = TrainConfig(**{**FAST, "engine": "bigrams", "epochs": 2, "chunk_tokens": 5000, "batch_size": 256,
                         "log_every_s": 1e-9, "losses": (LossSpec(pull_loss, 0.02, {"words": "government fire"}),)})
    rec = Recorder()
    trainer = train_module.Trainer(cfg, lee_data, [rec])
    full = trainer.run()
    driver = trainer.engine
    assert isinstance(driver, Bigrams) and driver.calls["close"] == 1
    n_chunks = sum(1 for _ in lee_data.chunks("train", cfg.chunk_tokens))
    assert driver.calls["run_chunk"] == 2 * n_chunks and driver.calls["beside"] == full.state.step > 0
    assert driver.calls["sync"] >= len(rec.steps) - 1  # every log waits for the driver
    assert full.state.words_done == full.state.total_words
    sgns = [m["loss/sgns"] for m in rec.steps if "loss/sgns" in m]
    assert np.isfinite(sgns).all() and np.mean(sgns[-5:]) < np.mean(sgns[:5])
    assert any("loss/pull" in m for m in rec.steps)
    vanilla = train(dataclasses.replace(cfg, losses=()), lee_data).vectors
    assert _dist(full.vectors, "government", "fire") < 0.5 * _dist(vanilla, "government", "fire")

    stop = threading.Event()

    class StopSoon(Recorder):
        def on_step(self, st, m):
            super().on_step(st, m)
            if st.step >= 5 and st.batch > 0:
                stop.set()

    stopper = StopSoon()
    first = train(cfg, lee_data, [stopper], stop=stop)
    ck = stopper.checkpoints[-1]
    assert first.state.status == "stopped" and ck["batch"] > 0
    np.testing.assert_array_equal(train(cfg, lee_data, resume=ck).vectors.vectors, full.vectors.vectors)
