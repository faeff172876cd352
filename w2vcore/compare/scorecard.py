"""`Scorecard`: vanilla against the RSR arms across seeds, a verdict in plain sentences, then the evidence."""
from __future__ import annotations

from functools import cached_property
from typing import Sequence

import numpy as np

from ..errors import W2VError
from ..evaldata import Benchmarks
from ..runs import RunStore
from .comparison import Comparison, training_configs
from .heldout import Power, power
from .stats import aggregate
from .twins import check_twins

# ------------------------------------------------------------------ across seeds
SCORE_METRICS = {  # metric key -> what it measures (Δ = treated - vanilla)
    "f1_unseen": "category F1 on concepts RSR never saw (repeated CV)",
    "f1_notebook": "category F1 on the notebook's split (RSR-trained concepts tested too)",
    "rho_heldout": "human ρ on held-out concept pairs",
    "simlex999": "SimLex-999 ρ",
    "wordsim353": "WordSim-353 ρ",
    "men": "MEN ρ",
}



def _signed(x: float, digits: int = 3) -> str:
    return f"{x:+.{digits}f}".replace("-", "\u2212")


def _judged(r: dict, down: str) -> str:
    """How a transfer question's Δ reads, by its interval: "rose by ...: it transfers.", "changed by ...: <down>.",
    no detectable change, or no interval."""
    return {"up": f"rose by {_with_ci(r)}: it transfers.",
            "down": f"changed by {_with_ci(r)}: {down}.",
            "flat": f"changed by {_with_ci(r)}: no detectable change.",
            "unknown": f"changed by {_with_ci(r)} (no interval)."}[_direction(r)]


def _with_ci(r: dict) -> str:
    ci = "" if r["ci_low"] is None else f" [{_signed(r['ci_low'])}, {_signed(r['ci_high'])}]"
    return _signed(r["delta"]) + ci


def _direction(r: dict) -> str:
    """"up", "down" or "flat": whether the CI lies above 0, below 0, or covers it ("unknown" without a CI)."""
    if r["ci_low"] is None:
        return "unknown"
    return "up" if r["ci_low"] > 0 else "down" if r["ci_high"] < 0 else "flat"



