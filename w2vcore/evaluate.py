"""Evaluating word vectors: THINGS category prediction and the intrinsic benchmarks (neighbours: `neighbours.py`).

Category prediction asks whether a linear classifier can read each of the 27 THINGS
categories (animal ... weapon) off the word vectors of the concepts. Two protocols:

- `category_f1_seed`, the RSR notebook's `evaluate_embeddings`: one stratified 80/20 split
  (random_state 42) per category, `LogisticRegression(C=1, max_iter=1000)`, test F1. As in the
  notebook the StandardScaler is fitted on all matched concepts before splitting (test
  concepts leak their mean and variance into training), kept so old numbers reproduce.
- `category_f1_cv`, the honest one: repeated stratified k-fold (5 x 5) with the scaler
  fitted on the training folds only, and a bootstrap CI over concepts (see `_bootstrap`).
  `test_mask` restricts testing to some concepts (those RSR never saw) while every other
  concept still trains. `category_f1_paired` scores two embeddings on the same folds.
"""
from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from .concepts import align_concepts
from .errors import W2VError
from .evaldata import Benchmarks
from .things import Categories
from .vectors import ANALOGY_METHODS, AnalogyScore, PairScore, Vectors

MIN_CONCEPTS = 10  # fewer matched concepts than this: no category can be learnt


# ------------------------------------------------------------------ category data
@dataclass(frozen=True)
class CategoryData:
    """THINGS concepts found in a vocabulary, with their vectors and category labels."""

    concepts: tuple[str, ...]  # (m,) THINGS ids
    words: tuple[str, ...]  # (m,) the vocabulary word standing for each concept
    word_ids: np.ndarray  # (m,) int64 vocabulary rows
    names: tuple[str, ...]  # (C,) category names
    X: np.ndarray  # (m, d) float64 raw vectors
    Y: np.ndarray  # (m, C) bool membership

    def __post_init__(self):
        m = len(self.concepts)
        if np.ndim(self.X) != 2 or len(self.X) != m or np.shape(self.Y) != (m, len(self.names)) or \
                len(self.words) != m or len(self.word_ids) != m:
            raise W2VError(f"category data needs one vector and one label row per concept: {m} concepts, "
                           f"X {np.shape(self.X)}, Y {np.shape(self.Y)}, {len(self.names)} category names")
        if not np.isfinite(self.X).all():
            raise W2VError("the concept vectors contain NaN or infinite values")


def category_data(vectors: Vectors, categories: Categories, fallbacks: bool = True) -> CategoryData:
    """Align the THINGS concepts to `vectors` (as RSR does: `human.align_concepts`) and gather X, Y."""
    alignment = align_concepts(categories.concepts, vectors.key_to_index, fallbacks=fallbacks)
    m = len(alignment.concepts)
    if m < MIN_CONCEPTS:
        raise W2VError(f"only {m} of the {len(categories.concepts)} THINGS concepts are in the vocabulary "
                       f"(need {MIN_CONCEPTS}); no category can be predicted. {alignment.summary()}")
    ids = alignment.word_ids
    return CategoryData(tuple(categories.concepts[c] for c in alignment.concepts),
                        tuple(vectors.index_to_key[i] for i in ids), ids, tuple(categories.names),
                        vectors.vectors[ids].astype(np.float64), categories.labels[alignment.concepts].astype(bool))


