"""Which defaults? A hyperparameter sweep of w2vcore next to gensim and fastText, in one session.

Two corpora, each written once as a tokenised text file (one sentence per line) that every
system reads: "builtin" (gensim's wiki sample + Lee, ~0.5M tokens) and "brown+builtin"
(~1.5M tokens, Brown from ../shared/data). Nothing is copied into the repository.

Round 1 changes one factor at a time around the v1 defaults (gensim's: sample 1e-3, lr 0.025
decaying to lr x 1e-4, 5 epochs, 5 negatives, window 5, min_count 5, dim 100). Round 2 combines,
per factor, the value with the best mean quality gain over both corpora (round 1's records),
plus the combination with each costly factor (epochs, negatives, window, dim) put back, and the
references: gensim and fastText (skip-gram, subwords off: maxn=0) at their own defaults and at
the combination's settings. Every row runs for each seed; systems are interleaved per seed so
machine noise hits them alike.

Quality: Spearman rho on SimLex-999, WordSim-353 and MEN; Google analogies accuracy (3CosAdd,
candidates = the 30,000 most frequent words); THINGS held-out rho of a vanilla run (RSR at
weight 0 with the flagship's target/held-out/split, evaluated on the final vectors). Speed:
raw corpus tokens x epochs / training seconds (vocabulary building excluded, except fastText,
whose single call also reads the file: ~1 s of a 20-80 s run).

    python bench/bench_defaults.py --round 1 [--corpora builtin,brown+builtin] [--seeds 1,2,3]
    python bench/bench_defaults.py --round 2      # needs round 1's records in --out
    python bench/bench_defaults.py --table        # print the tables from the records so far
    python bench/bench_defaults.py --demo         # the quick demo before/after: time, neighbours, analogies
    python bench/bench_defaults.py --quick        # a smoke run: builtin, 1 seed, 3 rows
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.evaldata import load_benchmarks  # noqa: E402
from w2vcore.train import train  # noqa: E402
from w2vcore.vectors import Vectors  # noqa: E402

DATA = REPO.parent / "shared" / "data"
WORK = Path("/tmp/bench_defaults")
ANALOGY_VOCAB = 30_000
THINGS_SPEC = LossSpec("rsr", 0.0, {"target": "things", "heldout": 0.5, "seed": 0, "metric": "none"})
# The defaults up to v1 (gensim's), the centre of round 1. Fixed here so the sweep does not move with config.py.
V1 = {"dim": 100, "window": 5, "negative": 5, "epochs": 5, "lr": 0.025, "min_lr_ratio": 1e-4,
      "sample": 1e-3, "min_count": 5}
FACTORS = {"sample": [1e-4, 1e-5], "lr": [0.05], "min_lr_ratio": [0.1], "epochs": [10, 20],
           "negative": [10, 15], "window": [8, 10], "min_count": [2], "dim": [200]}
COSTLY = ("epochs", "negative", "window", "dim")  # factors that cost training time
METRICS = ("simlex999", "wordsim353", "men", "analogies", "things")
CORPORA = ("builtin", "brown+builtin")


# ------------------------------------------------------------------ corpora
def corpus_file(name: str) -> tuple[Path, int]:
    """The tokenised text file of corpus `name` (written once under WORK) and its token count."""
    path = WORK / f"{name}.txt"
    sources = [CorpusSource("default")] if name == "builtin" else \
        [CorpusSource("brown", str(DATA / "corpora" / "brown")), CorpusSource("default")]
    if not path.exists():
        tmp = path.with_suffix(".part")
        with tmp.open("w") as f:
            for source in sources:
                enc = encode_corpus(source, TokenizerConfig(), WORK / "cache")
                for s in range(enc.n_sentences):
                    ids = enc.tokens[enc.sent_starts[s]:enc.sent_starts[s + 1]]
                    f.write(" ".join(enc.words[i] for i in ids) + "\n")
        tmp.rename(path)
    with path.open() as f:
        return path, sum(len(line.split()) for line in f)


# ------------------------------------------------------------------ one run per system
def run_w2vcore(path: Path, p: dict, seed: int, threads: int) -> tuple[float, Vectors]:
    enc = encode_corpus(CorpusSource("text", str(path)), TokenizerConfig(), WORK / "cache")
    data = prepare(enc, CorpusConfig(min_count=p["min_count"], sample=p["sample"]))
    cfg = TrainConfig(dim=p["dim"], window=p["window"], negative=p["negative"], epochs=p["epochs"], lr=p["lr"],
                      min_lr_ratio=p["min_lr_ratio"], seed=seed, device="cpu", engine="numba", threads=threads,
                      snapshots=0, log_every_s=5.0, eval_every_s=1e9, checkpoint_every_s=1e9)
    t = time.perf_counter()
    result = train(cfg, data)
    return time.perf_counter() - t, result.vectors


def run_gensim(path: Path, p: dict, seed: int, threads: int) -> tuple[float, Vectors]:
    from gensim.models import Word2Vec

    model = Word2Vec(sg=1, vector_size=p["dim"], window=p["window"], negative=p["negative"], alpha=p["lr"],
                     min_alpha=p["lr"] * p["min_lr_ratio"], sample=p["sample"], min_count=p["min_count"],
                     workers=threads, seed=seed)
    model.build_vocab(corpus_file=str(path))
    t = time.perf_counter()
    model.train(corpus_file=str(path), epochs=p["epochs"], total_examples=model.corpus_count,
                total_words=model.corpus_total_words)
    return time.perf_counter() - t, Vectors(list(model.wv.index_to_key), model.wv.vectors.copy())


def run_fasttext(path: Path, p: dict, seed: int, threads: int) -> tuple[float, Vectors]:
    """fastText skip-gram with subwords off (maxn=0, bucket=0): a word2vec with fastText's own schedule.
    fastText decays lr linearly to 0; min_lr_ratio has no counterpart and is ignored. Its Python API
    takes no seed, so `seed` only counts repeats (2 Hogwild threads make each run differ anyway)."""
    try:
        import fasttext
    except ImportError:
        raise SystemExit("fastText rows need `pip install fasttext` (or fasttext-wheel) in this venv") from None
    # fastText 0.9.3 often stops with "Encountered NaN" here at 2 threads (its loss check divides by the
    # examples a thread has seen, which can be 0 under heavy subsampling and a busy machine); it then runs
    # again, and after two such stops with 1 thread (recorded in the row's note; words/s then halves).
    global LAST_NOTE
    LAST_NOTE = ""
    for attempt, n_threads in enumerate((threads, threads, 1, 1)):
        t = time.perf_counter()
        try:
            model = fasttext.train_unsupervised(str(path), model="skipgram", dim=p["dim"], ws=p["window"],
                                                neg=p["negative"], epoch=p["epochs"], lr=p["lr"], t=p["sample"],
                                                minCount=p["min_count"], minn=0, maxn=0, bucket=0,
                                                thread=n_threads, verbose=0)
            LAST_NOTE = "" if n_threads == threads else "1 thread"
            break
        except RuntimeError as e:
            print(f"  fastText attempt {attempt + 1} ({n_threads} threads): {e}", flush=True)
    else:
        raise SystemExit("fastText stopped with NaN four times in a row")
    dt = time.perf_counter() - t
    words = model.get_words()  # most frequent first, like gensim's index_to_key
    return dt, Vectors(list(words), __import__("numpy").stack([model.get_word_vector(w) for w in words]))


LAST_NOTE = ""  # set by run_fasttext when it had to fall back to one thread
SYSTEMS = {"w2vcore": run_w2vcore, "gensim": run_gensim, "fasttext": run_fasttext}


def quality(vectors: Vectors, bench) -> dict[str, float]:
    from w2vcore.compare import rsr_probe

    out = {name: vectors.evaluate_word_pairs(pairs).spearman for name, pairs in bench.pairs.items()}
    out["analogies"] = 100 * vectors.evaluate_word_analogies(bench.analogies, restrict_vocab=ANALOGY_VOCAB).accuracy
    out["things"] = rsr_probe(vectors, THINGS_SPEC).evaluate(vectors.vectors)["rsr/rho_heldout"]
    return out


# ------------------------------------------------------------------ rows
@dataclasses.dataclass(frozen=True)
class Row:
    name: str  # "v1 defaults", "sample=1e-4", "gensim (own defaults)", ...
    system: str
    params: dict  # in V1's keys; fastText maps them onto its own


def round1_rows() -> list[Row]:
    rows = [Row("gensim (own defaults)", "gensim", V1), Row("v1 defaults", "w2vcore", V1)]
    rows += [Row(f"{k}={v:g}", "w2vcore", V1 | {k: v}) for k, values in FACTORS.items() for v in values]
    return rows


FT_OWN = {"dim": 100, "window": 5, "negative": 5, "epochs": 5, "lr": 0.05, "min_lr_ratio": 0.0,
          "sample": 1e-4, "min_count": 5}  # fastText's documented skipgram defaults (lr .05, t 1e-4, ...)


MIN_GAIN = 0.01  # a value replaces V1's only when it gains more than this (mean rho over metrics and corpora)


def best_values(records: list[dict]) -> dict:
    """Per factor, the round-1 value whose mean gain over V1 (all five metrics, analogies as a fraction,
    averaged over corpora) is largest; V1's value when no value gains more than MIN_GAIN."""
    gain = mean_gains(records, round_=1)
    best = {}
    for k, values in FACTORS.items():
        scored = [(gain.get(f"{k}={v:g}", -math.inf), v) for v in values]
        g, v = max(scored)
        best[k] = v if g > MIN_GAIN else V1[k]
    return best


