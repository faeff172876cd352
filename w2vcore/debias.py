"""Gender debiasing: a skip-gram regulariser ("debias") and Bolukbasi's post-hoc hard debias.

The loss, registered as "debias", penalises the gender component of gender-neutral words w
(a sample of `sample` per step), with `scale` s:

    L = (1 - a) L_w2v + a s mean_{w, j} (w . a_j - w . b_j)^2    penalty="pairs" (default)
    L = (1 - a) L_w2v + a s mean_w (w . g)^2                      penalty="projection"

where (a_j, b_j) are the definitional pairs as unit vectors (she/he, woman/man, ...) and g is
Bolukbasi's direction, the first principal component of their centred differences
(`bias.pca_direction`). Both are taken from the *current* vectors at every step, since the
direction moves while the vectors train, and detached by default: the loss then moves only
neutral words, and only along the gender directions, so it removes their projection and
pushes them nowhere else. Differentiating through them ("differentiable") would also let
the loss lower the penalty by pulling the pairs together (she - he shrinking), erasing the
information the vectors should keep. The raw projection, not the cosine, is penalised: an
SGD step then shrinks the gender component by the same share at any norm (a cosine's
gradient grows as 1 / |w|^2 and overshoots on the small vectors of rare words);
`debias/cos2` logs the scale-free mean squared cosine. "pairs" is the default because on
Brown + wiki the per-step PC1 (whose pairs share ~40% of their variance) rotates under the
projection penalty and the published direction's bias grew instead (docs/DEBIAS.md).

Neutral words are the lists' neutral words (professions) minus a seeded held-out share,
plus (`vocab_top`) the most frequent words that are not gender-specific. `evaluate` reports
the unscaled penalty over all of them and DirectBias_1 on the listed words in the loss and
on the held-out ones (`debias/penalty`, `debias/direct_bias`, `debias/direct_bias_heldout`).

`hard_debias` is the post-hoc baseline: neutralise every non-gender-specific word (remove
its projection on g, renormalise) and equalise the equalize pairs (same component
orthogonal to g, opposite components along it), on unit vectors.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .bias import gender_direction, pca_direction
from .biaslists import GenderLists, find_pairs, find_words, load_gender_lists
from .config import LossSpec
from .errors import TrainingDiverged, W2VError
from .losses import LossSetup, Param, register, resolve_params
from .vectors import Vectors

PENALTIES = ("projection", "pairs")
DIRECTIONS = ("detached", "differentiable")

PARAMS = {
    "penalty": Param("pairs", help="pairs: mean (w . she^ - w . he^)^2 over the definitional pairs; projection: "
                                   "mean (w . g)^2 on their first principal component g"),
    "direction": Param("detached", help="the gender direction g is recomputed from the current vectors every step; "
                                        "detached: the loss moves only neutral words; differentiable: also the "
                                        "definitional words (it can shrink the pairs themselves)"),
    "lists": Param("builtin", help="'builtin', 'bolukbasi' (bias/bolukbasi.json in the data folder) or a JSON file "
                                   "in Bolukbasi's format (definitional_pairs, professions, specific_full, ...)"),
    "pairs": Param("", help="optional text file of definitional pairs, two words a line, female first"),
    "neutral": Param("", help="optional text file of gender-neutral words (e.g. professions), one a line"),
    "vocab_top": Param(20_000, 0, 1_000_000, "also treat the N most frequent words that are not gender-specific "
                                             "as neutral (0: the neutral list only)"),
    "sample": Param(512, 16, 100_000, "neutral words penalised per step"),
    "scale": Param(10.0, 0.0, 1000.0, "multiplies the penalty, a mean over many neutral words (each word's pull "
                                      "falls as 1 / their number); keep 2 * weight * lr * batch_size * scale / "
                                      "sample below 1 or the step overshoots"),
    "heldout": Param(0.2, 0.0, 0.9, "share of the listed neutral words that never enter the loss "
                                    "(scored as debias/direct_bias_heldout)"),
    "every": Param(1, 1, 1000, "apply the loss every N optimiser steps"),
    "seed": Param(0, 0, 2 ** 31 - 1, "which neutral words are held out (independent of the run's seed)"),
}


def torch_direction(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`bias.pca_direction` in torch: unit (d,) PC1 of the (k, d) unit pair rows, and its variance share."""
    centre = (first + second) / 2
    diffs = torch.cat([first - centre, second - centre])  # (2k, d)
    _, s, vh = torch.linalg.svd(diffs, full_matrices=False)
    g = vh[0]
    sign = torch.where(((first - second) @ g).sum() < 0, -1.0, 1.0).to(g.dtype)
    return g * sign, s[0] ** 2 / (s ** 2).sum().clamp_min(1e-30)


