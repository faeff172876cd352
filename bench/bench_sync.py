"""One table sync, whole tables against touched rows, as the share of touched rows grows (gloo, 2 processes).

`Synced` can send whole tables or only the rows some process changed since the last sync (a row mask
all-reduce, then the union's rows). Which is cheaper depends on the union's share of the rows; this
bench times one sync of both tables with `sync_rows="all"` and `"touched"` at several shares and
table sizes, with the training processes' view: the same `Synced._combine` the runs use, on two
real processes over loopback. `sync_rows="auto"` sends a table's touched rows when the union is at
most `TOUCHED_SHARE` of it.

    nice python bench/bench_sync.py [--vocab 13805 200000] [--dim 100] [--repeats 7]
"""
from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARES = (0.05, 0.25, 0.5, 0.75, 1.0)


class _Tables:
    """The part of a driver `Synced` uses: two tables and no side work."""

    own_threads = False

    def __init__(self, vocab: int, dim: int):
        from w2vcore.engines.sgns_torch import init_tables, make_update

        self.update = make_update("sgd", *init_tables(vocab, dim, 0, torch.device("cpu")), 0.025)

    w_in = property(lambda self: self.update.w_in)
    w_out = property(lambda self: self.update.w_out)

    def sync(self) -> None:
        pass


def _rank(rank: int, world: int, port: int, vocab: int, dim: int, repeats: int, out: str) -> None:
    import torch.distributed as dist

    from w2vcore.distributed.synced import Synced

    torch.set_num_threads(1)  # as while training: the driver's threads own the cores
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    gen = torch.Generator().manual_seed(rank)
    times = {}
    for share in SHARES:
        for rows in ("all", "touched"):
            inner = _Tables(vocab, dim)
            synced = Synced(inner, None, rank=rank, world=world, syncs=1, chunk_tokens=1, rows=rows)
            took = []
            for _ in range(repeats):
                # each process touches its own random rows; their union is about `share` of each table
                own = 1 - (1 - share) ** (1 / world)
                with torch.no_grad():
                    for table in synced._tables():
                        picked = torch.rand(len(table), generator=gen) < own
                        table[picked] += 1e-3
                dist.barrier()
                t0 = time.perf_counter()
                synced._combine()
                took.append(time.perf_counter() - t0)
            times[(share, rows)] = (sorted(took)[len(took) // 2], synced.rows_sent / repeats)
    if rank == 0:
        torch.save(times, out)
    dist.destroy_process_group()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, nargs="+", default=[13_805, 200_000])
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    print("| V | d | MB per sync | rows touched (union) | whole tables (ms) | touched rows (ms) | touched / whole |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for vocab in args.vocab:
        with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            out = str(Path(tmp) / "times.pt")
            mp.start_processes(_rank, args=(2, port, vocab, args.dim, args.repeats, out), nprocs=2, join=True,
                               start_method="spawn")
            times = torch.load(out)
        for share in SHARES:
            whole, _ = times[(share, "all")]
            touched, sent = times[(share, "touched")]
            print(f"| {vocab:,} | {args.dim} | {2 * vocab * args.dim * 4 / 1e6:.1f} | {100 * sent:.0f}% | "
                  f"{1000 * whole:.1f} | {1000 * touched:.1f} | {touched / whole:.2f}x |")


if __name__ == "__main__":
    main()
