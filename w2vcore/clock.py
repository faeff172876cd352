"""The reporting clock: when a run logs, evaluates, snapshots and checkpoints, and what it logs between.

Logs follow wall time (the first one right after the first step, so a page's curve starts at once,
then every `log_every_s`); an evaluation rides on a log at most every `eval_every_s`, and never
takes more than about 1/EVAL_MAX_SHARE_INV of the time; snapshots follow progress (every
1/`snapshots` of the run, so a short run still gets them all); checkpoints come at chunk
boundaries at least `checkpoint_every_s` apart. `Accumulator` sums the logged values in between.
"""
from __future__ import annotations

import math
import time

import torch

from .config import TrainConfig

EVAL_MAX_SHARE_INV = 10  # wait at least 10x an evaluation's cost before the next one


class Clock:
    def __init__(self, cfg: TrainConfig, words_done: int, progress: float):
        self.cfg = cfg
        self.last_log = self.last_checkpoint = time.perf_counter()
        self.logged_once = False
        self.next_eval = self.last_log + cfg.eval_every_s
        self.words_at_log = words_done
        self.snapshot_at = math.floor(progress * cfg.snapshots) if cfg.snapshots else None

    def log_due(self, now: float) -> bool:
        return not self.logged_once or now - self.last_log >= self.cfg.log_every_s

    def eval_due(self, now: float) -> bool:
        return now >= self.next_eval

    def evaluated(self, now: float) -> None:
        """An evaluation started at `now` just ended: the next waits eval_every_s, or 10x its cost."""
        cost = time.perf_counter() - now
        self.next_eval = now + max(self.cfg.eval_every_s, EVAL_MAX_SHARE_INV * cost)

    def logged(self, now: float, words_done: int) -> float:
        """A log at `now`: the training words per second since the previous one."""
        rate = (words_done - self.words_at_log) / (now - self.last_log)
        self.logged_once, self.last_log, self.words_at_log = True, now, words_done
        return rate

    def snapshot_due(self, progress: float) -> bool:
        return self.snapshot_at is not None and progress * self.cfg.snapshots >= self.snapshot_at

    def snapshot_taken(self, progress: float) -> None:
        self.snapshot_at = math.floor(progress * self.cfg.snapshots) + 1

    def checkpoint_due(self) -> bool:
        return time.perf_counter() - self.last_checkpoint >= self.cfg.checkpoint_every_s

    def checkpointed(self) -> None:
        self.last_checkpoint = time.perf_counter()


class Accumulator:
    """Sums device scalars between logs; one host sync per flush (float64 on the host)."""

    def __init__(self, device):
        self.device = device
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, key: str, value: torch.Tensor, n: int) -> None:
        v = value.double()
        self.sums[key] = self.sums[key] + v if key in self.sums else v
        self.counts[key] = self.counts.get(key, 0) + n

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)

    def flush(self) -> dict[str, float]:
        if not self.sums:
            return {}
        keys = list(self.sums)
        values = torch.stack([self.sums[k] for k in keys]).cpu().tolist()
        out = {k: v / self.counts[k] for k, v in zip(keys, values) if self.counts[k]}  # 0 pairs: nothing to say
        self.sums.clear()
        self.counts.clear()
        return out
