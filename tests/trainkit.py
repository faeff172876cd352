"""What the training tests share: a short run's settings and a callback that records what a run reports."""
from __future__ import annotations

FAST = dict(dim=32, epochs=1, batch_size=1024, log_every_s=0.05, eval_every_s=0.2, device="cpu", threads=1)


class Recorder:
    """Keeps every step's and epoch's metrics, every checkpoint, and the result at the end."""

    def __init__(self):
        self.steps, self.epochs, self.checkpoints, self.ended = [], [], [], None

    def on_step(self, st, m):
        self.steps.append(m)

    def on_epoch_end(self, st, m):
        self.epochs.append(m)

    def on_checkpoint(self, st, ck):
        self.checkpoints.append(ck)

    def on_train_end(self, st, result):
        self.ended = result
