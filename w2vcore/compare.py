"""Twin runs (the same run with and without an extra loss) and the comparison of two embeddings.

A twin pair differs only in one loss's weight: the vanilla twin keeps the loss spec at
weight 0, which is built evaluation-only (it logs its metrics, never trains and draws no random
numbers), so both runs draw the same corpus order,
subsampling, windows and negatives (bit for bit with `threads=1`; Hogwild threads are not
reproducible even run to run). `Comparison` then reports, for A (vanilla) and B (treated):
category ΔF1 (paired CV, tested only on concepts RSR never saw), held-out Δρ with the human
target, word-pair and analogy benchmarks, neighbour tables and neighbour overlap.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from .config import LossSpec, RunConfig
from .errors import W2VError
from .evaldata import Benchmarks
from .evaluate import (CategoryData, _class_sizes_reason, category_data, category_f1_paired, category_f1_seed,
                       neighbour_overlap, unseen_mask)
from .runs import RunStore
from .things import Categories
from .vectors import ANALOGY_METHODS, Vectors

DEFAULT_WORDS = ("cat", "dog", "car", "hammer", "apple")  # the RSR notebook's neighbour examples


# ------------------------------------------------------------------ twins
def twin_configs(cfg: RunConfig, loss: str = "rsr") -> tuple[RunConfig, RunConfig]:
    """(vanilla, treated): `cfg` with `loss` at weight 0, and `cfg` itself; nothing else differs but the name."""
    spec = next((s for s in cfg.train.losses if s.name == loss), None)
    if spec is None or spec.weight <= 0:
        raise W2VError(f"a twin pair needs the '{loss}' loss at a weight above 0 in the run's settings "
                       f"(got {[(s.name, s.weight) for s in cfg.train.losses] or 'no extra losses'})")
    losses = tuple(dataclasses.replace(s, weight=0.0) if s.name == loss else s for s in cfg.train.losses)
    vanilla = dataclasses.replace(cfg, name=f"{cfg.name}-vanilla", train=dataclasses.replace(cfg.train, losses=losses))
    return vanilla, dataclasses.replace(cfg, name=f"{cfg.name}-{loss}{spec.weight:g}")


@dataclass(frozen=True)
class Twins:
    vanilla: str  # run id
    treated: str  # run id
    note: str = ""  # e.g. why the pair is not bit-reproducible


def start_twins(store: RunStore, cfg: RunConfig, loss: str = "rsr", mode: str = "process",
                start: bool = True) -> Twins:
    """Create (and by default start) the vanilla twin and the treated run of `cfg` in `store`."""
    vanilla, treated = twin_configs(cfg, loss)
    ids = store.create(vanilla), store.create(treated)
    if start:
        for run_id in ids:
            store.start(run_id, mode=mode)
    note = "" if cfg.train.threads == 1 else (
        "threads != 1: Hogwild updates make each run non-reproducible, so the twins share seeds but not "
        "every update; use threads=1 for twins that differ only by the loss")
    return Twins(*ids, note)


def rsr_probe(vectors: Vectors, spec: LossSpec, data_dir: str | None = None):
    """The `rsr.RSR` a run with `spec` built on this vocabulary: the same held-out concept split."""
    return _rsr_on(vectors, spec, data_dir, vectors.vector_size)


def _rsr_on(vocab, spec: LossSpec, data_dir: str | None, dim: int):
    """`rsr.make_rsr` at weight 0 on anything with `key_to_index`: RSR's own alignment and held-out split."""
    import torch

    from .losses import LossSetup
    from .losses.rsr.loss import make_rsr

    setup = LossSetup(vocab=vocab, dim=dim, device=torch.device("cpu"), seed=0, data_dir=data_dir)
    return make_rsr(LossSpec(spec.name, 0.0, dict(spec.params)), setup)


# ------------------------------------------------------------------ paired statistics
def _groups(x: np.ndarray) -> tuple[np.ndarray, int]:
    _, inverse = np.unique(x, return_inverse=True)
    return inverse.ravel(), int(inverse.max()) + 1