def mean_gains(records: list[dict], round_: int) -> dict[str, float]:
    """Per w2vcore row name: mean over corpora and metrics of (row mean - v1 mean) in that round."""
    table = aggregate(records)
    out: dict[str, list[float]] = {}
    for (rnd, corpus, name), agg in table.items():
        base = table.get((rnd, corpus, "v1 defaults"))
        if rnd != round_ or base is None or agg["system"] != "w2vcore":
            continue
        deltas = [(agg[m][0] - base[m][0]) / (100 if m == "analogies" else 1) for m in METRICS]
        out.setdefault(name, []).append(statistics.fmean(deltas))
    return {name: statistics.fmean(v) for name, v in out.items()}


def round2_rows(records: list[dict], matched: str = "combined") -> list[Row]:
    """The combination of round 1's winners; the combination with each other subsampling threshold (a
    stronger threshold drops more tokens, so it needs more updates: it interacts with lr and epochs,
    which one factor at a time cannot show); with each costly factor put back to v1; and the references."""
    best = best_values(records)
    combo = V1 | best
    print("round 2 combines the best value per factor:", {k: v for k, v in best.items() if v != V1[k]}, flush=True)
    rows = [Row("gensim (own defaults)", "gensim", V1 | {k: combo[k] for k in ("dim", "window", "negative")}),
            Row("v1 defaults", "w2vcore", V1), Row("combined", "w2vcore", combo)]
    rows += [Row(f"combined, sample={v:g}", "w2vcore", combo | {"sample": v})
             for v in [V1["sample"]] + FACTORS["sample"] if v != combo["sample"]]
    rows += [Row(f"combined, {k}={V1[k]:g}", "w2vcore", combo | {k: V1[k]}) for k in COSTLY if combo[k] != V1[k]]
    match = next((r for r in rows if r.name == matched), None)
    if match is None:
        raise SystemExit(f"--matched {matched!r} is not a round-2 row; pick one of {[r.name for r in rows]}")
    rows += [Row(f"gensim ({matched})", "gensim", match.params), Row("fastText (own defaults)", "fasttext", FT_OWN),
             Row(f"fastText ({matched})", "fasttext", match.params)]
    return rows


