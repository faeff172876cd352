"""The torch engine on each device: the CPU always, CUDA when a GPU is present (skipped with a reason otherwise).

Every device test takes the device as a parameter, so its CPU variant runs on any machine and shows the
test's logic passing (and able to fail), and on a machine with a GPU the same test runs on CUDA. The
distributed path must not assume a GPU: the backend choice is checked with CUDA simulated absent and
present, a rank trains on a machine without one, and a two-process NCCL run needs two GPUs.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from w2vcore import losses
from w2vcore import runfolder as rf
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig
from w2vcore.corpus import encode_corpus, prepare
from w2vcore.distributed.ranks import pick_backend
from w2vcore.engines.sgns_torch import TorchSGD
from w2vcore.errors import W2VError
from w2vcore.runs import RunStore
from w2vcore.train import train
from w2vcore.validation import validation_loss, validation_pairs
from w2vcore.vectors import Vectors

from distkit import check_one_run, free_port, lee_config, spawn
from test_loss_contract import LIGHT
from trainkit import FAST, Recorder, stopped_run

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device: the CUDA variant runs on a machine with a GPU"))]
on_devices = pytest.mark.parametrize("device", DEVICES)
OPTIMIZERS = {"sgd": {}, "adam": dict(optimizer="adam", lr=0.005, batch_size=4096)}
both_optimizers = pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
RUN = {**FAST, "engine": "torch", "epochs": 2, "eval_every_s": 1e9}
QUALITY_TOLERANCE = 0.02  # held-out SGNS loss; see test_a_device_run_learns_as_well_as_a_cpu_run
PHILOX_STATE_BYTES = 16  # a CUDA generator's state: seed and offset (the CPU's Mersenne Twister state is 5056)


def _config(device: str, optimizer: str = "sgd", **more) -> TrainConfig:
    return TrainConfig(**{**RUN, **OPTIMIZERS[optimizer], "device": device, **more})


@pytest.fixture(scope="module")
def lee_val(tmp_path_factory):
    """gensim's Lee corpus with a 10% validation split: held-out pairs to compare runs on."""
    from gensim.test.utils import datapath

    enc = encode_corpus(CorpusSource("text", datapath("lee_background.cor")), TokenizerConfig(),
                        tmp_path_factory.mktemp("lee-val"))
    return prepare(enc, CorpusConfig(min_count=3, val_fraction=0.1))


class DeviceWatch(Recorder):
    """A Recorder that also notes, at every log, the devices of the driver's tables and of Adam's moments.

    `wrap` goes to `train(wrap=...)`: it sees the driver the trainer built and hands it back unchanged.
    """

    def __init__(self):
        super().__init__()
        self.driver, self.places = None, set()

    def wrap(self, driver):
        self.driver = driver
        return driver

    def on_step(self, st, m):
        super().on_step(st, m)
        self.places |= {self.driver.w_in.device.type, self.driver.w_out.device.type}
        opt = getattr(self.driver.update, "opt", None)
        for moments in (opt.state.values() if opt is not None else ()):
            self.places |= {v.device.type for v in moments.values() if torch.is_tensor(v) and v.dim() > 0}


def _tensors(tree, name: str = "") -> list[tuple[str, torch.Tensor]]:
    """Every tensor in a nested checkpoint, with its path."""
    if torch.is_tensor(tree):
        return [(name, tree)]
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, (list, tuple)) else ()
    return [found for key, value in items for found in _tensors(value, f"{name}/{key}")]


# ------------------------------------------------------------------ training on the device
@both_optimizers
@on_devices
def test_a_short_run_trains_on_the_device_and_exports_numpy(lee_val, device, optimizer, tmp_path):
    watch = DeviceWatch()
    result = train(_config(device, optimizer), lee_val, [watch], wrap=watch.wrap)
    assert watch.steps and watch.places == {device}  # the tables (and Adam's moments) stayed on the device
    sgns = [m["loss/sgns"] for m in watch.steps]
    assert sgns[-1] < sgns[0] - 0.5, sgns
    for table in (result.vectors.vectors, result.context_vectors):
        assert isinstance(table, np.ndarray) and table.dtype == np.float32 and np.isfinite(table).all()
    result.vectors.save(tmp_path / "vectors.npz")
    saved = Vectors.load(tmp_path / "vectors.npz")
    assert isinstance(saved.vectors, np.ndarray)
    np.testing.assert_array_equal(saved.vectors, result.vectors.vectors)


