"""A driver that keeps its tables in step with the other processes of a torchrun run.

`Synced` wraps any engine's driver (numba on the CPU, torch on a GPU). Each process trains its own
shard; when its progress through the epoch passes the next of `syncs_per_epoch` marks (and always at
the epoch's end) it joins a sync:

    delta = tables - base          # what this process learned since the last sync
    all_reduce(delta, SUM)         # every process's learning ...
    tables = base = base + delta   # ... applied to the common tables, as Hogwild applies every thread's

Summing the deltas (not averaging the tables) gives each word its full update, as a single
process would: averaging (`TrainConfig.sync_mode="mean"`, delta / world) divides every update by
the number of processes, which on a small corpus costs quality (bench/bench_distributed.py measures
both). Every process syncs the same number of times per epoch, so none waits for a partner that
never comes.

Rows: a row no process changed has a zero delta everywhere, so a sync may send only the rows some
process touched (`sync_rows="touched"`): one all-reduce of a row mask (max), then one of the union's
rows. The result is the same bits as sending whole tables. "auto" sends the touched rows of a table
when their union is at most `TOUCHED_SHARE` of it, the whole table otherwise (gathering most rows
costs more than it saves).

Stop: the user's stop Event travels with each sync (a max over processes); after a sync that
carries it, every process halts before its next step, so all end together with identical tables.
Extra losses follow rank 0's schedule: other ranks drop the work `beside` hands them, so with
summed deltas each extra-loss step lands once.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.distributed as dist

from ..compiled import jit, numba
from ..engines.driver import Chunk, StepReport
from ..errors import W2VError

TOUCHED_SHARE = 0.5  # "auto" sends a table's touched rows when their union is at most this share of it


@jit
def _changed(table, base, out):  # pragma: no cover - compiled
    for i in range(table.shape[0]):
        out[i] = 0
        for j in range(table.shape[1]):
            if table[i, j] != base[i, j]:  # NaN counts as changed
                out[i] = 1
                break


def changed_rows(table: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """(V,) uint8: 1 where a row of `table` differs from `base`'s.

    On the CPU one compiled pass that leaves a row at its first difference (a touched row costs one
    element, an untouched one a read of both rows); elsewhere torch's elementwise comparison.
    """
    if table.device.type == "cpu" and numba is not None:
        out = np.empty(len(table), np.uint8)
        _changed(table.numpy(), base.numpy(), out)
        return torch.from_numpy(out)
    return (table != base).any(dim=1).to(torch.uint8)


@jit
def _row_deltas(table, base, rows, out):  # pragma: no cover - compiled
    for k in range(rows.shape[0]):
        now, was, delta = table[rows[k]], base[rows[k]], out[k]  # row views: the inner loop vectorises
        for j in range(now.shape[0]):
            delta[j] = now[j] - was[j]


@jit
def _add_rows(table, base, rows, delta):  # pragma: no cover - compiled
    for k in range(rows.shape[0]):
        now, was, step = table[rows[k]], base[rows[k]], delta[k]
        for j in range(now.shape[0]):
            was[j] += step[j]
            now[j] = was[j]


def row_deltas(table: torch.Tensor, base: torch.Tensor, rows: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """(len(rows), d): table - base at `rows`, in one pass on the CPU (into `out`'s first rows)."""
    if table.device.type == "cpu" and numba is not None:
        out = out[:len(rows)]
        _row_deltas(table.numpy(), base.numpy(), rows.numpy(), out.numpy())
        return out
    return table.index_select(0, rows).sub_(base.index_select(0, rows))


def add_rows(table: torch.Tensor, base: torch.Tensor, rows: torch.Tensor, delta: torch.Tensor) -> None:
    """base[rows] += delta, and table[rows] = base[rows]: the same bits as adding whole tables."""
    if table.device.type == "cpu" and numba is not None:
        _add_rows(table.numpy(), base.numpy(), rows.numpy(), delta.numpy())
        return
    base.index_add_(0, rows, delta)
    table.index_copy_(0, rows, base.index_select(0, rows))


class Synced:
    """A driver (see `w2vcore.engines.Driver`) syncing `inner`'s tables over the default process group."""

    def __init__(self, inner: Any, data: Any, *, rank: int, world: int, syncs: int, chunk_tokens: int,
                 mode: str = "sum", rows: str = "auto", share: float = 1.0, group: Any = None):
        """`share`: the fraction of the run's words this process trains (its shard's tokens / the corpus's)."""
        self.inner, self.data, self.rank, self.world, self.n_sync = inner, data, rank, world, syncs
        self.chunk_tokens, self.mode, self.rows, self.share, self.group = chunk_tokens, mode, rows, share, group
        self.update, self.own_threads = inner.update, inner.own_threads
        self._halt = threading.Event()  # set for every process at once, by a sync
        self.epoch, self.syncs, self._offset, self._next_chunk = 0, 0, 0, 0
        self.sync_seconds, self.sync_wait_s, self.sync_count = 0.0, 0.0, 0  # transfer, waiting, syncs
        self.rows_sent = 0.0  # summed over syncs: the share of the tables' rows each sync sent
        self._collective(lambda: [dist.broadcast(t, 0, group=group) for t in self._tables()])  # rank 0's init
        self._base = [t.detach().clone() for t in self._tables()]  # the common tables after the last sync
        self._scratch = [t.new_empty(0, t.shape[1]) for t in self._base]  # the touched rows' deltas, per table

    @property
    def w_in(self) -> torch.Tensor:
        return self.inner.w_in

    @property
    def w_out(self) -> torch.Tensor:
        return self.inner.w_out

    def _tables(self) -> list[torch.Tensor]:
        return [self.inner.w_in.data, self.inner.w_out.data]

    def run_chunk(self, chunk: Chunk, lr_at: Callable[[int], float],
                  stop: threading.Event) -> Iterator[StepReport]:
        """The inner driver's steps, with a sync whenever progress through the epoch passes the next mark."""
        if chunk.epoch != self.epoch:
            self.epoch, self.syncs, self._offset, self._next_chunk = chunk.epoch, 0, 0, 0
        if chunk.index != self._next_chunk:  # a resume in mid-epoch: the chunks before this one were done
            self._offset = self._words_before(chunk.index)
        total = max(1, self.data.n_train_tokens)
        for report in self.inner.run_chunk(chunk, lr_at, self._halt):
            due = self.n_sync * (self._offset + report.words) // total
            while self.syncs < due and not self._halt.is_set():  # after a stop, no process syncs again
                self.sync_tables(stop)
            yield report
        self._offset += len(chunk.ids)
        self._next_chunk = chunk.index + 1

    def _words_before(self, index: int) -> int:
        words = 0
        for i, (ids, _) in enumerate(self.data.chunks("train", self.chunk_tokens)):
            if i >= index:
                break
            words += len(ids)
        return words

    def sync_tables(self, stop: threading.Event) -> None:
        """One sync: the tables (summed or averaged deltas) and the stop flag, the same on every process after.

        The stop flag goes first: its all-reduce also waits for the slowest process, so `sync_wait_s`
        is time spent waiting for partners and `sync_seconds` the tables' transfer alone.
        """
        self.inner.sync()  # extra losses in flight first: they change the tables
        flag = torch.tensor([1.0 if stop.is_set() else 0.0], device=self.inner.w_in.device)
        t0 = time.perf_counter()
        self._collective(lambda: dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.group))
        t1 = time.perf_counter()
        if self.world > 1:  # one process has nothing to combine
            self._collective(self._combine)
        if float(flag) > 0:
            self._halt.set()
        self.syncs += 1
        self.sync_count += 1
        self.sync_wait_s += t1 - t0
        self.sync_seconds += time.perf_counter() - t1

    def _combine(self) -> None:
        """Every process's deltas, summed (or averaged) into the common tables: whole, or the touched rows."""
        tables = self._tables()
        masks: list[torch.Tensor | None] = [None, None]
        if self.rows != "all":
            mask = torch.cat([changed_rows(t, b) for t, b in zip(tables, self._base)])
            dist.all_reduce(mask, op=dist.ReduceOp.MAX, group=self.group)
            masks = list(mask.bool().split([len(t) for t in tables]))
        sent, scratch = 0, self._scratch
        for i, (table, base, mask) in enumerate(zip(tables, self._base, masks)):
            rows = mask.nonzero().squeeze(1) if mask is not None else None
            if rows is not None and (self.rows == "touched" or len(rows) <= TOUCHED_SHARE * len(table)):
                if len(scratch[i]) < len(rows):  # grows to the most rows a sync has sent, kept between syncs
                    scratch[i] = torch.empty(len(rows), table.shape[1], dtype=table.dtype, device=table.device)
                delta = row_deltas(table, base, rows, scratch[i])
                dist.all_reduce(delta, group=self.group)
                if self.mode == "mean":
                    delta.div_(self.world)
                add_rows(table, base, rows, delta)
                sent += len(rows)
            else:
                table.sub_(base)  # the delta, in place: a sync needs no memory beyond `base`
                dist.all_reduce(table, group=self.group)
                if self.mode == "mean":
                    table.div_(self.world)
                table.copy_(base.add_(table))
                sent += len(table)
        self.rows_sent += sent / sum(len(t) for t in tables)

    def _collective(self, work: Callable[[], Any]) -> None:
        try:
            work()
        except RuntimeError as e:  # gloo/NCCL: a partner process died or the link broke
            raise W2VError(f"process {self.rank} of {self.world} lost its partners during a table sync ({e}); "
                           "a training process died: the last checkpoint is kept, resume the run") from None

    def beside(self, work: Callable[[], None]) -> None:
        if self.rank == 0:
            self.inner.beside(work)

    def sync(self) -> None:
        self.inner.sync()

    def state_dict(self) -> dict:
        return {**self.inner.state_dict(), "sync": {"epoch": self.epoch, "syncs": self.syncs, "world": self.world}}

    def load_state_dict(self, ck: dict) -> None:
        """Rank 0's checkpoint on every process; other ranks keep their own random streams, and so does
        rank 0 when its thread count changed (another number of processes shares the cores otherwise)."""
        own = self.inner.state_dict()
        if self.rank != 0 or len(ck["rng"]) != len(own["rng"]):
            ck = {**ck, "rng": own["rng"], "rng_chunk": own["rng_chunk"]}
        self.inner.load_state_dict(ck)
        saved = ck.get("sync", {})
        self.epoch, self.syncs = int(saved.get("epoch", ck.get("epoch", 0))), int(saved.get("syncs", 0))
        self._next_chunk = -1  # the next chunk's offset is counted afresh
        for base, table in zip(self._base, self._tables()):
            base.copy_(table)

    def close(self) -> None:
        self.inner.close()
