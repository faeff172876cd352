"""How long the first RSR run waits for numba, with a cold and with a warm compile cache.

Each measurement is a fresh Python process (as a run's worker is) that trains a tiny RSR run
(the built-in corpus, dim 50, RSR at weight 0.1 with default parameters and the given `metric`,
the numba engine, threads=1) and reports the wall seconds from the process's spawn to its first
logged metric row, split into phases: imports, corpus, building the trainer (the loss, the
target), and training up to the first row. The parent gives every case its own NUMBA_CACHE_DIR:

- cold: an empty cache folder (a fresh install), and an empty W2V_CACHE_DIR (so the THINGS
  similarity matrix is computed too, as on a fresh install);
- warm: the same folders again (the second run on the machine);
- warmed: empty folders, first filled by `kernel.warm_up` + `losses.warm` in another process (what
  the standby worker does at app start), then the run.

    python bench/bench_compile.py [--metric none|gauge_only] [--repeats 1]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child(metric: str, warm_only: bool) -> None:
    t0 = time.perf_counter()
    sys.path.insert(0, str(REPO))
    import torch  # noqa: F401  (timed with the other imports)

    from w2vcore import losses
    from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig
    from w2vcore.corpus import encode_corpus, prepare
    from w2vcore.train import Trainer

    spec = LossSpec("rsr", 0.1, {"metric": metric})
    cfg = TrainConfig(dim=50, epochs=1, device="cpu", threads=1, engine="numba", losses=(spec,))
    if warm_only:
        from w2vcore.engines.kernel import warm_up

        t = time.perf_counter()
        warm_up()
        losses.warm()
        print(json.dumps({"warm_s": time.perf_counter() - t}))
        return
    t_import = time.perf_counter()
    cache = Path(os.environ["BENCH_CORPUS_CACHE"])
    data = prepare(encode_corpus(CorpusSource("default"), TokenizerConfig(), cache), CorpusConfig())
    t_data = time.perf_counter()
    first = {}

    class FirstRow:
        def on_step(self, st, metrics):
            first.setdefault("t", time.perf_counter())
            trainer.stop.set()  # the first row is all we time

    trainer = Trainer(cfg, data, [FirstRow()])
    t_init = time.perf_counter()
    trainer.run()
    print(json.dumps({"import_s": t_import - t0, "corpus_s": t_data - t_import, "trainer_s": t_init - t_data,
                      "first_row_s": first["t"] - t_init, "in_process_s": first["t"] - t0}))


def run_child(env: dict, metric: str, warm_only: bool = False) -> dict:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", "--metric", metric] + (["--warm-only"] if warm_only else []),
                         env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["spawn_to_row_s"] = time.perf_counter() - t
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metric", default="none", choices=("none", "gauge", "gauge_only"))
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warm-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.metric, args.warm_only)
    print(f"## first RSR row (metric={args.metric}), seconds from spawn\n")
    print("| case | spawn to first row | imports | corpus | trainer (loss, target) | training to first row | warm-up |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        base = {**os.environ, "BENCH_CORPUS_CACHE": tmp, "OMP_NUM_THREADS": "1"}

        def fresh(**dirs):  # NUMBA_CACHE_DIR, W2V_CACHE_DIR (the THINGS similarity matrix): empty folders
            return {**base, **{k: v or tempfile.mkdtemp(dir=tmp) for k, v in dirs.items()}}

        run_child(fresh(NUMBA_CACHE_DIR=None, W2V_CACHE_DIR=None), args.metric)  # fills the corpus cache
        for _ in range(args.repeats):
            cold = fresh(NUMBA_CACHE_DIR=None, W2V_CACHE_DIR=None)
            rows = [("cold (empty numba and THINGS caches)", run_child(cold, args.metric), None),
                    ("warm (the same caches again)", run_child(cold, args.metric), None)]
            warmed = fresh(NUMBA_CACHE_DIR=None, W2V_CACHE_DIR=None)
            warm = run_child(warmed, args.metric, warm_only=True)
            rows.append(("after warm_up + losses.warm in another process", run_child(warmed, args.metric), warm))
            for name, r, w in rows:
                print(f"| {name} | {r['spawn_to_row_s']:.1f} | {r['import_s']:.1f} | {r['corpus_s']:.1f} | "
                      f"{r['trainer_s']:.1f} | {r['first_row_s']:.1f} | {'' if w is None else format(w['warm_s'], '.1f')} |")


if __name__ == "__main__":
    main()
