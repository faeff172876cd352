"""RSR cost and effect: soft Spearman speed and accuracy, then vanilla vs RSR training.

Table 1 times `soft_spearman` forward + backward on the CPU (median wall time over
repeats, torch threads as shown) at n = 1k / 5k / 20k for the PAV soft rank and the
notebook's O(n^2) pairwise sigmoid (skipped where its n x n matrix is too big), and its
error against scipy's exact `spearmanr` on cosine-like data (Gaussian predictions of a
skewed target, as model cosines vs human similarity).

Table 2 trains the same engine on the same corpus (Brown from ../shared/data, tokenised
with the THINGS multi-word names joined, e.g. air_conditioner; `--wiki` adds gensim's
bundled wiki sample + Lee corpus) vanilla and with RSR (alpha=0.1, 5,000 pairs every step,
THINGS target), alternating runs. Speed: the training loop's wall and CPU seconds (setup,
i.e. loading the target, is timed apart) and words/s with their ratio, and how many RSR
applications and fresh pairs each 4,096-pair SGNS step really got. Quality: the exact
held-out and training rho (`rsr/rho_heldout`, `rsr/rho_train`: the vanilla run is scored on
the same held-out concepts) and SimLex-999 / WordSim-353 / MEN Spearman, on the word vectors
as the run exports them (w_in, or w_in M with `--metric gauge`) and, as "in+out", on the sum of
word and context vectors. With a metric, "M vs unmapped" rows give each benchmark on w_in M minus
the same run's raw w_in: the map's own effect, free of the run-to-run noise between twins
(`gauge_only` never moves a row, so its raw w_in is a vanilla run; the vanilla column shows 0).

    python bench/bench_rsr.py [--epochs 3] [--repeats 3] [--dim 100] [--engine auto] [--warmup 0.3] [--wiki]
                              [--metric none|gauge|gauge_only] [--metric-rank 16] [--metric-penalty 0.01]
                              [--metric-lr 0.01] [--metric-lr-decay 0] [--metric-keep 0] [--metric-keep-words 3000]
                              [--every 1] [--heldout 0.2] [--skip-train]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.evaldata import load_benchmarks  # noqa: E402
from w2vcore.losses.rsr.human import load_things, thing_phrases  # noqa: E402
from w2vcore.engines.kernel import warm_up  # noqa: E402
from w2vcore.losses.rsr.ranking import soft_spearman  # noqa: E402
from w2vcore.losses.rsr.loss import RSR, RSRParams  # noqa: E402
from w2vcore.train import Trainer  # noqa: E402
from w2vcore.vectors import Vectors  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SIGMOID_MAX_N = 5000  # the sigmoid reference needs an n x n matrix (and its gradient)


def median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def ranking_table(repeats: int) -> None:
    print(f"## soft_spearman, forward + backward (CPU, torch threads={torch.get_num_threads()}, median of {repeats})\n")
    print("| n | method | ms | soft rho | scipy rho | abs error |")
    print("|---|---|---|---|---|---|")
    for n in (1000, 5000, 20000):
        gen = torch.Generator().manual_seed(n)
        human = torch.rand(n, generator=gen, dtype=torch.float64) ** 2  # skewed, like THINGS similarity
        cos = (0.3 * human + 0.2 * torch.randn(n, generator=gen, dtype=torch.float64)).float()
        exact = stats.spearmanr(cos.numpy(), human.numpy())[0]
        for method in ("pav", "sigmoid"):
            if method == "sigmoid" and n > SIGMOID_MAX_N:
                print(f"| {n:,} | {method} | n/a (n x n matrix) | | | |")
                continue
            x = cos.clone().requires_grad_(True)

            def step():
                x.grad = None
                soft_spearman(x, human, method=method).backward()

            ms = median_ms(step, repeats if method == "pav" else max(3, repeats // 10))
            soft = float(soft_spearman(cos, human, method=method))
            print(f"| {n:,} | {method} | {ms:.3f} | {soft:.4f} | {exact:.4f} | {abs(soft - exact):.4f} |")
    print()


def training_table(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        phrases = thing_phrases(DATA)
        tok = TokenizerConfig(phrases=phrases)
        sources = [CorpusSource("brown", str(DATA / "corpora" / "brown"))]
        if args.wiki:
            sources.append(CorpusSource("default"))
        corpus = cache / "corpus.txt"
        with corpus.open("w") as f:  # one tokenised sentence per line, MWEs already joined
            for source in sources:
                enc = encode_corpus(source, tok, cache)
                for s in range(enc.n_sentences):
                    f.write(" ".join(enc.words[i] for i in enc.tokens[enc.sent_starts[s]:enc.sent_starts[s + 1]]))
                    f.write("\n")
        data = prepare(encode_corpus(CorpusSource("text", str(corpus)), tok, cache), CorpusConfig())
        n_words = data.n_train_tokens
        human = load_things(DATA, cache)
        # both runs: the same held-out concepts
        probe = RSR(human, data.vocab.key_to_index, params=RSRParams(heldout=args.heldout))
        val = validation_rho(human, data.vocab.key_to_index, probe) if args.heldout > 0.2 else None
        bench = load_benchmarks(DATA)
        params = {"pairs": args.pairs, "every": args.every, "target": "things", "heldout": args.heldout,
                  "metric": args.metric, "metric_rank": args.metric_rank, "metric_penalty": args.metric_penalty,
                  "metric_lr": args.metric_lr, "metric_lr_decay": args.metric_lr_decay, "metric_keep": args.metric_keep,
                  "metric_keep_words": args.metric_keep_words}
        if args.warmup is not None:
            params["warmup"] = args.warmup
        spec = LossSpec("rsr", args.alpha, params)
        base = dict(dim=args.dim, epochs=args.epochs, batch_size=args.batch_size, device="cpu", log_every_s=5.0, eval_every_s=1e9,
                    checkpoint_every_s=1e9, threads=args.threads, engine=args.engine)
        print(f"## training: {' + '.join(s.label for s in sources)}, {n_words:,} tokens/epoch, vocabulary "
              f"{len(data.vocab):,}, dim={args.dim}, epochs={args.epochs}, batch={args.batch_size}, "
              f"engine={args.engine}, threads={args.threads or 'one per core'}; "
              f"RSR alpha={args.alpha}, {args.pairs} pairs every step, {params}")
        print(f"RSR target: {probe.summary}\n")
        rows: dict[str, dict[str, list[float]]] = {"vanilla": {}, "rsr": {}}
        warm_up()  # compile (or load) both engines' kernels before anything is timed
        probe.sgd_steps(torch.zeros(len(data.vocab), args.dim), 0.0, 1, torch.Generator())
        for rep in range(args.repeats):
            for name in ("vanilla", "rsr"):
                cfg = TrainConfig(**base, seed=args.first_seed + rep, losses=(spec,) if name == "rsr" else ())
                setup = time.perf_counter()
                trainer = Trainer(cfg, data, data_dir=str(DATA))
                setup = time.perf_counter() - setup
                t, cpu = time.perf_counter(), time.process_time()
                result = trainer.run()
                seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
                steps = result.state.step
                applied = sum(loss.applied for loss in trainer.losses)
                row = {"words/s": n_words * args.epochs / seconds, "seconds": seconds, "cpu seconds": cpu,
                       "setup seconds": setup, "RSR applications / step": applied / steps,
                       "RSR pairs / step": applied * args.pairs / steps}
                vectors = {"": result.vectors.vectors, " (in+out)": result.vectors.vectors + result.context_vectors}
                for suffix, table in vectors.items():
                    vec = Vectors(list(data.vocab.index_to_key), table, data.vocab.counts)
                    row.update({k + suffix: v for k, v in probe.evaluate(table).items()
                                if suffix == "" or k == "rsr/rho_heldout"})
                    row.update({k + suffix: vec.evaluate_word_pairs(p).spearman for k, p in bench.pairs.items()})
                if val is not None:
                    row.update(val(result.vectors.vectors))
                if args.metric != "none":
                    raw = trainer.engine.w_in.detach().numpy()  # the same run without its map (vanilla: itself)
                    vec = Vectors(list(data.vocab.index_to_key), raw, data.vocab.counts)
                    for k, p in bench.pairs.items():
                        row[f"{k}: M vs unmapped"] = row[k] - vec.evaluate_word_pairs(p).spearman
                if name == "rsr" and args.metric != "none":
                    row["rsr/metric_cond"] = trainer.losses[0].evaluate(result.vectors.vectors)["rsr/metric_cond"]
                for k, v in row.items():
                    rows[name].setdefault(k, []).append(v)
                paired = "  ".join(f"{k[:7]} {row[k] - rows['vanilla'][k][-1]:+.3f}" for k in bench.pairs
                                   if name == "rsr")  # against this repeat's vanilla twin
                print(f"  repeat {rep + 1} {name:<7} {seconds:6.1f}s  cpu {cpu:6.1f}s  "
                      f"rho_heldout={row['rsr/rho_heldout']:.3f}  {paired}", flush=True)
    print()
    print("| metric | vanilla | RSR | RSR vs vanilla |")
    print("|---|---|---|---|")
    for metric in rows["rsr"]:
        v, r = rows["vanilla"].get(metric, [float("nan")]), rows["rsr"][metric]
        vm, rm = statistics.median(v), statistics.median(r)
        if metric in ("words/s", "seconds", "cpu seconds", "setup seconds"):
            rel = f"{rm / vm:.2f}x"
        elif "/ step" in metric or metric == "rsr/metric_cond":
            rel = ""
        else:
            rel = f"{rm - vm:+.3f}"
        print(f"| {metric} | {spread(v)} | {spread(r)} | {rel} |")
    print("\nseconds, cpu seconds: the training loop (wall; CPU time of the process, all threads: steadier on a shared"
          " machine); setup: building the trainer (the RSR target and its split); words/s: corpus words x epochs /"
          " loop seconds. RSR applications / step: compiled-path applications (5,000 fresh pairs each) per"
          " SGNS step of --batch-size pairs")
    print("rho rows: exact Spearman of cosine vs THINGS similarity over concept pairs (held-out concepts never"
          " enter the loss); simlex999/wordsim353: Spearman; (in+out): on word + context vectors; medians"
          " [min-max] over repeats")


def validation_rho(human, key_to_index, probe: RSR):
    """With heldout > 0.2 (same seed), the held-out concepts are the usual 20% test concepts plus a
    validation set: a function scoring exact rho on each apart, for choosing settings honestly."""
    test = set(RSR(human, key_to_index, params=RSRParams(heldout=0.2)).heldout_concepts.tolist())
    word = dict(zip(probe.alignment.concepts.tolist(), probe.alignment.word_ids.tolist()))
    parts = {"rho_val": sorted(set(probe.heldout_concepts.tolist()) - test), "rho_test": sorted(test)}

    def score(vectors) -> dict[str, float]:
        out = {}
        for key, concepts in parts.items():
            c = np.array(concepts)
            i, j = np.triu_indices(len(c), 1)
            unit = vectors[[word[k] for k in c]]
            unit = unit / np.linalg.norm(unit, axis=1, keepdims=True)
            out[key] = float(stats.spearmanr((unit[i] * unit[j]).sum(1), human.matrix[c[i], c[j]])[0])
        return out
    return score


def spread(xs: list[float]) -> str:
    med = statistics.median(xs)
    return f"{med:,.3f}" if len(xs) == 1 else f"{med:,.3f} [{min(xs):,.3f}-{max(xs):,.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=1, help="run seed of the first repeat (then +1 per repeat)")
    ap.add_argument("--batch-size", type=int, default=TrainConfig().batch_size,
                    help="SGNS pairs per step: the unit 'every step' counts in (RSR pairs per SGNS pair = pairs / batch)")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--warmup", type=float, default=None, help="RSR warm-up share of the run (default: the loss's)")
    ap.add_argument("--every", type=int, default=1, help="apply RSR every N SGNS steps")
    ap.add_argument("--heldout", type=float, default=0.2,
                    help="held-out share (0.36 with seed 0 adds a validation set to the usual 20%% test concepts)")
    ap.add_argument("--metric", default="none", help="RSR's map: none, gauge or gauge_only (see docs/RSR.md)")
    ap.add_argument("--metric-rank", type=int, default=16)
    ap.add_argument("--metric-penalty", type=float, default=0.03)
    ap.add_argument("--metric-lr", type=float, default=0.01)
    ap.add_argument("--metric-lr-decay", type=int, default=0, help="1: M's step size falls linearly to 0 over the run")
    ap.add_argument("--metric-keep", type=float, default=0.0, help="weight of the term keeping frequent words' "
                                                                   "cosine order under M (0: off)")
    ap.add_argument("--metric-keep-words", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=0, help="Hogwild threads (0 = one per core)")
    ap.add_argument("--engine", default="auto", help="SGNS engine of both runs: auto, torch or numba")
    ap.add_argument("--torch-threads", type=int, default=0,
                    help="torch intra-op threads for both runs (0 = torch's default)")
    ap.add_argument("--timing-repeats", type=int, default=200)
    ap.add_argument("--wiki", action="store_true", help="add gensim's wiki sample + Lee corpus to Brown")
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    ranking_table(args.timing_repeats)
    if args.skip_train:
        return
    if not (DATA / "things").is_dir():
        sys.exit(f"{DATA}/things not found: the training comparison needs ../shared/data (Brown, THINGS)")
    training_table(args)


if __name__ == "__main__":
    main()