# ------------------------------------------------------------------ records and tables
def load_records(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def t_interval(xs: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t-interval (the mean itself twice for one value)."""
    from scipy.stats import t

    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, m, m
    h = t.ppf(0.975, len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))
    return m, m - h, m + h


def aggregate(records: list[dict]) -> dict[tuple, dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["round"], r["corpus"], r["name"]), []).append(r)
    table = {}
    for key, rs in groups.items():
        agg = {"system": rs[0]["system"], "params": rs[0]["params"], "n": len(rs),
               "notes": sorted({r["note"] for r in rs if r.get("note")}),
               "words/s": t_interval([r["words_per_s"] for r in rs])}
        for m in METRICS:
            agg[m] = t_interval([r[m] for r in rs])
        table[key] = agg
    return table


def cell(x: tuple[float, float, float], digits: int = 3) -> str:
    m, lo, hi = x
    return f"{m:.{digits}f}" if lo == hi else f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def tables(records: list[dict]) -> str:
    table = aggregate(records)
    lines = []
    for rnd in sorted({k[0] for k in table}):
        for corpus in [c for c in CORPORA if any(k[:2] == (rnd, c) for k in table)]:
            rows = {k[2]: v for k, v in table.items() if k[:2] == (rnd, corpus)}
            gensim = rows.get("gensim (own defaults)")
            n = max(v["n"] for v in rows.values())
            lines += [f"\n### Round {rnd}, {corpus} ({n} seeds; mean [95% t-interval])\n",
                      "| setting | words/s | × gensim | SimLex | WS353 | MEN | analogies % | THINGS held-out ρ |",
                      "|---|---|---|---|---|---|---|---|"]
            notes = "× gensim: words/s over gensim's at the same settings; * over gensim at its own defaults"
            for name, v in rows.items():
                wps = v["words/s"][0]
                same = [g for g in rows.values() if g["system"] == "gensim" and g["params"] == v["params"]]
                ref = same[0] if same else gensim
                ratio = f"{wps / ref['words/s'][0]:.2f}×" + ("" if same or not gensim else "*") if ref else "–"
                label = name + (f" ({', '.join(v['notes'])} in some seeds)" if v["notes"] else "")
                lines.append(f"| {label} | {wps / 1e3:,.0f}k | {ratio} | " + " | ".join(
                    cell(v[m], 1 if m == "analogies" else 3) for m in METRICS) + " |")
            lines.append(f"\n{notes} (a different workload when sample, window, negatives or dim differ).")
    return "\n".join(lines)


# ------------------------------------------------------------------ the sweep
def sweep(rows_of, args, out: Path) -> None:
    bench = load_benchmarks(DATA)
    assert set(bench.pairs) == {"simlex999", "wordsim353", "men"}, bench.sources
    seeds = [int(s) for s in args.seeds.split(",")]
    records = load_records(out)
    done = {(r["round"], r["corpus"], r["name"], r["seed"]) for r in records}
    rows = rows_of(records)
    corpora = [c for c in args.corpora.split(",")]
    total, n = len(rows) * len(seeds) * len(corpora), 0
    start = time.perf_counter()
    for corpus in corpora:
        path, n_words = corpus_file(corpus)
        print(f"{corpus}: {n_words:,} tokens in {path}", flush=True)
        for seed in seeds:  # seeds outermost per corpus: every row sees the same stretch of machine load
            for row in rows:
                n += 1
                if (args.round, corpus, row.name, seed) in done or row.system not in args.systems or row.name in args.skip or \
                        (row.system == "fasttext" and seed not in args.fasttext_seeds):
                    continue
                seconds, vectors = SYSTEMS[row.system](path, row.params, seed, args.threads)
                rec = {"round": args.round, "corpus": corpus, "name": row.name, "system": row.system,
                       "params": row.params, "seed": seed, "seconds": seconds,
                       "words_per_s": n_words * row.params["epochs"] / seconds, "vocab": len(vectors),
                       **quality(vectors, bench), "when": time.strftime("%Y-%m-%d %H:%M"),
                       "note": LAST_NOTE if row.system == "fasttext" else ""}
                with out.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(f"  [{n}/{total} {time.perf_counter() - start:5.0f}s] {corpus} s{seed} {row.name:<28} "
                      f"{seconds:5.1f}s {rec['words_per_s'] / 1e3:5.0f}k w/s  SimLex {rec['simlex999']:.3f} "
                      f"WS {rec['wordsim353']:.3f} MEN {rec['men']:.3f} an {rec['analogies']:4.1f}% "
                      f"THINGS {rec['things']:.3f}", flush=True)


# ------------------------------------------------------------------ the quick demo
DEMO_BEFORE = {"train": dict(dim=50, epochs=5), "corpus": dict(val_fraction=0.05)}  # v1: QUICK_DEMO on V1
DEMO_WORDS = ("water", "music", "city")
DEMO_ANALOGIES = (("man", "king", "woman"), ("france", "paris", "germany"), ("good", "better", "bad"))


def demo_config(preset: dict, defaults: dict) -> tuple[CorpusConfig, TrainConfig]:
    corpus_keys = {f.name for f in dataclasses.fields(CorpusConfig)}
    merged = defaults | preset
    corpus = CorpusConfig(**{k: v for k, v in merged.items() if k in corpus_keys})
    train_cfg = TrainConfig(**{k: v for k, v in merged.items() if k not in corpus_keys})
    return corpus, train_cfg


def demo(args) -> None:
    """The quick demo as the app runs it (built-in corpus, threads = one per core), before and after."""
    from w2vcore.presets import QUICK_DEMO

    now = {f.name: getattr(TrainConfig(), f.name) for f in dataclasses.fields(TrainConfig)} | \
          {f.name: getattr(CorpusConfig(), f.name) for f in dataclasses.fields(CorpusConfig)}
    before = now | V1 | {"dim": 50, "epochs": 5, "val_fraction": 0.05}
    enc = encode_corpus(CorpusSource("default"), TokenizerConfig(), WORK / "cache")
    for label, merged in (("before (v1)", before), ("after (now)", now | QUICK_DEMO)):
        corpus_cfg, train_cfg = demo_config({}, merged)
        t = time.perf_counter()
        data = prepare(enc, corpus_cfg)
        result = train(dataclasses.replace(train_cfg, seed=1), data)
        v = result.vectors
        print(f"\n{label}: {time.perf_counter() - t:.1f}s (vocabulary + training, corpus already tokenised); "
              + ", ".join(f"{k}={merged[k]:g}" for k in V1))
        for w in DEMO_WORDS:
            print(f"  {w}: " + ", ".join(x for x, _ in v.most_similar(w, topn=8)))
        for a, b, c in DEMO_ANALOGIES:
            print(f"  {b} - {a} + {c} = " + ", ".join(x for x, _ in v.most_similar([b, c], [a], topn=5)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--round", type=int, choices=[1, 2], default=1)
    ap.add_argument("--corpora", default=",".join(CORPORA))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--fasttext-seeds", default="1,2,3", help="the seeds fastText rows run for (it is slow)")
    ap.add_argument("--systems", default="w2vcore,gensim,fasttext", help="run only these systems' rows")
    ap.add_argument("--matched", default="combined", help="the round-2 row whose settings gensim and fastText copy")
    ap.add_argument("--skip", default="", help="row names to leave out this time, separated by ';'")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=WORK / "records.jsonl", help="one JSON line per run (appended)")
    ap.add_argument("--quick", action="store_true", help="smoke run: builtin, seed 1, three rows, own records file")
    ap.add_argument("--table", action="store_true", help="only print the tables from --out")
    ap.add_argument("--demo", action="store_true", help="the quick demo before and after")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} not found: the benchmark needs ../shared/data (Brown, word-similarity sets)")
    WORK.mkdir(parents=True, exist_ok=True)
    args.fasttext_seeds = [int(x) for x in args.fasttext_seeds.split(",")]
    args.systems, args.skip = args.systems.split(","), [x.strip() for x in args.skip.split(";") if x.strip()]
    if args.demo:
        return demo(args)
    if not args.table:
        rows_of = (lambda recs: round1_rows()) if args.round == 1 else (lambda recs: round2_rows(recs, args.matched))
        if args.quick:
            args.corpora, args.seeds, args.out = "builtin", "1", WORK / "quick.jsonl"
            rows_of = lambda recs: round1_rows()[:3] + [Row("fastText (own defaults)", "fasttext", FT_OWN)]  # noqa: E731
        if args.round == 2 and not any(r["round"] == 1 for r in load_records(args.out)):
            sys.exit(f"round 2 needs round 1's records in {args.out}; run --round 1 first")
        sweep(rows_of, args, args.out)
    print(tables(load_records(args.out)))


if __name__ == "__main__":
    main()
