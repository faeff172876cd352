"""What the evaluation-only RSR costs a vanilla run.

A vanilla twin keeps RSR at weight 0, which builds it evaluation-only: it logs `rsr/rho_heldout` and
`rsr/rho_train` at every evaluation (every `eval_every_s`, at least 10x an evaluation's cost apart,
and at each epoch end) and never steps. This trains the built-in corpus (gensim's wiki sample + Lee)
vanilla and vanilla + RSR at weight 0 (default parameters: THINGS, 20% held out), alternating, and
prints each run's training seconds (the loop, after the trainer is built), the seconds spent inside the
evaluation-only loss's `evaluate` (the direct cost, free of the machine's noise) and the ratio of the means.

    python bench/bench_evalonly.py [--repeats 3] [--epochs 2] [--dim 100] [--threads 0] [--eval-every 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2vcore.config import CorpusConfig, CorpusSource, LossSpec, TokenizerConfig, TrainConfig  # noqa: E402
from w2vcore.corpus import encode_corpus, prepare  # noqa: E402
from w2vcore.engines.kernel import warm_up  # noqa: E402
from w2vcore.losses import warm  # noqa: E402
from w2vcore.train import Trainer  # noqa: E402


class Evaluations:
    def __init__(self):
        self.n = 0

    def on_step(self, st, metrics):
        self.n += "rsr/rho_heldout" in metrics

    def on_epoch_end(self, st, metrics):
        self.n += "rsr/rho_heldout" in metrics


def timed(fn, spent: list):
    def wrapper(*args):
        t = time.perf_counter()
        try:
            return fn(*args)
        finally:
            spent[0] += time.perf_counter() - t
    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--eval-every", type=float, default=5.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare(encode_corpus(CorpusSource("default"), TokenizerConfig(), Path(tmp)), CorpusConfig())
    warm_up()
    warm(["rsr"])
    base = dict(dim=args.dim, epochs=args.epochs, device="cpu", threads=args.threads, eval_every_s=args.eval_every)
    print(f"## vanilla vs vanilla + evaluation-only RSR: built-in corpus, {data.n_train_tokens:,} tokens, "
          f"vocabulary {len(data.vocab):,}, {base}\n")
    print("| repeat | vanilla s | + RSR at weight 0 s | evaluations logged | seconds in evaluate |")
    print("|---|---|---|---|---|")
    times = {"vanilla": [], "evalonly": []}
    for rep in range(args.repeats):
        row = []
        for name in ("vanilla", "evalonly"):
            cfg = TrainConfig(**base, losses=(LossSpec("rsr", 0.0),) if name == "evalonly" else ())
            counter = Evaluations()
            trainer = Trainer(cfg, data, [counter])
            spent = [0.0]
            for ev in trainer.evaluators:
                ev.evaluate = timed(ev.evaluate, spent)
            t = time.perf_counter()
            trainer.run()
            times[name].append(time.perf_counter() - t)
            row.append(times[name][-1])
        print(f"| {rep + 1} | {row[0]:.2f} | {row[1]:.2f} | {counter.n} | {spent[0]:.3f} |")
    ratio = statistics.mean(times["evalonly"]) / statistics.mean(times["vanilla"])
    print(f"\nmean ratio (evaluation-only / vanilla): {ratio:.3f}")


if __name__ == "__main__":
    main()
