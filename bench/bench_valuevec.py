"""ValueVec quality: the colour spectrum standalone, then VADER valence as a skip-gram regulariser.

Table 1 trains the colour spectrum (`colour_spectrum()`: base colours and modified colours
with wavelengths in nm) in the article's faithful mode and in the fast Adam mode, over a few
seeds, and prints |r| of the first principal component with the wavelength (target >= 0.9),
the pair Spearman (|wavelength difference| vs cosine distance) and the Spearman of the
position along the curve (the angle in the PC1-PC2 plane, cut at its widest gap) with the
wavelength. These are training-word metrics: a standalone ValueVec word only has a vector
if it trains, so there is nothing to hold out.

Table 2 trains skip-gram on a corpus (gensim's bundled wiki sample + Lee by default, or
Brown from ../shared/data with --brown) vanilla and with the `valuevec` loss on VADER mean
valence (alpha, 80% of the vocabulary's VADER words; the same seeded split scores both
twins). Held-out rows are words that never entered the loss:

- rho_heldout: Spearman of |valence difference| vs cosine distance over held-out word pairs
  (the embedding's own prediction of the value difference; target >= 0.5);
- knn_rho_heldout: Spearman of each held-out word's valence predicted from its 10 nearest
  training words (by cosine) with its true valence;
- pc1_heldout / pc1_train: |r| of the first principal component of those words with valence;
- simlex999 / wordsim353: Spearman on the word-pair benchmarks (kept or lost).

With --png PATH it saves the faithful colour embedding's PC1-PC2 projection (plotly+kaleido,
else matplotlib; skipped with a message when neither is installed).

Table 2 runs four variants: vanilla, `valuevec`, and the two learned-map variants (`map` 1: M and the
rows; 2: M only), scored on the vectors the trainer exports (w_in @ M with a map). The seconds
column gives each run's time against vanilla (the compiled CPU path with the default numba engine).

    python bench/bench_valuevec.py [--epochs 8] [--alpha 0.1] [--dim 100] [--repeats 1] [--maps 0,1,2]
                                   [--map-lr 0.003] [--engine numba] [--brown] [--png PATH] [--skip-colour]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.losses import LossSetup  # noqa: E402
from w2vcore.losses.valuevec.values import colour_spectrum, rank_correlation  # noqa: E402
from w2vcore.losses.valuevec.trainers import ValueVecConfig, train_valuevec  # noqa: E402
from w2vcore.losses.valuevec.loss import make_valuevec  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def spread(xs: list[float]) -> str:
    med = statistics.median(xs)
    return f"{med:.3f}" if len(xs) == 1 else f"{med:.3f} [{min(xs):.3f}-{max(xs):.3f}]"


def pca2(vectors: np.ndarray) -> np.ndarray:
    """(n, 2) scores of the unit rows on their first two principal components."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    centred = unit - unit.mean(0)
    return centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T


def arc_position(xy: np.ndarray) -> np.ndarray:
    """Angle of each point around the centre of the PC1-PC2 plane, cut at the widest empty gap."""
    angle = np.arctan2(xy[:, 1], xy[:, 0])
    order = np.sort(angle)
    gaps = np.diff(np.append(order, order[0] + 2 * np.pi))
    cut = order[(np.argmax(gaps) + 1) % len(order)]
    return (angle - cut) % (2 * np.pi)


def colour_table(seeds: int, png: str | None) -> None:
    colours = colour_spectrum()
    print(f"## colour spectrum: {len(colours)} words, {min(colours.values()):.0f}-{max(colours.values()):.0f} nm, "
          f"seeds 0-{seeds - 1}\n")
    print("| mode | epochs run | seconds | final loss | abs r(PC1, nm) | abs rho(PC1, nm) | pair rho | "
          "rho(arc position, nm) | arc span (deg) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mode in ("faithful", "fast"):
        rows: dict[str, list[float]] = {}
        for seed in range(seeds):
            t = time.perf_counter()
            result = train_valuevec(colours, ValueVecConfig(mode=mode, seed=seed))
            seconds = time.perf_counter() - t
            scores = result.scores()
            xy = pca2(result.vectors)
            position = arc_position(xy)
            arc = abs(rank_correlation(position, result.values))
            pc1_rho = abs(rank_correlation(xy[:, 0], result.values))
            for key, value in (("epochs", len(result.losses)), ("seconds", seconds), ("loss", result.losses[-1]),
                               ("pc1", scores["pc1_r"]), ("pc1_rho", pc1_rho), ("pair", scores["pair_rho"]),
                               ("arc", arc), ("span", float(np.degrees(position.max())))):
                rows.setdefault(key, []).append(value)
            if mode == "faithful" and seed == 0:
                first = result
        print(f"| {mode} | {statistics.median(rows['epochs']):.0f} | {spread(rows['seconds'])} | "
              f"{spread(rows['loss'])} | {spread(rows['pc1'])} | {spread(rows['pc1_rho'])} | {spread(rows['pair'])} | "
              f"{spread(rows['arc'])} | {statistics.median(rows['span']):.0f} |")
    print("\nmedian [min-max] over seeds; r is Pearson, rho Spearman; pair rho: Spearman of |wavelength difference| "
          "vs cosine distance over all word pairs; arc span: the angle the words cover around the PC1-PC2 centre\n")
    if png:
        save_png(first, png)


def save_png(result, path: str) -> None:
    xy = pca2(result.vectors)
    labels = [w if "_" not in w else "" for w in result.words]  # name the base colours only
    title = f"ValueVec colour spectrum (faithful): PC1-PC2 of {len(result.words)} words, colour = wavelength (nm)"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if importlib.util.find_spec("plotly") and importlib.util.find_spec("kaleido"):
        import plotly.graph_objects as go

        fig = go.Figure(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=labels,
                                   textposition="top center",
                                   marker=dict(color=result.values, colorscale="Rainbow", size=9,
                                               colorbar=dict(title="nm"))))
        fig.update_layout(title=title, width=900, height=800, xaxis_title="PC1", yaxis_title="PC2")
        fig.write_image(path)
        print(f"saved {path} (plotly)")
        return
    if not importlib.util.find_spec("matplotlib"):
        print("no PNG: neither kaleido (for plotly) nor matplotlib is installed (pip install kaleido, or pip "
              "install matplotlib)\n")
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 8))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=result.values, cmap="rainbow")
    for (x, y), label in zip(xy, labels):
        if label:
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4))
    fig.colorbar(points, label="nm")
    ax.set(title=title, xlabel="PC1", ylabel="PC2")
    fig.savefig(path, dpi=100)
    print(f"saved {path} (matplotlib)")


