"""`Comparison`: A (vanilla) against B (treated) on every metric, with Δ = B - A and paired CIs.

It reports category ΔF1 (paired CV, tested only on concepts RSR never saw), held-out Δρ with
the human target, word-pair and analogy benchmarks, neighbour tables and neighbour overlap.
"""
from __future__ import annotations

import math
from functools import cached_property
from typing import Sequence

import numpy as np

from ..errors import W2VError
from ..evaldata import Benchmarks
from ..evaluate import CategoryData, category_data, category_f1_paired, category_f1_seed, unseen_mask
from ..neighbours import neighbour_overlap
from ..things import Categories
from ..runs import RunStore
from ..vectors import ANALOGY_METHODS, Vectors
from .heldout import heldout_rho, rsr_probe
from .stats import paired_spearman

DEFAULT_WORDS = ("cat", "dog", "car", "hammer", "apple")  # the RSR notebook's neighbour examples


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




def training_configs(store: RunStore, runs: Sequence[str], what: str) -> dict:
    """run id -> its `RunConfig`, for a computation (`what`) that compares trainings; W2VError naming any
    imported embedding, which has no training config."""
    imported = [store.info(r).name for r in dict.fromkeys(runs) if store.info(r).kind == "imported"]
    if imported:
        raise W2VError(f"{what} compares training settings, and {', '.join(repr(n) for n in imported)} "
                       f"{'is an imported embedding' if len(imported) == 1 else 'are imported embeddings'} "
                       "(vectors only, no training config); compare an imported embedding with one run in "
                       "the A/B comparison instead")
    return {run_id: store.config(run_id) for run_id in dict.fromkeys(runs)}


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
        """Two entries of `store`, trained runs or imported embeddings: the RSR probe from B's (else A's)
        `loss` spec, THINGS categories and the benchmarks from `data_dir` (default: B's data folder, else
        A's; THINGS falls back to the packaged copy, benchmarks to gensim's). An imported embedding has
        no config, so the probe and the data folder come from whichever entry was trained."""
        from .. import things
        from ..evaldata import load_benchmarks
        from ..things import load_categories

        infos = store.info(a_id), store.info(b_id)
        configs = [store.config(i.id) for i in infos[::-1] if i.kind == "trained"]  # B's first; imports have none
        data_dir = data_dir or next((c.data_dir for c in configs if c.data_dir), None)
        a, b = store.load_vectors(a_id), store.load_vectors(b_id)
        found = next(((cfg, s) for cfg in configs for s in cfg.train.losses if s.name == loss), None)
        rsr = rsr_probe(b, found[1], found[0].data_dir or data_dir) if found else None  # the run's own target
        categories = load_categories(data_dir) if things.available(data_dir) else None
        return cls(a, b, (infos[0].name, infos[1].name), rsr=rsr, categories=categories,
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

