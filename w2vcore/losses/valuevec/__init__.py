"""The `valuevec` loss: cosine similarity that follows a continuous word value (valence, a THINGS rating).

- `loss`: the loss, its params (`ValueVecParams`) and its registration; the optional learned map M.
- `kernel`: its compiled CPU SGD path (numba).
- `trainers`: the standalone ValueVec trainers (the article's procedure, and minibatch Adam), no corpus.
- `values`: the values (loaders, checks, held-out split) and the metrics that score vectors against them.

docs/VALUEVEC.md describes the design.
"""
