"""Pure computations behind the pages: metric tables, smoothing, progress, projections,
alignment. No streamlit: pages call these, `charts` draws the results.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from w2vcore.errors import W2VError

BOOKKEEPING = ("kind", "step", "time", "lr", "progress", "epoch", "words_per_s", "pairs")  # not curves
CURVE_ORDER = ("loss/sgns", "loss/val", "loss/total")  # shown first, then other loss/*, then the rest
MAX_POINTS = 10_000  # projections beyond this are computed on a sample


# ------------------------------------------------------------------ metrics
def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    """Metric rows (from RunStore.metrics) as a frame with every key a column, in logged order."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["kind", "step", "time", "epoch"])


def curve_keys(frames: Sequence[pd.DataFrame]) -> list[str]:
    """Plottable metric names present in any frame: losses first, then other keys (rsr/*, eval/*)."""
    present = {c for f in frames for c in f.columns if c not in BOOKKEEPING and f[c].notna().any()}
    first = [k for k in CURVE_ORDER if k in present]
    losses = sorted(k for k in present if k.startswith("loss/") and k not in first)
    return first + losses + sorted(present - set(first) - set(losses))


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average; NaN entries are skipped (and stay NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0:
        return values
    out = np.full_like(values, np.nan)
    last, norm = 0.0, 0.0
    for i, v in enumerate(values):
        if math.isnan(v):
            continue
        last = weight * last + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out[i] = last / norm
    return out


def curve(frame: pd.DataFrame, key: str, x: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one metric, NaN rows dropped. Step rows and epoch rows are merged in order."""
    if key not in frame.columns or x not in frame.columns:
        return np.array([]), np.array([])
    rows = frame[[x, key]].dropna()
    return rows[x].to_numpy(dtype=float), rows[key].to_numpy(dtype=float)


def progress_summary(progress: float, rows: list[dict]) -> dict[str, float | None]:
    """Elapsed seconds, ETA seconds and recent words/s of a run from its metric rows."""
    steps = [r for r in rows if r.get("kind") == "step"]
    elapsed = float(rows[-1]["time"]) if rows else 0.0
    speeds = [r["words_per_s"] for r in steps[-5:] if r.get("words_per_s")]
    eta = elapsed * (1 - progress) / progress if 0 < progress < 1 else None
    return {"elapsed": elapsed, "eta": eta, "words_per_s": float(np.mean(speeds)) if speeds else None}


def fraction(progress: Any) -> float:
    """A run's progress as a number in [0, 1] (0 when a damaged status.json holds something else)."""
    ok = isinstance(progress, (int, float)) and not isinstance(progress, bool) and math.isfinite(progress)
    return min(1.0, max(0.0, float(progress))) if ok else 0.0


def selected_ids(rows: Sequence[int], shown: Sequence[str], existing: set[str]) -> list[str]:
    """The run ids of the ticked rows of a table that listed the runs `shown` (row i = shown[i]), in table
    order, keeping only runs that still exist: a tick means a run, never a row position."""
    picked = sorted({i for i in rows if isinstance(i, int) and 0 <= i < len(shown)})
    return [shown[i] for i in picked if shown[i] in existing]


def latest(rows: list[dict], key: str) -> float | None:
    """The last logged value of `key`, or None."""
    for r in reversed(rows):
        if key in r and r[key] is not None and not (isinstance(r[key], float) and math.isnan(r[key])):
            return float(r[key])
    return None


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 10:
        return f"{max(seconds, 0.1):.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def rate(words_per_s: float) -> str:
    """320 words/s, 33k words/s, 1.2M words/s."""
    if words_per_s >= 1e6:
        return f"{words_per_s / 1e6:.1f}M words/s"
    if words_per_s >= 1e4:
        return f"{words_per_s / 1e3:.0f}k words/s"
    return f"{words_per_s:,.0f} words/s"


def age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


# ------------------------------------------------------------------ configs
def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"dim": 100}} -> {"train.dim": 100}; extra losses are keyed by their name."""
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if key == "losses" and isinstance(value, (list, tuple)):
            for spec in value:
                out.update(flatten({k: v for k, v in spec.items() if k != "name"}, f"{name}.{spec['name']}."))
        elif isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def config_diff(a: dict[str, Any], b: dict[str, Any], only_different: bool = True) -> pd.DataFrame:
    """Settings of two configs side by side (as strings), by default only those that differ."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, "—"), fb.get(key, "—")
        if only_different and va == vb:
            continue
        rows.append({"setting": key, "A": str(va), "B": str(vb)})
    return pd.DataFrame(rows, columns=["setting", "A", "B"])


