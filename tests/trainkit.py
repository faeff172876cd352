"""What the training tests share: a short run's settings, a callback that records what a run reports, and a
run stopped part-way (to resume from its checkpoint)."""
from __future__ import annotations

import threading
from typing import Callable

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


def stopped_run(cfg, data, *, steps: int | None = None, epochs: int | None = None,
                inside: Callable[[object], bool] = lambda st: True):
    """Train `cfg` on `data` and stop it once `steps` steps are done (and `inside(state)` holds) or after
    `epochs` epoch ends; (the result, the Recorder with its checkpoints)."""
    from w2vcore.train import train

    stop = threading.Event()

    class Stopper(Recorder):
        def on_step(self, st, m):
            super().on_step(st, m)
            if steps is not None and st.step >= steps and inside(st):
                stop.set()

        def on_epoch_end(self, st, m):
            super().on_epoch_end(st, m)
            if epochs is not None and len(self.epochs) >= epochs:
                stop.set()

    rec = Stopper()
    return train(cfg, data, [rec], stop=stop), rec
