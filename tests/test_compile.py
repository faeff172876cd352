"""Compiling ahead: `losses.warm` compiles the signatures a run uses, and a cold cache shows in the status."""
from __future__ import annotations

import dataclasses

import numba
import pytest

from w2vcore import losses, worker
from w2vcore.engines import kernel
from w2vcore import compiled
from w2vcore.losses.rsr import loss as rsr
from w2vcore.losses.valuevec import loss as valuevec
from w2vcore.config import LossSpec, RunConfig, TrainConfig
from w2vcore.train import train

TINY = dict(dim=16, epochs=1, batch_size=1024, log_every_s=0.05, eval_every_s=0.2, device="cpu", threads=1,
            engine="numba")
# every compiled function a CPU SGD run calls from Python, by module attribute: (module, name)
KERNELS = {"rsr": [(rsr, "sgd_steps_np"), (compiled, "pair_cosines_np")],
           "valuevec": [(valuevec, "value_sgd_steps_np"), (valuevec, "value_grad_np")]}
ORIGINAL = {name: getattr(module, name) for ks in KERNELS.values() for module, name in ks}  # the dispatchers
RUN_SPECS = {"rsr": [{"target": "wordsim", "pairs": 500}, {"target": "auto", "pairs": 500, "metric": "gauge_only"}],
             "valuevec": [{"map": 0, "benchmarks": 0}, {"map": 2, "benchmarks": 0}]}


def _record(monkeypatch, calls: dict) -> None:
    """Wrap each kernel so every call records the numba types of its arguments (its signature)."""
    for module, name in (k for ks in KERNELS.values() for k in ks):
        dispatcher = ORIGINAL[name]

        def spy(*args, _d=dispatcher, _n=name):
            calls.setdefault(_n, set()).add(tuple(numba.typeof(a) for a in args))
            return _d(*args)

        monkeypatch.setattr(module, name, spy)


def test_every_loss_with_kernels_registers_warm_and_a_cache_check():
    assert {info.name for info in losses.available() if info.warm is not None} == set(KERNELS)
    assert all(info.compiled is not None for info in losses.available() if info.warm is not None)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_warm_compiles_the_signatures_a_run_uses(lee_data, monkeypatch, name):
    """What `warm` calls on its toy inputs is what a real run calls, so after it nothing compiles again."""
    warmed, ran = {}, {}
    _record(monkeypatch, warmed)
    losses.warm([name])
    _record(monkeypatch, ran)
    for params in RUN_SPECS[name]:
        train(TrainConfig(**TINY, losses=(LossSpec(name, 0.1, params),)), lee_data)
    assert set(ran) == set(warmed) == {n for _, n in KERNELS[name]}  # the run calls every kernel warm compiled
    for _, fn in KERNELS[name]:
        assert ran[fn] <= warmed[fn], f"{fn}: the run needs {ran[fn] - warmed[fn]}"
        assert warmed[fn] <= set(ORIGINAL[fn].signatures)  # compiled (or loaded) by warm


def _cold(monkeypatch, name: str, calls: list) -> None:
    """Pretend numba's disk cache lacks `name`'s kernels; record what warm is asked to compile."""
    info = losses.REGISTRY[name]
    monkeypatch.setitem(losses.REGISTRY, name, dataclasses.replace(
        info, compiled=lambda: False, warm=lambda: calls.append(name)))


@pytest.fixture
def phases(monkeypatch):
    """The phases the worker writes to the status; the training kernel counts as cached unless a test says not."""
    losses.available()
    out = []
    monkeypatch.setattr(worker.rf, "update_status", lambda run_dir, **kw: out.append(kw.get("phase")))
    monkeypatch.setattr(kernel, "compiled", lambda: True)
    return out


def test_a_cold_cache_says_compiling_in_the_status(monkeypatch, tmp_path, phases):
    warmed = []
    cfg = RunConfig(train=TrainConfig(device="cpu", losses=(LossSpec("rsr", 0.1), LossSpec("debias", 0.0))))
    _cold(monkeypatch, "rsr", warmed)
    assert worker.compile_ahead(tmp_path, cfg) == ["rsr"] and warmed == ["rsr"]
    assert phases == ["compiling the RSR kernels (first run on this machine; up to a minute)"]

    phases.clear()
    monkeypatch.setitem(losses.REGISTRY, "rsr", dataclasses.replace(losses.REGISTRY["rsr"], compiled=lambda: True))
    assert worker.compile_ahead(tmp_path, cfg) == [] and phases == [] and warmed == ["rsr"]  # cached: no message


def test_the_phase_names_every_cold_loss_and_skips_losses_without_kernels(monkeypatch, tmp_path, phases):
    warmed = []
    for name in ("rsr", "valuevec"):
        _cold(monkeypatch, name, warmed)
    cfg = RunConfig(train=TrainConfig(device="cpu", losses=(LossSpec("valuevec", 0.0), LossSpec("rsr", 0.1))))
    worker.compile_ahead(tmp_path, cfg)
    assert warmed == ["valuevec", "rsr"] and "the ValueVec and RSR kernels" in phases[0]
    phases.clear()
    worker.compile_ahead(tmp_path, RunConfig(train=TrainConfig(device="cpu", losses=(LossSpec("debias", 0.1),))))
    assert phases == []


def test_a_cold_training_kernel_is_compiled_first_and_only_for_the_numba_engine(monkeypatch, tmp_path, phases):
    calls = []
    monkeypatch.setattr(kernel, "compiled", lambda: False)
    monkeypatch.setattr(kernel, "warm_up", lambda: calls.append("sgns"))
    _cold(monkeypatch, "rsr", calls)
    cfg = RunConfig(train=TrainConfig(device="cpu", engine="numba", losses=(LossSpec("rsr", 0.1),)))
    assert worker.compile_ahead(tmp_path, cfg) == ["sgns", "rsr"] and calls == ["sgns", "rsr"]
    assert phases == ["compiling the training and RSR kernels (first run on this machine; up to a minute)"]
    phases.clear()
    assert worker.compile_ahead(tmp_path, RunConfig(train=TrainConfig(device="cpu", engine="numba"))) == ["sgns"]
    assert phases == ["compiling the training kernels (first run on this machine; a few seconds)"]
    phases.clear()
    assert worker.compile_ahead(tmp_path, RunConfig(train=TrainConfig(device="cpu", engine="torch"))) == []
    assert phases == []


def test_the_cache_check_reads_numbas_index(tmp_path, monkeypatch):
    """`in_disk_cache` is False for a function numba never cached, True once a call wrote its index."""
    from w2vcore.compiled import in_disk_cache

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    source = tmp_path / "probe_module.py"
    source.write_text("from numba import njit\n\n@njit(cache=True)\ndef add(a, b):\n    return a + b\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import probe_module

    assert not in_disk_cache(probe_module.add)
    assert probe_module.add(1, 2) == 3
    assert in_disk_cache(probe_module.add)
    assert not in_disk_cache(lambda: 0)  # not a numba function: counts as not cached


def test_the_standby_worker_compiles_every_kernel_before_it_offers_itself(monkeypatch, tmp_path):
    import threading

    calls = []
    monkeypatch.setattr(kernel, "warm_up", lambda: calls.append("sgns"))
    monkeypatch.setattr(losses, "warm", lambda names=None: calls.append(names))
    stop = threading.Event()
    stop.set()  # warm up, then leave at once
    assert worker.standby(tmp_path, parent=1, idle_s=60, stop=stop) is None
    assert calls == ["sgns", None]  # None: every registered loss