def sweep_axis(configs: dict[str, dict[str, Any]]) -> tuple[str, dict[str, float]]:
    """(loss name, run id -> weight) when the runs' configs differ only in one extra loss's weight (and
    the run seed: a sweep repeats each weight over seeds).

    A run without that loss counts as weight 0. Raises W2VError saying what else differs.
    """
    if len(configs) < 2:
        raise W2VError("a sweep needs at least two runs")
    flat = {run: flatten(cfg) for run, cfg in configs.items()}
    keys = set().union(*flat.values())
    differing = sorted(k for k in keys if k != "name" and len({str(f.get(k)) for f in flat.values()}) > 1)
    weights = [k for k in differing if k.startswith("train.losses.") and k.endswith(".weight")]
    differing_but_seed = [k for k in differing if k != "train.seed"]  # sweeps repeat each α over seeds
    losses = {k.split(".")[2] for k in weights}
    # a loss's parameters may be absent from a run without that loss, but must agree where present
    others = [k for k in differing_but_seed if k not in weights
              and (not k.startswith("train.losses.") or len({str(f[k]) for f in flat.values() if k in f}) > 1)]
    if len(losses) != 1 or others:
        raise W2VError("these runs are not a sweep: they differ in "
                       + (", ".join(others or differing) or "nothing but their names"))
    loss = losses.pop()
    return loss, {run: float(f.get(f"train.losses.{loss}.weight", 0.0)) for run, f in flat.items()}


# ------------------------------------------------------------------ words
def parse_words(text: str) -> list[str]:
    """Words separated by commas, spaces or new lines, in order, without repeats."""
    words = text.replace(",", " ").split()
    return list(dict.fromkeys(words))


def split_known(words: Sequence[str], vocab: dict[str, int]) -> tuple[list[str], list[str]]:
    """(known, unknown) keeping order."""
    return [w for w in words if w in vocab], [w for w in words if w not in vocab]


def sample_words(words: Sequence[str], limit: int = MAX_POINTS, seed: int = 0) -> tuple[list[str], bool]:
    """At most `limit` words (a seeded uniform sample, order kept) and whether sampling happened."""
    if len(words) <= limit:
        return list(words), False
    keep = np.sort(np.random.default_rng(seed).choice(len(words), limit, replace=False))
    return [words[i] for i in keep], True


# ------------------------------------------------------------------ projections
def project(matrix: np.ndarray, method: str = "pca", seed: int = 0, n_neighbors: int = 15,
            min_dist: float = 0.1) -> np.ndarray:
    """(n, d) vectors -> (n, 2) coordinates by PCA or UMAP (cosine metric on unit vectors)."""
    n = len(matrix)
    if n < 3:
        raise W2VError(f"a projection needs at least 3 words, got {n}")
    unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(unit)
    if method != "umap":
        raise W2VError(f"projection method must be 'pca' or 'umap', got {method!r}")
    from . import umapwork

    return umapwork.fit(unit, n_neighbors, min_dist, seed)


