"""The registry of extra losses: what a loss registers, how the shipped ones are found, how a run builds them.

Discovery: every subpackage of `w2vcore.losses` that has a `loss` module (rsr/loss.py, ...)
registers its loss when that module is imported; `available`, `build_losses` and the rest
import them all on first use, so a new loss is one new folder and no list to edit.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..config import LossSpec
from ..errors import W2VError
from .protocol import ExtraLoss, LossBase, LossSetup
from .params import LossParams, Param


@dataclass(frozen=True)
class LossInfo:
    name: str
    description: str
    factory: Callable[[LossSpec, LossSetup], ExtraLoss]
    params: dict[str, Param] = field(default_factory=dict)  # each parameter as the UI shows it
    warm: Callable[[], None] | None = None  # compiles (or loads from numba's disk cache) the loss's kernels
    compiled: Callable[[], bool] | None = None  # whether numba's disk cache holds them (False: `warm` compiles)
    label: str = ""  # how status messages name the loss ("RSR"); the name if empty
    params_type: type[LossParams] | None = None  # the frozen params dataclass `params` is derived from


REGISTRY: dict[str, LossInfo] = {}
_discovered = False


def _discover() -> None:
    """Import the `loss` module of every subpackage of `w2vcore.losses` (once): each registers its loss."""
    global _discovered
    if _discovered:
        return
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg and importlib.util.find_spec(f"{__package__}.{module.name}.loss") is not None:
            importlib.import_module(f"{__package__}.{module.name}.loss")
    _discovered = True


def register(name: str, description: str, params: type[LossParams] | None = None,
             warm: Callable[[], None] | None = None, compiled: Callable[[], bool] | None = None, label: str = ""):
    """Decorator adding a loss factory to the registry under `name`.

    `params` is the loss's frozen params dataclass (`LossParams`; None: no parameters), from which
    the UI's table is derived. `warm` runs the loss's compiled kernels once on tiny inputs with the
    argument types a run passes, so numba compiles (or loads) exactly the signatures a run needs;
    `compiled` says whether numba's disk cache already holds them.
    """

    def wrap(factory):
        table = params.table() if params is not None else {}
        REGISTRY[name] = LossInfo(name, description, factory, table, warm, compiled, label, params)
        return factory

    return wrap


def available() -> list[LossInfo]:
    _discover()
    return sorted(REGISTRY.values(), key=lambda info: info.name)


def _info(spec: LossSpec) -> LossInfo:
    info = REGISTRY.get(spec.name)
    if info is None:
        known = ", ".join(sorted(REGISTRY)) or "none registered"
        raise W2VError(f"unknown loss '{spec.name}' (known: {known})")
    unknown = set(spec.params) - set(info.params)
    if unknown:
        raise W2VError(f"loss '{spec.name}' has no parameter(s) {sorted(unknown)}; it takes {sorted(info.params)}")
    return info


HOOKS = ("loss", "evaluate", "ramp", "sgd_steps", "output_map", "state_dict", "load_state_dict")


def _checked(spec: LossSpec, loss: Any) -> ExtraLoss:
    """`loss` if it has every hook of `ExtraLoss`; a message naming the missing ones otherwise."""
    missing = [hook for hook in HOOKS if not callable(getattr(loss, hook, None))]
    if missing:
        raise W2VError(f"the loss '{spec.name}' lacks {', '.join(missing)}: subclass w2vcore.losses.LossBase, "
                       "which has the optional hooks")
    return loss


def build_losses(specs: tuple[LossSpec, ...], setup: LossSetup) -> list[ExtraLoss]:
    """Instantiate the configured losses that train (weight > 0); `build_evaluators` takes those at weight 0."""
    _discover()
    infos = [(spec, _info(spec)) for spec in specs]
    return [_checked(spec, info.factory(spec, setup)) for spec, info in infos if spec.weight > 0]


class EvaluationOnly(LossBase):
    """A loss at weight 0, kept only for its `evaluate`: it never steps, never draws from the run's
    generators, has no output map and no state, so the run is bit-for-bit the run without it.

    Its metrics are the trained loss's (e.g. `rsr/rho_heldout` on the same held-out split, which
    depends on the loss's own `seed` parameter, never on the run's), so a vanilla twin has the
    point at alpha = 0.
    """

    weight = 0.0

    def __init__(self, loss: ExtraLoss):
        self.name, self._loss = loss.name, loss

    def evaluate(self, vectors: torch.Tensor) -> dict[str, float]:
        """The wrapped loss's metrics on the (V, dim) word vectors as the run exports them."""
        return self._loss.evaluate(vectors)


def build_evaluators(specs: tuple[LossSpec, ...], setup: LossSetup) -> list[EvaluationOnly]:
    """An `EvaluationOnly` instance of each loss at weight 0.

    The factory sees the spec at weight 0 (RSR then learns no map: it is the identity). A spec that
    cannot be built fails the run, as it fails its trained twin: the message says which loss.
    """
    _discover()
    out = []
    for spec in specs:
        info = _info(spec)
        if spec.weight > 0:
            continue
        try:
            loss = info.factory(spec, setup)
        except W2VError as e:
            raise W2VError(f"{e} (the loss '{spec.name}' is at weight 0, so the run only evaluates it; "
                           "fix its parameters or remove it)") from None
        out.append(EvaluationOnly(_checked(spec, loss)))
    return out


def needs_compiling(names) -> list[LossInfo]:
    """The registered losses among `names` whose compiled kernels numba's disk cache does not hold yet."""
    _discover()
    infos = [REGISTRY[n] for n in dict.fromkeys(names) if n in REGISTRY]
    return [info for info in infos if info.warm is not None and not (info.compiled is not None and info.compiled())]


def warm(names=None) -> list[str]:
    """Compile (or load from numba's disk cache) the kernels of the losses `names` (all registered if None).

    Each loss runs its kernels once on tiny inputs with a run's argument types, so the signatures a
    run needs are compiled and written to the cache (once per machine: later processes load them
    in well under a second). Returns the names of the losses that have kernels.
    """
    _discover()
    infos = [REGISTRY[n] for n in (REGISTRY if names is None else dict.fromkeys(names)) if n in REGISTRY]
    done = []
    for info in infos:
        if info.warm is not None:
            info.warm()
            done.append(info.name)
    return done
