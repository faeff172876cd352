"""Twin runs: the same run with and without an extra loss, which differ in nothing else.

The vanilla twin keeps the loss spec at weight 0, which is built evaluation-only (it logs its
metrics, never trains and draws no random numbers), so both runs draw the same corpus order,
subsampling, windows and negatives (bit for bit with `threads=1`; Hogwild threads are not
reproducible even run to run).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..config import RunConfig
from ..errors import W2VError
from ..runs import RunStore


def twin_configs(cfg: RunConfig, loss: str = "rsr") -> tuple[RunConfig, RunConfig]:
    """(vanilla, treated): `cfg` with `loss` at weight 0, and `cfg` itself; nothing else differs but the name."""
    spec = next((s for s in cfg.train.losses if s.name == loss), None)
    if spec is None or spec.weight <= 0:
        raise W2VError(f"a twin pair needs the '{loss}' loss at a weight above 0 in the run's settings "
                       f"(got {[(s.name, s.weight) for s in cfg.train.losses] or 'no extra losses'})")
    losses = tuple(dataclasses.replace(s, weight=0.0) if s.name == loss else s for s in cfg.train.losses)
    vanilla = dataclasses.replace(cfg, name=f"{cfg.name}-vanilla", train=dataclasses.replace(cfg.train, losses=losses))
    return vanilla, dataclasses.replace(cfg, name=f"{cfg.name}-{loss}{spec.weight:g}")


@dataclass(frozen=True)
class Twins:
    vanilla: str  # run id
    treated: str  # run id
    note: str = ""  # e.g. why the pair is not bit-reproducible


def start_twins(store: RunStore, cfg: RunConfig, loss: str = "rsr", mode: str = "process",
                start: bool = True) -> Twins:
    """Create (and by default start) the vanilla twin and the treated run of `cfg` in `store`."""
    vanilla, treated = twin_configs(cfg, loss)
    ids = store.create(vanilla), store.create(treated)
    if start:
        for run_id in ids:
            store.start(run_id, mode=mode)
    note = "" if cfg.train.threads == 1 else (
        "threads != 1: Hogwild updates make each run non-reproducible, so the twins share seeds but not "
        "every update; use threads=1 for twins that differ only by the loss")
    return Twins(*ids, note)



def check_twins(v: RunConfig, t: RunConfig, loss: str) -> None:
    """W2VError unless the two runs differ only in name and the `loss` spec."""
    def strip(cfg):
        d = cfg.to_dict()
        d.pop("name")
        d["train"]["losses"] = [s for s in d["train"]["losses"] if s["name"] != loss]
        return d

    if strip(v) != strip(t):
        raise W2VError(f"'{t.name}' and '{v.name}' differ in more than the {loss} loss; a scorecard compares runs "
                       "that share corpus, training settings and seed (launch them with the flagship preset)")
