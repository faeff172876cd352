"""Data-parallel training (torchrun, gloo) against the single-process Hogwild run: words/s, quality, sync cost.

Every contestant trains the same corpus (Brown unless --corpus, min_count 5) with the same settings and the same total
thread count: one process with `threads` Hogwild threads (the plain run), torchrun with 1 process of
`threads` threads, and torchrun with 2 processes of threads / 2 each (summed updates and, for
comparison, averaged tables), each sending whole tables and only the touched rows. Words/s is the
whole run's words over its own training clock (corpus reading and process start excluded). Per sync:
the share of table rows sent, transfer time (the all-reduces) and the wait for the slowest partner,
and the transfer's share of the run.

    nice python bench/bench_distributed.py [--epochs 5] [--seed 1] [--corpus default] [--min-count 5] [--threads 2] [--sync-every 1000000 100000]
        [--modes sum mean] [--rows all touched auto]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import SYNC_MODES, SYNC_ROWS, TrainConfig  # noqa: E402
from w2vcore.evaldata import load_benchmarks  # noqa: E402
from w2vcore.runs import RunStore  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def run(label: str, store: RunStore, nproc: int | None, train_args: list[str], corpus: str) -> dict:
    """One run through the command line; its status.json with the label and its vectors."""
    before = {r.id for r in store.list()}
    base = ["-m", "w2vcore", "--runs-dir", str(store.root), "--cache-dir", str(store.cache_dir), "train",
            "--corpus", corpus, "--name", label, *train_args]
    if nproc is None:
        cmd = [sys.executable, *base]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *base]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (run_id,) = {r.id for r in store.list()} - before
    status = json.loads((store.path(run_id) / "status.json").read_text())
    return {"label": label, "status": status, "vectors": store.load_vectors(run_id)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", default=f"brown:{DATA / 'corpora' / 'brown'}",
                    help="any --corpus of `python -m w2vcore train` (default: Brown; 'default' is the built-in one)")
    ap.add_argument("--min-count", type=int, default=5, help="1 keeps Brown's rare words: a larger, sparser vocabulary")
    ap.add_argument("--threads", type=int, default=2, help="total threads of every contestant")
    ap.add_argument("--sync-every", type=int, nargs="+", default=[TrainConfig().sync_every])
    ap.add_argument("--modes", nargs="+", default=list(SYNC_MODES), choices=SYNC_MODES)
    ap.add_argument("--rows", nargs="+", default=["all", "touched"], choices=SYNC_ROWS,
                    help="which rows a sync sends (whole tables, or only the rows some process touched)")
    args = ap.parse_args()
    bench = load_benchmarks(DATA)
    common = ["--epochs", str(args.epochs), "--min-count", str(args.min_count), "--seed", str(args.seed), "--snapshots", "0"]
    t = args.threads
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs", Path(tmp) / "cache")
        rows = [run(f"1 process, Hogwild {t} threads", store, None, [*common, "--threads", str(t)], args.corpus),
                run(f"torchrun 1 x {t} threads", store, 1, [*common, "--threads", str(t)], args.corpus)]
        for every in args.sync_every:
            for mode in args.modes:
                for sent in args.rows:
                    rows.append(run(f"torchrun 2 x {max(1, t // 2)} threads, {mode}, {sent} rows, sync_every {every:,}",
                                    store, 2, [*common, "--threads", str(max(1, t // 2)), "--sync-every", str(every),
                                               "--sync-mode", mode, "--sync-rows", sent], args.corpus))
        vocab = rows[0]["status"]["vocab_size"]
    print(f"{rows[0]['status'].get('corpus', args.corpus)}, {vocab:,} words x 100 dimensions, {args.epochs} epochs; "
          f"{2 * vocab * 100 * 4 / 1e6:.1f} MB of tables per sync\n")
    print("| run | words/s | WordSim | SimLex | syncs | rows sent | transfer per sync (s) | wait per sync (s) "
          "| transfer share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        st, v = row["status"], row["vectors"]
        q = {name: v.evaluate_word_pairs(pairs).spearman for name, pairs in bench.pairs.items()}
        syncs = st.get("syncs", 0)
        per = st.get("sync_seconds", 0.0) / max(1, syncs)
        wait = st.get("sync_wait_s", 0.0) / max(1, syncs)
        share = st.get("sync_seconds", 0.0) / st["summary"]["seconds"]
        sent = st.get("sync_rows_share", 1.0)
        sync_cols = (f"{syncs} | {100 * sent:.0f}% | {per:.4f} | {wait:.4f} | {100 * share:.1f}%" if syncs
                     else "- | - | - | - | -")
        print(f"| {row['label']} | {st['summary']['words_per_s']:,.0f} | {q.get('wordsim353', float('nan')):.3f} | "
              f"{q.get('simlex999', float('nan')):.3f} | {sync_cols} |")


if __name__ == "__main__":
    main()