def _ranks(groups: tuple[np.ndarray, int], w: np.ndarray) -> np.ndarray:
    """Average ranks of values repeated w times (ties averaged, as scipy.stats.rankdata)."""
    inverse, n = groups
    size = np.bincount(inverse, weights=w, minlength=n)
    return (np.cumsum(size) - (size - 1) / 2)[inverse]


def _spearman(x_groups, y_groups, w: np.ndarray) -> float:
    """Spearman rho of the sample where item i appears w[i] times (w = 1: scipy's spearmanr)."""
    rx, ry = _ranks(x_groups, w), _ranks(y_groups, w)
    total = w.sum()
    dx, dy = rx - (w @ rx) / total, ry - (w @ ry) / total
    den = math.sqrt((w @ (dx * dx)) * (w @ (dy * dy)))
    return float((w @ (dx * dy)) / den) if den > 0 else float("nan")


def paired_spearman(sim_a: np.ndarray, sim_b: np.ndarray, human: np.ndarray, units: tuple | None = None,
                    n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Spearman of A's and B's similarities with `human` over the same items, Δ = B - A and its CI.

    The bootstrap resamples `units`: by default the items themselves; with `units=(ua, ub)`
    (the two concept positions of each pair) it resamples concepts, and a pair counts as
    often as both its concepts were drawn, since pairs sharing a concept are not independent.
    """
    if n_boot < 1 or not 0 < level < 1:
        raise W2VError(f"need n_boot >= 1 and 0 < level < 1, got {n_boot} and {level}")
    sim_a, sim_b, human = (np.asarray(x, dtype=np.float64) for x in (sim_a, sim_b, human))
    if not (sim_a.shape == sim_b.shape == human.shape) or sim_a.ndim != 1 or len(human) < 3:
        raise W2VError(f"need three equally long lists of at least 3 similarities, got {sim_a.shape}, "
                       f"{sim_b.shape}, {human.shape}")
    if not (np.isfinite(sim_a).all() and np.isfinite(sim_b).all() and np.isfinite(human).all()):
        raise W2VError("similarities must be finite numbers (no NaN: drop pairs with unknown words first)")
    ga, gb, gh = _groups(sim_a), _groups(sim_b), _groups(human)
    ones = np.ones(len(human))
    rho_a, rho_b = _spearman(ga, gh, ones), _spearman(gb, gh, ones)
    rng = np.random.default_rng(seed)
    n_units = len(human) if units is None else int(max(u.max() for u in units)) + 1
    deltas = np.empty(n_boot)
    for i in range(n_boot):
        draw = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units)).astype(np.float64)
        w = draw if units is None else draw[units[0]] * draw[units[1]]
        deltas[i] = _spearman(gb, gh, w) - _spearman(ga, gh, w)
    lo, hi = np.nanpercentile(deltas, [50 * (1 - level), 50 * (1 + level)])
    return {"a": rho_a, "b": rho_b, "delta": rho_b - rho_a, "ci": (float(lo), float(hi)), "n": len(human)}


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


def shared_category_data(a: Vectors, b: Vectors, categories: Categories) -> tuple[CategoryData, CategoryData]:
    """Category data of both embeddings restricted to the concepts matched, to the same word, in both."""
    da, db = category_data(a, categories), category_data(b, categories)
    key_b = {(c, w): i for i, (c, w) in enumerate(zip(db.concepts, db.words))}
    rows_a = [i for i, key in enumerate(zip(da.concepts, da.words)) if key in key_b]
    rows_b = [key_b[(da.concepts[i], da.words[i])] for i in rows_a]
    if len(rows_a) < len(da.concepts) or len(rows_b) < len(db.concepts):
        da, db = _subset(da, rows_a), _subset(db, rows_b)
    return da, db


def _subset(d: CategoryData, rows: Sequence[int]) -> CategoryData:
    rows = np.asarray(rows, dtype=np.int64)
    return CategoryData(tuple(d.concepts[i] for i in rows), tuple(d.words[i] for i in rows), d.word_ids[rows],
                        d.names, d.X[rows], d.Y[rows])


# ------------------------------------------------------------------ the comparison
class Comparison:
    """A (vanilla) against B (treated): every metric for both, Δ = B - A, and paired CIs.

    Parts are computed when first asked for (`category`, `human`, `word_pairs`, `analogies`,
    `overlap`), so a page can show them one by one; `table()` and `markdown()` gather them.
    `rsr` (from `rsr_probe(b, spec)`) gives the held-out Δρ and keeps every concept RSR
    trained on out of the category test folds; without it all matched concepts are tested.
    """

    def __init__(self, a: Vectors, b: Vectors, labels: tuple[str, str] = ("A", "B"), rsr=None,
                 categories: Categories | None = None, benchmarks: Benchmarks | None = None,
                 words: Sequence[str] = DEFAULT_WORDS, k: int = 10, n_overlap: int = 1000, folds: int = 5,
                 repeats: int = 5, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
                 restrict_vocab: int | None = 300_000):
        self.a, self.b, self.labels, self.rsr = a, b, tuple(labels), rsr
        self.categories, self.benchmarks, self.words, self.k = categories, benchmarks, tuple(words), k
        self.n_overlap, self.folds, self.repeats, self.n_boot, self.level = n_overlap, folds, repeats, n_boot, level
        self.seed, self.restrict_vocab = seed, restrict_vocab
        self.notes: list[str] = []

    @classmethod
    def from_runs(cls, store: RunStore, a_id: str, b_id: str, data_dir: str | None = None,
                  benchmarks: Benchmarks | None = None, loss: str = "rsr", **options) -> "Comparison":
        """Two runs of `store`: the RSR probe from B's (else A's) `loss` spec, THINGS categories and
        the benchmarks from `data_dir` (default: B's data folder; THINGS falls back to the packaged
        copy, benchmarks to gensim's)."""
        from . import things
        from .evaldata import load_benchmarks
        from .things import load_categories

        configs = store.config(a_id), store.config(b_id)
        data_dir = data_dir or configs[1].data_dir or configs[0].data_dir
        a, b = store.load_vectors(a_id), store.load_vectors(b_id)
        found = next(((cfg, s) for cfg in configs[::-1] for s in cfg.train.losses if s.name == loss), None)
        rsr = rsr_probe(b, found[1], found[0].data_dir or data_dir) if found else None  # the run's own target
        categories = load_categories(data_dir) if things.available(data_dir) else None
        return cls(a, b, (configs[0].name, configs[1].name), rsr=rsr, categories=categories,
                   benchmarks=benchmarks if benchmarks is not None else load_benchmarks(data_dir), **options)

    # ---- parts
    @cached_property
    def category(self):
        """`PairedScores` of repeated CV on shared concepts (None without categories)."""
        if self.categories is None:
            return None
        da, db = shared_category_data(self.a, self.b, self.categories)
        mask = None
        if self.rsr is not None:
            train = np.isin(self.rsr.alignment.concepts, self.rsr.train_concepts)
            mask = unseen_mask(da, [self.b.index_to_key[i] for i in self.rsr.alignment.word_ids[train]])
        return category_f1_paired(da, db, self.folds, self.repeats, self.seed, mask, n_boot=self.n_boot,
                                  level=self.level)

    @cached_property
    def category_seed(self):
        """The notebook's single-split F1 for A and B on all shared concepts (RSR-seen ones included)."""
        if self.categories is None:
            return None
        da, db = shared_category_data(self.a, self.b, self.categories)
        return category_f1_seed(da), category_f1_seed(db)

    @cached_property
    def human(self) -> dict | None:
        """Held-out Δρ (`heldout_rho`) plus both runs' `rsr/rho_train` from `RSR.evaluate`."""
        if self.rsr is None:
            return None
        out = heldout_rho(self.rsr, self.a, self.b, min(self.n_boot, 1000), self.level, self.seed)
        if self.a.key_to_index == self.b.key_to_index:
            out["train"] = tuple(self.rsr.evaluate(v.vectors).get("rsr/rho_train") for v in (self.a, self.b))
        return out

    @cached_property
    def word_pairs(self) -> dict[str, dict]:
        """Benchmark -> `paired_spearman` over the pairs both vocabularies know (+ "oov": (A, B) ratios)."""
        out = {}
        for name, pairs in (self.benchmarks.pairs.items() if self.benchmarks else ()):
            sa, sb = (v.similarities_for_pairs(pairs, True, self.restrict_vocab) for v in (self.a, self.b))
            used = ~np.isnan(sa) & ~np.isnan(sb)
            if used.sum() < 3:
                self.notes.append(f"{name}: fewer than 3 pairs known to both runs; skipped")
                continue
            human = np.array([p[2] for p in pairs], dtype=np.float64)[used]
            out[name] = {**paired_spearman(sa[used], sb[used], human, None, min(self.n_boot, 1000), self.level,
                                           self.seed), "oov": (float(np.isnan(sa).mean()), float(np.isnan(sb).mean()))}
        return out

    @cached_property
    def analogies(self) -> dict:
        """Method -> (A's `AnalogyScore`, B's)."""
        if not self.benchmarks or not self.benchmarks.analogies:
            return {}
        return {m: tuple(v.evaluate_word_analogies(self.benchmarks.analogies, self.restrict_vocab, m)
                         for v in (self.a, self.b)) for m in ANALOGY_METHODS}

    @cached_property
    def overlap(self):
        return neighbour_overlap(self.a, self.b, k=self.k, n_words=self.n_overlap)

    def neighbour_table(self, words: Sequence[str] | None = None, k: int | None = None) -> list[dict]:
        """Rows (word, rank, A's neighbour and cosine, B's) for each word both runs know; others get a note."""
        k = k or self.k
        rows = []
        for word in dict.fromkeys(words or self.words):
            if word not in self.a or word not in self.b:
                note = f"'{word}' is not in both vocabularies; left out of the neighbour table"
                if note not in self.notes:
                    self.notes.append(note)
                continue
            pairs = zip(self.a.most_similar(word, topn=k), self.b.most_similar(word, topn=k))
            rows += [{"word": word, "rank": r, "a": na, "a_cos": ca, "b": nb, "b_cos": cb}
                     for r, ((na, ca), (nb, cb)) in enumerate(pairs, 1)]
        return rows

    # ---- gathered
    def table(self) -> list[dict]:
        """Rows {metric, a, b, delta, ci_low, ci_high, n, note}; delta = b - a, CI paired where given."""
        rows = []

        def add(metric, a, b, delta, ci=(None, None), n=None, note=""):
            rows.append({"metric": metric, "a": a, "b": b, "delta": delta, "ci_low": ci[0], "ci_high": ci[1],
                         "n": n, "note": note})

        if self.category is not None:
            c = self.category
            where = "concepts RSR never saw" if self.rsr is not None else "all matched concepts"
            add(f"category F1, {self.folds}x{self.repeats} CV (macro)", c.a.macro, c.b.macro, c.delta, c.delta_ci,
                c.a.n_test, f"{len(c.a.names)} categories tested on {where}; {len(c.a.skipped)} skipped")
            sa, sb = self.category_seed
            add("category F1, notebook split (mean)", sa.mean, sb.mean, sb.mean - sa.mean, n=sa.n_concepts,
                note="one 80/20 split, scaler fitted before splitting, RSR-seen concepts tested too")
        if self.human is not None:
            h = self.human
            add("human rho, held-out pairs", h["a"], h["b"], h["delta"], h["ci"], h["n"],
                f"{h['concepts']} held-out concepts; CI resamples concepts")
            if "train" in h:
                ta, tb = h["train"]
                if ta is not None:
                    add("human rho, RSR training pairs", ta, tb, tb - ta, note="fitted by RSR: not a generalisation")
        for name, r in self.word_pairs.items():
            add(f"{name} Spearman", r["a"], r["b"], r["delta"], r["ci"], r["n"],
                f"pairs known to both; OOV {r['oov'][0]:.0%} / {r['oov'][1]:.0%}")
        for method, (sa, sb) in self.analogies.items():
            add(f"analogies {method} accuracy", sa.accuracy, sb.accuracy, sb.accuracy - sa.accuracy,
                n=sa.n_questions - sa.n_oov, note="no CI (per-question hits are not exposed)")
        o = self.overlap
        add(f"neighbour overlap Jaccard@{o.k}", None, None, o.mean, n=len(o.words),
            note=f"mean over the {len(o.words):,} most frequent shared words; 1 = same neighbours")
        return rows

    def markdown(self, words: Sequence[str] | None = None) -> str:
        """The table, the neighbour tables and the notes, for closing notes and issues."""
        la, lb = self.labels
        out = [f"| metric | A: {la} | B: {lb} | Δ (B - A) | {self.level:.0%} CI | n | note |",
               "|---|---|---|---|---|---|---|"]
        for r in self.table():
            ci = f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]" if r["ci_low"] is not None else ""
            n = "" if r["n"] is None else f"{r['n']:,}"
            delta = _num(r["delta"], signed=r["a"] is not None)  # a between-model value (overlap) is unsigned
            out.append(f"| {r['metric']} | {_num(r['a'])} | {_num(r['b'])} | {delta} | {ci} | {n} | {r['note']} |")
        table = self.neighbour_table(words)
        for word in dict.fromkeys(r["word"] for r in table):
            out += ["", f"**{word}**", "", f"| # | A: {la} | B: {lb} |", "|---|---|---|"]
            out += [f"| {r['rank']} | {r['a']} ({r['a_cos']:.2f}) | {r['b']} ({r['b_cos']:.2f}) |"
                    for r in table if r["word"] == word]
        if self.notes:
            out += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(out)


