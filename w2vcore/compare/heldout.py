"""What RSR holds out: its probe on any vocabulary, held-out Δρ, and the power of a comparison before launch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import LossSpec
from ..errors import W2VError
from ..evaluate import class_sizes_reason
from ..vectors import Vectors
from .stats import paired_spearman


def rsr_probe(vectors: Vectors, spec: LossSpec, data_dir: str | None = None):
    """The `rsr.RSR` a run with `spec` built on this vocabulary: the same held-out concept split."""
    return _rsr_on(vectors, spec, data_dir, vectors.vector_size)


def _rsr_on(vocab, spec: LossSpec, data_dir: str | None, dim: int):
    """`rsr.make_rsr` at weight 0 on anything with `key_to_index`: RSR's own alignment and held-out split."""
    import torch

    from ..losses import LossSetup
    from ..losses.rsr.loss import make_rsr

    setup = LossSetup(vocab=vocab, dim=dim, device=torch.device("cpu"), seed=0, data_dir=data_dir)
    return make_rsr(LossSpec(spec.name, 0.0, dict(spec.params)), setup)




def heldout_rho(rsr, a: Vectors, b: Vectors, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Spearman with the human target on pairs of `rsr`'s held-out concepts, for A and B, and Δρ.

    The pairs are those `RSR.evaluate` scores as `rsr/rho_heldout` (every pair of held-out
    concepts, or the rated pairs within them), found by word so A's vocabulary may differ;
    the CI resamples held-out concepts. `n` is the number of pairs, `concepts` of concepts.
    `rsr` must be aligned to B's vocabulary, as `rsr_probe(b, spec)` is.
    """
    held = np.isin(rsr.alignment.concepts, rsr.heldout_concepts)
    concepts, rows = rsr.alignment.concepts[held], rsr.alignment.word_ids[held]
    if len(rows) and rows.max() >= len(b):
        raise W2VError("the RSR probe was aligned to another vocabulary than B's; build it with rsr_probe(b, spec)")
    words = [b.index_to_key[i] for i in rows]
    missing = [w for w in words if w not in a or w not in b]
    if missing:
        raise W2VError(f"{len(missing)} held-out concept words are missing from one of the vocabularies "
                       f"(e.g. {missing[:5]}); compare runs trained on the same corpus")
    human = rsr.human
    if human.kind == "matrix":
        pa, pb = np.triu_indices(len(concepts), 1)
        scores = human.matrix[concepts[pa], concepts[pb]].astype(np.float64)
    else:
        where = np.full(len(human), -1)
        where[concepts] = np.arange(len(concepts))
        pa, pb = where[human.pairs[:, 0]], where[human.pairs[:, 1]]
        inside = (pa >= 0) & (pb >= 0)
        pa, pb, scores = pa[inside], pb[inside], human.scores[inside]
    if len(scores) < 3:
        raise W2VError(f"only {len(scores)} held-out pairs: too few for a correlation")
    sims = []
    for v in (a, b):
        unit = v.get_normed_vectors()[[v.key_to_index[w] for w in words]].astype(np.float64)
        sims.append(np.einsum("ij,ij->i", unit[pa], unit[pb]))
    out = paired_spearman(sims[0], sims[1], scores, (pa, pb), n_boot, level, seed)
    return {**out, "concepts": len(concepts)}


# ------------------------------------------------------------------ power before launch
MIN_TEST_CONCEPTS = 200  # fewer concepts tested for category F1: the comparison is underpowered
MIN_SCORED_CATEGORIES = 10  # fewer categories that can be cross-validated: underpowered


@dataclass(frozen=True)
class Power:
    """What an RSR comparison on one vocabulary can measure, known before any run starts.

    The split is RSR's own (`make_rsr` at weight 0), so `heldout_concepts` are exactly the
    concepts the runs never train on; `test_concepts` are those the category CV tests (the
    concepts whose word RSR never saw, as `Comparison.category` picks them), and `categories`
    the ones with at least `folds` members and non-members among them (`class_sizes_reason`).
    """

    aligned: int  # THINGS concepts with a vocabulary word
    train_concepts: tuple[str, ...]  # THINGS ids RSR trains on
    heldout_concepts: tuple[str, ...]  # THINGS ids RSR never sees
    test_concepts: tuple[str, ...]  # THINGS ids tested for category F1 on unseen concepts
    categories: tuple[str, ...]  # categories repeated CV can score on the test concepts
    skipped: dict  # category -> why it cannot be scored
    folds: int
    underpowered: bool
    reasons: list  # one phrase per shortfall ("only 76 test concepts (need 200)")

    def summary(self) -> str:
        text = (f"{self.aligned:,} THINGS concepts align, {len(self.heldout_concepts):,} are held out from RSR, "
                f"{len(self.test_concepts):,} are tested for category F1 and {len(self.categories)} of "
                f"{len(self.categories) + len(self.skipped)} categories can be scored")
        return text + (f": underpowered ({'; '.join(self.reasons)})." if self.underpowered else ".")


def power(key_to_index, data_dir: str | None = None, heldout: float = 0.2, split_seed: int = 0,
          folds: int = 5) -> Power:
    """How many THINGS concepts align to `key_to_index` (a prepared corpus's vocabulary), how many RSR
    holds out (`heldout`, `split_seed`: RSR's `heldout` and `seed` parameters), how many the
    category test sees and how many categories it can score; underpowered below
    `MIN_TEST_CONCEPTS` test concepts or `MIN_SCORED_CATEGORIES` scored categories."""
    from ..concepts import align_concepts
    from ..things import load_categories

    categories = load_categories(data_dir)
    vocab = _KeyToIndex(key_to_index)
    try:
        rsr = _rsr_on(vocab, LossSpec("rsr", 0.0, {"target": "things", "heldout": heldout, "seed": split_seed}),
                      data_dir, 1)
    except W2VError as e:  # too few concepts for RSR at all
        aligned = len(align_concepts(categories.concepts, key_to_index).concepts)
        return Power(aligned, (), (), (), (), {}, folds, True, [f"RSR cannot run on this vocabulary: {e}"])
    names = rsr.human.words
    trained_ids = set(rsr.alignment.word_ids[np.isin(rsr.alignment.concepts, rsr.train_concepts)].tolist())
    found = align_concepts(categories.concepts, key_to_index)
    tested = np.array([i not in trained_ids for i in found.word_ids.tolist()], dtype=bool)
    labels = categories.labels[found.concepts[tested]]
    scored, skipped = [], {}
    for c, name in enumerate(categories.names):
        reason = class_sizes_reason(labels[:, c], folds)
        if reason:
            skipped[name] = reason
        else:
            scored.append(name)
    reasons = []
    if tested.sum() < MIN_TEST_CONCEPTS:
        reasons.append(f"only {int(tested.sum())} concepts RSR never saw can be tested (need {MIN_TEST_CONCEPTS})")
    if len(scored) < MIN_SCORED_CATEGORIES:
        reasons.append(f"only {len(scored)} of {len(categories.names)} categories can be scored "
                       f"(need {MIN_SCORED_CATEGORIES})")
    return Power(len(rsr.alignment.concepts), tuple(names[c] for c in rsr.train_concepts),
                 tuple(names[c] for c in rsr.heldout_concepts),
                 tuple(categories.concepts[c] for c in found.concepts[tested]), tuple(scored), skipped, folds,
                 bool(reasons), reasons)


class _KeyToIndex:
    """A vocabulary as `LossSetup` wants one, from a bare key_to_index mapping."""

    def __init__(self, key_to_index):
        self.key_to_index = key_to_index

    def __len__(self) -> int:
        return len(self.key_to_index)

