"""Throughput and quality of w2vcore's engine vs gensim, side by side in one session.

Both train skip-gram (negative=5, window=--window (default 5), dim=100, min_count=5, sample=1e-3) on the
same tokenised corpus file: Brown (../shared/data) plus gensim's bundled wiki sample
and Lee corpus, ~1.5M tokens. Runs alternate (gensim, ours, gensim, ours, ...) so
that machine noise hits both; the table reports medians and min-max spread.
Throughput is corpus words x epochs / training seconds (vocabulary building and
corpus encoding excluded for both).

    python bench/bench_gensim.py [--epochs 5] [--repeats 3] [--workers 2] [--engine torch|numba] [--window 10]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.evaldata import load_benchmarks  # noqa: E402
from w2vcore.train import train  # noqa: E402
from w2vcore.vectors import Vectors  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def write_corpus(path: Path, cache: Path) -> int:
    """Brown + the built-in default corpus, one tokenised sentence per line."""
    n = 0
    with path.open("w") as f:
        for source in (CorpusSource("brown", str(DATA / "corpora" / "brown")), CorpusSource("default")):
            enc = encode_corpus(source, TokenizerConfig(), cache)
            words = enc.words
            for s in range(enc.n_sentences):
                ids = enc.tokens[enc.sent_starts[s]:enc.sent_starts[s + 1]]
                f.write(" ".join(words[i] for i in ids) + "\n")
                n += len(ids)
    return n


def run_gensim(corpus: Path, args, seed: int) -> tuple[float, Vectors]:
    from gensim.models import Word2Vec

    model = Word2Vec(sg=1, negative=5, window=args.window, vector_size=args.dim, min_count=5, sample=1e-3,
                     workers=args.workers, seed=seed)
    model.build_vocab(corpus_file=str(corpus))
    t = time.perf_counter()
    model.train(corpus_file=str(corpus), epochs=args.epochs, total_examples=model.corpus_count,
                total_words=model.corpus_total_words)
    dt = time.perf_counter() - t
    wv = model.wv
    return dt, Vectors(list(wv.index_to_key), wv.vectors.copy())


def run_ours(data, args, seed: int) -> tuple[float, Vectors]:
    cfg = TrainConfig(dim=args.dim, window=args.window, negative=5, epochs=args.epochs, batch_size=args.batch_size,
                      seed=seed, device="cpu", engine=args.engine, log_every_s=5.0, eval_every_s=1e9, checkpoint_every_s=1e9)
    t = time.perf_counter()
    result = train(cfg, data)
    return time.perf_counter() - t, result.vectors


def quality(vectors: Vectors, bench) -> dict[str, float]:
    out = {name: vectors.evaluate_word_pairs(pairs).spearman for name, pairs in bench.pairs.items()}
    if bench.analogies:
        out["analogies"] = 100 * vectors.evaluate_word_analogies(bench.analogies).accuracy
    return out


def summary(xs: list[float]) -> str:
    med = statistics.median(xs)
    return f"{med:,.3f}" if len(xs) == 1 else f"{med:,.3f} [{min(xs):,.3f}-{max(xs):,.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5, help="both systems' window (w2vcore's default is 10)")
    ap.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    ap.add_argument("--engine", choices=["torch", "numba"], default="torch", help="w2vcore engine to measure")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} not found: the benchmark needs ../shared/data (Brown, word-similarity sets)")

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        corpus = Path(tmp) / "corpus.txt"
        n_words = write_corpus(corpus, cache)
        data = prepare(encode_corpus(CorpusSource("text", str(corpus)), TokenizerConfig(), cache), CorpusConfig())
        bench = load_benchmarks(DATA)
        print(f"corpus: {n_words:,} tokens, vocabulary {len(data.vocab):,} (min_count=5); epochs={args.epochs}, "
              f"gensim workers={args.workers}, ours engine={args.engine} batch={args.batch_size}, torch threads="
              f"{__import__('torch').get_num_threads()}")
        results: dict[str, dict[str, list[float]]] = {"gensim": {}, "w2vcore": {}}
        for rep in range(args.repeats):
            for name, fn in (("gensim", lambda s: run_gensim(corpus, args, s)), ("w2vcore", lambda s: run_ours(data, args, s))):
                seconds, vectors = fn(rep + 1)
                row = {"words/s": n_words * args.epochs / seconds, "seconds": seconds, **quality(vectors, bench)}
                for k, v in row.items():
                    results[name].setdefault(k, []).append(v)
                print(f"  repeat {rep + 1} {name:<8} {seconds:7.1f}s", flush=True)

    metrics = list(results["gensim"])
    print()
    print("| metric | gensim | w2vcore | w2vcore / gensim |")
    print("|---|---|---|---|")
    for m in metrics:
        g, o = results["gensim"][m], results["w2vcore"][m]
        gm, om = statistics.median(g), statistics.median(o)
        rel = f"{om / gm:.2f}x" if m in ("words/s", "seconds") else f"{om - gm:+.3f}"
        print(f"| {m} | {summary(g)} | {summary(o)} | {rel} |")
    print("\nquality rows: Spearman for word pairs, accuracy in % for analogies (3CosAdd, restrict 300k);"
          " the last column is the difference w2vcore - gensim")


if __name__ == "__main__":
    main()
