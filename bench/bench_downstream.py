"""Downstream genre classification on Brown: do word2vec vectors help a small classifier?

Trains word2vec on the Brown corpus (../shared/data/corpora/brown, `--epochs` epochs, `--dim`
dimensions, engine auto, one thread so the run is reproducible), cuts every Brown file into
100-token windows labelled with its genre (15 classes), and prints:

1. examples per genre (and files per genre);
2. the four modes (pretrained/random init x frozen/fine-tuned table), each as mean ± sample std
   over `--seeds`; seed s fixes both the file-grouped 80/20 split and the classifier, so all
   modes see the same splits; the majority-class baseline is scored on the same splits;
3. with `--ablate PARAM V1 V2 ...`, pretrained-frozen scores of one word2vec run per value.

The word2vec runs read every Brown file, test files included (no labels are used), as a
run trained on the whole corpus would.

    python bench/bench_downstream.py [--epochs 3] [--dim 100] [--seeds 0 1 2] [--pooling mean]
                                     [--ablate window 2 5 10]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.downstream import ClassifierConfig, ablate, compare_modes, format_table  # noqa: E402
from w2vcore.textsets import load_brown_genres  # noqa: E402
from w2vcore.train import train  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brown", default=str(DATA / "corpora" / "brown"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--pooling", default="mean", choices=["mean", "attention"])
    ap.add_argument("--chunk", type=int, default=100, help="tokens per example window")
    ap.add_argument("--ablate", nargs="+", metavar=("PARAM", "VALUE"), help="e.g. --ablate window 2 5 10")
    args = ap.parse_args()
    if not Path(args.brown).is_dir():
        sys.exit(f"Brown corpus not found at {args.brown}; pass --brown")

    textset = load_brown_genres(args.brown, chunk_tokens=args.chunk)
    files = {c: len(set(textset.groups[textset.labels == k].tolist())) for k, c in enumerate(textset.classes)}
    print(f"## {textset.name}: {len(textset)} examples, {len(files)} genres, {sum(files.values())} files\n")
    print("| genre | files | examples |\n|---|---|---|")
    for genre, n in textset.class_counts().items():
        print(f"| {genre} | {files[genre]} | {n} |")

    with tempfile.TemporaryDirectory() as cache:
        encoded = encode_corpus(CorpusSource("brown", args.brown), TokenizerConfig(), cache)
        data = prepare(encoded, CorpusConfig())
        base = TrainConfig(dim=args.dim, epochs=args.epochs, threads=1, device="cpu")
        started = time.perf_counter()
        vectors = train(base, data).vectors
        print(f"\nword2vec on Brown: {len(vectors)} words x {vectors.vector_size} d, {args.epochs} epochs, "
              f"{time.perf_counter() - started:.1f} s")
        cfg = ClassifierConfig(pooling=args.pooling)
        print(f"\n## Held-out genre classification ({args.pooling} pooling, {cfg.epochs} epochs, "
              f"seeds {args.seeds}, mean ± std)\n")
        rows = compare_modes(textset, vectors, cfg, seeds=args.seeds)
        print(format_table(rows))
        print(f"\nchance = 1/{len(textset.classes)} = {1 / len(textset.classes):.3f}")
        if args.ablate:
            param, values = args.ablate[0], [int(v) for v in args.ablate[1:]]
            print(f"\n## Ablation over {param} (pretrained-frozen, {args.epochs} epochs of word2vec each)\n")
            ab = ablate(data, base, param, values, textset, cfg, seeds=args.seeds)
            print(format_table(ab, key=param))
            print("\nword2vec seconds: " + ", ".join(f"{r[param]}: {r['train_seconds']:.1f}" for r in ab))
    print(f"\nmean fit time over all rows: {np.mean([r['seconds'] for r in rows]):.1f} s")


if __name__ == "__main__":
    main()
