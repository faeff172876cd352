"""Gender debiasing: a skip-gram regulariser ("debias") and Bolukbasi's post-hoc hard debias.

The loss, registered as "debias", penalises the gender component of gender-neutral words w
(a sample of `sample` per step), with `scale` s:

    L = (1 - a) L_w2v + a s mean_{w, j} (w . a_j - w . b_j)^2    penalty="pairs" (default)
    L = (1 - a) L_w2v + a s mean_w (w . g)^2                      penalty="projection"
    L = (1 - a) L_w2v + a s mean_w |B w|^2                        penalty="subspace"

where (a_j, b_j) are the pairs as unit vectors (she/he, woman/man, ...; `pair_set` "all" adds
the equalize pairs), g is Bolukbasi's direction, their first principal component, and B
(k, d) their first k components (`bias.pca_subspace`; k = 0: as many as explain `explained`).
All are taken from the *current* vectors, since the directions move while the vectors train,
and detached by default: the loss then moves only neutral words, and only inside the gender
directions, so it removes their projection and pushes them nowhere else (`refresh` > 1 reuses
a snapshot between recomputations). Differentiating through them ("differentiable") would
also let the loss lower the penalty by pulling the pairs together, erasing the information
the vectors should keep. The raw projection, not the cosine, is penalised: an SGD step then
shrinks the gender component by the same share at any norm (a cosine's gradient grows as
1 / |w|^2 and overshoots on rare words); `debias/cos2` logs the scale-free mean squared cosine.
One direction ("projection") backfires on Brown + wiki: the per-step PC1 rotates under the
penalty and gender moves to other directions; the subspace of all components does not rotate
away (docs/DEBIAS.md). `schedule="hold"` scales the weight by 1 / (1 - progress) to undo SGD's
linear lr decay, so the share removed per step holds to the end of training.

Neutral words are the lists' neutral words (professions) minus a seeded held-out share,
plus (`vocab_top`) the most frequent words that are not gender-specific, minus `exclude`
(words a bias test will score, so it can measure words the loss never moved). `evaluate`
reports the unscaled penalty over all of them and DirectBias_1 on the listed words in the loss
and on the held-out ones (`debias/penalty`, `debias/direct_bias`, `debias/direct_bias_heldout`).

`hard_debias` is the post-hoc baseline: neutralise every non-gender-specific word (remove
its projection on g, or on a subspace B, renormalise) and equalise the equalize pairs (same
part outside B, opposite parts inside it), on unit vectors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...config import LossSpec
from ...errors import TrainingDiverged, W2VError
from ...vectors import Vectors
from .. import LossBase, LossSetup, register
from ..params import LossParams, param
from .bias import gender_subspace, pca_subspace
from .biaslists import (GenderLists, find_pairs, find_words, load_gender_lists, load_words_text,
                        resolve_path)

PENALTIES = ("pairs", "projection", "subspace")
DIRECTIONS = ("detached", "differentiable")
PAIR_SETS = ("definitional", "all")
SCHEDULES = ("constant", "hold")
HOLD_FLOOR = 0.02  # schedule="hold" multiplies the weight by 1 / max(1 - progress, HOLD_FLOOR)

@dataclass(frozen=True)
class DebiasParams(LossParams):
    """The parameters of the `debias` loss: each one's default, range and help, once."""

    loss: ClassVar[str] = "debias"

    penalty: str = param("pairs", help="pairs: mean (w . she^ - w . he^)^2 over the pairs; projection: (w . g)^2 on "
                                       "their first principal component g; subspace: |B w|^2 on their first k "
                                       "principal components B", choices=PENALTIES)
    direction: str = param("detached", help="the gender directions are recomputed from the current vectors; "
                                            "detached: the loss moves only neutral words; differentiable: also the "
                                            "pairs' words (it can shrink the pairs themselves)", choices=DIRECTIONS)
    lists: str = param("builtin", help="'builtin', 'bolukbasi' (bias/bolukbasi.json in the data folder) or a JSON file "
                                       "in Bolukbasi's format (definitional_pairs, professions, specific_full, ...)")
    pairs: str = param("", help="optional text file of definitional pairs, two words a line, female first")
    neutral: str = param("", help="optional text file of gender-neutral words (e.g. professions), one a line")
    pair_set: str = param("definitional", help="pairs that define the gender directions: definitional, or all "
                                               "(definitional and equalize pairs)", choices=PAIR_SETS)
    k: int = param(0, 0, 100, "principal components for penalty=subspace (0: as many as explain `explained`)")
    explained: float = param(1.0, 0.1, 1.0, "with k=0: the share of the pairs' variance the subspace must explain")
    vocab_top: int = param(20_000, 0, 1_000_000, "also treat the N most frequent words that are not gender-specific "
                                                 "as neutral (0: the neutral list only)")
    sample: int = param(512, 16, 1_000_000, "neutral words penalised per step (at least the pool: all of them)")
    scale: float = param(10.0, 0.0, 10_000.0, "multiplies the penalty, a mean over many neutral words (each word's pull "
                                              "falls as 1 / their number); keep 2 * weight * lr * batch_size * scale / "
                                              "sample below 1 or the step overshoots")
    heldout: float = param(0.2, 0.0, 0.9, "share of the listed neutral words that never enter the loss "
                                          "(scored as debias/direct_bias_heldout)")
    exclude: str = param("", help="optional text file of words the loss must never move (e.g. the words a bias test "
                                  "will measure), one a line")
    refresh: int = param(1, 1, 1_000_000, "recompute the gender directions every N applications (1: every step); "
                                          "in between a detached snapshot is used")
    schedule: str = param("constant", help="constant: the weight stays put, so the share removed per step falls with "
                                            "the learning rate; hold: the weight grows as lr falls (at most "
                                            "x1 / HOLD_FLOOR), removing the same share per step to the end", choices=SCHEDULES)
    every: int = param(1, 1, 1000, "apply the loss every N optimiser steps")
    seed: int = param(0, 0, 2 ** 31 - 1, "which neutral words are held out (independent of the run's seed)")


