"""The `debias` loss: gender debiasing during training, and Bolukbasi's hard debias after it.

- `loss`: the loss, its params (`DebiasParams`), its registration, and `hard_debias`.
- `bias`: the measures (gender direction and subspace, DirectBias, WEAT, clustering, classification).
- `biaslists`: the word lists (definitional and equalize pairs, neutral words, WEAT tests).

docs/DEBIAS.md describes the design.
"""
