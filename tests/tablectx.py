"""A LossContext over a plain table, for testing losses without an engine."""
from __future__ import annotations

import torch


class TableContext:
    """Serves `gather` from `table` and records every id tensor a loss asks for."""

    def __init__(self, table: torch.Tensor | None, seed: int = 0):
        self.table, self.generator, self.step, self.progress = table, torch.Generator().manual_seed(seed), 0, 0.0
        self.gathered: list[torch.Tensor] = []

    def gather(self, ids):
        self.gathered.append(ids)
        return self.table[ids]
