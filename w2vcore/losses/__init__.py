"""Extra losses that plug into skip-gram training: the hooks a loss has, its parameters, the registry.

Training minimises ``L = (1 - a) * L_w2v + a * L_extra`` for each configured loss with
weight ``a`` (the UI's REG_STRENGTH slider for RSR). A loss only sees the rows it asks
for through `LossContext.gather`, so it costs what it touches. A loss at weight 0 never
trains: it is built as an `EvaluationOnly` instance (`build_evaluators`) that only scores the
vectors at each evaluation, so a vanilla twin logs the same metrics (e.g. `rsr/rho_heldout` on
the same held-out split) while the run stays bit-for-bit the run without it.

The package, one idea a module:

- `protocol`: `ExtraLoss` (every hook the trainer calls), `LossBase` (the optional hooks' defaults),
  `LossContext` (what a loss sees at a step), `LossSetup` (what a factory builds from);
- `params`: one frozen params dataclass per loss (`LossParams`), each parameter's default, range
  and help stated once (`param`); the UI's `Param` table is derived from it;
- `registry`: `register`, `available`, `build_losses`, `build_evaluators`, `warm`, ... and the
  discovery of the losses: every subpackage here with a `loss` module registers its loss on import;
- `w2vcore.compiled` (beside this package, since the SGNS kernel uses it too): the numba helpers the losses share (one way to compile, the random draws, pair
  cosines, Adam);
- `rsr/`, `debias/`, `valuevec/`: one folder per loss with its loss, compiled code, targets and metrics.

Losses with compiled (numba) kernels say so when they register (`warm`, `compiled`): the
standby worker compiles them ahead with `warm()`, and a worker that finds them missing from
numba's on-disk cache says "compiling" in the run's status while `warm` fills it
(docs/KERNEL.md, "Compiling ahead").

A loss registers itself in its folder's `loss.py` with::

    @dataclass(frozen=True)
    class RSRParams(LossParams):
        loss: ClassVar[str] = "rsr"
        pairs: int = param(5000, 100, 50_000, "concept pairs sampled per step")

    @register("rsr", "Align cosine similarities with human judgements", params=RSRParams,
              warm=warm_rsr, compiled=rsr_compiled)
    def make_rsr(spec: LossSpec, setup: LossSetup) -> ExtraLoss: ...
"""
from .params import LossParams, Param, param, resolve_params
from .protocol import ExtraLoss, LossBase, LossContext, LossSetup
from .registry import (HOOKS, REGISTRY, EvaluationOnly, LossInfo, available, build_evaluators, build_losses,
                       needs_compiling, register, warm)

__all__ = ["ExtraLoss", "LossBase", "LossContext", "LossSetup", "LossParams", "Param", "param", "HOOKS", "REGISTRY",
           "EvaluationOnly", "LossInfo", "available", "build_evaluators", "build_losses", "needs_compiling",
           "register", "resolve_params", "warm"]
