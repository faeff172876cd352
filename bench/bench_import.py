"""Import of a large GloVe-format text file: time and peak memory, against gensim on the same file.

    python bench/bench_import.py                    # 400k x 300 (the issue's target: <= 30 s, ~2x the matrix)
    python bench/bench_import.py --rows 40000       # a quick look

Writes the file (random vectors, realistic lower-case words) to a temporary folder, then in
this one process: `import_embedding` into a temporary run store (read + write vectors.npz),
`RunStore.load_vectors` of the entry, and gensim's `KeyedVectors.load_word2vec_format(
no_header=True)`. Peak memory is the most resident memory seen (sampled every 20 ms) above
what the process held when the step began. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from w2vcore.embeddings import import_embedding  # noqa: E402
from w2vcore.runs import RunStore  # noqa: E402
from w2vcore.vectors import Vectors  # noqa: E402,F401  (imported up front: its scipy import is not load time)

_PAGE = 4096


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class PeakMemory:
    """The largest resident set above the start, sampled on a side thread while the block runs."""

    def __enter__(self):
        self.start = self.peak = rss()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss())

    @property
    def above_start(self) -> int:
        return self.peak - self.start


def words(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct lower-case words of 2-12 letters, built from syllables like real vocabulary."""
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + list("aeiou") + ["th", "ng", "st", "er"]
    out, seen = [], set()
    while len(out) < n:
        parts = rng.integers(0, len(syllables), size=(n, 6))
        lengths = rng.integers(1, 7, size=n)
        for row, k in zip(parts, lengths):
            word = "".join(syllables[i] for i in row[:k])
            if word not in seen:
                seen.add(word)
                out.append(word)
                if len(out) == n:
                    break
    return out


def write_glove(path: Path, n: int, d: int, seed: int = 0) -> None:
    """GloVe text: "word v1 ... vd" per line, 6 significant digits as GloVe's files have."""
    rng = np.random.default_rng(seed)
    table = np.array([f"{x:.6f}".encode() for x in rng.normal(0, 0.4, 20_000)], dtype=object)
    vocab = words(n, rng)
    with open(path, "wb") as f:
        for start in range(0, n, 10_000):
            idx = rng.integers(0, len(table), size=(min(10_000, n - start), d))
            f.write(b"".join(vocab[start + i].encode() + b" " + b" ".join(table[row]) + b"\n"
                             for i, row in enumerate(idx)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--no-gensim", action="store_true", help="skip gensim's reader")
    args = ap.parse_args()
    matrix_mb = args.rows * args.dim * 4 / 2**20
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        path = Path(tmp) / "glove.txt"
        t0 = time.perf_counter()
        write_glove(path, args.rows, args.dim)
        print(f"wrote {path.stat().st_size / 2**20:,.0f} MB in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        store = RunStore(Path(tmp) / "runs", Path(tmp) / "cache")
        ticks = []
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            run_id = import_embedding(store, path, progress=ticks.append)
            seconds = time.perf_counter() - t0
        rows.append(("w2vcore import (read + write vectors.npz)", seconds, mem.above_start, f"{len(ticks)} updates"))
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            vectors = store.load_vectors(run_id)
            seconds = time.perf_counter() - t0
        rows.append(("RunStore.load_vectors of the entry", seconds, mem.above_start, repr(vectors)))
        del vectors
        if not args.no_gensim:
            from gensim.models import KeyedVectors

            with PeakMemory() as mem:
                t0 = time.perf_counter()
                kv = KeyedVectors.load_word2vec_format(str(path), no_header=True)
                seconds = time.perf_counter() - t0
            rows.append(("gensim load_word2vec_format(no_header=True)", seconds, mem.above_start,
                         f"{len(kv)} words"))
    print(f"\n{args.rows:,} x {args.dim} GloVe text; matrix {matrix_mb:,.0f} MB\n")
    print("| step | seconds | peak memory above start | x matrix | note |\n|---|---:|---:|---:|---|")
    for name, seconds, peak, note in rows:
        print(f"| {name} | {seconds:.1f} | {peak / 2**20:,.0f} MB | {peak / 2**20 / matrix_mb:.2f} | {note} |")


if __name__ == "__main__":
    main()
