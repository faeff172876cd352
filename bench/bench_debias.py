"""Debiasing: vanilla vs the debias loss (twins, same seed) vs hard debias of the vanilla vectors.

A second vanilla run with the next seed shows how far each metric moves by chance alone.

Trains on Brown + gensim's bundled wiki sample + Lee (one tokenised text file, as
bench_rsr.py --wiki builds it), dim 100, then prints one before/after table:

- bias, measured with the *published* lists (../shared/data/bias: Bolukbasi's definitional
  pairs and professions, the gender WEAT tests of weat.json), not with the built-in lists the
  loss trains on: DirectBias_1 on Bolukbasi's gender-neutral professions (all of them, and
  those the loss never moved: neither in its neutral list nor among its `vocab_top` most frequent words), WEAT
  effect size d and one-sided permutation p (career/family, math/arts, science/arts), and
  Gonen & Goldberg's k-means and RBF-SVM (5-fold) accuracy on the 500 + 500 most biased words
  of the vanilla space (chance = 0.5);
- the loss's own view: DirectBias_1 on the built-in list's direction, over the built-in neutral
  words in the loss and over its seeded held-out 20%;
- information kept: SimLex-999, WordSim-353 and MEN Spearman, Google analogy accuracy.

    python bench/bench_debias.py [--epochs 3] [--dim 100] [--runs pairs:0.05,pairs:0.1,projection:0.1] [--vocab-top 10000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.bias import bias_report, biased_words, direct_bias, gender_direction, weat  # noqa: E402
from w2vcore.biaslists import builtin_lists, gender_tests, load_bolukbasi, load_weat_tests  # noqa: E402
from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.debias import Debias, hard_debias  # noqa: E402
from w2vcore.evaldata import load_benchmarks  # noqa: E402
from w2vcore.train import train  # noqa: E402

DATA = REPO.parent / "shared" / "data"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--runs", default="pairs:0.05,pairs:0.1,projection:0.1",
                    help="debias runs to train: penalty:weight, comma separated")
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--vocab-top", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=1, help="Hogwild threads (1 = bit-identical twins)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not (DATA / "bias").is_dir() or not (DATA / "corpora" / "brown").is_dir():
        sys.exit(f"{DATA} with bias/ and corpora/brown/ is needed")
    published = load_bolukbasi(DATA / "bias" / "bolukbasi.json")
    tests = gender_tests(load_weat_tests(DATA / "bias" / "weat.json"))
    bench = load_benchmarks(DATA)
    with tempfile.TemporaryDirectory() as tmp:
        data = training_data(Path(tmp))
    vocab = data.vocab
    builtin = builtin_lists()
    probe = Debias(builtin, vocab.index_to_key, vocab_top=args.vocab_top)  # the runs' split of the built-in list
    pool = set(probe.pool_ids.tolist())
    unseen = [w for w in published.neutral if w in vocab.key_to_index and vocab.key_to_index[w] not in pool]
    print(f"## {data.n_train_tokens:,} tokens/epoch, vocabulary {len(vocab):,}, dim={args.dim}, "
          f"epochs={args.epochs}, threads={args.threads}, seed={args.seed}; loss: built-in lists, "
          f"scale={args.scale:g}, vocab_top={args.vocab_top}\n")
    base = dict(dim=args.dim, epochs=args.epochs, device="cpu", log_every_s=5.0, eval_every_s=1e9,
                checkpoint_every_s=1e9, threads=args.threads, seed=args.seed)
    runs, seconds = {}, {}
    for run in ["vanilla:0", "noise:0"] + [r for r in args.runs.split(",") if r]:
        penalty, weight = run.split(":")[0], float(run.split(":")[1])
        spec = LossSpec("debias", weight, {"vocab_top": args.vocab_top, "penalty": penalty, "scale": args.scale})
        name = penalty if weight == 0 else f"{penalty} a={weight:g}"
        seed = args.seed + 1 if name == "noise" else args.seed  # another vanilla seed: how much metrics move by chance
        if name == "noise":
            name = f"vanilla seed {seed}"
        t = time.perf_counter()
        result = train(TrainConfig(**{**base, "seed": seed}, losses=(spec,) if weight else ()), data)
        seconds[name] = time.perf_counter() - t
        runs[name] = result.vectors
        print(f"  {name:<16} {seconds[name]:6.1f}s", flush=True)
    vanilla = runs["vanilla"]
    g0 = gender_direction(vanilla, published.definitional)
    biased = biased_words(vanilla, g0, 500, exclude=published.gendered_words() | builtin.gendered_words())
    runs["hard debias"] = hard_debias(vanilla, published)
    rows: dict[str, dict[str, float]] = {}
    for name, vectors in runs.items():
        report = bias_report(vectors, published, tests, biased, seed=0)
        g = gender_direction(vectors, published.definitional)
        report["bias/direct_bias_unseen"] = direct_bias(vectors, unseen, g).value if unseen else float("nan")
        own = probe.evaluate(vectors.vectors)
        rows[name] = {**report, "built-in list: direct_bias trained": own["debias/direct_bias"],
                      "built-in list: direct_bias held out": own["debias/direct_bias_heldout"],
                      **quality(vectors, bench)}
    names = list(rows)
    print(f"\n| metric | {' | '.join(names)} |")
    print("|---|" + "---|" * len(names))
    for metric in rows["vanilla"]:
        cells = []
        for name in names:
            v, v0 = rows[name][metric], rows["vanilla"][metric]
            cell = f"{v:.3f}"
            if name != "vanilla" and ("weat_d" in metric or "direct_bias" in metric) and abs(v0) > 1e-9:
                cell += f" ({abs(v) / abs(v0) - 1:+.0%})"
            elif name != "vanilla" and ("rho" in metric or "acc" in metric) and "accuracy" not in metric:
                cell += f" ({v - v0:+.3f})"
            cells.append(cell)
        print(f"| {metric.removeprefix('bias/')} | {' | '.join(cells)} |")
    print(f"| train seconds | {' | '.join(f'{seconds[n]:.1f}' if n in seconds else '-' for n in names)} |")
    print("\ntargets (vs the vanilla twin): direct bias and mean |WEAT d| down >= 50%, SimLex/WS353 rho down <= 0.02")
    weats = [m for m in rows["vanilla"] if "weat_d" in m]
    for name in names[2:]:
        r, r0 = rows[name], rows["vanilla"]
        db = r["bias/direct_bias"] / r0["bias/direct_bias"] - 1
        wd = sum(abs(r[m]) for m in weats) / sum(abs(r0[m]) for m in weats) - 1
        drop = max(r0[k] - r[k] for k in ("simlex999 rho", "wordsim353 rho"))
        print(f"  {name}: direct bias {db:+.0%} ({'met' if db <= -0.5 else 'NOT met'}), mean |WEAT d| {wd:+.0%} "
              f"({'met' if wd <= -0.5 else 'NOT met'}), worst rho drop {drop:+.3f} "
              f"({'met' if drop <= 0.02 else 'NOT met'})")
    gd = direct_bias(vanilla, published.neutral, g0)
    print(f"\nDirect bias on {len(gd.words)} of Bolukbasi's {len(published.neutral)} neutral professions in the "
          f"vocabulary; 'unseen': the {len(unseen)} of them the loss never moves. "
          f"G&G: {len(biased.words)} words chosen in the vanilla space. WEAT sizes/missing words:")
    for test in tests:
        s = weat(vanilla, test)
        print(f"  {test.name}: sizes {s.sizes}, {'exact' if s.exact else 'sampled'} p over {s.n_permutations:,}; "
              f"missing {s.missing or 'none'}")


if __name__ == "__main__":
    main()