def _num(x, signed: bool = False) -> str:
    if x is None:
        return ""
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


# ------------------------------------------------------------------ power before launch
MIN_TEST_CONCEPTS = 200  # fewer concepts tested for category F1: the comparison is underpowered
MIN_SCORED_CATEGORIES = 10  # fewer categories that can be cross-validated: underpowered


@dataclass(frozen=True)
class Power:
    """What an RSR comparison on one vocabulary can measure, known before any run starts.

    The split is RSR's own (`make_rsr` at weight 0), so `heldout_concepts` are exactly the
    concepts the runs never train on; `test_concepts` are those the category CV tests (the
    concepts whose word RSR never saw, as `Comparison.category` picks them), and `categories`
    the ones with at least `folds` members and non-members among them (`_class_sizes_reason`).
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
    from .concepts import align_concepts
    from .things import load_categories

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
        reason = _class_sizes_reason(labels[:, c], folds)
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


# ------------------------------------------------------------------ across seeds
SCORE_METRICS = {  # metric key -> what it measures (Δ = treated - vanilla)
    "f1_unseen": "category F1 on concepts RSR never saw (repeated CV)",
    "f1_notebook": "category F1 on the notebook's split (RSR-trained concepts tested too)",
    "rho_heldout": "human ρ on held-out concept pairs",
    "simlex999": "SimLex-999 ρ",
    "wordsim353": "WordSim-353 ρ",
    "men": "MEN ρ",
}


def aggregate(deltas: Sequence[float], cis: Sequence[tuple | None] = (), level: float = 0.95) -> dict:
    """Mean of per-seed Δs and its CI: with >= 2 seeds the t-interval mean ± t(n-1) · sd / √n over
    the seeds (sd with ddof 1); with one seed that run's own CI (`cis[0]`, e.g. a paired bootstrap)."""
    from scipy import stats

    x = np.asarray([d for d in deltas], dtype=np.float64)
    if len(x) == 0:
        raise W2VError("no per-seed values to aggregate")
    mean = float(x.mean())
    if len(x) >= 2:
        half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
        return {"delta": mean, "ci_low": mean - half, "ci_high": mean + half, "n_seeds": len(x),
                "interval": f"t-interval over {len(x)} seeds"}
    ci = cis[0] if cis else None
    return {"delta": mean, "ci_low": None if ci is None else float(ci[0]),
            "ci_high": None if ci is None else float(ci[1]), "n_seeds": 1,
            "interval": "paired bootstrap CI of one run" if ci is not None else "one run, no interval"}


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


