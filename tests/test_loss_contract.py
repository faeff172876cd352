"""The contract every registered loss keeps, checked for each one `losses.available()` lists.

Registered with a description, a params dataclass and help for every parameter; bad parameters
refused with W2VError; at weight 0 the run is the vanilla run bit for bit (both engines); a
stopped-and-resumed run is the uninterrupted run bit for bit; the compiled path (`sgd_steps`) does what
autograd (`loss` + an SGD step) does, where a loss has both. A new loss folder is checked with no
change here; `LIGHT` only makes the shipped ones quick on Lee.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from w2vcore import losses
from w2vcore.config import LossSpec, TrainConfig
from w2vcore.errors import W2VError
from w2vcore.losses import LossParams, LossSetup, build_losses
from w2vcore.engines.sgns_torch import TorchSGD
from w2vcore.train import train

from tablectx import TableContext
from trainkit import FAST, stopped_run

LIGHT = {  # parameters that keep a loss quick on Lee (dim 32, one epoch); a loss not listed runs on its defaults
    "rsr": {"target": "wordsim", "pairs": 500, "heldout": 0.3},
    "debias": {"vocab_top": 1000},
    "valuevec": {"pairs": 1024},
}
VARIANTS = {  # settings of the compiled path worth comparing with autograd separately (each over LIGHT)
    "rsr": [{}, {"metric": "gauge"}, {"metric": "gauge_only"}],
    "valuevec": [{}, {"map": 1}, {"map": 2}, {"pairs": 100_000}],  # pairs above the pool: the whole pool each time
}
NAMES = [info.name for info in losses.available()]
RUN = {**FAST, "eval_every_s": 1e9}  # evaluated once, at the end
ENGINES = {"torch": dict(engine="torch", batch_size=4096),  # a large batch keeps the torch runs short
           "numba": dict(engine="numba")}
both_engines = pytest.mark.parametrize("engine", sorted(ENGINES))


def _spec(name: str, weight: float, **params) -> LossSpec:
    return LossSpec(name, weight, {**LIGHT.get(name, {}), **params})


def _setup(data, dim: int = FAST["dim"]) -> LossSetup:
    return LossSetup(vocab=data.vocab, dim=dim, device=torch.device("cpu"), seed=1)


# ------------------------------------------------------------------ registration
def test_every_loss_folder_is_discovered_without_a_list(tmp_path, monkeypatch):
    """A subpackage of w2vcore.losses with a `loss` module registers itself; nothing else is edited."""
    from w2vcore.losses import registry

    folder = tmp_path / "toyloss"
    folder.mkdir()
    (folder / "__init__.py").write_text('"""A toy loss."""\n')
    (folder / "loss.py").write_text(
        "from dataclasses import dataclass\n"
        "from typing import ClassVar\n\n"
        "from w2vcore.losses import LossBase, LossParams, param, register\n\n\n"
        "@dataclass(frozen=True)\n"
        "class ToyParams(LossParams):\n"
        "    loss: ClassVar[str] = 'toy'\n"
        "    size: int = param(3, 1, 9, 'how big')\n\n\n"
        "@register('toy', 'a toy loss', params=ToyParams)\n"
        "def make_toy(spec, setup):\n"
        "    return LossBase()\n")
    monkeypatch.setattr(losses, "__path__", [*losses.__path__, str(tmp_path)])
    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))  # the toy registers in a copy
    try:
        found = {info.name: info for info in registry.available()}
    finally:
        for module in ("w2vcore.losses.toyloss.loss", "w2vcore.losses.toyloss"):
            sys.modules.pop(module, None)
    assert {"rsr", "debias", "valuevec", "toy"} <= set(found)
    assert found["toy"].params["size"].help == "how big"


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_a_description_and_help_for_every_param(name):
    info = losses.REGISTRY[name]
    assert info.description and info.factory is not None
    assert issubclass(info.params_type, LossParams) and info.params == info.params_type.table()
    defaults = info.params_type()  # the defaults pass the checks they define
    for key, p in info.params.items():
        assert p.help, f"{name}: {key} has no help"
        if isinstance(p.default, str):
            assert not p.choices or p.default in p.choices
        else:
            assert p.low <= p.default <= p.high, f"{name}: {key}'s default is outside its range"
        assert getattr(defaults, key) == p.default


@pytest.mark.parametrize("name", NAMES)
def test_bad_params_are_refused(lee_data, name):
    info, setup = losses.REGISTRY[name], _setup(lee_data)
    numeric = [(k, p) for k, p in info.params.items() if not isinstance(p.default, str)]
    chosen = [(k, p) for k, p in info.params.items() if p.choices]
    bad = [({"no_such_parameter": 1}, "has no parameter")]
    bad += [({k: "many"}, f"{k} must be a number") for k, _ in numeric[:2]]
    bad += [({k: p.high + abs(p.high) + 1}, f"{k} must be between") for k, p in numeric[:2]]
    bad += [({k: p.low - abs(p.low) - 1}, f"{k} must be between") for k, p in numeric[:2]]
    bad += [({k: "no-such-choice"}, f"{k} must be one of") for k, _ in chosen[:2]]
    for params, message in bad:
        with pytest.raises(W2VError, match=message):
            build_losses((_spec(name, 0.1, **params),), setup)


# ------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def vanilla(lee_data):
    return {engine: train(TrainConfig(**{**RUN, **ENGINES[engine]}), lee_data).vectors.vectors for engine in ENGINES}


@pytest.mark.parametrize("name", NAMES)
@both_engines
def test_weight_zero_is_the_vanilla_run(lee_data, vanilla, name, engine):
    cfg = TrainConfig(**{**RUN, **ENGINES[engine]}, losses=(_spec(name, 0.0),))
    zero = train(cfg, lee_data).vectors.vectors
    np.testing.assert_array_equal(zero, vanilla[engine])


@pytest.mark.parametrize("name", NAMES)
@both_engines
def test_a_stopped_and_resumed_run_is_the_uninterrupted_run(lee_data, name, engine):
    """Stopped after a few steps, resumed from the stop's checkpoint: the same vectors as one run."""
    cfg = TrainConfig(**{**RUN, **ENGINES[engine]}, losses=(_spec(name, 0.1),))
    full = train(cfg, lee_data).vectors.vectors
    first, rec = stopped_run(cfg, lee_data, steps=5)
    assert first.state.status == "stopped" and rec.checkpoints
    resumed = train(cfg, lee_data, resume=rec.checkpoints[-1])
    assert resumed.state.status == "done" and first.state.step < resumed.state.step  # it stopped part-way
    np.testing.assert_array_equal(resumed.vectors.vectors, full)


