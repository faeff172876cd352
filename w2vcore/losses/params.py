"""A loss's parameters: one frozen dataclass per loss states each parameter's default, range and help once.

    @dataclass(frozen=True)
    class RSRParams(LossParams):
        loss: ClassVar[str] = "rsr"
        pairs: int = param(5000, 100, 50_000, "concept pairs sampled per step")

The registry shows the UI `RSRParams.table()` (one `Param` per field, a slider or a select box
each), `from_spec` builds the params of a run's `LossSpec`, and the loss's constructor takes the
object, so a default cannot differ between the UI, the registry and the loss. Every value is
checked when the object is made: a number within [low, high] (ints stay ints), text as text, one
of `choices` where there are some; anything else is a `W2VError` naming the parameter.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from ..errors import W2VError


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


def param(default: float | int | str, low: float | None = None, high: float | None = None, help: str = "",
          choices: tuple[str, ...] = ()) -> Any:
    """A field of a params dataclass: its default, and the range and help the UI and the checks use."""
    return field(default=default, metadata={"param": Param(default, low, high, help, tuple(choices))})


def _checked(loss: str, key: str, spec: Param, value: Any) -> float | int | str:
    """`value` as the parameter's type, or a W2VError saying what the parameter accepts."""
    if isinstance(spec.default, str):
        value = str(value)
        if spec.choices and value not in spec.choices:
            raise W2VError(f"{loss}: {key} must be one of {', '.join(spec.choices)}, got {value!r}")
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise W2VError(f"{loss}: {key} must be a number, got {value!r}") from None
    if not spec.low <= number <= spec.high:
        raise W2VError(f"{loss}: {key} must be between {spec.low:g} and {spec.high:g}, got {value!r}")
    return int(number) if isinstance(spec.default, int) else number


def resolve_params(spec, params: dict[str, Param]) -> dict[str, Any]:
    """`spec.params` (a `LossSpec`'s) over the defaults of the table `params`, each checked as `LossParams` does."""
    values = {key: p.default for key, p in params.items()}
    values.update(spec.params)
    for key, p in params.items():
        values[key] = _checked(spec.name, key, p, values[key])
    return values


class LossParams:
    """Base of the frozen params dataclasses: every field is checked and converted when the object is made."""

    loss: ClassVar[str] = "loss"  # the registered name, for messages

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _checked(self.loss, f.name, f.metadata["param"], getattr(self, f.name)))

    @classmethod
    def table(cls) -> dict[str, Param]:
        """Each parameter's `Param` (default, range, help), in field order: what the UI draws."""
        return {f.name: f.metadata["param"] for f in fields(cls)}

    @classmethod
    def from_values(cls, values: dict[str, Any]):
        """The params with `values` over the defaults; an unknown name is refused with the names it takes."""
        unknown = set(values) - set(cls.table())
        if unknown:
            raise W2VError(f"loss '{cls.loss}' has no parameter(s) {sorted(unknown)}; it takes {sorted(cls.table())}")
        return cls(**values)

    def replace(self, **changes):
        """A copy with `changes`, checked like the original."""
        return dataclasses.replace(self, **changes)