@on_devices
def test_a_device_run_learns_as_well_as_a_cpu_run(lee_val, device):
    """The device run's held-out SGNS loss is within QUALITY_TOLERANCE of a CPU run's, on the same pairs.

    A CUDA run draws other random numbers than a CPU run (and `index_add_` sums in another order), so it
    is held to what separates two CPU runs with different seeds: the device run takes seed 1, the CPU run
    seed 2, and the CPU variant of this test is exactly that cpu-vs-cpu case. On Lee (2 epochs, dim 32)
    seeds 1-6 end within 0.004 of each other; a run of one epoch instead of two ends 0.04 higher, and
    the test checks that the tolerance tells it apart, so a device run that learns less fails.
    """
    pairs = validation_pairs(_config("cpu"), lee_val, torch.device("cpu"))  # fixed pairs, on the CPU

    def held_out(cfg: TrainConfig) -> float:
        result = train(cfg, lee_val)
        return validation_loss(torch.tensor(result.vectors.vectors), torch.tensor(result.context_vectors), pairs)

    on_device = held_out(_config(device, seed=1))
    on_cpu = held_out(_config("cpu", seed=2))
    shorter = held_out(_config("cpu", seed=2, epochs=1))
    assert abs(on_device - on_cpu) < QUALITY_TOLERANCE, (on_device, on_cpu)
    assert shorter - on_cpu > QUALITY_TOLERANCE, (shorter, on_cpu)  # the tolerance can fail a run


# ------------------------------------------------------------------ stop and resume
def _stopped(cfg: TrainConfig, data, path: Path):
    """A run stopped after a few steps, its stop checkpoint saved at `path`."""
    first, rec = stopped_run(cfg, data, steps=5)
    assert first.state.status == "stopped" and rec.checkpoints and first.state.progress < 1.0
    torch.save(rec.checkpoints[-1], path)
    return first


@both_optimizers
@on_devices
def test_a_stopped_device_run_resumes_there_and_on_a_cpu_only_run(lee_val, device, optimizer, tmp_path):
    """The stop checkpoint loads with every tensor on the CPU (`map_location`), then finishes the run on the
    device and on the CPU. On CUDA that checkpoint holds CUDA random streams and Adam's moments from the GPU."""
    cfg, path = _config(device, optimizer), tmp_path / rf.CHECKPOINT
    first = _stopped(cfg, lee_val, path)
    ck = rf.load_checkpoint(path)
    assert [name for name, t in _tensors(ck) if t.device.type != "cpu"] == []
    if device == "cuda":  # what test_a_checkpoint_with_cuda_random_streams_resumes_on_the_cpu simulates
        assert ck["rng"][0].numel() == PHILOX_STATE_BYTES
    for where in dict.fromkeys((device, "cpu")):
        resumed = train(dataclasses.replace(cfg, device=where), lee_val, resume=rf.load_checkpoint(path))
        assert resumed.state.status == "done" and resumed.state.progress == 1.0, where
        assert resumed.state.step > first.state.step and np.isfinite(resumed.vectors.vectors).all()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_checkpoint_with_cuda_random_streams_resumes_on_the_cpu(lee_val, tmp_path, threads):
    """A GPU run's checkpoint on a CPU-only machine: its generator states are CUDA's (Philox, 16 bytes),
    which a CPU generator refuses. The resume keeps the CPU's own streams (`engines.driver.fits`) and
    finishes, with one thread as on the GPU or with Hogwild threads; the same checkpoint with CPU streams
    still refuses another thread count."""
    path = tmp_path / rf.CHECKPOINT
    _stopped(_config("cpu"), lee_val, path)
    ck = rf.load_checkpoint(path)
    philox = torch.arange(PHILOX_STATE_BYTES, dtype=torch.uint8)
    torch.save({**ck, "rng": [philox.clone() for _ in ck["rng"]], "rng_chunk": philox.clone()}, path)
    cfg = _config("cpu", threads=threads)
    resumed = train(cfg, lee_val, resume=rf.load_checkpoint(path))
    assert resumed.state.status == "done" and resumed.state.progress == 1.0
    assert resumed.state.step > ck["step"] and np.isfinite(resumed.vectors.vectors).all()
    if threads != 1:
        with pytest.raises(W2VError, match="same number"):
            train(cfg, lee_val, resume=ck)


def test_a_checkpoint_inside_a_chunk_resumes_only_on_its_engine(lee_val, tmp_path):
    """A torch run stopped inside a chunk (a GPU run, say) cannot continue on numba, whose steps are other
    spans ('auto' picks numba on a CPU-only machine): W2VError naming the engine, not a run that ends
    "stopped". At a chunk's start (an epoch's end) there is nothing to continue, and numba takes over."""
    path = tmp_path / rf.CHECKPOINT
    _stopped(_config("cpu"), lee_val, path)
    ck = rf.load_checkpoint(path)
    assert ck["batch"] > 0 and ck["engine_name"] == "torch"
    numba = _config("cpu", engine="numba")
    with pytest.raises(W2VError, match="resume with engine='torch'"):
        train(numba, lee_val, resume=ck)
    at_start = {**ck, "batch": 0, "words_done": ck["chunk_words"]}
    resumed = train(numba, lee_val, resume=at_start)
    assert resumed.state.status == "done" and resumed.state.progress == 1.0


# ------------------------------------------------------------------ extra losses
@pytest.fixture(scope="module")
def vanilla() -> dict[str, np.ndarray]:
    """Each device's run without extra losses, trained once when a test first asks for it."""
    return {}


