"""The fused CPU kernel (w2vcore.engines.kernel) vs gensim: throughput, quality, scaling, JIT time.

Same setup as bench_gensim.py: skip-gram, negative=5, window=5, min_count=5, sample=1e-3,
on Brown + the built-in default corpus (~1.5M tokens, written by bench_gensim.write_corpus).
Runs alternate within each repeat, and ratios are taken per repeat against gensim
workers=2 before the median, so load from other processes hits every contestant alike.
Throughput is corpus words x epochs / training seconds for everyone (vocabulary building
excluded); on the same corpus with the same sampling this ratio is also the ratio of
(centre, context) pairs per second, which the kernel reports exactly.

    python bench/bench_kernel.py [--part all|throughput|quality|scaling|compile]
                                 [--repeats 3] [--seeds 3] [--epochs 5] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_gensim import DATA, quality, run_gensim, write_corpus  # noqa: E402

from w2vcore.engines import kernel  # noqa: E402
from w2vcore.config import CorpusConfig, CorpusSource, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, keep_probs, noise_distribution, prepare  # noqa: E402
from w2vcore.evaldata import load_benchmarks  # noqa: E402
from w2vcore.engines.sgns_torch import alias_table, init_tables  # noqa: E402
from w2vcore.vectors import Vectors  # noqa: E402

SPAN_TOKENS = 1 << 18  # corpus tokens per train_span call: ~0.1-0.3 s on 2 cores
LR, MIN_LR_RATIO = 0.025, 1e-4  # TrainConfig's defaults (gensim: alpha 0.025, min_alpha 1e-4)


def run_kernel(spans, keep_prob, noise, n_words: int, *, epochs: int, seed: int, shared: bool, threads: int,
               dim: int = 100) -> tuple[float, int, np.ndarray, list[float]]:
    """Train like the lead's loop will: lr decays over all epochs, one seed per span.

    spans(): an iterator of (ids, sent_lens) for one epoch. Returns (seconds, pairs, w_in, span seconds).
    """
    import torch

    w_in, w_out = (t.numpy() for t in init_tables(len(keep_prob), dim, seed, torch.device("cpu")))
    accept, alias = alias_table(noise)
    accept, alias = accept.astype(np.float32), alias.astype(np.int32)
    total, done, n_span, pairs, span_s = epochs * n_words, 0, 0, 0, []
    started = time.perf_counter()
    for _ in range(epochs):
        for ids, lens in spans():
            lr0 = LR * max(MIN_LR_RATIO, 1 - done / total)
            done += len(ids)
            lr1 = LR * max(MIN_LR_RATIO, 1 - done / total)
            t = time.perf_counter()
            _, p = kernel.train_span(w_in, w_out, ids, lens, keep_prob, accept, alias, 5, 5, lr0, lr1,
                                     seed * 1_000_003 + n_span, threads, shared_negatives=shared)
            span_s.append(time.perf_counter() - t)
            pairs += p
            n_span += 1
    return time.perf_counter() - started, pairs, w_in, span_s


def run_torch(data, args, seed: int, epochs: int) -> tuple[float, Vectors]:
    from w2vcore.train import train

    cfg = TrainConfig(dim=100, window=5, negative=5, epochs=epochs, seed=seed, device="cpu", engine="torch",
                      threads=args.threads, log_every_s=5.0, eval_every_s=1e9, checkpoint_every_s=1e9)
    t = time.perf_counter()
    result = train(cfg, data)
    return time.perf_counter() - t, result.vectors


def gensim_args(args, workers: int, epochs: int, dim: int = 100) -> argparse.Namespace:
    return argparse.Namespace(epochs=epochs, workers=workers, dim=dim)


def summary(xs: list[float], digits: int = 0) -> str:
    """median [min-max]"""
    med = statistics.median(xs)
    return f"{med:,.{digits}f}" if len(xs) == 1 else f"{med:,.{digits}f} [{min(xs):,.{digits}f}-{max(xs):,.{digits}f}]"


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


# ---------------------------------------------------------------- parts
def bench_throughput(args, corpus: Path, data, n_words: int) -> None:
    """Alternating runs; every contestant's words/s divided by gensim workers=2's in the same repeat."""
    spans = lambda: data.chunks("train", SPAN_TOKENS)  # noqa: E731
    contestants = {
        "gensim workers=2": lambda s: run_gensim(corpus, gensim_args(args, 2, args.epochs), s)[0],
        "gensim workers=1": lambda s: run_gensim(corpus, gensim_args(args, 1, args.epochs), s)[0],
        "kernel classic": lambda s: _kernel_seconds(spans, data, args, s, False),
        "kernel shared-negatives": lambda s: _kernel_seconds(spans, data, args, s, True),
    }
    if args.torch_epochs:
        contestants["torch engine (cpu)"] = lambda s: run_torch(data, args, s, args.torch_epochs)[0] * \
            args.epochs / args.torch_epochs
    speed: dict[str, list[float]] = {name: [] for name in contestants}
    print(f"## Throughput: {n_words:,} tokens x {args.epochs} epochs, {args.threads} kernel threads, "
          f"{args.repeats} alternating repeats (torch engine: {args.torch_epochs} epoch(s), scaled)\n", flush=True)
    for rep in range(args.repeats):
        for name, fn in contestants.items():
            seconds = fn(rep + 1)
            speed[name].append(n_words * args.epochs / seconds)
            print(f"  repeat {rep + 1} {name:<24} {seconds:7.1f}s", flush=True)
    base = speed["gensim workers=2"]
    rows = []
    for name, xs in speed.items():
        ratios = [x / b for x, b in zip(xs, base)]
        rows.append([name, summary([x / 1e3 for x in xs]), summary(ratios, 2)])
    print()
    table(["engine", "k words/s, median [min-max]", "x gensim workers=2 (per-repeat ratio)"], rows)
    pairs_per_word = _PAIRS_PER_WORD.get("value")
    if pairs_per_word:
        print(f"the kernel trains {pairs_per_word:.2f} (centre, context) pairs per corpus word: "
              f"gensim workers=2 ~ {statistics.median(base) * pairs_per_word / 1e3:,.0f}k pairs/s\n")


_PAIRS_PER_WORD: dict[str, float] = {}


def _kernel_seconds(spans, data, args, seed: int, shared: bool) -> float:
    seconds, pairs, _, span_s = run_kernel(spans, data.keep_prob, data.noise, data.n_train_tokens,
                                           epochs=args.epochs, seed=seed, shared=shared, threads=args.threads)
    _PAIRS_PER_WORD["value"] = pairs / (args.epochs * data.encoded.n_tokens)
    _PAIRS_PER_WORD[f"span {shared}"] = statistics.median(span_s)
    return seconds


def bench_quality(args, corpus: Path, data) -> None:
    bench = load_benchmarks(DATA)
    spans = lambda: data.chunks("train", SPAN_TOKENS)  # noqa: E731
    words = list(data.vocab.index_to_key)
    runs = {
        "gensim workers=2": lambda s: run_gensim(corpus, gensim_args(args, 2, args.epochs), s)[1],
        "kernel classic": lambda s: Vectors(words, run_kernel(spans, data.keep_prob, data.noise, data.n_train_tokens,
                                                              epochs=args.epochs, seed=s, shared=False,
                                                              threads=args.threads)[2]),
        "kernel shared-negatives": lambda s: Vectors(words, run_kernel(spans, data.keep_prob, data.noise,
                                                                       data.n_train_tokens, epochs=args.epochs,
                                                                       seed=s, shared=True, threads=args.threads)[2]),
    }
    if args.torch_quality:
        runs["torch engine (cpu)"] = lambda s: run_torch(data, args, s, args.epochs)[1]
    scores: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
    print(f"## Quality at {args.epochs} epochs, seeds 1..{args.seeds}\n", flush=True)
    for seed in range(1, args.seeds + 1):
        for name, fn in runs.items():
            for metric, value in quality(fn(seed), bench).items():
                scores[name].setdefault(metric, []).append(value)
            print(f"  seed {seed} {name} done", flush=True)
    print()
    metrics = list(scores["gensim workers=2"])
    rows = []
    for name, by_metric in scores.items():
        row = [name]
        for m in metrics:
            xs = by_metric[m]
            mean, sd = statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0
            diff = mean - statistics.mean(scores["gensim workers=2"][m])
            unit = "" if m != "analogies" else " pt"
            row.append(f"{mean:.3f} ± {sd:.3f}" + ("" if name.startswith("gensim") else f" ({diff:+.3f}{unit})"))
        rows.append(row)
    table(["engine"] + [f"{m} (mean ± sd)" for m in metrics], rows)
    print("Spearman for word pairs, analogy accuracy in %; in brackets: difference of means vs gensim. "
          "Targets: within ±0.02 Spearman and ±1 point analogies.\n")


def zipf_corpus(n_tokens: int, vocab: int = 50_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(ids int32 sorted by frequency, sentence lengths int32): Zipf(1) words, sentences of 5-35 words."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab + 1)
    ids = rng.choice(vocab, size=n_tokens, p=p / p.sum()).astype(np.int32)
    lens = rng.integers(5, 36, size=n_tokens // 5 + 1).astype(np.int32)
    cut = int(np.searchsorted(np.cumsum(lens), n_tokens))
    lens = lens[:cut + 1]
    lens[-1] -= lens.sum() - n_tokens
    return ids, lens[lens > 0]


def bench_scaling(args) -> None:
    """One epoch on synthetic Zipf corpora of growing size, dim 100 and 300, vs gensim workers=2.

    Throughput counts raw corpus tokens for both; the kernel gets the min_count=5 vocabulary.
    """
    print(f"## Scaling: synthetic Zipf(1) corpus over 50k word types (min_count=5), 1 epoch, "
          f"{args.threads} kernel threads, {args.repeats} alternating repeats\n", flush=True)
    rows = []
    for n_tokens in (100_000, 1_000_000, 10_000_000):
        raw, raw_lens = zipf_corpus(n_tokens)
        counts = np.bincount(raw, minlength=50_000)
        order = np.argsort(-counts, kind="stable")
        rank = np.argsort(order).astype(np.int32)  # ids by frequency, as the corpus cache numbers them
        vocab = int((counts >= 5).sum())  # min_count=5, like gensim
        sent = np.repeat(np.arange(len(raw_lens)), raw_lens)
        ids = rank[raw]
        keep = ids < vocab
        ids, lens = ids[keep], np.bincount(sent[keep], minlength=len(raw_lens)).astype(np.int32)
        lens = lens[lens > 0]
        counts = counts[order][:vocab]
        keep_prob, noise = keep_probs(counts, 1e-3), noise_distribution(counts)
        starts = np.concatenate(([0], np.cumsum(lens)))
        cuts = list(range(0, len(lens), max(1, len(lens) * SPAN_TOKENS // len(ids)))) + [len(lens)]
        span_list = [(ids[starts[a]:starts[b]], lens[a:b]) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "zipf.txt"
            raw_starts = np.concatenate(([0], np.cumsum(raw_lens)))
            with path.open("w") as f:
                for a, b in zip(raw_starts[:-1], raw_starts[1:]):
                    f.write(" ".join(f"w{t}" for t in raw[a:b]) + "\n")
            for dim in (100, 300):
                g, k = [], {False: [], True: []}
                for rep in range(args.repeats):
                    g.append(n_tokens / run_gensim(path, gensim_args(args, 2, 1, dim), rep + 1)[0])
                    for shared in (False, True):
                        seconds = run_kernel(lambda: iter(span_list), keep_prob, noise, len(ids), epochs=1,
                                             seed=rep + 1, shared=shared, threads=args.threads, dim=dim)[0]
                        k[shared].append(n_tokens / seconds)
                for shared in (False, True):
                    ratios = [x / b for x, b in zip(k[shared], g)]
                    rows.append([f"{n_tokens / 1e6:g}M", str(dim), "shared-negatives" if shared else "classic",
                                 summary([x / 1e3 for x in k[shared]]), summary([x / 1e3 for x in g]),
                                 summary(ratios, 2)])
                print(f"  {n_tokens:,} tokens dim {dim} done", flush=True)
    print()
    table(["tokens", "dim", "kernel", "kernel k words/s", "gensim w=2 k words/s", "x gensim"], rows)


COMPILE_SNIPPET = """
import time, resource
t0 = time.perf_counter()
import numpy as np
from w2vcore.engines import kernel
t1 = time.perf_counter()
w = np.zeros((10, 8), np.float32)
kernel.train_span(w, w.copy(), np.arange(10, dtype=np.int32), np.array([10], np.int32), np.ones(10, np.float32),
                  np.ones(10, np.float32), np.arange(10, dtype=np.int32), 5, 5, 0.025, 0.0, 1, 2)
