"""The work split: each process trains a contiguous run of the training documents, balanced by tokens.

Contiguous runs keep every process's reads of the memory-mapped corpus sequential, and documents
stay whole (a document's sentences are never split between processes). A document goes to the
process whose share of the cumulative token count holds the document's middle token, so two
shards differ by at most one document's tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import W2VError


def token_shards(doc_tokens: np.ndarray, world: int) -> list[np.ndarray]:
    """Positions into `doc_tokens` ((n,) tokens per document) for each of `world` processes, in order."""
    doc_tokens = np.asarray(doc_tokens, dtype=np.int64)
    if world < 1:
        raise W2VError(f"the number of processes must be at least 1, got {world}")
    if np.count_nonzero(doc_tokens) < world:
        raise W2VError(f"the training split has {np.count_nonzero(doc_tokens)} documents with in-vocabulary words, "
                       f"too few for {world} processes: use fewer processes or a larger corpus")
    cum = np.cumsum(doc_tokens)
    middle = cum - doc_tokens / 2.0  # (n,) token position of each document's middle
    owner = np.minimum((middle * world / cum[-1]).astype(np.int64), world - 1)
    return [np.flatnonzero(owner == rank) for rank in range(world)]


def shard_data(data: Any, rank: int, world: int) -> Any:
    """`data` (a corpus.TrainingData) training only on this rank's shard of its training documents."""
    train = data.split_docs("train")
    return data.restricted(train[token_shards(data.doc_tokens[train], world)[rank]])


@dataclass(frozen=True)
class SyncPlan:
    """When the processes meet: `marks` evenly spaced marks in each epoch (the last is its end), where
    they compare stop flags; at every `strides[epoch]`-th mark and at the epoch's end they also combine
    their tables. Every process passes the same marks in the same order, so their collectives pair up."""

    marks: int
    strides: tuple[int, ...]

    def syncs_tables(self, epoch: int, mark: int) -> bool:
        """Whether mark `mark` (1..marks) of `epoch` combines the tables."""
        return mark == self.marks or mark % self.strides[min(epoch, len(self.strides) - 1)] == 0

    def table_syncs(self, epoch: int) -> int:
        return sum(self.syncs_tables(epoch, k) for k in range(1, self.marks + 1))


def sync_plan(global_tokens: int, world: int, sync_every: int, epochs: int,
              lr_floor: float | None = None) -> SyncPlan:
    """A mark every `sync_every` words of each process's share (at least one, the epoch's end); the tables
    are combined at every mark at the starting learning rate.

    With SGD's decaying rate (`lr_floor` = its final ratio) the table syncs space out in proportion to
    the epoch's mean rate (every 1 / rate-th mark), so each process moves its tables about as far
    between syncs all run long, with about half the syncs (`docs/DISTRIBUTED.md`); a stop still meets
    at the next mark. Adam keeps its rate (`lr_floor` None): every mark combines the tables.
    """
    marks = max(1, -(-global_tokens // (world * sync_every)))
    if lr_floor is None:
        return SyncPlan(marks, (1,) * epochs)
    rates = [max(lr_floor, 1.0 - (e + 0.5) / epochs) for e in range(epochs)]
    return SyncPlan(marks, tuple(max(1, round(1.0 / rate)) for rate in rates))