def torch_direction(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`bias.pca_direction` in torch: unit (d,) PC1 of the (k, d) unit pair rows, and its variance share."""
    basis, shares = torch_subspace(first, second, 1)
    return basis[0], shares[0]


def torch_subspace(first: torch.Tensor, second: torch.Tensor, k: int = 0, explained: float = 1.0,
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """`bias.pca_subspace` in torch: (k, d) orthonormal components of the (m, d) pair rows, and all shares."""
    centre = (first + second) / 2
    diffs = torch.cat([first - centre, second - centre])  # (2m, d)
    _, s, vh = torch.linalg.svd(diffs, full_matrices=False)
    shares = s ** 2 / (s ** 2).sum().clamp_min(1e-30)
    rank = int((shares > 1e-12).sum().clamp_min(1))
    if k == 0:
        k = int(torch.searchsorted(torch.cumsum(shares, 0), torch.tensor(explained - 1e-6, dtype=shares.dtype)) + 1)
    basis = vh[:min(k, rank)]
    sign = torch.where(((first - second) @ basis[0]).sum() < 0, -1.0, 1.0).to(basis.dtype)
    return torch.cat([basis[:1] * sign, basis[1:]]), shares


class Debias(LossBase):
    """The debias loss over one `GenderLists`, aligned to a vocabulary (frequency order)."""

    def __init__(self, lists: GenderLists, index_to_key: Sequence[str], device: torch.device | str = "cpu",
                 params: DebiasParams = DebiasParams(), *, weight: float = 0.0, name: str = "debias",
                 exclude: Sequence[str] = ()):
        """`exclude`: the words of `params.exclude`'s file (the factory reads it), which the loss never moves."""
        p = params
        self.params, self.name, self.weight, self.every = p, name, weight, p.every
        self.penalty, self.detached, self.sample, self.scale = p.penalty, p.direction == "detached", p.sample, p.scale
        self.k, self.explained, self.refresh = (1 if p.penalty == "projection" else p.k), p.explained, p.refresh
        self.schedule = p.schedule
        self.device = torch.device(device)
        key_to_index = {w: i for i, w in enumerate(index_to_key)}
        source = tuple(dict.fromkeys(lists.definitional + (lists.equalize if p.pair_set == "all" else ())))
        pairs, self.skipped_pairs = find_pairs(key_to_index, source, "definitional pairs")
        self._pairs = torch.tensor(pairs, dtype=torch.long, device=self.device)  # (m, 2)
        match = find_words(key_to_index, lists.neutral, "neutral words")
        self.missing_neutral = match.missing
        banned = {key_to_index[w if w in key_to_index else w.lower()] for w in exclude
                  if w in key_to_index or w.lower() in key_to_index}
        self.excluded_ids = np.array(sorted(banned), dtype=np.int64)  # (E,) rows the loss never moves
        ids = np.array([i for i in match.ids if i not in banned], dtype=np.int64)
        order = np.random.default_rng(p.seed).permutation(len(ids))
        n_held = int(round(p.heldout * len(ids)))
        if len(ids) - n_held < 1:
            raise W2VError(f"debias: only {len(ids)} neutral words are in the vocabulary and not excluded, none "
                           f"left after holding out {p.heldout:.0%}")
        self.heldout_ids, self.train_ids = np.sort(ids[order[:n_held]]), np.sort(ids[order[n_held:]])
        gendered = lists.gendered_words()
        top = min(p.vocab_top, len(index_to_key))
        banned |= set(self.heldout_ids.tolist())
        common = [i for i in range(top) if index_to_key[i].lower() not in gendered and i not in banned]
        pool = np.union1d(self.train_ids, np.array(common, dtype=np.int64))
        self.pool_ids = torch.as_tensor(pool, device=self.device)  # (N,) the neutral rows the loss may move
        self._snapshot: torch.Tensor | None = None  # (r, d) detached directions between refreshes
        self._calls = 0
        self.summary = (f"{lists.source}: {len(pairs)} of {len(source)} pairs ({p.pair_set}), "
                        f"{len(ids)} of {len(lists.neutral)} neutral words known and not excluded "
                        f"({len(self.train_ids)} in the loss, {n_held} held out), {len(pool):,} neutral words in "
                        f"all, {len(self.excluded_ids)} excluded"
                        + (f"; unknown: {', '.join(self.missing_neutral[:10])}" if self.missing_neutral else ""))

    def ramp(self, progress: float) -> float:
        """Weight multiplier at `progress` (0..1): "hold" undoes SGD's linear lr decay (lr0 (1 - progress))."""
        return 1.0 if self.schedule == "constant" else 1.0 / max(1.0 - progress, HOLD_FLOOR)

    def _directions(self, pair_unit: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(r, d) rows the penalty projects on: pair differences, or the PC basis (k = 1 for projection)."""
        if self.penalty == "pairs":
            return pair_unit[:, 0] - pair_unit[:, 1], {}
        basis, shares = torch_subspace(pair_unit[:, 0], pair_unit[:, 1], self.k, self.explained)
        return basis, {"debias/pc1_share": shares[0].detach(),
                       "debias/explained": shares[:len(basis)].sum().detach(),
                       "debias/k": torch.tensor(float(len(basis)))}

    def loss(self, ctx) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if len(self.pool_ids) <= self.sample:
            ids = self.pool_ids
        else:
            ids = self.pool_ids[torch.randint(0, len(self.pool_ids), (self.sample,), generator=ctx.generator,
                                           device=self.device)]
        rows = ctx.gather(ids)  # (S, d)
        norm2 = (rows.detach() * rows.detach()).sum(1).clamp_min(1e-12)  # (S,) for the cosine metric only
        metrics = {}
        if self.detached and self._snapshot is not None and self._calls % self.refresh:
            dirs = self._snapshot
        else:
            m = self._pairs.shape[0]
            pair_rows = ctx.gather(self._pairs.reshape(-1)).reshape(m, 2, -1)
            pair_unit = F.normalize(pair_rows.detach() if self.detached else pair_rows, dim=-1)  # (m, 2, d)
            if not bool(torch.isfinite(pair_unit).all()):
                raise TrainingDiverged("debias: the definitional words' vectors became NaN or infinite; lower the "
                                       "weight or the scale (keep 2 * weight * lr * batch_size * scale / sample < 1)")
            dirs, metrics = self._directions(pair_unit)
            self._snapshot = dirs.detach()
        self._calls += 1
        proj = rows @ dirs.T  # (S, r) raw projections: their gradient shrinks them by one share at any norm
        # pairs: mean over the pairs (|w| (cos(w, a) - cos(w, b)))^2; projection / subspace: |B w|^2
        per_word = (proj * proj).mean(1) if self.penalty == "pairs" else (proj * proj).sum(1)
        metrics["debias/cos2"] = (per_word.detach() / norm2).mean()
        return self.scale * per_word.mean(), metrics

    @torch.no_grad()
    def evaluate(self, vectors: torch.Tensor | np.ndarray) -> dict[str, float]:
        """The penalty over all the loss's neutral words, DirectBias_1 of the listed neutral words in the loss
        and of the held-out ones, and PC1's variance share.

        vectors: the (V, d) word table, vocabulary order.
        """
        table = vectors.detach().cpu().numpy() if isinstance(vectors, torch.Tensor) else np.asarray(vectors)
        pairs = self._pairs.cpu().numpy()

        def unit(ids):
            rows = table[ids].astype(np.float64)
            return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)

        a, b = unit(pairs[:, 0]), unit(pairs[:, 1])
        basis, shares = pca_subspace(a, b, self.k, self.explained)
        g = basis[0]
        pool = table[self.pool_ids.cpu().numpy()].astype(np.float64)  # (N, d) raw rows, as the loss sees them
        penalty = ((pool @ (a - b).T) ** 2).mean(1) if self.penalty == "pairs" else ((pool @ basis.T) ** 2).sum(1)
        out = {"debias/penalty": float(penalty.mean()),  # the unscaled penalty over every neutral word of the loss
               "debias/direct_bias": float(np.abs(unit(self.train_ids) @ g).mean()),
               "debias/pc1_share": float(shares[0])}
        if len(self.heldout_ids):
            out["debias/direct_bias_heldout"] = float(np.abs(unit(self.heldout_ids) @ g).mean())
        return out


@register("debias", "Gender debiasing: penalise the projection of gender-neutral words (professions, frequent "
                    "words) on the gender directions (she - he, woman - man, ...)", params=DebiasParams)
def make_debias(spec: LossSpec, setup: LossSetup) -> Debias:
    p = DebiasParams.from_values(spec.params)
    lists = load_gender_lists(p.lists, p.pairs, p.neutral, setup.data_dir)
    exclude = load_words_text(resolve_path(p.exclude, setup.data_dir)) if p.exclude else ()
    return Debias(lists, setup.vocab.index_to_key, setup.device, p, weight=spec.weight, name=spec.name,
                  exclude=exclude)


# ------------------------------------------------------------------------------ hard debias
def hard_debias(vectors: Vectors, lists: GenderLists, equalize: bool = True, k: int = 1, explained: float = 1.0,
                pair_set: str = "definitional") -> Vectors:
    """Bolukbasi et al.'s hard debias on a gender subspace B: new unit-length Vectors.

    B holds the first k principal components of the pairs (`pair_set`: the definitional pairs, or
    "all": with the equalize pairs too; k = 0: as many as explain `explained`); k = 1 is the
    paper's single direction g. Every word not gender-specific (`lists.gendered_words()`) loses
    its projection on B and is renormalised. Each equalize pair in the vocabulary becomes
    nu +- sqrt(1 - |nu|^2) (w_B - mu_B) / |w_B - mu_B|, with mu its mean, nu = mu - mu_B its part
    outside B and w_B a word's part inside: both words then differ only inside B, where every
    neutral word has no component, so neutral words are equally far from both.
    """
    if pair_set not in PAIR_SETS:
        raise W2VError(f"hard debias: pair_set must be one of {PAIR_SETS}, got {pair_set!r}")
    source = lists.definitional + (lists.equalize if pair_set == "all" else ())
    basis = gender_subspace(vectors, tuple(dict.fromkeys(source)), k, explained).basis  # (k, d)
    unit = vectors.get_normed_vectors().astype(np.float64)  # (V, d), a copy
    gendered = lists.gendered_words()
    neutral = np.array([w.lower() not in gendered for w in vectors.index_to_key])
    unit[neutral] -= (unit[neutral] @ basis.T) @ basis
    norms = np.linalg.norm(unit, axis=1, keepdims=True)
    unit = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 1e-12)
    if equalize and lists.equalize:
        known = [(a, b) for a, b in lists.equalize if a in vectors and b in vectors]
        for a, b in known:
            ia, ib = vectors.key_to_index[a], vectors.key_to_index[b]
            mean = (unit[ia] + unit[ib]) / 2
            mean_b = (mean @ basis.T) @ basis
            nu = mean - mean_b
            z = np.sqrt(max(0.0, 1.0 - float(nu @ nu)))
            offset = (unit[ia] @ basis.T) @ basis - mean_b  # (d,) inside B; the other word has -offset
            size = float(np.linalg.norm(offset))
            if size > 1e-12:
                unit[ia], unit[ib] = nu + z * offset / size, nu - z * offset / size
    return Vectors(vectors.index_to_key, unit.astype(np.float32), vectors.counts)
