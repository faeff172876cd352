"""Comparing embeddings: twin runs, paired statistics, the comparison of two runs, the scorecard across
seeds and α sweeps. Each idea is a module; this package names what pages, the CLI and benchmarks use.

twins.py       the same run with and without a loss (`twin_configs`, `start_twins`)
stats.py       weighted Spearman, the paired bootstrap (`paired_spearman`), seeds (`aggregate`)
heldout.py     RSR's probe on a vocabulary (`rsr_probe`), held-out Δρ, power before launch (`power`)
comparison.py  `Comparison`: A against B on every metric
scorecard.py   `Scorecard`: vanilla against the RSR arms across seeds, the verdict
sweep.py       `sweep_table`: per α, the mean over seeds and its CI
"""
from .comparison import DEFAULT_WORDS, Comparison, shared_category_data
from .heldout import Power, heldout_rho, power, rsr_probe
from .scorecard import SCORE_METRICS, Scorecard
from .stats import aggregate, paired_spearman
from .sweep import SWEEP_METRICS, sweep_table
from .twins import Twins, start_twins, twin_configs

__all__ = ["DEFAULT_WORDS", "SCORE_METRICS", "SWEEP_METRICS", "Comparison", "Power", "Scorecard", "Twins",
           "aggregate", "heldout_rho", "paired_spearman", "power", "rsr_probe", "shared_category_data",
           "start_twins", "sweep_table", "twin_configs"]
