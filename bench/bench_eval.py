"""Category-prediction cost: the notebook's split and the 5 x 5 repeated CV on 1,000 concepts x 300-d.

The labels are the real THINGS categories of `--concepts` concepts drawn at random (from
../shared/data; synthetic labels with 1-15% prevalence when it is absent). The vectors
are synthetic but shaped like word2vec's: category prototypes in a low-rank subspace, plus
correlated noise and a frequency-like norm factor, so logistic regression needs as many
iterations as on real embeddings. Prints one row per stage: wall and CPU time, fits and result.
One process: sklearn's per-fit overhead dominates (~10 ms CPU a fit), and joblib workers
were measured slower than one process on the shared 2-core machine, so there is no n_jobs.

    python bench/bench_eval.py [--concepts 1000] [--dim 300] [--repeats 5] [--boot 2000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.evaluate import CategoryData, category_f1_cv, category_f1_paired, category_f1_seed  # noqa: E402
from w2vcore.losses.rsr.human import find_things  # noqa: E402
from w2vcore.things import load_categories  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def labels(n: int, rng: np.random.Generator) -> tuple[tuple[str, ...], np.ndarray, str]:
    if find_things(DATA) is not None:
        cats = load_categories(DATA)
        rows = np.sort(rng.choice(len(cats.concepts), n, replace=False))  # spread over the alphabet
        return cats.names, cats.labels[rows], "THINGS categories"
    prevalence = rng.uniform(0.01, 0.15, 27)
    return tuple(f"category{i}" for i in range(27)), rng.random((n, 27)) < prevalence, "synthetic labels"


def embedding(Y: np.ndarray, dim: int, rng: np.random.Generator) -> np.ndarray:
    """(n, dim) vectors: a category signal of rank 27 plus anisotropic noise and varying norms."""
    n, c = Y.shape
    signal = Y @ rng.standard_normal((c, dim)) * 0.25
    noise = rng.standard_normal((n, dim)) @ (rng.standard_normal((dim, dim)) / np.sqrt(dim))
    return (signal + noise) * rng.lognormal(0, 0.3, (n, 1))


def timed(fn):
    """(wall s, CPU s, result); CPU time is what the stage would take on an idle core."""
    t, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concepts", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--boot", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    names, Y, source = labels(args.concepts, rng)
    X = embedding(Y, args.dim, rng)
    ids = tuple(f"c{i}" for i in range(args.concepts))
    data = CategoryData(ids, ids, np.arange(args.concepts), names, X, Y)
    noisy = CategoryData(ids, ids, data.word_ids, names, X + rng.standard_normal(X.shape) * X.std(0), Y)
    print(f"## Category prediction: {args.concepts:,} concepts x {args.dim}-d, {source}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
    print("| stage | wall s | CPU s | LR fits | result |")
    print("|---|---|---|---|---|")
    seed_s, seed_cpu, seed = timed(lambda: category_f1_seed(data))
    print(f"| notebook split (80/20, seed 42) | {seed_s:.2f} | {seed_cpu:.2f} | {len(seed.f1)} | "
          f"F1 {seed.mean:.3f} ± {seed.std:.3f}, {len(seed.skipped)} skipped |")
    cv_s, cv_cpu, cv = timed(lambda: category_f1_cv(data, args.folds, args.repeats, n_boot=args.boot))
    print(f"| {args.folds}x{args.repeats} repeated CV + {args.boot} bootstraps | {cv_s:.2f} | {cv_cpu:.2f} | "
          f"{len(cv.names) * args.folds * args.repeats} | macro F1 {cv.macro:.3f} [{cv.macro_ci[0]:.3f}, "
          f"{cv.macro_ci[1]:.3f}], {len(cv.skipped)} skipped |")
    t, cpu, paired = timed(lambda: category_f1_paired(data, noisy, args.folds, args.repeats, n_boot=args.boot))
    print(f"| paired ΔF1, two embeddings (B = A + noise) | {t:.2f} | {cpu:.2f} | "
          f"{2 * len(paired.a.names) * args.folds * args.repeats} | Δ {paired.delta:+.3f} "
          f"[{paired.delta_ci[0]:+.3f}, {paired.delta_ci[1]:+.3f}] |")
    print(f"\nnotebook split + repeated CV: {seed_s + cv_s:.1f} s wall, {seed_cpu + cv_cpu:.1f} s CPU "
          f"(target <= 20 s on 2 cores)")

if __name__ == "__main__":
    main()
