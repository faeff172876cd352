"""The work split: each process trains a contiguous run of the training documents, balanced by tokens.

Contiguous runs keep every process's reads of the memory-mapped corpus sequential, and documents
stay whole (a document's sentences are never split between processes). A document goes to the
process whose share of the cumulative token count holds the document's middle token, so two
shards differ by at most one document's tokens.
"""
from __future__ import annotations

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


def syncs_per_epoch(global_tokens: int, world: int, sync_every: int) -> int:
    """Table syncs in an epoch: one per `sync_every` words of each process's share, at least one (its end)."""
    return max(1, -(-global_tokens // (world * sync_every)))