class Scorecard:
    """Vanilla against RSR per-row and RSR with the learned map, across seeds: a verdict, then the evidence.

    Each treated run is paired with the vanilla run of the same seed into one `Comparison`
    (lazy: nothing is computed until `rows`, `verdict`, `chart_rows` or `markdown` is asked for).
    Per arm and metric the scorecard reports the mean Δ over seeds with a CI: a t-interval over
    the per-seed Δs with 2 or more seeds, the run's own paired bootstrap CI with one.
    """

    def __init__(self, comparisons: dict[tuple[str, int], Comparison], power: Power | None = None,
                 level: float = 0.95, notes: Sequence[str] = ()):
        if not comparisons:
            raise W2VError("a scorecard needs at least one treated run paired with a vanilla run of the same seed")
        from ..presets import ARMS

        order = sorted(comparisons, key=lambda k: (_order(list(ARMS), k[0]), k[0], k[1]))
        self.comparisons, self.power, self.level = {k: comparisons[k] for k in order}, power, level
        self.notes = list(notes)
        self.unmeasured: dict[tuple[str, str], str] = {}  # (arm, metric) -> why it could not be measured

    @classmethod
    def from_runs(cls, store: RunStore, runs: Sequence[str], data_dir: str | None = None,
                  benchmarks: Benchmarks | None = None, loss: str = "rsr", **options) -> "Scorecard":
        """Group `runs` by (arm, seed) with `presets.arm_of`, pair each RSR run with the vanilla run of its
        seed and compare them (`Comparison.from_runs`; `options` go to `Comparison`, e.g. n_boot)."""
        from ..evaldata import load_benchmarks
        from ..presets import arm_of

        configs = training_configs(store, runs, "a scorecard")
        groups: dict[tuple[str, int], str] = {}
        for run_id, cfg in configs.items():
            key = arm_of(cfg, loss)
            if key in groups:
                raise W2VError(f"'{configs[groups[key]].name}' and '{cfg.name}' are both {key[0]} with seed {key[1]}; "
                               "pick one run per arm and seed")
            groups[key] = run_id
        vanilla = {seed: run_id for (arm, seed), run_id in groups.items() if arm == "vanilla"}
        data_dir = data_dir or next((c.data_dir for c in configs.values() if c.data_dir), None)
        benchmarks = benchmarks if benchmarks is not None else load_benchmarks(data_dir)
        comparisons, notes = {}, []
        for (arm, seed), run_id in sorted(groups.items()):
            if arm == "vanilla":
                continue
            if seed not in vanilla:
                notes.append(f"'{configs[run_id].name}' has no vanilla run with seed {seed}; left out")
                continue
            check_twins(configs[vanilla[seed]], configs[run_id], loss)
            comparisons[(arm, seed)] = Comparison.from_runs(store, vanilla[seed], run_id, data_dir, benchmarks,
                                                            loss, **options)
        if not comparisons:
            raise W2VError("no RSR run has a vanilla run of the same seed among the picked runs; pick both")
        first_key, first = next(iter(comparisons.items()))
        spec = next(s for s in configs[groups[first_key]].train.losses if s.name == loss)
        pw = None
        params = {"target": "auto", "heldout": 0.2, "seed": 0, **spec.params}  # RSR's defaults, then the run's
        if params["target"] in ("things", "auto"):
            try:
                pw = power(first.a.key_to_index, data_dir, params["heldout"], params["seed"], first.folds)
            except W2VError as e:
                notes.append(f"power not computed: {e}")
        return cls(comparisons, pw, first.level, notes)

    # ---- per seed and aggregated
    def _per_seed(self, arm: str, comp: Comparison) -> dict[str, tuple[float, tuple | None]]:
        """metric -> (Δ, CI or None) of one pair; a metric that cannot be measured is left out, and why goes to
        `unmeasured`."""
        out = {}
        def notebook():
            seed = comp.category_seed
            return seed and (seed[1].mean - seed[0].mean, None)

        parts = (("f1_unseen", lambda: comp.category and (comp.category.delta, comp.category.delta_ci)),
                 ("f1_notebook", notebook),
                 ("rho_heldout", lambda: comp.human and (comp.human["delta"], comp.human["ci"])))
        for key, part in parts:
            try:
                value = part()
            except W2VError as e:
                self.unmeasured.setdefault((arm, key), _short(str(e)))
                continue
            if value:
                out[key] = value
        for name, r in comp.word_pairs.items():
            out[name] = (r["delta"], r["ci"])
        return out

    @cached_property
    def rows(self) -> list[dict]:
        """One row per (arm, metric): {arm, metric, label, delta, ci_low, ci_high, n_seeds, interval, seeds,
        per_seed}."""
        found: dict[tuple[str, str], list[tuple[int, float, tuple | None]]] = {}
        for (arm, seed), comp in self.comparisons.items():
            for metric, (delta, ci) in self._per_seed(arm, comp).items():
                found.setdefault((arm, metric), []).append((seed, delta, ci))
        order = list(SCORE_METRICS)
        rows = []
        for (arm, metric), values in sorted(found.items(), key=lambda kv: (kv[0][0], _order(order, kv[0][1]))):
            agg = aggregate([v[1] for v in values], [v[2] for v in values], self.level)
            rows.append({"arm": arm, "metric": metric, "label": SCORE_METRICS.get(metric, f"{metric} ρ"), **agg,
                         "seeds": [v[0] for v in values], "per_seed": [v[1] for v in values]})
        return rows

    def chart_rows(self) -> list[dict]:
        """{arm, metric, label, delta, ci_low, ci_high, n_seeds} per bar of the chart (Δ with its CI)."""
        keys = ("arm", "metric", "label", "delta", "ci_low", "ci_high", "n_seeds")
        return [{k: r[k] for k in keys} for r in self.rows]

    def _row(self, arm: str, metric: str) -> dict | None:
        return next((r for r in self.rows if r["arm"] == arm and r["metric"] == metric), None)

    # ---- reading
    def verdict(self) -> list[str]:
        """One plain sentence per question and arm, the underpowered warning first, the kind of interval last."""
        from ..presets import ARM_LABELS

        out = []
        if self.power is not None and self.power.underpowered:
            out.append("Underpowered: " + "; ".join(self.power.reasons) + ", so the category-F1 verdicts below "
                       "are weak evidence; a larger corpus (Brown, or your own) aligns more concepts.")
        for arm in dict.fromkeys(a for a, _ in self.comparisons):
            who = ARM_LABELS.get(arm, arm)
            r = self._row(arm, "f1_unseen")
            if r is None and (arm, "f1_unseen") in self.unmeasured:
                out.append(f"{who}, on concepts it never saw: category F1 could not be measured "
                           f"({self.unmeasured[(arm, 'f1_unseen')]}).")
            if r is not None:
                out.append(f"{who}, on concepts it never saw: category F1 " + _judged(r, "no transfer"))
            r = self._row(arm, "f1_notebook")
            if r is not None:
                head = (f"{who}, on the notebook's split, which tests concepts RSR was trained on: F1 ")
                d = _direction(r)
                if r["delta"] > 0 and d in ("up", "unknown"):
                    out.append(head + f"rose by {_with_ci(r)}: that is the fit, not generalisation.")
                else:
                    out.append(head + f"changed by {_with_ci(r)}: " + ("lower even on the concepts it fitted."
                               if d == "down" else "no detectable change, even on the concepts it fitted."))
            r = self._row(arm, "rho_heldout")
            if r is not None:
                out.append(f"{who}, human similarity on held-out concepts: ρ "
                           + _judged(r, "it moved away from human judgements there"))
            bench = [r for r in (self._row(arm, m) for m in ("simlex999", "wordsim353", "men")) if r is not None]
            if bench:
                parts = ", ".join(f"{_bench_name(r['metric'])} {_with_ci(r)}" for r in bench)
                costs = [_bench_name(r["metric"]) for r in bench if _direction(r) == "down"]
                gains = [_bench_name(r["metric"]) for r in bench if _direction(r) == "up"]
                tail = (f"it costs {' and '.join(costs)}." if costs else
                        f"it helps {' and '.join(gains)}." if gains else "no detectable change.")
                out.append(f"{who}, general word similarity (Δρ): {parts}: {tail}")
        out.append(self._intervals())
        return out

    def _intervals(self) -> str:
        seeds = sorted({s for _, s in self.comparisons})
        if len(seeds) >= 2:
            return (f"Intervals are {self.level:.0%} t-intervals over the per-seed Δs of {len(seeds)} seeds "
                    f"({', '.join(map(str, seeds))}); each Δ pairs an RSR run with the vanilla run of its seed.")
        return (f"Intervals are {self.level:.0%} paired bootstrap CIs of one run per arm (seed {seeds[0]}): they "
                "cover which concepts or pairs were tested, not training noise; train more seeds for that.")

    def seen_concepts(self, arm: str) -> set[str]:
        """Vocabulary words RSR trained on in `arm` (empty for vanilla): mark them in neighbour tables and maps."""
        words = set()
        for (a, _), comp in self.comparisons.items():
            if a == arm and comp.rsr is not None:
                train = np.isin(comp.rsr.alignment.concepts, comp.rsr.train_concepts)
                words |= {comp.b.index_to_key[i] for i in comp.rsr.alignment.word_ids[train]}
        return words

    def heldout_words(self) -> set[str]:
        """Vocabulary words of the held-out concepts: those no arm ever trained on."""
        words = set()
        for comp in self.comparisons.values():
            if comp.rsr is not None:
                held = np.isin(comp.rsr.alignment.concepts, comp.rsr.heldout_concepts)
                words |= {comp.b.index_to_key[i] for i in comp.rsr.alignment.word_ids[held]}
        return words

    def markdown(self) -> str:
        """The verdict, the table of Δs (mean, CI, per seed), power and notes: for closing notes."""
        from ..presets import ARM_LABELS

        out = [" ".join(self.verdict()), "",
               f"| arm | metric | Δ mean | {self.level:.0%} CI | seeds | per-seed Δ | interval |",
               "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            ci = "" if r["ci_low"] is None else f"[{_signed(r['ci_low'])}, {_signed(r['ci_high'])}]"
            out.append(f"| {ARM_LABELS.get(r['arm'], r['arm'])} | {r['label']} | {_signed(r['delta'])} | {ci} | "
                       f"{r['n_seeds']} | {', '.join(_signed(d) for d in r['per_seed'])} | {r['interval']} |")
        if self.power is not None:
            out += ["", f"Power: {self.power.summary()}"]
        notes = self.notes + [f"{SCORE_METRICS.get(m, m)} not measured for {ARM_LABELS.get(a, a)}: {why}"
                              for (a, m), why in self.unmeasured.items()]
        if notes:
            out += [""] + [f"- {n}" for n in notes]
        return "\n".join(out)


def _short(text: str, limit: int = 160) -> str:
    """The first clause of an error, cut to `limit` characters (a verdict is no place for a list of 27)."""
    text = text.split(": ", 1)[0] if len(text) > limit else text
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _order(order: list[str], metric: str) -> int:
    return order.index(metric) if metric in order else len(order)


def _bench_name(metric: str) -> str:
    return {"simlex999": "SimLex-999", "wordsim353": "WordSim-353", "men": "MEN"}.get(metric, metric)


