"""The work split: each process trains a contiguous run of the training documents, balanced by tokens.

Contiguous runs keep every process's reads of the memory-mapped corpus sequential, and documents
stay whole (a document's sentences are never split between processes). A document goes to the
process whose share of the cumulative token count holds the document's middle token, so two
shards differ by at most one document's tokens.
"""
from __future__ import annotations

import math
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


def sync_plan(global_tokens: int, world: int, sync_every: int, epochs: int,
              lr_floor: float | None = None) -> list[int]:
    """Table syncs in each epoch: one per `sync_every` words of each process's share at the starting learning
    rate, at least one (the epoch's end).

    With SGD's decaying rate (`lr_floor` = its final ratio) the syncs space out in proportion to the
    epoch's mean rate, so each process moves its tables about as far between syncs all run long: the
    summed updates stay as safe as at the start, with about half the syncs (`docs/DISTRIBUTED.md`).
    Adam keeps its rate (`lr_floor` None): every epoch gets the full count.
    """
    full = -(-global_tokens // (world * sync_every))
    if lr_floor is None:
        return [max(1, full)] * epochs
    share = [max(lr_floor, 1.0 - (e + 0.5) / epochs) for e in range(epochs)]
    return [max(1, math.ceil(global_tokens * s / (world * sync_every) - 1e-9)) for s in share]
