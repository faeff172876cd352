"""A twin comparison end to end: vanilla vs RSR on Brown + THINGS, and the `Comparison` table.

Trains the twin pair of one RSR config with `compare.start_twins` (two worker processes,
threads=1 each, so the twins share every SGNS random draw), then prints the comparison as
markdown (category ΔF1 tested on concepts RSR never saw, held-out Δρ, benchmarks,
neighbours, overlap) and how long each part took. Needs ../shared/data.

    python bench/bench_twin.py [--dim 100] [--epochs 3] [--alpha 0.1] [--runs-dir DIR]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.compare import Comparison, start_twins  # noqa: E402
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, RunConfig, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.human import find_things, thing_phrases  # noqa: E402
from w2vcore.runs import RunStore  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--runs-dir", help="keep the runs here (default: a temporary folder)")
    args = ap.parse_args()
    if find_things(DATA) is None:
        sys.exit(f"needs the THINGS data in {DATA}")
    cfg = RunConfig(name="brown", data_dir=str(DATA),
                    corpus=CorpusConfig(source=CorpusSource("brown", str(DATA / "corpora" / "brown")),
                                        tokenizer=TokenizerConfig(phrases=thing_phrases(DATA)), min_count=5),
                    train=TrainConfig(dim=args.dim, epochs=args.epochs, threads=1, device="cpu",
                                      losses=(LossSpec("rsr", args.alpha, {"target": "things"}),)))
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(args.runs_dir or Path(tmp) / "runs")
        t = time.perf_counter()
        twins = start_twins(store, cfg)
        for run_id in (twins.vanilla, twins.treated):
            info = store.wait(run_id, timeout=3600)
            if info.status != "done":
                sys.exit(f"{run_id}: {info.status} {info.error}")
        train_s = time.perf_counter() - t
        t = time.perf_counter()
        comp = Comparison.from_runs(store, twins.vanilla, twins.treated, n_boot=args.boot)
        timings = {"load runs, RSR probe, categories, benchmarks": time.perf_counter() - t}
        for part in ("category", "category_seed", "human", "word_pairs", "analogies", "overlap"):
            t = time.perf_counter()
            getattr(comp, part)
            timings[part] = time.perf_counter() - t
        print(f"## Twins on Brown + THINGS phrases: dim {args.dim}, {args.epochs} epochs, RSR α={args.alpha} "
              f"(THINGS target); both trained in {train_s:.0f} s\n")
        print(comp.markdown())
        print(f"\nRSR: {comp.rsr.summary}")
        skipped = comp.category.a.skipped
        if skipped:
            print("Categories skipped: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()))
        print("\n| comparison part | s |\n|---|---|")
        for part, seconds in timings.items():
            print(f"| {part} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