class Debias:
    """The debias loss over one `GenderLists`, aligned to a vocabulary (frequency order)."""

    def __init__(self, lists: GenderLists, index_to_key: Sequence[str], device: torch.device | str = "cpu", *,
                 weight: float = 0.0, name: str = "debias", penalty: str = "pairs",
                 direction: str = "detached", vocab_top: int = 20_000, sample: int = 512, scale: float = 10.0,
                 heldout: float = 0.2, every: int = 1, seed: int = 0):
        if penalty not in PENALTIES:
            raise W2VError(f"debias: penalty must be one of {PENALTIES}, got {penalty!r}")
        if direction not in DIRECTIONS:
            raise W2VError(f"debias: direction must be one of {DIRECTIONS}, got {direction!r}")
        self.name, self.weight, self.every = name, weight, int(every)
        self.penalty, self.detached, self.sample, self.scale = penalty, direction == "detached", int(sample), scale
        self.device = torch.device(device)
        key_to_index = {w: i for i, w in enumerate(index_to_key)}
        pairs, self.skipped_pairs = find_pairs(key_to_index, lists.definitional, "definitional pairs")
        self._pairs = torch.tensor(pairs, dtype=torch.long, device=self.device)  # (k, 2)
        match = find_words(key_to_index, lists.neutral, "neutral words")
        self.missing_neutral = match.missing
        ids = np.array(match.ids, dtype=np.int64)
        order = np.random.default_rng(seed).permutation(len(ids))
        n_held = int(round(heldout * len(ids)))
        if len(ids) - n_held < 1:
            raise W2VError(f"debias: only {len(ids)} neutral words are in the vocabulary, none left after holding "
                           f"out {heldout:.0%}")
        self.heldout_ids, self.train_ids = np.sort(ids[order[:n_held]]), np.sort(ids[order[n_held:]])
        gendered = lists.gendered_words()
        top = min(int(vocab_top), len(index_to_key))
        banned = set(self.heldout_ids.tolist())
        common = [i for i in range(top) if index_to_key[i].lower() not in gendered and i not in banned]
        pool = np.union1d(self.train_ids, np.array(common, dtype=np.int64))
        self.pool_ids = torch.as_tensor(pool, device=self.device)  # (N,) the neutral rows the loss may move
        self.summary = (f"{lists.source}: {len(pairs)} of {len(lists.definitional)} definitional pairs, "
                        f"{len(ids)} of {len(lists.neutral)} neutral words known ({len(self.train_ids)} in the loss, "
                        f"{n_held} held out), {len(pool):,} neutral words in all"
                        + (f"; unknown: {', '.join(self.missing_neutral[:10])}" if self.missing_neutral else ""))

    def loss(self, ctx) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        k = self._pairs.shape[0]
        pair_rows = ctx.gather(self._pairs.reshape(-1)).reshape(k, 2, -1)
        if len(self.pool_ids) <= self.sample:
            ids = self.pool_ids
        else:
            ids = self.pool_ids[torch.randint(0, len(self.pool_ids), (self.sample,), generator=ctx.generator,
                                           device=self.device)]
        rows = ctx.gather(ids)  # (S, d)
        norm2 = (rows.detach() * rows.detach()).sum(1).clamp_min(1e-12)  # (S,) for the cosine metric only
        pair_unit = F.normalize(pair_rows.detach() if self.detached else pair_rows, dim=-1)  # (k, 2, d)
        if not bool(torch.isfinite(pair_unit).all()):
            raise TrainingDiverged("debias: the definitional words' vectors became NaN or infinite; lower the "
                                   "weight or the scale (keep 2 * weight * lr * batch_size * scale / sample < 1)")
        if self.penalty == "projection":
            g, share = torch_direction(pair_unit[:, 0], pair_unit[:, 1])
            proj = rows @ g  # (S,) raw projection: its gradient 2 (w . g) g shrinks it by one share at any norm
            value = self.scale * (proj * proj).mean()
            cos2 = (proj.detach() ** 2 / norm2).mean()
            return value, {"debias/cos2": cos2, "debias/pc1_share": share.detach()}
        gap = rows @ (pair_unit[:, 0] - pair_unit[:, 1]).T  # (S, k) w . a^ - w . b^ = |w| (cos(w, a) - cos(w, b))
        value = self.scale * (gap * gap).mean()
        return value, {"debias/cos2": ((gap.detach() ** 2) / norm2[:, None]).mean()}

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
        g, share = pca_direction(a, b)
        pool = table[self.pool_ids.cpu().numpy()].astype(np.float64)  # (N, d) raw rows, as the loss sees them
        penalty = (pool @ g) ** 2 if self.penalty == "projection" else (pool @ (a - b).T) ** 2
        out = {"debias/penalty": float(penalty.mean()),  # the unscaled penalty over every neutral word of the loss
               "debias/direct_bias": float(np.abs(unit(self.train_ids) @ g).mean()), "debias/pc1_share": share}
        if len(self.heldout_ids):
            out["debias/direct_bias_heldout"] = float(np.abs(unit(self.heldout_ids) @ g).mean())
        return out


