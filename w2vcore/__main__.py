"""Command line for headless machines.

    python -m w2vcore train --corpus default --epochs 5          # or a .txt file/folder, or brown:PATH
    python -m w2vcore list
    python -m w2vcore eval RUN [--data-dir ../shared/data]
    python -m w2vcore export RUN --format word2vec|word2vec-bin|tsv|ckpt|npz [--out PATH]
    python -m w2vcore stop RUN | resume RUN | delete RUN
"""
from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
import time
from pathlib import Path

from .config import CorpusConfig, CorpusSource, LossSpec, RunConfig, TokenizerConfig, TrainConfig
from .errors import W2VError
from .runs import RunStore


def _source(text: str) -> CorpusSource:
    if text == "default":
        return CorpusSource("default")
    if text.startswith("brown:"):
        return CorpusSource("brown", text[len("brown:"):])
    return CorpusSource("text", text)


def _progress_bar():
    from tqdm import tqdm

    class Bar:
        def __init__(self):
            self.bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}] {postfix}")

        def on_step(self, st, m):
            self.bar.n = round(100 * m["progress"], 1)
            self.bar.set_postfix_str(f"loss {m.get('loss/sgns', float('nan')):.3f}  "
                                     f"{m['words_per_s'] / 1e3:.0f}k words/s  lr {m['lr']:.4f}")

        def on_epoch_end(self, st, m):
            val = f"  val loss {m['loss/val']:.4f}" if "loss/val" in m else ""
            self.bar.write(f"epoch {int(m['epoch'])} done{val}")

        def on_train_end(self, st, result):
            self.bar.n = round(100 * st.progress, 1)
            self.bar.close()

    return Bar()


