"""Command line for headless machines.

    python -m w2vcore train --corpus default --epochs 5          # or a .txt file/folder, or brown:PATH
    python -m w2vcore import FILE [--name NAME] [--limit N] [--format auto|word2vec|glove|...]
    python -m w2vcore list
    python -m w2vcore eval RUN [--data-dir ../shared/data]
    python -m w2vcore fit-map RUN [--steps 2000]                 # RSR's learned map fitted alone on the run's vectors
    python -m w2vcore export RUN --format word2vec|word2vec-bin|tsv|ckpt|npz [--out PATH] [--force]
    python -m w2vcore stop RUN | resume RUN | delete RUN

An imported embedding is an entry like a run: list, eval, fit-map, export and delete take it;
stop and resume say it has no training.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .charset import ENCODINGS
from .config import LETTERS, CorpusConfig, CorpusSource, LossSpec, RunConfig, TokenizerConfig, TrainConfig
from .embeddings import ENCODINGS as EMBEDDING_ENCODINGS
from .embeddings import FORMATS
from .errors import W2VError
from .preflight import validate
from .runs import RunStore
from .sources import read_phrases


def _source(text: str, encoding: str = "utf-8") -> CorpusSource:
    if text == "default":
        return CorpusSource("default")
    if text.startswith("brown:"):
        return CorpusSource("brown", text[len("brown:"):], encoding=encoding)
    return CorpusSource("text", text, encoding=encoding)


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


def run_config(args) -> RunConfig:
    """The RunConfig `train`'s arguments describe."""
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    tcfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in train_fields and v is not None},
                       losses=tuple(LossSpec(n, _float(w)) for n, w in args.loss))
    phrases = tuple(read_phrases(args.phrases)) if args.phrases else ()
    ccfg = CorpusConfig(source=_source(args.corpus, args.encoding),
                        tokenizer=TokenizerConfig(phrases=phrases, letters=args.letters),
                        min_count=args.min_count, max_vocab_size=args.max_vocab_size, sample=args.sample,
                        val_fraction=args.val_fraction)
    return RunConfig(name=args.name, corpus=ccfg, train=tcfg, data_dir=args.data_dir)


def cmd_train(args, store: RunStore) -> int:
    from .distributed.cli import launch, train_rank
    from .distributed.torchrun import under_torchrun

    if under_torchrun():
        return train_rank(args, store, run_config, progress=_progress_bar)
    if args.nproc != 1 or args.run_id or args.resume:
        return launch(args, args.argv, store, run_config)
    cfg = run_config(args)
    summary = validate(cfg, store.cache_dir, store.root)  # refused runs get no folder
    print(f"{summary.corpus}: {summary.vocab_size:,} words, {summary.train_tokens:,} training tokens, "
          f"about {summary.memory_bytes / 2**30:.1f} GB of memory")
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


def cmd_import(args, store: RunStore) -> int:
    """Add a pretrained embedding file to the store, with a progress bar over the bytes read."""
    from tqdm import tqdm

    from .embeddings import import_embedding

    with tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]") as bar:
        def progress(fraction: float) -> None:
            bar.n = round(100 * fraction, 1)
            bar.refresh()

        run_id = import_embedding(store, args.file, args.name, args.format, args.limit, args.encoding, progress)
    src = store.source(run_id)
    in_file = f" of {src['words_in_file']:,}" if src["words_in_file"] else ""
    print(f"imported {src['words']:,}{in_file} words x {src['dim']} dimensions ({src['format']}) as {run_id}")
    for note in src["notes"]:
        print(note)
    return 0


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise W2VError(f"a loss weight must be a number, got {text!r}") from None