@register("debias", "Gender debiasing: penalise the projection of gender-neutral words (professions, frequent "
                    "words) on the gender direction (she - he, woman - man, ...)", params=PARAMS)
def make_debias(spec: LossSpec, setup: LossSetup) -> Debias:
    p = resolve_params(spec, PARAMS)
    lists = load_gender_lists(p["lists"], p["pairs"], p["neutral"], setup.data_dir)
    return Debias(lists, setup.vocab.index_to_key, setup.device, weight=spec.weight, name=spec.name,
                  penalty=p["penalty"], direction=p["direction"], vocab_top=p["vocab_top"], sample=p["sample"],
                  scale=p["scale"],
                  heldout=p["heldout"], every=p["every"], seed=p["seed"])


# ------------------------------------------------------------------------------ hard debias
def hard_debias(vectors: Vectors, lists: GenderLists, equalize: bool = True) -> Vectors:
    """Bolukbasi et al.'s hard debias: new unit-length Vectors.

    Every word not gender-specific (`lists.gendered_words()`) loses its projection on the
    gender direction (from the definitional pairs); each equalize pair in the vocabulary
    becomes y +- z g with y its mean's part orthogonal to g and z = sqrt(1 - |y|^2), so every
    neutral word is equally far from both words of the pair.
    """
    g = gender_direction(vectors, lists.definitional).vector  # (d,)
    unit = vectors.get_normed_vectors().astype(np.float64)  # (V, d), a copy
    gendered = lists.gendered_words()
    neutral = np.array([w.lower() not in gendered for w in vectors.index_to_key])
    unit[neutral] -= np.outer(unit[neutral] @ g, g)
    norms = np.linalg.norm(unit, axis=1, keepdims=True)
    unit = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 1e-12)
    if equalize and lists.equalize:
        known = [(a, b) for a, b in lists.equalize if a in vectors and b in vectors]
        for a, b in known:
            ia, ib = vectors.key_to_index[a], vectors.key_to_index[b]
            mean = (unit[ia] + unit[ib]) / 2
            y = mean - (mean @ g) * g
            z = np.sqrt(max(0.0, 1.0 - float(y @ y)))
            if (unit[ia] - unit[ib]) @ g < 0:
                z = -z
            unit[ia], unit[ib] = y + z * g, y - z * g
    return Vectors(vectors.index_to_key, unit.astype(np.float32), vectors.counts)
