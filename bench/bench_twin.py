"""The flagship comparison end to end: vanilla, RSR per-row and RSR with the learned map, over seeds.

Builds the three-run preset (`presets.flagship_configs`) for each seed on the largest offline
corpus (`presets.flagship_source`: Brown from ../shared/data/corpora/brown when it exists, else
the built-in one; a `CorpusSource` is one corpus, so Brown and the built-in one are not
combined), prints `compare.power` before training, trains the runs (worker processes, `--parallel`
at a time, threads=1 each so each vanilla/RSR pair shares every SGNS random draw), then prints the
`Scorecard` markdown: the verdict, then the table. Nothing is tuned here: every setting is the
preset's, and RSR's held-out split is its `seed` parameter (0), the same for every run seed.

    python bench/bench_twin.py [--seeds 1 2 3] [--dim 100] [--epochs 5] [--runs-dir DIR]
    python bench/bench_twin.py --tiny        # a smoke run: Lee corpus, dim 16, 1 epoch, 2 seeds
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.compare import Scorecard, power  # noqa: E402
from w2vcore.config import CorpusConfig, CorpusSource, RunConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.presets import flagship_configs, flagship_source  # noqa: E402
from w2vcore.runs import RunStore  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=2, help="runs training at once (one thread each)")
    ap.add_argument("--tiny", action="store_true", help="smoke run: Lee corpus, dim 16, 1 epoch, seeds 1 2")
    ap.add_argument("--runs-dir", help="keep the runs here (default: a temporary folder)")
    args = ap.parse_args()
    data_dir = str(DATA) if DATA.is_dir() else None
    if args.tiny:
        from gensim.test.utils import datapath

        source, args.dim, args.epochs, args.seeds, args.boot = (CorpusSource("text", datapath("lee_background.cor")),
                                                                16, 1, [1, 2], 200)
    else:
        source = flagship_source(brown_path=str(DATA / "corpora" / "brown"))
    corpus = CorpusConfig(source=source, min_count=3 if args.tiny else 5)
    base = RunConfig(name="flagship", data_dir=data_dir, corpus=corpus,
                     train=TrainConfig(dim=args.dim, epochs=args.epochs, threads=1, device="cpu"))
    configs = flagship_configs(base, args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(args.runs_dir or Path(tmp) / "runs", Path(tmp) / "cache" if not args.runs_dir else None)
        corpus = configs[0].corpus
        vocab = prepare(encode_corpus(corpus.source, corpus.tokenizer, store.cache_dir), corpus).vocab
        spec = configs[0].train.losses[-1].params
        pw = power(vocab.key_to_index, data_dir, spec["heldout"], spec["seed"])
        print(f"## Flagship on {source.label}: dim {args.dim}, {args.epochs} epochs, seeds {args.seeds}, "
              f"vocabulary {len(vocab):,}\n\nBefore launch: {pw.summary()}\n")
        t = time.perf_counter()
        ids = [store.create(cfg) for cfg in configs]
        pending, running = list(ids), []
        while pending or running:
            while pending and len(running) < max(1, args.parallel):
                running.append(pending.pop(0))
                store.start(running[-1])
            info = store.wait(running[0], timeout=24 * 3600)
            if info.status != "done":
                sys.exit(f"{info.name}: {info.status} {info.error}")
            running.pop(0)
        train_s = time.perf_counter() - t
        t = time.perf_counter()
        card = Scorecard.from_runs(store, ids, data_dir, n_boot=args.boot)
        text = card.markdown()
        print(text)
        print(f"\n{len(ids)} runs trained in {train_s:.0f} s ({args.parallel} at a time); scorecard in "
              f"{time.perf_counter() - t:.0f} s. RSR specs:")
        for cfg in configs[:3]:
            spec = cfg.train.losses[-1]
            print(f"- {cfg.name}: α = {spec.weight:g}, {spec.params}")


if __name__ == "__main__":
    main()