def _check_twins(v: RunConfig, t: RunConfig, loss: str) -> None:
    """W2VError unless the two runs differ only in name and the `loss` spec."""
    def strip(cfg):
        d = cfg.to_dict()
        d.pop("name")
        d["train"]["losses"] = [s for s in d["train"]["losses"] if s["name"] != loss]
        return d

    if strip(v) != strip(t):
        raise W2VError(f"'{t.name}' and '{v.name}' differ in more than the {loss} loss; a scorecard compares runs "
                       "that share corpus, training settings and seed (launch them with the flagship preset)")


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
        from .presets import ARMS

        order = sorted(comparisons, key=lambda k: (_order(list(ARMS), k[0]), k[0], k[1]))
        self.comparisons, self.power, self.level = {k: comparisons[k] for k in order}, power, level
        self.notes = list(notes)
        self.unmeasured: dict[tuple[str, str], str] = {}  # (arm, metric) -> why it could not be measured

    @classmethod
    def from_runs(cls, store: RunStore, runs: Sequence[str], data_dir: str | None = None,
                  benchmarks: Benchmarks | None = None, loss: str = "rsr", **options) -> "Scorecard":
        """Group `runs` by (arm, seed) with `presets.arm_of`, pair each RSR run with the vanilla run of its
        seed and compare them (`Comparison.from_runs`; `options` go to `Comparison`, e.g. n_boot)."""
        from .evaldata import load_benchmarks
        from .presets import arm_of

        configs = {run_id: store.config(run_id) for run_id in dict.fromkeys(runs)}
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
            _check_twins(configs[vanilla[seed]], configs[run_id], loss)
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
        from .presets import ARM_LABELS

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
        from .presets import ARM_LABELS

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


