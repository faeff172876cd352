"""Extra losses that plug into skip-gram training, and the registry the UI enumerates.

Training minimises ``L = (1 - a) * L_w2v + a * L_extra`` for each registered loss with
weight ``a`` (the UI's REG_STRENGTH slider for RSR). A loss only sees the rows it asks
for through `LossContext.gather`, so it costs what it touches. A loss at weight 0 never
trains: it is built as an `EvaluationOnly` instance (`build_evaluators`) that only scores the
vectors at each evaluation, so a vanilla twin logs the same metrics (e.g. `rsr/rho_heldout` on
the same held-out split) while the run stays bit-for-bit the run without it.

Losses with compiled (numba) kernels say so when they register (`warm`, `compiled`): the
standby worker compiles them ahead with `warm()`, and a worker that finds them missing from
numba's on-disk cache says "compiling" in the run's status while `warm` fills it
(docs/KERNEL.md, "Compiling ahead").

A loss module registers itself with::

    @register("rsr", "Align cosine similarities with human judgements",
              params={"pairs": Param(5000, 100, 50000, "concept pairs sampled per step")},
              warm=warm_rsr, compiled=rsr_compiled)
    def make_rsr(spec: LossSpec, setup: LossSetup) -> ExtraLoss: ...
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

import torch

from .config import LossSpec
from .errors import W2VError


class LossContext(Protocol):
    """What a loss sees at one optimiser step."""

    step: int  # optimiser steps so far
    progress: float  # 0..1 through the whole run
    generator: torch.Generator  # the loss's own RNG, so twins share SGNS randomness

    def gather(self, ids: torch.Tensor) -> torch.Tensor:
        """Differentiable rows of the input (word) table: (len(ids), dim)."""
        ...


@runtime_checkable
class ExtraLoss(Protocol):
    """Every hook the trainer calls on a loss; `LossBase` gives the optional ones their no-op defaults."""

    name: str
    weight: float  # a in (1 - a) * L_w2v + a * L_extra
    every: int  # apply every N optimiser steps

    def loss(self, ctx: LossContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Scalar loss on the device, and metrics to log (device scalars; synced only when logged)."""
        ...

    def evaluate(self, vectors: torch.Tensor) -> dict[str, float]:
        """Periodic evaluation on the whole (V, dim) word vectors as exported (mapped), e.g. held-out rho."""
        ...

    def ramp(self, progress: float) -> float:
        """Factor on the weight at `progress` (0..1 of the run): a warm-up; 1.0 without one."""
        ...

    def sgd_steps(self, table: torch.Tensor, step: float, times: int, gen: torch.Generator,
                  progress: float = 0.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]] | None:
        """`times` in-place SGD applications of size `step` on the word table by a compiled path, returning
        (summed loss, summed metrics); None when the loss has no such path (the trainer then uses autograd)."""
        ...

    def output_map(self) -> torch.Tensor | None:
        """A (dim, dim) float32 matrix M on the loss's device, or None (identity).

        SGNS only sees w_in[i] . w_out[j], which (w_in M, w_out M^-T) leave unchanged: a free
        global "gauge" a loss may learn. The trainer composes the maps of its losses in order and
        exports, snapshots and evaluates w_in @ M (context vectors: w_out @ M^-T); the raw tables
        keep training unchanged.
        """
        ...

    def state_dict(self) -> dict:
        """The loss's own learned state (e.g. M and its optimiser), saved in checkpoints; {} if none."""
        ...

    def load_state_dict(self, state: dict) -> None: ...


class LossBase:
    """Defaults for the optional hooks of `ExtraLoss`: no warm-up, no compiled path, no map, no state."""

    every: int = 1

    def ramp(self, progress: float) -> float:
        return 1.0

    def sgd_steps(self, table, step, times, gen, progress=0.0):
        return None

    def output_map(self) -> torch.Tensor | None:
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@dataclass(frozen=True)
class Param:
    """A loss parameter as the UI shows it: default, range and help text.

    A text parameter with `choices` is one of them (a select box); without, free text (e.g. a path).
    """

    default: float | int | str
    low: float | None = None
    high: float | None = None
    help: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LossSetup:
    """What a loss factory may use to build itself for one run."""

    vocab: Any  # corpus.Vocab: index_to_key / key_to_index
    dim: int
    device: torch.device
    seed: int
    data_dir: str | None = None  # the user's data folder (THINGS, word lists, ...)


@dataclass(frozen=True)
class LossInfo:
    name: str
    description: str
    factory: Callable[[LossSpec, LossSetup], ExtraLoss]
    params: dict[str, Param] = field(default_factory=dict)
    warm: Callable[[], None] | None = None  # compiles (or loads from numba's disk cache) the loss's kernels
    compiled: Callable[[], bool] | None = None  # whether numba's disk cache holds them (False: `warm` compiles)
    label: str = ""  # how status messages name the loss ("RSR"); the name if empty


REGISTRY: dict[str, LossInfo] = {}
BUILTIN_MODULES: tuple[str, ...] = ("w2vcore.rsr", "w2vcore.debias", "w2vcore.valuevec_loss")  # modules that register the shipped losses on import


def _load_builtin() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def register(name: str, description: str, params: dict[str, Param] | None = None,
             warm: Callable[[], None] | None = None, compiled: Callable[[], bool] | None = None, label: str = ""):
    """Decorator adding a loss factory to the registry under `name`.

    `warm` runs the loss's compiled kernels once on tiny inputs with the argument types a run
    passes, so numba compiles (or loads) exactly the signatures a run needs; `compiled` says
    whether numba's disk cache already holds them.
    """

    def wrap(factory):
        REGISTRY[name] = LossInfo(name, description, factory, dict(params or {}), warm, compiled, label)
        return factory

    return wrap


def resolve_params(spec: LossSpec, params: dict[str, Param]) -> dict[str, Any]:
    """`spec.params` over the defaults, each checked: numbers within [low, high] (ints stay ints), text as text."""
    p = {k: v.default for k, v in params.items()}
    p.update(spec.params)
    for key, param in params.items():
        if isinstance(param.default, str):
            p[key] = str(p[key])
            if param.choices and p[key] not in param.choices:
                raise W2VError(f"{spec.name}: {key} must be one of {', '.join(param.choices)}, got {p[key]!r}")
            continue
        try:
            value = float(p[key])
        except (TypeError, ValueError):
            raise W2VError(f"{spec.name}: {key} must be a number, got {p[key]!r}") from None
        if not param.low <= value <= param.high:
            raise W2VError(f"{spec.name}: {key} must be between {param.low:g} and {param.high:g}, got {p[key]!r}")
        p[key] = int(value) if isinstance(param.default, int) else value
    return p


def available() -> list[LossInfo]:
    _load_builtin()
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
    _load_builtin()
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
    _load_builtin()
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
    _load_builtin()
    infos = [REGISTRY[n] for n in dict.fromkeys(names) if n in REGISTRY]
    return [info for info in infos if info.warm is not None and not (info.compiled is not None and info.compiled())]


def warm(names=None) -> list[str]:
    """Compile (or load from numba's disk cache) the kernels of the losses `names` (all registered if None).

    Each loss runs its kernels once on tiny inputs with a run's argument types, so the signatures a
    run needs are compiled and written to the cache (once per machine: later processes load them
    in well under a second). Returns the names of the losses that have kernels.
    """
    _load_builtin()
    infos = [REGISTRY[n] for n in (REGISTRY if names is None else dict.fromkeys(names)) if n in REGISTRY]
    done = []
    for info in infos:
        if info.warm is not None:
            info.warm()
            done.append(info.name)
    return done
