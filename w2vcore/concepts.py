"""Concept alignment: which vocabulary row stands for each concept name (a THINGS id, a word, a phrase), and how.

Concept names carry homonym digits (bat1, bat2) and underscores for multi-word names
(air_conditioner); `align_concepts` maps each to a vocabulary row by the best of `STRATEGIES` that
the vocabulary has, and says how each matched, which are missing, and which collided on one word.
RSR's targets, the comparison of two runs, THINGS evaluation and the fitted map all align this way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .errors import W2VError
from .things import concept_parts

STRATEGIES = ("word", "phrase", "compound", "last", "first")  # best first; see `align_concepts`
COLLISION_POLICIES = ("best", "keep")


@dataclass(frozen=True)
class Alignment:
    """Which concepts got a vocabulary row, and how (`STRATEGIES`)."""

    concepts: np.ndarray  # (m,) int64 indices into the concept list
    word_ids: np.ndarray  # (m,) int64 vocabulary ids, all different unless collisions="keep"
    strategies: tuple[str, ...]  # (m,) how each concept matched
    counts: dict[str, int]  # strategy -> concepts kept, plus "missing" and "dropped"
    missing: tuple[str, ...]  # concepts with no vocabulary word at all
    collisions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # word -> concepts that matched it
    dropped: tuple[str, ...] = ()  # concepts left out because a better match took their word

    def summary(self) -> str:
        parts = [f"{self.counts[s]} {s}" for s in STRATEGIES if self.counts.get(s)]
        text = f"{len(self.concepts)} concepts aligned ({', '.join(parts) or 'none'}), {len(self.missing)} missing"
        if self.collisions:
            shown = "; ".join(f"{w}: {', '.join(c)}" for w, c in list(self.collisions.items())[:5])
            more = f" and {len(self.collisions) - 5} more" if len(self.collisions) > 5 else ""
            text += f"; {len(self.collisions)} words matched by several concepts ({shown}{more})"
            if self.dropped:
                text += f", {len(self.dropped)} of those concepts dropped"
        return text


def _candidates(name: str, fallbacks: bool) -> list[tuple[str, str]]:
    parts = concept_parts(name)
    if len(parts) == 1:
        return [("word", parts[0])]
    if not parts:
        return []
    out = [("phrase", "_".join(parts))]
    if fallbacks:
        out += [("compound", "".join(parts)), ("last", parts[-1]), ("first", parts[0])]
    return out


def align_concepts(names: Sequence[str], key_to_index: Mapping[str, int], fallbacks: bool = True,
                   collisions: str = "best") -> Alignment:
    """Map concept names to vocabulary ids.

    Each concept takes the first of its candidates that is in the vocabulary: its single
    word (homonym digits stripped: bat1 -> bat), else its multi-word token from the phrase
    tokenizer (air_conditioner), else, with `fallbacks`, the compound (airconditioner), its
    last word (conditioner) or its first (air). When several concepts reach one word,
    `collisions="best"` keeps the one with the best strategy (the first listed on a tie)
    and drops the rest; "keep" maps them all to the shared vector. Both list them.
    """
    if collisions not in COLLISION_POLICIES:
        raise W2VError(f"collisions must be one of {COLLISION_POLICIES}, got {collisions!r}")
    matched: dict[int, list[tuple[int, int, str]]] = {}  # word id -> (strategy rank, concept, strategy)
    missing = []
    for c, name in enumerate(names):
        for strategy, token in _candidates(name, fallbacks):
            if token in key_to_index:
                matched.setdefault(key_to_index[token], []).append((STRATEGIES.index(strategy), c, strategy))
                break
        else:
            missing.append(name)
    kept, dropped, shared = [], [], {}
    for word_id, claims in matched.items():
        claims.sort()
        if len(claims) > 1:
            shared[word_id] = tuple(names[c] for _, c, _ in claims)
        keep = claims if collisions == "keep" else claims[:1]
        kept += [(c, word_id, strategy) for _, c, strategy in keep]
        dropped += [names[c] for _, c, _ in claims[len(keep):]]
    kept.sort()
    counts = {s: 0 for s in STRATEGIES}
    for _, _, strategy in kept:
        counts[strategy] += 1
    counts.update(missing=len(missing), dropped=len(dropped))
    words = _index_to_key(key_to_index, shared)
    return Alignment(np.array([c for c, _, _ in kept], dtype=np.int64),
                     np.array([w for _, w, _ in kept], dtype=np.int64), tuple(s for _, _, s in kept),
                     counts, tuple(missing), {words[w]: shared[w] for w in sorted(shared)}, tuple(dropped))


def _index_to_key(key_to_index: Mapping[str, int], wanted: Mapping[int, object]) -> dict[int, str]:
    return {i: w for w, i in key_to_index.items() if i in wanted}