@pytest.mark.parametrize("name", [info.name for info in losses.available()])
@on_devices
def test_each_extra_loss_steps_on_the_device(lee_data, vanilla, device, name, monkeypatch):
    """Each registered loss steps the tables on the device (tests/test_loss_contract.py's light settings).

    On a GPU extra losses step through autograd (their compiled `sgd_steps` are CPU-only and return None);
    the CPU variant takes that same path, so it checks what the CUDA variant runs.
    """
    if device == "cpu":
        monkeypatch.setattr(TorchSGD, "apply_extra_steps", lambda self, *args, **kw: None)
    run = dict(device=device, epochs=1, batch_size=4096)
    if device not in vanilla:
        vanilla[device] = train(_config(**run), lee_data).vectors.vectors
    watch = DeviceWatch()
    cfg = _config(**run, losses=(LossSpec(name, 0.1, LIGHT.get(name, {})),))
    result = train(cfg, lee_data, [watch], wrap=watch.wrap)
    logged = [m[f"loss/{name}"] for m in watch.steps if f"loss/{name}" in m]
    assert logged and np.isfinite(logged).all() and watch.places == {device}
    assert np.isfinite(result.vectors.vectors).all()
    assert not np.array_equal(result.vectors.vectors, vanilla[device])  # the loss moved the vectors


# ------------------------------------------------------------------ distributed without (or with) a GPU
def _cuda(monkeypatch, available: bool, gpus: int) -> None:
    """Simulate a machine with `gpus` CUDA devices (none unless `available`): calls that need a GPU raise."""
    def no_gpu(*args, **kw):
        raise AssertionError("a CUDA call on a machine without a GPU")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus if available else 0)
    if not available:
        for call in ("set_device", "current_device", "synchronize", "get_device_name"):
            monkeypatch.setattr(torch.cuda, call, no_gpu)


@pytest.mark.parametrize("available, gpus, local, device, expected", [
    (False, 0, 1, "auto", "gloo"),  # a CPU-only machine
    (False, 0, 2, "cuda", "gloo"),
    (True, 2, 2, "auto", "nccl"),  # a GPU for each local process
    (True, 4, 2, "cuda", "nccl"),
    (True, 1, 2, "auto", "gloo"),  # fewer GPUs than local processes
    (True, 2, 2, "cpu", "gloo"),  # the run asked for the CPU
])
def test_auto_picks_nccl_only_with_a_gpu_per_local_process(monkeypatch, available, gpus, local, device, expected):
    _cuda(monkeypatch, available, gpus)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local))
    assert pick_backend("auto", device) == expected
    assert pick_backend("gloo", device) == "gloo"  # a chosen backend stays


@pytest.mark.parametrize("available, gpus, local, device", [(False, 0, 1, "auto"), (True, 1, 2, "cuda"),
                                                             (True, 2, 2, "cpu")])
def test_nccl_without_a_gpu_per_process_is_refused(monkeypatch, available, gpus, local, device):
    _cuda(monkeypatch, available, gpus)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local))
    with pytest.raises(W2VError, match=r"backend 'nccl' needs a CUDA GPU .* use backend 'gloo'"):
        pick_backend("nccl", device)


def test_a_rank_on_a_cpu_only_machine_joins_gloo_and_trains_without_cuda(monkeypatch, tmp_path):
    """The whole rank path (join, rank 0's worker, the synced driver) with CUDA absent and its calls raising."""
    import torch.distributed as dist

    from w2vcore.distributed.ranks import join, run_rank

    _cuda(monkeypatch, False, 0)
    for key, value in dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), RANK="0", WORLD_SIZE="1",
                           LOCAL_RANK="0", LOCAL_WORLD_SIZE="1").items():
        monkeypatch.setenv(key, value)
    store = RunStore(tmp_path / "runs", tmp_path / "cache")
    run_id = store.create(lee_config(epochs=1, device="auto", threads=0))
    assert join("auto", "auto") == (0, 1)
    try:
        assert dist.get_backend() == "gloo"
        status, driver = run_rank(store.path(run_id), store.cache_dir)
    finally:
        dist.destroy_process_group()
    assert status == "done" and driver.w_in.device.type == "cpu"
    assert store.info(run_id).status == "done"


TWO_PROCESS_BACKENDS = [pytest.param("nccl", marks=pytest.mark.skipif(
    torch.cuda.device_count() < 2, reason="NCCL needs 2 CUDA devices: the NCCL variant runs on a machine with two"))]


@pytest.mark.parametrize("backend", TWO_PROCESS_BACKENDS)
def test_two_processes_train_one_run(tmp_path, backend):
    """Two ranks, each on its own GPU, train one run over NCCL. The gloo variant is
    test_distributed.py::test_two_processes_write_one_run_with_identical_tables: the same helpers
    (tests/distkit.py) and the same checks (`check_one_run`) on the CPU, so it is not run twice here."""
    store = RunStore(tmp_path / "runs", tmp_path / "cache")
    run_id = store.create(lee_config(epochs=1, device="cuda"))
    ranks = spawn(store, run_id, tmp_path / "out", backend=backend, device="cuda")
    check_one_run(store, run_id, ranks, epochs=1)
    assert [Path(f"{tmp_path / 'out'}-{r}.device").read_text() for r in range(2)] == ["cuda:0", "cuda:1"]
