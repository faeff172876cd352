"""Presets and run naming: the flagship comparison (vanilla vs two RSR variants), twins and α sweeps.

The flagship asks one question: does RSR make word vectors better on concepts it never saw?
`flagship_configs` turns a base run into three runs per seed that differ only in the RSR spec:

- vanilla: `LossSpec("rsr", 0.0, ...)`, never trained (weight 0 is evaluation-only: it logs held-out ρ) and naming the
  target and the held-out split, so the run is scored on the same held-out concepts;
- RSR per-row (`metric="none"`, the notebook's method): moves the training concepts' rows;
- RSR with the learned map (`metric="gauge_only"`): learns M shared by all words, so what it
  learns can reach held-out concepts.

The held-out split is the RSR `seed` parameter (`SPLIT_SEED`), never the run's seed, so every
seed and arm is scored on the same unseen concepts. `arm_of` reads the arm back from a config.
The pages import these directly (`labui.settings` fills them from the user's settings); nothing here
imports streamlit.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

from .config import CorpusSource, LossSpec, RunConfig
from .errors import W2VError

# The built-in corpus with every other setting at its default (lr 0.05, window 10), with a validation curve:
# about 10 s on 2 cores (docs/results/defaults.md). Fewer than ~5 epochs on this small corpus leave every
# vector pointing the same way (all cosines near 1, gensim too), so we trade dimensions for epochs.
QUICK_DEMO = {"dim": 50, "epochs": 5, "val_fraction": 0.05}
# The notebook's values as far as this project records them: Adam, a-z tokens, word2vec's usual
# dim/window/negatives/min_count. Its exact epochs and batch size are not recorded; we use 5 and 4096.
NOTEBOOK = {"optimizer": "adam", "lr": 0.001, "dim": 100, "window": 5, "negative": 5, "epochs": 5,
            "batch_size": 4096, "min_count": 5}
RSR_DEFAULT_WEIGHT = 0.1  # the notebook's REG_STRENGTH
SPLIT_SEED = 0  # RSR's `seed`: which concepts are held out (independent of every run's seed)
# RSR's `heldout` for the flagship comparison: the share of aligned concepts that never enter the loss and
# are the only ones category F1 is tested on. Chosen for power, never on outcomes: with RSR's default 0.2,
# Brown has 130 test concepts and 8 scorable categories; with 0.5 it has 326 and 19 (docs/results/rsr.md).
HELDOUT = 0.5
ARMS = ("vanilla", "rsr-rows", "rsr-map")
ARM_LABELS = {"vanilla": "vanilla", "rsr-rows": "RSR per-row", "rsr-map": "RSR learned map"}
MAX_SEEDS = 10


# ------------------------------------------------------------------ naming and weights
def with_weight(losses: tuple[LossSpec, ...], name: str, weight: float) -> tuple[LossSpec, ...]:
    """The same losses with `name`'s weight replaced (added if absent): twins and sweeps differ only here."""
    specs = [dataclasses.replace(spec, weight=weight) if spec.name == name else spec for spec in losses]
    if not any(spec.name == name for spec in specs):
        specs.append(LossSpec(name, weight))
    return tuple(specs)


def variant_name(base: str, loss: str, weight: float) -> str:
    """Name of one run of a twin or sweep: "run-vanilla", "run-rsr-a0.1"."""
    return f"{base or 'run'}-vanilla" if weight == 0 else f"{base or 'run'}-{loss}-a{weight:g}"


