"""Debiasing: vanilla vs the debias loss (twins, same seed) vs hard debias of the vanilla vectors, over seeds.

Each seed trains a vanilla run and every debias run with that seed; changes are taken against
the twin of the same seed and averaged over seeds. "vanilla seed-to-seed" is the mean absolute
change between the vanilla runs of consecutive seeds: how far a metric moves by chance alone.

Trains on Brown + gensim's bundled wiki sample + Lee (one tokenised text file, as
bench_rsr.py --wiki builds it), dim 100, then prints one before/after table:

- bias, measured with the *published* lists (../shared/data/bias: Bolukbasi's definitional
  pairs and professions, the gender WEAT tests of weat.json), not with the built-in lists the
  loss trains on: DirectBias_1 on Bolukbasi's gender-neutral professions (all of them, and
  those no run's loss moved: in no run's pool), WEAT effect size d
  and one-sided permutation p (career/family, math/arts, science/arts), and Gonen & Goldberg's
  k-means and RBF-SVM (5-fold) accuracy on the 500 + 500 most biased words of the vanilla
  space (chance = 0.5);
- the loss's own view: DirectBias_1 on the built-in list's direction, over the built-in neutral
  words in the loss and over its seeded held-out 20%;
- information kept: SimLex-999, WordSim-353 and MEN Spearman, Google analogy accuracy.

A run is `[label@]penalty:weight[:param=value...]`; `exclude=measured` keeps every measured word
(WEAT targets and attributes, Bolukbasi's professions) out of the loss, so the loss never moves
a word the table scores. `hard` columns debias each seed's vanilla vectors post hoc
(`--hard k:pair_set,...`).

    python bench/bench_debias.py [--epochs 3] [--dim 100] [--seeds 1,2] [--hard 1:definitional,0:all] \
        [--runs "pairs:0.1,subspace all@subspace:0.05:pair_set=all:sample=4096:scale=110:exclude=measured"]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.losses.debias.bias import bias_report, biased_words, direct_bias, gender_direction, weat  # noqa: E402
from w2vcore.losses.debias.biaslists import builtin_lists, gender_tests, load_bolukbasi, load_weat_tests  # noqa: E402
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.losses.debias.loss import Debias, DebiasParams, hard_debias, make_debias  # noqa: E402
from w2vcore.losses import LossSetup  # noqa: E402
from w2vcore.evaldata import load_benchmarks  # noqa: E402
from w2vcore.train import train  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SUBSPACE = "subspace:0.05:sample=4096:scale=110:schedule=hold"
RUNS = (f"pairs a=0.1@pairs:0.1,subspace hold@{SUBSPACE},subspace hold excl@{SUBSPACE}:exclude=measured,"
        f"subspace all-pairs hold@{SUBSPACE}:pair_set=all")


def training_data(cache: Path):
    """Brown + the built-in default corpus, written as one tokenised text file, then prepared."""
    tok = TokenizerConfig()
    corpus = cache / "corpus.txt"
    with corpus.open("w") as f:
        for source in (CorpusSource("brown", str(DATA / "corpora" / "brown")), CorpusSource("default")):
            enc = encode_corpus(source, tok, cache)
            for s in range(enc.n_sentences):
                f.write(" ".join(enc.words[i] for i in enc.tokens[enc.sent_starts[s]:enc.sent_starts[s + 1]]))
                f.write("\n")
    return prepare(encode_corpus(CorpusSource("text", str(corpus)), tok, cache), CorpusConfig())


def quality(vectors, bench) -> dict[str, float]:
    out = {f"{k} rho": vectors.evaluate_word_pairs(p).spearman for k, p in bench.pairs.items()}
    out["analogy acc"] = vectors.evaluate_word_analogies(bench.analogies).accuracy
    return out


def parse_run(text: str) -> tuple[str, str, float, dict]:
    """`[label@]penalty:weight[:key=value...]` -> (label, penalty, weight, params)."""
    label, _, spec = text.rpartition("@")
    penalty, weight, *rest = spec.split(":")
    params = {}
    for item in rest:
        key, value = item.split("=", 1)
        try:
            params[key] = int(value) if value.isdigit() else float(value)
        except ValueError:
            params[key] = value
    return label or f"{penalty} a={float(weight):g}", penalty, float(weight), params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--runs", default=RUNS,
                    help="debias runs to train, comma separated: [label@]penalty:weight[:param=value...]")
    ap.add_argument("--hard", default="1:definitional,0:all", help="hard debias variants: k:pair_set, comma separated")
    ap.add_argument("--scale", type=float, default=10.0, help="the loss's scale unless a run sets it")
    ap.add_argument("--vocab-top", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=1, help="Hogwild threads (1 = bit-identical twins)")
    ap.add_argument("--seeds", default="1,2")
    args = ap.parse_args()
    if not (DATA / "bias").is_dir() or not (DATA / "corpora" / "brown").is_dir():
        sys.exit(f"{DATA} with bias/ and corpora/brown/ is needed")
    published = load_bolukbasi(DATA / "bias" / "bolukbasi.json")
    tests = gender_tests(load_weat_tests(DATA / "bias" / "weat.json"))
    bench = load_benchmarks(DATA)
    builtin = builtin_lists()
    measured = sorted({w.lower() for t in tests for ws in (t.x, t.y, t.a, t.b) for w in ws}
                      | {w.lower() for w in published.neutral})
    seeds = [int(x) for x in args.seeds.split(",")]
    runs = [parse_run(r) for r in args.runs.split(",") if r]
    with tempfile.TemporaryDirectory() as tmp:
        data = training_data(Path(tmp))
        exclude_file = Path(tmp) / "measured.txt"
        exclude_file.write_text("\n".join(measured) + "\n")
        vocab = data.vocab
        print(f"## {data.n_train_tokens:,} tokens/epoch, vocabulary {len(vocab):,}, dim={args.dim}, "
              f"epochs={args.epochs}, threads={args.threads}, seeds={seeds}; loss: built-in lists, "
              f"vocab_top={args.vocab_top}\n")
        base = dict(dim=args.dim, epochs=args.epochs, device="cpu", log_every_s=5.0, eval_every_s=1e9,
                    checkpoint_every_s=1e9, threads=args.threads)
        vectors, seconds, pooled = {}, {}, set()
        for seed in seeds:
            for label, penalty, weight, params in [("vanilla", "pairs", 0.0, {})] + runs:
                params = {"vocab_top": args.vocab_top, "scale": args.scale, **params, "penalty": penalty}
                if params.get("exclude") == "measured":
                    params["exclude"] = str(exclude_file)
                spec = LossSpec("debias", weight, params)
                t = time.perf_counter()
                result = train(TrainConfig(**base, seed=seed, losses=(spec,) if weight else ()), data)
                seconds[label, seed] = time.perf_counter() - t
                vectors[label, seed] = result.vectors
                probe = make_debias(spec, LossSetup(vocab, args.dim, torch.device("cpu"), seed))
                pooled |= set(probe.pool_ids.tolist())
                print(f"  {label:<24} seed {seed} {seconds[label, seed]:6.1f}s  {probe.summary}", flush=True)
    # the built-in list's held-out split
    probe = Debias(builtin, vocab.index_to_key, params=DebiasParams(vocab_top=args.vocab_top))
    unseen = [w for w in published.neutral if w in vocab.key_to_index and vocab.key_to_index[w] not in pooled]
    labels = ["vanilla"] + [r[0] for r in runs]
    rows: dict[tuple[str, int], dict[str, float]] = {}
    for seed in seeds:
        vanilla = vectors["vanilla", seed]
        g0 = gender_direction(vanilla, published.definitional)
        biased = biased_words(vanilla, g0, 500, exclude=published.gendered_words() | builtin.gendered_words())
        for spec in args.hard.split(","):
            k, pair_set = spec.split(":")
            label = f"hard k={k} {pair_set}" if k != "0" else f"hard {pair_set} pairs"
            vectors[label, seed] = hard_debias(vanilla, builtin, k=int(k), pair_set=pair_set)
            if label not in labels:
                labels.append(label)
        for label in labels:
            v = vectors[label, seed]
            report = bias_report(v, published, tests, biased, permutations=20_000, seed=0)
            g = gender_direction(v, published.definitional)
            report["bias/direct_bias_unseen"] = direct_bias(v, unseen, g).value if unseen else float("nan")
            own = probe.evaluate(v.vectors)
            report["bias/mean abs weat_d"] = float(np.mean([abs(x) for m, x in report.items() if "weat_d/" in m]))
            report["bias/mean weat_chance"] = float(np.mean([x for m, x in report.items() if "weat_chance/" in m]))
            rows[label, seed] = {**report, "built-in list: direct_bias trained": own["debias/direct_bias"],
                                 "built-in list: direct_bias held out": own["debias/direct_bias_heldout"],
                                 **quality(v, bench)}
    print_table(rows, labels, seeds, seconds)
    print(f"\nThe loss never moved {len(measured)} measured words where a run says exclude=measured. Direct bias "
          f"'unseen': the {len(unseen)} of Bolukbasi's professions in no run's pool. WEAT sizes/missing words:")
    for test in tests:
        s = weat(vectors["vanilla", seeds[0]], test)
        print(f"  {test.name}: sizes {s.sizes}; missing {s.missing or 'none'}")


def change(metric: str, v: float, v0: float) -> float | None:
    """Relative change for bias metrics, difference for quality metrics, None otherwise."""
    if is_bias(metric):
        return abs(v) / abs(v0) - 1 if abs(v0) > 1e-9 else None
    if "rho" in metric or metric == "analogy acc":
        return v - v0
    return None


def print_table(rows, labels, seeds, seconds) -> None:
    """Means over seeds; changes against each seed's vanilla twin, averaged. The seed column gives the mean
    absolute change between the vanilla runs of consecutive seeds: what chance alone moves."""
    spread = len(seeds) > 1
    columns = labels[:1] + (["vanilla seed-to-seed"] if spread else []) + labels[1:]
    print(f"\n| metric (mean of seeds {', '.join(map(str, seeds))}) | {' | '.join(columns)} |")
    print("|---|" + "---|" * len(columns))
    summary = {}
    for metric in rows["vanilla", seeds[0]]:
        cells = []
        for col in columns:
            if col == "vanilla seed-to-seed":
                deltas = [change(metric, rows["vanilla", b][metric], rows["vanilla", a][metric])
                          for a, b in zip(seeds, seeds[1:])]
                cell = "-" if None in deltas else (f"±{np.mean(np.abs(deltas)):.0%}" if is_bias(metric)
                                                   else f"±{np.mean(np.abs(deltas)):.3f}")
                cells.append(cell)
                continue
            pairs = [(rows[col, s][metric], rows["vanilla", s][metric]) for s in seeds]
            cell = f"{np.mean([v for v, _ in pairs]):.3f}"
            deltas = [change(metric, v, v0) for v, v0 in pairs]
            if col != "vanilla" and None not in deltas:
                d = float(np.mean(deltas))
                cell += f" ({d:+.0%})" if is_bias(metric) else f" ({d:+.3f})"
                summary[col, metric] = d
            cells.append(cell)
        print(f"| {metric.removeprefix('bias/')} | {' | '.join(cells)} |")
    times = [f"{np.mean([seconds[c, s] for s in seeds]):.1f}" if (c, seeds[0]) in seconds else "-" for c in columns]
    print(f"| train seconds | {' | '.join(times)} |")
    print("\ntargets (each vs its vanilla twin, mean over seeds): direct bias and mean |WEAT d| down >= 50%, "
          "SimLex/WS353 rho down <= 0.02")
    for col in labels[1:]:
        db, wd = summary[col, "bias/direct_bias"], summary[col, "bias/mean abs weat_d"]
        drop = max(-summary[col, "simlex999 rho"], -summary[col, "wordsim353 rho"])
        print(f"  {col}: direct bias {db:+.0%} ({'met' if db <= -0.5 else 'NOT met'}), mean |WEAT d| {wd:+.0%} "
              f"({'met' if wd <= -0.5 else 'NOT met'}), worst rho drop {drop:+.3f} "
              f"({'met' if drop <= 0.02 else 'NOT met'}); MEN {summary[col, 'men rho']:+.3f}")


def is_bias(metric: str) -> bool:
    return "weat_d" in metric or "direct_bias" in metric


if __name__ == "__main__":
    main()
