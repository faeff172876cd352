"""The `rsr` loss (representational similarity regularisation): word cosines rank-correlated with human
similarity judgements.

- `loss`: the loss, its params (`RSRParams`) and its registration; the optional learned map M.
- `kernel`: its compiled CPU SGD path (numba).
- `ranking`: the differentiable (soft) ranks and Spearman correlation it optimises.
- `human`: its targets, human similarity judgements (THINGS, SimLex-999 + WordSim-353, a user's file).

docs/RSR.md describes the design.
"""