def cmd_fit_map(args, store: RunStore) -> int:
    """Fit RSR's learned map alone on a finished run's vectors and print the scorecard against them."""
    from .mapfit import fit_map, scorecard

    vectors = store.load_vectors(args.run)
    fit = fit_map(vectors, {"heldout": args.heldout}, args.data_dir, steps=args.steps, seed=args.seed)
    print(f"{fit.rsr.summary}\nfitted {args.steps} map steps in {fit.seconds:.1f} s")
    name = store.info(args.run).name
    print(scorecard(vectors, fit, (name, f"{name} + fitted map"), args.data_dir).markdown())
    return 0


def cmd_eval(args, store: RunStore) -> int:
    from .evaldata import load_benchmarks

    vectors = store.load_vectors(args.run)
    bench = load_benchmarks(Path(args.data_dir) if args.data_dir else None)
    from .evaluate import format_report, intrinsic_report

    print(format_report(intrinsic_report(vectors, bench, restrict_vocab=args.restrict_vocab), sections=args.sections))
    return 0


def cmd_export(args, store: RunStore) -> int:
    vectors = store.load_vectors(args.run)
    run_dir = store.path(args.run)
    if args.format == "ckpt":
        if store.info(args.run).kind == "imported":
            raise W2VError(f"'{args.run}' is an imported embedding: it has no training checkpoint; export "
                           "word2vec, word2vec-bin, tsv or npz instead")
        t = store.config(args.run).train
        name = f"model_dim-{t.dim}_radius-{t.window}_ratio-{t.negative}-batch-{t.batch_size}-epoch-{t.epochs}.ckpt"
        out = _target(args, run_dir / name)
        homework = _homework_checkpoint(store, args.run, vectors)
        _write_atomic(out, lambda tmp: _torch_save(homework, tmp))
    elif args.format in ("word2vec", "word2vec-bin"):
        binary = args.format.endswith("bin")
        out = _target(args, run_dir / ("vectors.bin" if binary else "vectors.txt"))
        _write_atomic(out, lambda tmp: vectors.save_word2vec_format(tmp, binary=binary))
    elif args.format == "tsv":
        out = _target(args, run_dir / "projector", folder=True)
        out.mkdir(exist_ok=True)
        vectors.save_projector(out)
    else:
        out = _target(args, run_dir / "vectors-copy.npz")
        _write_atomic(out, vectors.save)
    print(out)
    return 0


def _target(args, default: Path, folder: bool = False) -> Path:
    """Where an export goes: --out or `default`. W2VError for a missing parent folder, a folder where a
    file goes (or a file where a folder goes), and existing output without --force."""
    out = Path(args.out).expanduser() if args.out else default
    if not out.parent.is_dir():
        raise W2VError(f"cannot write {out}: the folder {out.parent} does not exist")
    if folder:
        if out.exists() and not out.is_dir():
            raise W2VError(f"{out} is a file; the tsv format writes a folder (vectors.tsv, metadata.tsv)")
        existing = [p.name for p in (out / "vectors.tsv", out / "metadata.tsv") if p.exists()]
        if existing and not args.force:
            raise W2VError(f"{out} already holds {' and '.join(existing)}; add --force to overwrite")
        return out
    if out.is_dir():
        raise W2VError(f"{out} is a folder; give a file name, e.g. --out {out / default.name}")
    if out.exists() and not args.force:
        raise W2VError(f"{out} already exists; add --force to overwrite it")
    return out