# ------------------------------------------------------------------ compiled path
def _variants() -> list:
    return [pytest.param(name, v, id=f"{name}-{'-'.join(f'{k}{x}' for k, x in v.items()) or 'defaults'}")
            for name in NAMES for v in VARIANTS.get(name, [{}])]


@pytest.mark.parametrize("name, variant", _variants())
def test_the_compiled_path_equals_autograd(lee_data, name, variant):
    """`sgd_steps` (in place, three applications in one call) == three `loss` + SGD steps of the same size,
    from one seed: the rows, the summed loss, and a learned map where there is one."""
    spec, setup = _spec(name, 1.0, **variant), _setup(lee_data)
    ref_loss, fused_loss = (build_losses((spec,), setup)[0] for _ in range(2))
    start = torch.randn(len(lee_data.vocab), FAST["dim"], generator=torch.Generator().manual_seed(0))
    ref, fused = start.clone(), start.clone()
    engine, step = TorchSGD(ref, torch.zeros_like(ref)), 0.5
    out = fused_loss.sgd_steps(fused, step, 3, torch.Generator().manual_seed(7), 0.2)
    if out is None:
        pytest.skip(f"{name} has no compiled path")

    class EngineCtx(TableContext):
        def gather(self, ids):
            return engine.gather(ids)

    ctx, values = EngineCtx(None, seed=7), []
    ctx.progress = 0.2
    for _ in range(3):
        value, _ = ref_loss.loss(ctx)
        engine.apply_extra(value, step)  # batch_size 1: rows -= step * grad
        values.append(float(value.detach()))
    assert float(out[0]) == pytest.approx(sum(values), abs=1e-4)
    moved = float((ref - start).abs().max())
    torch.testing.assert_close(fused, ref, atol=1e-5 * max(moved, 1e-3), rtol=1e-4)
    ref_map, fused_map = ref_loss.output_map(), fused_loss.output_map()
    assert (ref_map is None) == (fused_map is None)
    if ref_map is not None:
        assert float((ref_map - torch.eye(FAST["dim"])).abs().max()) > 1e-3  # the map learned something
        torch.testing.assert_close(fused_map, ref_map, atol=1e-5, rtol=1e-4)