# ------------------------------------------------------------------ α sweeps with seeds
SWEEP_METRICS = {"f1_unseen": "honest ΔF1 (vs α = 0, concepts RSR never saw)",
                 "rho_heldout": "held-out human ρ", "simlex999": "SimLex-999 ρ", "wordsim353": "WordSim-353 ρ"}


def _heldout_rho_of(store: RunStore, run_id: str, vectors: Vectors, spec: LossSpec, data_dir) -> float:
    """The run's logged `rsr/rho_heldout` (last epoch row) if it has one, else RSR's own evaluation now."""
    rows = [r for r in store.metrics(run_id) if r.get("kind") == "epoch" and "rsr/rho_heldout" in r]
    if rows:
        return float(rows[-1]["rsr/rho_heldout"])
    probe = rsr_probe(vectors, LossSpec(spec.name, 0.0, {**spec.params, "metric": "none"}), data_dir)
    return probe.evaluate(vectors.vectors)["rsr/rho_heldout"]


def sweep_table(store: RunStore, runs: Sequence[str], data_dir: str | None = None, loss: str = "rsr",
                benchmarks: Benchmarks | None = None, folds: int = 5, repeats: int = 5, n_boot: int = 1000,
                level: float = 0.95) -> list[dict]:
    """Per α and metric, the mean over seeds and its CI (`aggregate`): rows {alpha, metric, label, mean,
    ci_low, ci_high, n_seeds, interval, note}.

    Metrics: honest ΔF1 against the α = 0 run of the same seed (concepts RSR never saw), held-out
    ρ (logged `rsr/rho_heldout`, else computed on RSR's split), SimLex-999 and WordSim-353
    Spearman. The runs must differ only in name, run seed and the loss's weight.
    """
    from . import things
    from .evaldata import load_benchmarks
    from .things import load_categories

    configs = {run_id: store.config(run_id) for run_id in dict.fromkeys(runs)}

    def weight(cfg):
        return next((s.weight for s in cfg.train.losses if s.name == loss), 0.0)

    def key(cfg):
        d = cfg.to_dict()
        d.pop("name")
        d["train"].pop("seed")
        d["train"]["losses"] = [s for s in d["train"]["losses"] if s["name"] != loss]
        return d

    first = next(iter(configs.values()), None)
    if first is None or len(configs) < 2:
        raise W2VError("a sweep table needs at least two runs")
    odd = [c.name for c in configs.values() if key(c) != key(first)]
    if odd:
        raise W2VError(f"{odd[:3]} differ from '{first.name}' in more than the {loss} weight and the seed")
    specs = {_json_key(s.params): s for c in configs.values() for s in c.train.losses
             if s.name == loss and s.weight > 0}
    if len(specs) != 1:
        raise W2VError(f"the runs' {loss} settings must be the same apart from the weight, with at least one weight "
                       f"above 0 (found {len(specs)} different settings)")
    spec = next(iter(specs.values()))
    cells: dict[tuple[float, int], str] = {}
    for run_id, cfg in configs.items():
        cell = (weight(cfg), cfg.train.seed)
        if cell in cells:
            raise W2VError(f"two runs have α = {cell[0]:g} and seed {cell[1]}; pick one")
        cells[cell] = run_id
    data_dir = data_dir or first.data_dir
    benchmarks = benchmarks if benchmarks is not None else load_benchmarks(data_dir)
    categories = load_categories(data_dir) if things.available(data_dir) else None
    vectors = {run_id: store.load_vectors(run_id) for run_id in cells.values()}
    values: dict[tuple[float, str], list[tuple[float, tuple | None]]] = {}
    notes: dict[tuple[float, str], list[str]] = {}
    for (alpha, seed), run_id in sorted(cells.items()):
        v = vectors[run_id]
        values.setdefault((alpha, "rho_heldout"), []).append(
            (_heldout_rho_of(store, run_id, v, spec, data_dir), None))
        for name in ("simlex999", "wordsim353"):
            if name in benchmarks.pairs:
                values.setdefault((alpha, name), []).append((v.evaluate_word_pairs(benchmarks.pairs[name]).spearman,
                                                             None))
        if alpha == 0 or categories is None:
            continue
        base = cells.get((0.0, seed))
        if base is None:
            notes.setdefault((alpha, "f1_unseen"), []).append(f"no α = 0 run with seed {seed}")
            continue
        probe = rsr_probe(v, LossSpec(spec.name, 0.0, {**spec.params, "metric": "none"}), data_dir)
        comp = Comparison(vectors[base], v, rsr=probe, categories=categories, folds=folds, repeats=repeats,
                          n_boot=n_boot, level=level)
        try:
            values.setdefault((alpha, "f1_unseen"), []).append((comp.category.delta, comp.category.delta_ci))
        except W2VError as e:
            notes.setdefault((alpha, "f1_unseen"), []).append(str(e))
    rows = []
    for alpha in sorted({a for a, _ in cells}):
        for metric, label in SWEEP_METRICS.items():
            found = values.get((alpha, metric), [])
            note = "; ".join(dict.fromkeys(notes.get((alpha, metric), [])))
            if metric == "f1_unseen" and alpha == 0 and categories is not None:
                rows.append({"alpha": alpha, "metric": metric, "label": label, "mean": 0.0, "ci_low": None,
                             "ci_high": None, "n_seeds": sum(a == 0 for a, _ in cells), "interval": "",
                             "note": "the baseline: ΔF1 is measured against the α = 0 run of each seed"})
                continue
            if not found:
                if note:
                    rows.append({"alpha": alpha, "metric": metric, "label": label, "mean": None, "ci_low": None,
                                 "ci_high": None, "n_seeds": 0, "interval": "", "note": note})
                continue
            agg = aggregate([f[0] for f in found], [f[1] for f in found], level)
            rows.append({"alpha": alpha, "metric": metric, "label": label, "mean": agg["delta"],
                         "ci_low": agg["ci_low"], "ci_high": agg["ci_high"], "n_seeds": agg["n_seeds"],
                         "interval": agg["interval"], "note": note})
    return rows


def _json_key(params: dict) -> str:
    """A loss's parameters as a canonical string (to compare specs)."""
    import json

    return json.dumps(params, sort_keys=True, default=str)