def _write_atomic(out: Path, write) -> None:
    """write(tmp) to a temporary name beside `out`, then rename: an interrupted export leaves no half file."""
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, out)
    except OSError as e:
        raise W2VError(f"cannot write {out}: {e.strerror or e}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _homework_checkpoint(store: RunStore, run_id: str, vectors) -> dict:
    """The course's .ckpt layout from the run's checkpoint.pt; W2VError if it is missing or damaged."""
    import torch

    ck_path = store.checkpoint_path(run_id)
    if not ck_path.exists():
        raise W2VError(f"run '{run_id}' has no checkpoint to export")
    try:
        ck = torch.load(ck_path, weights_only=True)
        w_in, w_out = ck["w_in"], ck["w_out"]
    except Exception:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for a damaged file
        raise W2VError(f"the checkpoint of run '{run_id}' ({ck_path}) is truncated or unreadable; "
                       "export another format (word2vec, npz) from its vectors instead") from None
    return {"target_embeddings": w_in, "context_embeddings": w_out, "index_to_key": list(vectors.index_to_key)}


def _torch_save(obj, path: Path) -> None:
    import torch

    torch.save(obj, path)


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
    tr.add_argument("--letters", choices=LETTERS, default="ascii",
                    help="ascii: the notebook's a-z (default); unicode: letters of any script, NFC-normalised")
    tr.add_argument("--encoding", choices=ENCODINGS, default="utf-8",
                    help="of the corpus files (default utf-8; auto detects UTF-16 and Windows-1252)")
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
    tr.add_argument("--nproc", type=int, default=1, help="training processes on this machine (starts torchrun)")
    tr.add_argument("--backend", choices=("auto", "gloo", "nccl", "mpi"), default="auto",
                    help="torch.distributed backend (auto: nccl with a GPU per process, else gloo)")
    tr.add_argument("--run-id", help="train this existing run folder (with --resume: from its checkpoint)")
    tr.add_argument("--resume", action="store_true", help="continue --run-id's run from its checkpoint")
    tr.add_argument("--loss", nargs=2, action="append", default=[], metavar=("NAME", "WEIGHT"),
                    help="add an extra loss with weight alpha, e.g. --loss rsr 0.1")

    im = sub.add_parser("import", help="add a pretrained embedding file (word2vec, GloVe, fastText .vec, gensim)")
    im.add_argument("file")
    im.add_argument("--name", help="display name (default: the file name)")
    im.add_argument("--limit", type=int, help="keep only the first N words (the files list the most frequent first)")
    im.add_argument("--format", choices=FORMATS, default="auto", help="default: detected from the content")
    im.add_argument("--encoding", choices=EMBEDDING_ENCODINGS, default="utf-8",
                    help="of the words (default utf-8; auto: UTF-8 if valid, else cp1252)")
    sub.add_parser("list", help="list runs and imported embeddings")
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
    fm = sub.add_parser("fit-map", help="fit RSR's learned map alone on a run's vectors; print the scorecard")
    fm.add_argument("run")
    fm.add_argument("--data-dir", help="reference data folder (default: packaged THINGS, gensim's benchmarks)")
    fm.add_argument("--steps", type=int, default=2000, help="Adam steps on the map (default 2000)")
    fm.add_argument("--heldout", type=float, default=0.5, help="share of aligned concepts never fitted (default 0.5)")
    fm.add_argument("--seed", type=int, default=0, help="draws the training pairs (not the held-out split)")
    ex = sub.add_parser("export", help="write a run's vectors in another format")
    ex.add_argument("run")
    ex.add_argument("--format", choices=["word2vec", "word2vec-bin", "tsv", "ckpt", "npz"], default="word2vec")
    ex.add_argument("--out", help="file (a folder for tsv) to write; default: inside the run folder")
    ex.add_argument("--force", action="store_true", help="overwrite an existing output")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        store = RunStore(args.runs_dir, args.cache_dir)
        if args.cmd == "train":
            return cmd_train(args, store)
        if args.cmd == "import":
            return cmd_import(args, store)
        if args.cmd == "eval":
            return cmd_eval(args, store)
        if args.cmd == "fit-map":
            return cmd_fit_map(args, store)
        if args.cmd == "export":
            return cmd_export(args, store)
        if args.cmd == "list":
            for r in store.list():
                age = time.time() - r.created
                print(f"{r.id:<40}{r.kind:<10}{r.status:<14}{r.progress:>6.0%}  {age / 60:>6.0f} min ago  {r.error}")
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
    except OSError as e:  # the file system refused (a full disk, a file where a folder should be, permissions)
        where = f" ({e.filename})" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