def cmd_train(args, store: RunStore) -> int:
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    tcfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in train_fields and v is not None},
                       losses=tuple(LossSpec(n, _float(w)) for n, w in args.loss))
    ccfg = CorpusConfig(source=_source(args.corpus),
                        tokenizer=TokenizerConfig(phrases=tuple(_read_phrases(args.phrases))),
                        min_count=args.min_count, max_vocab_size=args.max_vocab_size, sample=args.sample,
                        val_fraction=args.val_fraction)
    cfg = RunConfig(name=args.name, corpus=ccfg, train=tcfg, data_dir=args.data_dir)
    from .worker import execute  # torch is imported only once the settings are known to be valid

    run_id = store.create(cfg)
    run_dir = store.path(run_id)
    print(f"run {run_id} in {run_dir}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl-C stops cleanly, keeping a checkpoint
    status = execute(run_dir, store.cache_dir, stop, callbacks=[_progress_bar()])
    info = store.info(run_id)
    if status == "failed":
        raise W2VError(info.error)
    print(f"{status}: vectors in {run_dir}")
    return 0


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise W2VError(f"a loss weight must be a number, got {text!r}") from None


def _read_phrases(path: str | None) -> list[str]:
    if not path:
        return []
    return [line.strip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]


def cmd_eval(args, store: RunStore) -> int:
    from .evaldata import load_benchmarks

    vectors = store.load_vectors(args.run)
    bench = load_benchmarks(Path(args.data_dir) if args.data_dir else None)
    from .evaluate import format_report, intrinsic_report

    print(format_report(intrinsic_report(vectors, bench, restrict_vocab=args.restrict_vocab), sections=args.sections))
    return 0


def cmd_export(args, store: RunStore) -> int:
    import torch

    cfg = store.config(args.run)
    vectors = store.load_vectors(args.run)
    run_dir = store.path(args.run)
    t = cfg.train
    if args.format == "ckpt":
        ck_path = store.checkpoint_path(args.run)
        if not ck_path.exists():
            raise W2VError(f"run '{args.run}' has no checkpoint to export")
        name = f"model_dim-{t.dim}_radius-{t.window}_ratio-{t.negative}-batch-{t.batch_size}-epoch-{t.epochs}.ckpt"
        out = Path(args.out) if args.out else run_dir / name
        ck = torch.load(ck_path, weights_only=True)
        torch.save({"target_embeddings": ck["w_in"], "context_embeddings": ck["w_out"],
                    "index_to_key": list(vectors.index_to_key)}, out)
    elif args.format in ("word2vec", "word2vec-bin"):
        out = Path(args.out) if args.out else run_dir / ("vectors.bin" if args.format.endswith("bin") else "vectors.txt")
        vectors.save_word2vec_format(out, binary=args.format.endswith("bin"))
    elif args.format == "tsv":
        out = Path(args.out) if args.out else run_dir / "projector"
        out.mkdir(parents=True, exist_ok=True)
        vectors.save_projector(out)
    else:
        out = Path(args.out) if args.out else run_dir / "vectors-copy.npz"
        vectors.save(out)
    print(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m w2vcore", description="Word2Vec Lab: train and inspect embeddings.")
    ap.add_argument("--runs-dir", default=None, help="folder of runs (default: $W2V_RUNS_DIR or ./runs)")
    ap.add_argument("--cache-dir", default=None, help="corpus cache (default: $W2V_CACHE_DIR or ~/.cache/w2vlab)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    tr = sub.add_parser("train", help="train a run in the foreground with a progress bar")
    tr.add_argument("--corpus", default="default", help="'default', a .txt file or folder, or brown:PATH")
    tr.add_argument("--name", default="cli")
    tr.add_argument("--phrases", help="file of multi-word expressions, one per line")
    tr.add_argument("--data-dir", help="reference data folder for extra losses")
    defaults_c, defaults_t = CorpusConfig(), TrainConfig()
    tr.add_argument("--min-count", type=int, default=defaults_c.min_count)
    tr.add_argument("--max-vocab-size", type=int, default=None)
    tr.add_argument("--sample", type=float, default=defaults_c.sample)
    tr.add_argument("--val-fraction", type=float, default=defaults_c.val_fraction)
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("losses",):
            continue
        kind = type(getattr(defaults_t, f.name))
        tr.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=None,
                        help=f"default {getattr(defaults_t, f.name)}")
    tr.add_argument("--loss", nargs=2, action="append", default=[], metavar=("NAME", "WEIGHT"),
                    help="add an extra loss with weight alpha, e.g. --loss rsr 0.1")

    sub.add_parser("list", help="list runs")
    for name, text in (("stop", "ask a background run to stop"), ("resume", "resume a run from its checkpoint"),
                       ("delete", "delete a finished run")):
        p = sub.add_parser(name, help=text)
        p.add_argument("run")
    ev = sub.add_parser("eval", help="word-pair and analogy benchmarks for a run")
    ev.add_argument("run")
    ev.add_argument("--data-dir", help="folder holding wordsim/ (default: gensim's bundled copies)")
    ev.add_argument("--sections", action="store_true", help="print analogy accuracy per section")
    ev.add_argument("--restrict-vocab", type=int, default=300_000,
                    help="only the most frequent N words answer analogies (gensim's default 300000)")
    ex = sub.add_parser("export", help="write a run's vectors in another format")
    ex.add_argument("run")
    ex.add_argument("--format", choices=["word2vec", "word2vec-bin", "tsv", "ckpt", "npz"], default="word2vec")
    ex.add_argument("--out")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = RunStore(args.runs_dir, args.cache_dir)
        if args.cmd == "train":
            return cmd_train(args, store)
        if args.cmd == "eval":
            return cmd_eval(args, store)
        if args.cmd == "export":
            return cmd_export(args, store)
        if args.cmd == "list":
            for r in store.list():
                age = time.time() - r.created
                print(f"{r.id:<40}{r.status:<14}{r.progress:>6.0%}  {age / 60:>6.0f} min ago  {r.error}")
            return 0
        if args.cmd == "stop":
            store.stop(args.run)
        elif args.cmd == "resume":
            store.start(args.run, resume=True)
        elif args.cmd == "delete":
            store.delete(args.run)
        return 0
    except W2VError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