def warm_umap():
    """Start UMAP's worker process compiling its numba code (`umapwork.warm`): a Future, or None
    when umap-learn is missing."""
    from . import umapwork

    return umapwork.warm()


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`source` (n, d) rotated (orthogonally) onto `target` (n, d); rows are unit-normalised first."""
    from scipy.linalg import orthogonal_procrustes

    a = target / np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-12)
    b = source / np.maximum(np.linalg.norm(source, axis=1, keepdims=True), 1e-12)
    if a.shape[1] != b.shape[1]:  # different dims: pad the smaller with zeros (an isometric embedding)
        d = max(a.shape[1], b.shape[1])
        a, b = (np.pad(m, ((0, 0), (0, d - m.shape[1]))) for m in (a, b))
    rotation, _ = orthogonal_procrustes(b, a)
    return b @ rotation


def aligned_pca(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both (n, d) sets in A's 2-D PCA plane after rotating B onto A; plus the per-word cosine (n,)
    between A and aligned B (how far each word moved)."""
    from sklearn.decomposition import PCA

    b_aligned = procrustes(b, a)
    a_unit = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    if a_unit.shape[1] < b_aligned.shape[1]:
        a_unit = np.pad(a_unit, ((0, 0), (0, b_aligned.shape[1] - a_unit.shape[1])))
    pca = PCA(n_components=2, random_state=0).fit(a_unit)
    cos = np.einsum("ij,ij->i", a_unit, b_aligned)
    return pca.transform(a_unit), pca.transform(b_aligned), cos


# ------------------------------------------------------------------ THINGS concepts
def concept_table(key_to_index: dict[str, int], data_dir: str) -> tuple[pd.DataFrame, Any]:
    """THINGS concepts the vocabulary has, one row each: word, concept, category (the first of its
    categories, or "several"/"none"), plus the `human.Alignment` behind it (counts, missing, collisions)."""
    from w2vcore.concepts import align_concepts
    from w2vcore.things import load_categories

    cats = load_categories(data_dir)
    alignment = align_concepts(cats.concepts, key_to_index)
    index_to_key = {i: w for w, i in key_to_index.items()}
    labels = cats.labels[alignment.concepts]  # (m, 27)
    first = np.array(cats.names)[labels.argmax(axis=1)]
    category = np.where(labels.sum(axis=1) == 1, first, np.where(labels.any(axis=1), "several", "none"))
    frame = pd.DataFrame({"word": [index_to_key[int(i)] for i in alignment.word_ids],
                          "concept": [cats.concepts[int(c)] for c in alignment.concepts],
                          "category": category, "how": alignment.strategies})
    return frame, alignment


def category_coverage(key_to_index: dict[str, int], data_dir: str) -> pd.DataFrame:
    """Per THINGS category: concepts, how many the vocabulary covers, and the share."""
    from w2vcore.concepts import align_concepts
    from w2vcore.things import load_categories

    cats = load_categories(data_dir)
    alignment = align_concepts(cats.concepts, key_to_index)
    covered = np.zeros(len(cats.concepts), bool)
    covered[alignment.concepts] = True
    total = cats.labels.sum(axis=0)
    hit = (cats.labels & covered[:, None]).sum(axis=0)
    return pd.DataFrame({"category": cats.names, "concepts": total, "covered": hit,
                         "coverage": hit / np.maximum(total, 1)}).sort_values("coverage", ascending=False)


# ------------------------------------------------------------------ over training
ANCHOR_WORDS = 5000  # words beside the shown ones that fix each snapshot's rotation
MIN_ANCHORS_PER_DIM = 5  # fewer anchors than this many per dimension: no rotation (it would fit noise)


