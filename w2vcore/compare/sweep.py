"""α sweeps with seeds: per α and metric, the mean over seeds and its CI."""
from __future__ import annotations

from typing import Sequence

from ..config import LossSpec
from ..errors import W2VError
from ..evaldata import Benchmarks
from ..runs import RunStore
from ..vectors import Vectors
from .comparison import Comparison, training_configs
from .heldout import rsr_probe
from .stats import aggregate


SWEEP_METRICS = {"f1_unseen": "honest ΔF1 (vs α = 0, concepts RSR never saw)",
                 "rho_heldout": "held-out human ρ", "simlex999": "SimLex-999 ρ", "wordsim353": "WordSim-353 ρ"}


def _heldout_rho_of(store: RunStore, run_id: str, vectors: Vectors, spec: LossSpec, data_dir) -> float:
    """The run's logged `rsr/rho_heldout` (last epoch row) if it has one, else RSR's own evaluation now."""
    rows = [r for r in store.metrics(run_id) if r.get("kind") == "epoch" and "rsr/rho_heldout" in r]
    if rows:
        return float(rows[-1]["rsr/rho_heldout"])
    probe = rsr_probe(vectors, LossSpec(spec.name, 0.0, {**spec.params, "metric": "none"}), data_dir)
    return probe.evaluate(vectors.vectors)["rsr/rho_heldout"]


def sweep_table(store: RunStore, runs: Sequence[str], data_dir: str | None = None, loss: str = "rsr",
                benchmarks: Benchmarks | None = None, folds: int = 5, repeats: int = 5, n_boot: int = 1000,
                level: float = 0.95) -> list[dict]:
    """Per α and metric, the mean over seeds and its CI (`aggregate`): rows {alpha, metric, label, mean,
    ci_low, ci_high, n_seeds, interval, note}.

    Metrics: honest ΔF1 against the α = 0 run of the same seed (concepts RSR never saw), held-out
    ρ (logged `rsr/rho_heldout`, else computed on RSR's split), SimLex-999 and WordSim-353
    Spearman. The runs must differ only in name, run seed and the loss's weight.
    """
    from .. import things
    from ..evaldata import load_benchmarks
    from ..things import load_categories

    configs = training_configs(store, runs, "an α sweep")

    def weight(cfg):
        return next((s.weight for s in cfg.train.losses if s.name == loss), 0.0)

    def key(cfg):
        d = cfg.to_dict()
        d.pop("name")
        d["train"].pop("seed")
        d["train"]["losses"] = [s for s in d["train"]["losses"] if s["name"] != loss]
        return d

    first = next(iter(configs.values()), None)
    if first is None or len(configs) < 2:
        raise W2VError("a sweep table needs at least two runs")
    odd = [c.name for c in configs.values() if key(c) != key(first)]
    if odd:
        raise W2VError(f"{odd[:3]} differ from '{first.name}' in more than the {loss} weight and the seed")
    specs = {_json_key(s.params): s for c in configs.values() for s in c.train.losses
             if s.name == loss and s.weight > 0}
    if len(specs) != 1:
        raise W2VError(f"the runs' {loss} settings must be the same apart from the weight, with at least one weight "
                       f"above 0 (found {len(specs)} different settings)")
    spec = next(iter(specs.values()))
    cells: dict[tuple[float, int], str] = {}
    for run_id, cfg in configs.items():
        cell = (weight(cfg), cfg.train.seed)
        if cell in cells:
            raise W2VError(f"two runs have α = {cell[0]:g} and seed {cell[1]}; pick one")
        cells[cell] = run_id
    data_dir = data_dir or first.data_dir
    benchmarks = benchmarks if benchmarks is not None else load_benchmarks(data_dir)
    categories = load_categories(data_dir) if things.available(data_dir) else None
    vectors = {run_id: store.load_vectors(run_id) for run_id in cells.values()}
    values: dict[tuple[float, str], list[tuple[float, tuple | None]]] = {}
    notes: dict[tuple[float, str], list[str]] = {}
    for (alpha, seed), run_id in sorted(cells.items()):
        v = vectors[run_id]
        values.setdefault((alpha, "rho_heldout"), []).append(
            (_heldout_rho_of(store, run_id, v, spec, data_dir), None))
        for name in ("simlex999", "wordsim353"):
            if name in benchmarks.pairs:
                values.setdefault((alpha, name), []).append((v.evaluate_word_pairs(benchmarks.pairs[name]).spearman,
                                                             None))
        if alpha == 0 or categories is None:
            continue
        base = cells.get((0.0, seed))
        if base is None:
            notes.setdefault((alpha, "f1_unseen"), []).append(f"no α = 0 run with seed {seed}")
            continue
        probe = rsr_probe(v, LossSpec(spec.name, 0.0, {**spec.params, "metric": "none"}), data_dir)
        comp = Comparison(vectors[base], v, rsr=probe, categories=categories, folds=folds, repeats=repeats,
                          n_boot=n_boot, level=level)
        try:
            values.setdefault((alpha, "f1_unseen"), []).append((comp.category.delta, comp.category.delta_ci))
        except W2VError as e:
            notes.setdefault((alpha, "f1_unseen"), []).append(str(e))
    rows = []
    for alpha in sorted({a for a, _ in cells}):
        for metric, label in SWEEP_METRICS.items():
            found = values.get((alpha, metric), [])
            note = "; ".join(dict.fromkeys(notes.get((alpha, metric), [])))
            if metric == "f1_unseen" and alpha == 0 and categories is not None:
                rows.append({"alpha": alpha, "metric": metric, "label": label, "mean": 0.0, "ci_low": None,
                             "ci_high": None, "n_seeds": sum(a == 0 for a, _ in cells), "interval": "",
                             "note": "the baseline: ΔF1 is measured against the α = 0 run of each seed"})
                continue
            if not found:
                if note:
                    rows.append({"alpha": alpha, "metric": metric, "label": label, "mean": None, "ci_low": None,
                                 "ci_high": None, "n_seeds": 0, "interval": "", "note": note})
                continue
            agg = aggregate([f[0] for f in found], [f[1] for f in found], level)
            rows.append({"alpha": alpha, "metric": metric, "label": label, "mean": agg["delta"],
                         "ci_low": agg["ci_low"], "ci_high": agg["ci_high"], "n_seeds": agg["n_seeds"],
                         "interval": agg["interval"], "note": note})
    return rows


def _json_key(params: dict) -> str:
    """A loss's parameters as a canonical string (to compare specs)."""
    import json

    return json.dumps(params, sort_keys=True, default=str)