t2 = time.perf_counter()
r = resource.getrusage(resource.RUSAGE_SELF)
print(t1 - t0, t2 - t1, r.ru_utime + r.ru_stime)
"""


def bench_compile(args) -> None:
    """First call in a fresh process: empty cache (cold) vs populated cache (warm)."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
        for label in ("cold (empty cache)", "warm (cached)", "warm (cached)"):
            out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, capture_output=True, text=True,
                                 check=True).stdout.split()
            imp, first, cpu = map(float, out)
            rows.append([label, f"{imp:.2f}", f"{first:.2f}", f"{cpu:.1f}"])
    print("## JIT compile time (fresh process each; NUMBA_CACHE_DIR set to a temporary folder)\n")
    table(["launch", "import w2vcore.engines.kernel (s)", "first train_span call (s)", "process CPU total (s)"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="all", choices=("all", "throughput", "quality", "scaling", "compile"))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="kernel threads (gensim runs with 2 and 1 workers)")
    ap.add_argument("--torch-epochs", type=int, default=1, help="epochs timed for the torch engine (0 = skip)")
    ap.add_argument("--torch-quality", action="store_true", help="also score the torch engine at --epochs")
    args = ap.parse_args()
    parts = ("compile", "throughput", "quality", "scaling") if args.part == "all" else (args.part,)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n")
    if "compile" in parts:
        bench_compile(args)
    if {"throughput", "quality"} & set(parts):
        if not DATA.is_dir():
            sys.exit(f"{DATA} not found: the benchmark needs ../shared/data (Brown, word-similarity sets)")
        with tempfile.TemporaryDirectory() as tmp:
            cache, corpus = Path(tmp) / "cache", Path(tmp) / "corpus.txt"
            n_words = write_corpus(corpus, cache)
            data = prepare(encode_corpus(CorpusSource("text", str(corpus)), TokenizerConfig(), cache), CorpusConfig())
            kernel.train_span(*(t.numpy() for t in init_tables(len(data.vocab), 100, 0, __import__("torch").device(
                "cpu"))), *next(data.chunks("train", 1000)), data.keep_prob, np.ones(len(data.vocab), np.float32),
                np.arange(len(data.vocab), dtype=np.int32), 5, 5, 0.0, 0.0, 0, 1)  # compile outside the clock
            print(f"corpus: {n_words:,} tokens, vocabulary {len(data.vocab):,}\n")
            if "throughput" in parts:
                bench_throughput(args, corpus, data, n_words)
            if "quality" in parts:
                bench_quality(args, corpus, data)
    if "scaling" in parts:
        bench_scaling(args)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