VARIANTS = {"vanilla": None, "valuevec": 0, "valuevec+map": 1, "map only": 2}  # name -> the loss's `map`


def regulariser_table(args) -> None:
    from w2vcore.train import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        source = CorpusSource("brown", str(DATA / "corpora" / "brown")) if args.brown else CorpusSource("default")
        data = prepare(encode_corpus(source, TokenizerConfig(), tmp), CorpusConfig())
    setup = LossSetup(vocab=data.vocab, dim=args.dim, device=torch.device("cpu"), seed=1)
    params = {"values": "vader", "pairs": args.pairs, "map_lr": args.map_lr}
    probe = make_valuevec(LossSpec("valuevec", 0.0, params), setup)  # the runs' split, to score every variant
    print(f"## VADER valence as a regulariser: {source.label}, {data.n_train_tokens:,} tokens/epoch, vocabulary "
          f"{len(data.vocab):,}, dim={args.dim}, epochs={args.epochs}, alpha={args.alpha}, {args.pairs} pairs per "
          f"step, map_lr={args.map_lr}, engine={args.engine}\n{probe.summary}\n")
    names = [n for n in VARIANTS if n == "vanilla" or VARIANTS[n] in args.maps]
    rows: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    for rep in range(args.repeats):
        for name in names:
            losses = () if VARIANTS[name] is None else \
                (LossSpec("valuevec", args.alpha, {**params, "map": VARIANTS[name]}),)
            cfg = TrainConfig(dim=args.dim, epochs=args.epochs, seed=rep + 1, device="cpu", threads=args.threads,
                              engine=args.engine, log_every_s=5.0, eval_every_s=1e9, checkpoint_every_s=1e9,
                              losses=losses)
            t = time.perf_counter()
            trainer = Trainer(cfg, data)
            vectors = trainer.run().vectors  # w_in @ M for the map variants (the trainer applies the loss's map)
            row = {"seconds": time.perf_counter() - t, **probe.evaluate(vectors.vectors)}
            for key, value in row.items():
                rows[name].setdefault(key, []).append(value)
            print(f"  repeat {rep + 1} {name:<13} {row['seconds']:6.1f}s  rho_heldout={row['valuevec/rho_heldout']:.3f}"
                  f"  applications={trainer.losses[0].applied if trainer.losses else 0}", flush=True)
    print("\n| metric | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for metric in rows["vanilla"]:
        cells = [spread(rows[n][metric]) for n in names]
        if metric == "seconds":
            base = statistics.median(rows["vanilla"][metric])
            cells = cells[:1] + [f"{c} ({statistics.median(rows[n][metric]) / base:.2f}x)"
                                 for c, n in zip(cells[1:], names[1:])]
        print(f"| {metric.split('/')[-1]} | " + " | ".join(cells) + " |")
    print("\nheld-out words never enter the loss; map variants are scored on the exported w_in @ M; medians "
          "[min-max] over repeats")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3, help="colour runs per mode")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--pairs", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="Hogwild threads (0 = one per core)")
    ap.add_argument("--engine", default="numba", choices=["numba", "torch"], help="SGD engine of the runs")
    ap.add_argument("--maps", default="0,1,2", help="which ValueVec variants: map settings 0 (plain), 1, 2")
    ap.add_argument("--map-lr", type=float, default=0.003, help="Adam learning rate of the map M")
    ap.add_argument("--brown", action="store_true", help="train on Brown from ../shared/data instead")
    ap.add_argument("--png", default="", help="save the faithful colour embedding's 2-D projection here")
    ap.add_argument("--skip-train", action="store_true", help="only the colour table")
    ap.add_argument("--skip-colour", action="store_true", help="only the regulariser table")
    args = ap.parse_args()
    args.maps = {int(m) for m in args.maps.split(",") if m.strip()}
    if not args.skip_colour:
        colour_table(args.seeds, args.png or None)
    if not args.skip_train:
        if args.brown and not (DATA / "corpora" / "brown").is_dir():
            sys.exit(f"{DATA}/corpora/brown not found")
        regulariser_table(args)


if __name__ == "__main__":
    main()