def _f1(tp, fp, fn):
    """F1 = 2TP / (2TP + FP + FN); NaN where there is neither a positive nor a positive prediction."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.full(np.broadcast(tp, den).shape, np.nan), where=den > 0)


def class_sizes_reason(y: np.ndarray, needed: int) -> str | None:
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return "no concept is in it" if pos == 0 else "every concept is in it"
    if min(pos, neg) < needed:
        side = "positive" if pos < needed else "negative"
        return f"{min(pos, neg)} {side} concept(s): too few to stratify (need {needed})"
    return None


# ------------------------------------------------------------------ the notebook's protocol
@dataclass(frozen=True)
class SeedScores:
    f1: dict[str, float]  # category -> test F1
    skipped: dict[str, str]  # category -> why it was not scored
    mean: float  # over scored categories
    std: float  # population std (ddof=0, numpy's default) over scored categories
    n_concepts: int


def category_f1_seed(data: CategoryData, test_size: float = 0.2, random_state: int = 42, C: float = 1.0,
                     max_iter: int = 1000) -> SeedScores:
    """The notebook's `evaluate_embeddings`: one stratified split per category, test F1.

    The scaler sees all concepts before the split (the notebook's leak, kept on purpose).
    Skipped, with the reason: constant categories, fewer than 2 positives (stratification
    needs 2 of each class), and splits whose test part has no positive (F1 undefined; the
    notebook would have counted 0).
    """
    X = StandardScaler().fit_transform(data.X)
    scores, skipped = {}, {}
    for c, name in enumerate(data.names):
        y = data.Y[:, c].astype(np.int64)
        reason = class_sizes_reason(y, 2)
        if reason:
            skipped[name] = reason
            continue
        x_tr, x_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y, random_state=random_state)
        if not y_te.any():
            skipped[name] = "no positive concept in the test split: F1 undefined"
            continue
        pred = LogisticRegression(C=C, max_iter=max_iter).fit(x_tr, y_tr).predict(x_te)
        scores[name] = float(_f1((pred & y_te).sum(), (pred & (1 - y_te)).sum(), ((1 - pred) & y_te).sum()))
    if not scores:
        raise W2VError(f"no category could be scored ({len(data.concepts)} concepts): " +
                       "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    values = np.array(list(scores.values()))
    return SeedScores(scores, skipped, float(values.mean()), float(values.std()), len(data.concepts))


# ------------------------------------------------------------------ repeated cross-validation
@dataclass(frozen=True)
class CVScores:
    """Out-of-fold F1 per category: the pooled test predictions of each repeat, averaged over repeats."""

    names: tuple[str, ...]  # (C,) scored categories
    f1: dict[str, tuple[float, float, float]]  # category -> (F1, CI low, CI high)
    macro: float  # mean over scored categories
    macro_ci: tuple[float, float]
    skipped: dict[str, str]  # category -> why it was not scored
    n_test: int  # concepts that were tested (each once per repeat)
    n_train_only: int  # concepts only ever used for training (outside test_mask)
    repeat_macro: np.ndarray  # (R,) macro F1 of each repeat, to show the split-to-split spread


@dataclass(frozen=True)
class PairedScores:
    a: CVScores
    b: CVScores
    delta: float  # macro F1 of b minus a
    delta_ci: tuple[float, float]  # paired bootstrap over the same test concepts
    delta_per_category: dict[str, tuple[float, float, float]]


def _fit_category(X, y, test_rows, train_only, folds, repeats, seed, C, max_iter):
    """(R, T) bool out-of-fold predictions of one category for the T test rows."""
    out = np.zeros((repeats, len(test_rows)), dtype=bool)
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k, (tr, te) in enumerate(cv.split(np.zeros(len(test_rows)), y[test_rows])):
            train = np.concatenate([train_only, test_rows[tr]])
            scaler = StandardScaler().fit(X[train])  # fitted on the training folds only
            model = LogisticRegression(C=C, max_iter=max_iter).fit(scaler.transform(X[train]), y[train])
            out[k // folds, te] = model.predict(scaler.transform(X[test_rows[te]])) == 1
    return out


def _cv_predictions(data, test_mask, folds, repeats, seed, C, max_iter):
    """Scored category indices, skip reasons, test rows and (R, C, T) out-of-fold predictions."""
    m = len(data.concepts)
    mask = np.ones(m, dtype=bool) if test_mask is None else np.asarray(test_mask, dtype=bool)
    if mask.shape != (m,):
        raise W2VError(f"test_mask must hold one flag per matched concept ({m}), got shape {mask.shape}")
    test_rows, train_only = np.flatnonzero(mask), np.flatnonzero(~mask)
    if len(test_rows) < folds:
        raise W2VError(f"only {len(test_rows)} concepts to test; {folds}-fold cross-validation needs at least {folds}")
    chosen, skipped = [], {}
    for c, name in enumerate(data.names):
        reason = class_sizes_reason(data.Y[test_rows, c], folds)
        if reason:
            skipped[name] = reason + " among the tested concepts" if "stratify" in reason else reason
        else:
            chosen.append(c)
    if not chosen:
        raise W2VError(f"no category can be cross-validated on {len(test_rows)} test concepts: " +
                       "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    preds = [_fit_category(data.X, data.Y[:, c].astype(np.int64), test_rows, train_only, folds, repeats, seed, C,
                           max_iter) for c in chosen]
    return chosen, skipped, test_rows, train_only, np.stack(preds, axis=1)  # (R, C, T)


def _bootstrap(preds: list[np.ndarray], truth: np.ndarray, n_boot: int, seed: int):
    """Point and bootstrap per-category F1 of each prediction set: [(C,) point, (B, C) boot].

    preds: (R, C, T) bool; truth: (C, T) bool. The unit resampled is the test concept: the
    fold scores of repeated CV share concepts and training data, so resampling them would
    give a CI that shrinks to nothing as repeats grow. Resampling concepts (the same draws
    for every model, hence a paired bootstrap) keeps the split into folds and the fitted
    classifiers fixed: it covers which concepts happened to be tested, not the variance of
    training on another sample, so it is a little narrow for absolute F1 (Bates et al. 2023).
    """
    t = truth.shape[1]
    weights = np.random.default_rng(seed).multinomial(t, np.full(t, 1.0 / t), size=n_boot).astype(np.float64)
    weights = np.vstack([np.ones(t), weights])  # row 0: the sample itself
    out = []
    for p in preds:
        r, c, _ = p.shape
        parts = np.concatenate([(p & truth), (p & ~truth), (~p & truth)], axis=0).reshape(3 * r * c, t)
        counts = (weights @ parts.T.astype(np.float64)).reshape(len(weights), 3, r, c)  # (1 + B, 3, R, C)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a category without positives in a resample
            f1 = np.nanmean(_f1(counts[:, 0], counts[:, 1], counts[:, 2]), axis=1)  # (1 + B, C)
        out.append((f1[0], f1[1:]))
    return out


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.nanpercentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def _scores(names, point, boot, skipped, p, truth, n_train_only, level) -> CVScores:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        macro_boot = np.nanmean(boot, axis=1)
        tp, fp, fn = (p & truth).sum(-1), (p & ~truth).sum(-1), (~p & truth).sum(-1)  # (R, C) each
        repeat_macro = np.nanmean(_f1(tp, fp, fn), axis=1)
    f1 = {n: (float(point[i]), *_interval(boot[:, i], level)) for i, n in enumerate(names)}
    return CVScores(tuple(names), f1, float(np.nanmean(point)), _interval(macro_boot, level), skipped,
                    truth.shape[1], n_train_only, repeat_macro)


def category_f1_cv(data: CategoryData, folds: int = 5, repeats: int = 5, seed: int = 0,
                   test_mask: np.ndarray | None = None, C: float = 1.0, max_iter: int = 1000,
                   n_boot: int = 2000, level: float = 0.95) -> CVScores:
    """Repeated stratified k-fold F1 per category and its macro mean, with bootstrap CIs.

    Folds split the tested concepts (all, or those in `test_mask`), stratified by the
    category; concepts outside the mask join every training fold and are never tested.
    Categories with fewer than `folds` positives (or negatives) among tested concepts are
    skipped with the reason. Each repeat's out-of-fold predictions are pooled into one F1
    (per-fold F1 is undefined in folds without positives; Forman & Scholz 2010).
    """
    return category_f1_paired(data, None, folds, repeats, seed, test_mask, C, max_iter, n_boot, level).a


def category_f1_paired(a: CategoryData, b: CategoryData | None, folds: int = 5, repeats: int = 5, seed: int = 0,
                       test_mask: np.ndarray | None = None, C: float = 1.0, max_iter: int = 1000,
                       n_boot: int = 2000, level: float = 0.95) -> PairedScores:
    """`category_f1_cv` for two embeddings of the same concepts on the same folds, and ΔF1 = b - a.

    The CI of Δ comes from a paired bootstrap: the same resampled concepts for both.
    """
    if folds < 2 or repeats < 1 or n_boot < 1 or not 0 < level < 1:
        raise W2VError(f"need folds >= 2, repeats >= 1, n_boot >= 1 and 0 < level < 1; got {folds}, {repeats}, "
                       f"{n_boot}, {level}")
    if b is not None and (a.concepts != b.concepts or not np.array_equal(a.Y, b.Y)):
        raise W2VError(f"the two embeddings cover different concepts ({len(a.concepts)} and {len(b.concepts)}); "
                       "restrict both to the shared ones first (see compare.shared_category_data)")
    runs = [_cv_predictions(d, test_mask, folds, repeats, seed, C, max_iter) for d in (a, b) if d is not None]
    chosen, skipped, test_rows, train_only, _ = runs[0]
    names = [a.names[c] for c in chosen]
    truth = a.Y[test_rows][:, chosen].T  # (C, T)
    boots = _bootstrap([r[4] for r in runs], truth, n_boot, seed)
    scores = [_scores(names, point, boot, skipped, r[4], truth, len(train_only), level)
              for (point, boot), r in zip(boots, runs)]
    if b is None:
        return PairedScores(scores[0], scores[0], 0.0, (0.0, 0.0), {})
    (pa, ba), (pb, bb) = boots
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        delta_boot = np.nanmean(bb, axis=1) - np.nanmean(ba, axis=1)
    per_cat = {n: (float(pb[i] - pa[i]), *_interval(bb[:, i] - ba[:, i], level)) for i, n in enumerate(names)}
    return PairedScores(scores[0], scores[1], scores[1].macro - scores[0].macro, _interval(delta_boot, level), per_cat)


def unseen_mask(data: CategoryData, seen_words: Sequence[str]) -> np.ndarray:
    """(m,) bool: concepts whose word is not in `seen_words` (e.g. the words RSR was fitted to).

    As a `test_mask` it keeps every concept a loss has seen out of the test folds.
    """
    seen = set(seen_words)
    return np.array([w not in seen for w in data.words], dtype=bool)


# ------------------------------------------------------------------ intrinsic benchmarks
@dataclass(frozen=True)
class IntrinsicReport:
    pairs: dict[str, PairScore]  # benchmark -> Spearman, Pearson, OOV ratio
    analogies: dict[str, AnalogyScore]  # method ("3cosadd", "3cosmul") -> accuracy per section and overall
    sources: dict[str, str]  # benchmark -> where its file came from
    restrict_vocab: int | None


def intrinsic_report(vectors: Vectors, benchmarks: Benchmarks, restrict_vocab: int | None = 300_000,
                     methods: Sequence[str] = ANALOGY_METHODS, case_insensitive: bool = True) -> IntrinsicReport:
    """Word-pair Spearman (SimLex-999, WordSim-353, MEN: whatever `benchmarks` holds) and Google
    analogy accuracy with each method, all over the first `restrict_vocab` words, as gensim does."""
    bad = [m for m in methods if m not in ANALOGY_METHODS]
    if bad or not methods:
        raise W2VError(f"analogy methods must be among {ANALOGY_METHODS}, got {list(methods)}")
    if not benchmarks.pairs and not benchmarks.analogies:
        raise W2VError("no benchmarks to evaluate on (load them with evaldata.load_benchmarks)")
    pairs = {name: vectors.evaluate_word_pairs(p, restrict_vocab, case_insensitive)
             for name, p in benchmarks.pairs.items()}
    analogies = {m: vectors.evaluate_word_analogies(benchmarks.analogies, restrict_vocab, m, case_insensitive)
                 for m in methods} if benchmarks.analogies else {}
    return IntrinsicReport(pairs, analogies, dict(benchmarks.sources), restrict_vocab)


def format_report(report: IntrinsicReport, sections: bool = True) -> str:
    """The report as plain-text tables (what `python -m w2vcore eval RUN` prints)."""
    lines = [f"{'benchmark':<14}{'spearman':>10}{'pearson':>10}{'oov':>8}{'pairs':>8}  source"]
    for name, r in report.pairs.items():
        lines.append(f"{name:<14}{r.spearman:>10.3f}{r.pearson:>10.3f}{r.oov_ratio:>8.1%}{r.n_pairs:>8}  "
                     f"{report.sources.get(name, '')}")
    if report.analogies:
        vocab = "all words" if report.restrict_vocab is None else f"the first {report.restrict_vocab:,} words"
        lines += ["", f"analogies over {vocab} ({report.sources.get('analogies', '')})"]
        for method, a in report.analogies.items():
            correct = sum(ok for ok, _ in a.sections.values())
            lines.append(f"analogies {method}: accuracy {_ratio(correct, a.n_questions - a.n_oov)}; "
                         f"{a.n_oov:,} of {a.n_questions:,} questions out of vocabulary")
        if sections:
            methods = list(report.analogies)
            lines.append(f"{'section':<34}" + "".join(f"{m:>18}" for m in methods))
            for sec in report.analogies[methods[0]].sections:
                lines.append(f"{sec:<34}" + "".join(f"{_ratio(*report.analogies[m].sections[sec]):>18}"
                                                    for m in methods))
    return "\n".join(lines)


def _ratio(correct: int, answered: int) -> str:
    return f"{correct / answered:.3f} ({correct:,}/{answered:,})" if answered else "- (0/0)"


# ------------------------------------------------------------------ neighbours
# ------------------------------------------------------------------ export
def pair_similarity_csv(vectors: Vectors, pairs: Sequence[Sequence], case_insensitive: bool = False) -> tuple[str, int]:
    """(`word1,word2,sim` CSV text, number of pairs with an unknown word), as
    `Vectors.export_pair_similarities` writes it (empty sim for unknown words), for download
    buttons; refuses an empty list and pairs that are not two words."""
    if len(pairs) == 0:
        raise W2VError("no word pairs to export")
    for no, p in enumerate(pairs, 1):
        if isinstance(p, str) or len(p) < 2 or not all(isinstance(w, str) and w.strip() for w in p[:2]):
            raise W2VError(f"pair {no} must be two words (word1, word2[, score]), got {p!r}")
    sims = vectors.similarities_for_pairs(pairs, case_insensitive)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["word1", "word2", "sim"])
    writer.writerows([p[0], p[1], "" if np.isnan(s) else f"{s:.6f}"] for p, s in zip(pairs, sims))
    return buf.getvalue(), int(np.isnan(sims).sum())