def trajectory(snapshots: Sequence[np.ndarray], shown: Sequence[int], seed: int = 0) -> tuple[list[np.ndarray], str]:
    """2-D coordinates of the `shown` rows at each snapshot (n_words, d), comparable across snapshots,
    and a sentence saying how they were aligned.

    Each snapshot is rotated (orthogonal Procrustes) onto the last one, then all are drawn in the
    last one's PCA plane of the shown words. The rotation is fitted on *other* words (up to
    `ANCHOR_WORDS` of the rows not shown): fitted on the shown words themselves, d free dimensions
    let a rotation bend even the random start onto the final map (pure noise then correlates
    r ≈ 0.6 with it), so the animation would borrow the structure it is meant to show growing.
    With too few other words to pin a rotation down, snapshots are drawn unrotated.
    """
    from sklearn.decomposition import PCA

    if not snapshots:
        raise W2VError("there are no snapshots to draw")
    shown = np.asarray(shown, dtype=np.int64)
    if len(shown) < 3:
        raise W2VError(f"the map needs at least 3 words, got {len(shown)}")
    unit = [s / np.maximum(np.linalg.norm(s, axis=1, keepdims=True), 1e-12) for s in snapshots]
    final = unit[-1]
    others = np.setdiff1d(np.arange(len(final)), shown)[:ANCHOR_WORDS]
    rotate = len(others) >= MIN_ANCHORS_PER_DIM * final.shape[1]
    if rotate:
        from scipy.linalg import orthogonal_procrustes

        frames = [u[shown] @ orthogonal_procrustes(u[others], final[others])[0] for u in unit]
        how = (f"Each snapshot is rotated onto the final vectors by a rotation fitted on {len(others):,} other "
               "words, so the shown words' positions borrow nothing from the end.")
    else:
        frames = [u[shown] for u in unit]
        how = (f"Snapshots are not rotated: only {len(others):,} other words are saved, too few to fit a rotation "
               "that would not also bend the shown words onto the end.")
    pca = PCA(n_components=2, random_state=seed).fit(frames[-1])
    return [pca.transform(f) for f in frames], how


# ------------------------------------------------------------------ RSR's split, marked
TRAINED, HELD_OUT, NOT_A_CONCEPT = "RSR trained on", "held out", "not a THINGS concept"


def rsr_marks(vectors, spec, data_dir: str | None = None) -> dict[str, str]:
    """word -> "RSR trained on" / "held out" for every word of RSR's target that `vectors` has, from the
    split a run with loss `spec` uses (`compare.rsr_probe`: the same alignment, `heldout` and `seed`).
    The split depends on the spec's parameters and the vocabulary, never on the weight or the metric, so a
    vanilla run of a flagship group (weight 0) marks the same words its RSR twins trained on."""
    from w2vcore.compare import rsr_probe
    from w2vcore.config import LossSpec

    probe = rsr_probe(vectors, LossSpec(spec.name, 0.0, {**spec.params, "metric": "none"}), data_dir)
    concepts, word_ids = probe.alignment.concepts, probe.alignment.word_ids
    trained = np.isin(concepts, probe.train_concepts)
    return {vectors.index_to_key[int(i)]: TRAINED if t else HELD_OUT for i, t in zip(word_ids, trained)}


def mark(word: str, marks: dict[str, str]) -> str:
    """The neighbour-table column for `word`: RSR trained on it, held it out, or it is no concept."""
    return marks.get(word, NOT_A_CONCEPT)


# ------------------------------------------------------------------ sweeps across seeds
def sweep_rows(frame: pd.DataFrame, metrics: Sequence[str], x: str = "α") -> list[dict]:
    """Per value of `x` and metric, the mean over the runs (seeds) and its t-interval (`compare.aggregate`):
    rows {alpha, metric, label, mean, ci_low, ci_high, n_seeds} as `charts.sweep_figure` draws them."""
    from w2vcore.compare import aggregate

    rows = []
    for metric in metrics:
        for alpha, part in frame.groupby(x, sort=True):
            values = [float(v) for v in part[metric] if v is not None and not pd.isna(v)]
            if values:
                agg = aggregate(values)
                rows.append({"alpha": float(alpha), "metric": metric, "label": metric, "mean": agg["delta"],
                             "ci_low": agg["ci_low"], "ci_high": agg["ci_high"], "n_seeds": agg["n_seeds"]})
    return rows


MARK_SYMBOL = {TRAINED: "▲", HELD_OUT: "△"}  # after a word in neighbour tables


def marked(word: str, marks: dict[str, str]) -> str:
    """`word` with ▲ when RSR trained on its concept, △ when its concept is held out, as is otherwise."""
    symbol = MARK_SYMBOL.get(marks.get(word, ""), "")
    return f"{word} {symbol}" if symbol else word