def parse_weights(text: str) -> list[float]:
    """"0, 0.05, 0.1" -> [0.0, 0.05, 0.1]; each in [0, 1], at least two, no repeats."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        weights = [float(p) for p in parts]
    except ValueError:
        raise W2VError(f"the sweep weights must be numbers separated by commas, got {text!r}") from None
    if len(weights) < 2:
        raise W2VError("a sweep needs at least two weights, e.g. 0, 0.05, 0.1, 0.2")
    if len(set(weights)) != len(weights):
        raise W2VError("each sweep weight may appear once")
    if any(not 0.0 <= w <= 1.0 for w in weights):
        raise W2VError("sweep weights must be in [0, 1]")
    if len(weights) > 8:
        raise W2VError("at most 8 runs per sweep (they all train at once)")
    return weights


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds or len(seeds) > MAX_SEEDS:
        raise W2VError(f"give between 1 and {MAX_SEEDS} seeds, got {len(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise W2VError(f"each seed may appear once, got {seeds}")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise W2VError(f"seeds must be whole numbers >= 0, got {seeds}")
    return seeds


def _seeded(cfg: RunConfig, name: str, seed: int, losses: tuple[LossSpec, ...]) -> RunConfig:
    return dataclasses.replace(cfg, name=name, train=dataclasses.replace(cfg.train, seed=seed, losses=losses))


# ------------------------------------------------------------------ the flagship
def flagship_source(corpus_path: str = "", brown_path: str = "") -> CorpusSource:
    """The largest corpus available, by a fixed rule: the user's corpus file or folder if one is set
    and exists, else the user's Brown folder if set and exists (~1M tokens), else the built-in one
    (~0.5M tokens, always there). A user's own corpus is taken to be the one they want scored; a
    path that does not exist is passed over, so a stale setting cannot disable the preset."""
    corpus_path, brown_path = corpus_path.strip(), brown_path.strip()
    if corpus_path and Path(corpus_path).expanduser().exists():
        return CorpusSource("text", corpus_path)
    if brown_path and Path(brown_path).expanduser().is_dir():
        return CorpusSource("brown", brown_path)
    return CorpusSource("default")


def flagship_reason(source: CorpusSource, corpus_path: str = "", brown_path: str = "") -> str:
    """Why `flagship_source(corpus_path, brown_path)` chose `source`: its rule, in words, for the page."""
    if source.kind == "text":
        return "your corpus (set on the Data page): a corpus you chose is taken to be the one you want scored"
    if source.kind == "brown":
        return ("the Brown corpus folder (set or found on the Data page, ~1M tokens): the largest corpus "
                "available here")
    why = ("no corpus file or Brown folder is set on the Data page" if not (corpus_path.strip() or brown_path.strip())
           else "the corpus or Brown folder set on the Data page does not exist")
    return f"the built-in corpus (~0.5M tokens): {why}"


def flagship_params(base: RunConfig, loss: str = "rsr") -> dict:
    """The RSR parameters the three arms share: `base`'s own RSR params (if any) with the THINGS target,
    the held-out share and the split seed fixed, and `metric` removed (each arm sets its own)."""
    own = next((dict(s.params) for s in base.train.losses if s.name == loss), {})
    own.pop("metric", None)
    return own | {"target": "things", "heldout": own.get("heldout", HELDOUT), "seed": own.get("seed", SPLIT_SEED)}


def flagship_configs(base: RunConfig, seeds: Sequence[int] = (1,), weight: float = RSR_DEFAULT_WEIGHT
                     ) -> list[RunConfig]:
    """Three runs per seed, identical but for the RSR spec: vanilla, RSR per-row, RSR with the learned map.

    All keep `base`'s corpus and training settings; the tokenizer also joins THINGS multi-word
    concepts (air conditioner -> air_conditioner) so they get a vector. The map arm keeps every
    `metric_*` parameter at its registry default (`metric_keep` included). Names:
    `{name}-vanilla-s{seed}`, `{name}-rsr-rows-s{seed}`, `{name}-rsr-map-s{seed}`.
    """
    from . import things
    from .losses.rsr.loss import RSRParams

    if not 0.0 < weight <= 1.0:
        raise W2VError(f"the RSR weight (REG_STRENGTH) must be above 0 and at most 1, got {weight}")
    seeds = _check_seeds(seeds)
    others = tuple(s for s in base.train.losses if s.name != "rsr")
    if sum(s.weight for s in others) + weight > 1.0:
        raise W2VError(f"the other losses' weights plus RSR's {weight} exceed 1; lower one of them")
    phrases = tuple(dict.fromkeys(base.corpus.tokenizer.phrases + things.load(base.data_dir).phrases()))
    corpus = dataclasses.replace(base.corpus, tokenizer=dataclasses.replace(base.corpus.tokenizer, phrases=phrases))
    base = dataclasses.replace(base, corpus=corpus)
    shared = flagship_params(base)
    specs = {"vanilla": LossSpec("rsr", 0.0, shared),
             "rsr-rows": LossSpec("rsr", weight, shared | {"metric": "none"}),
             "rsr-map": LossSpec("rsr", weight, shared | {"metric": "gauge_only",
                                                         "metric_keep": RSRParams().metric_keep})}
    name = base.name or "run"
    return [_seeded(base, f"{name}-{arm}-s{seed}", seed, others + (spec,))
            for seed in seeds for arm, spec in specs.items()]


def arm_of(cfg: RunConfig, loss: str = "rsr") -> tuple[str, int]:
    """(arm, run seed) of a flagship run, read from its config (not its name): "vanilla" when the
    loss is absent or at weight 0, "rsr-rows" for `metric="none"`, "rsr-map" for `metric="gauge_only"`."""
    from .losses.rsr.loss import RSRParams

    spec = next((s for s in cfg.train.losses if s.name == loss), None)
    if spec is None or spec.weight == 0:
        return "vanilla", cfg.train.seed
    metric = RSRParams.from_values(spec.params).metric
    arms = {"none": "rsr-rows", "gauge_only": "rsr-map"}
    if metric not in arms:
        raise W2VError(f"run '{cfg.name}' uses RSR with metric={metric!r}, which is not one of the flagship's "
                       "arms (none: per-row, gauge_only: the learned map)")
    return arms[metric], cfg.train.seed


def flagship_group(configs: dict[str, RunConfig], loss: str = "rsr") -> dict[str, tuple[str, int]] | None:
    """run id -> (arm, seed) when the runs' configs form a flagship group: each an arm (`arm_of`), one run
    per (arm, seed), at least one vanilla and one RSR arm; else None."""
    try:
        arms = {run_id: arm_of(cfg, loss) for run_id, cfg in configs.items()}
    except W2VError:
        return None
    kinds = {arm for arm, _ in arms.values()}
    if len(set(arms.values())) != len(arms) or "vanilla" not in kinds or len(kinds) < 2:
        return None
    return arms


# ------------------------------------------------------------------ sweeps
def sweep_configs(base: RunConfig, weights: Sequence[float], seeds: Sequence[int] = (1, 2, 3),
                  loss: str = "rsr") -> list[RunConfig]:
    """One run per (weight, seed): `base` with `loss` at that weight and the run seed set, nothing else
    changed (the loss's parameters, hence RSR's held-out split, are shared). Names
    `{name}-vanilla-s{seed}` / `{name}-{loss}-a{weight}-s{seed}`. Include 0 so the sweep has a
    baseline for ΔF1 and held-out ρ at α = 0."""
    weights = [float(w) for w in weights]
    if not weights or len(set(weights)) != len(weights) or any(not 0.0 <= w <= 1.0 for w in weights):
        raise W2VError(f"sweep weights must be distinct numbers in [0, 1], got {weights}")
    seeds = _check_seeds(seeds)
    return [_seeded(base, f"{variant_name(base.name, loss, w)}-s{seed}", seed, with_weight(base.train.losses, loss, w))
            for w in weights for seed in seeds]
