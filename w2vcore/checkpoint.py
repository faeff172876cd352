"""Checkpoints: everything a run needs to resume exactly, as one dict for `torch.save`.

The driver contributes its part (raw tables, optimiser state, its random streams and the pair
stream as the current chunk started); the trainer adds the extra losses' generator (last in
"rng"), the position in the run, the clock (elapsed seconds) and the losses' own learned state.
Word counts are the process's own: "share" (its part of the run's words, 1 in one process)
rescales them when a torchrun run resumes on another number of processes.
A map a loss learns is stored as that loss's state: the tables stay raw.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .engines import Driver
from .engines.driver import fits
from .losses import ExtraLoss

POSITION = ("epoch", "chunk", "batch", "chunk_words", "step", "words_done", "pairs_done", "best_val", "bad_epochs")


def capture(state, driver: Driver, loss_gen: torch.Generator, losses: Sequence[ExtraLoss]) -> dict:
    """The checkpoint of a run at `state` (a train.TrainState)."""
    ck = {"elapsed": state.elapsed, "share": driver.share, **driver.state_dict()}
    ck["rng"] = [*ck["rng"], loss_gen.get_state()]
    return {**ck, **{key: getattr(state, key) for key in POSITION}, **loss_states(losses)}


def loss_states(losses: Sequence[ExtraLoss]) -> dict:
    """{"losses": {name: state}} for losses with their own learned state (e.g. an output map); {} if none."""
    states = {loss.name: loss.state_dict() for loss in losses}
    states = {name: state for name, state in states.items() if state}
    return {"losses": states} if states else {}


def restore(ck: dict, state, driver: Driver, loss_gen: torch.Generator, losses: Sequence[ExtraLoss]) -> None:
    """Put a run back where `ck` was taken; `W2VError` (before anything changes) if it does not fit this run."""
    driver.load_state_dict({**ck, "rng": list(ck["rng"][:-1])})
    if fits(loss_gen, ck["rng"][-1:]):  # a checkpoint from another kind of device: fresh streams (driver.fits)
        loss_gen.set_state(ck["rng"][-1])
    for loss in losses:
        saved = ck.get("losses", {}).get(loss.name)
        if saved is not None:
            loss.load_state_dict(saved)
    for key in POSITION:
        setattr(state, key, ck[key])
    scale = driver.share / float(ck.get("share", 1.0))  # a torchrun run resumed on another number of processes
    if scale != 1.0:  # counts were its process's share of the words: make them this process's
        state.words_done, state.chunk_words = round(state.words_done * scale), round(state.chunk_words * scale)
        state.pairs_done = round(state.pairs_done * scale)
    state.time_offset = float(ck.get("elapsed", 0.0))  # checkpoints before the clock was saved restart it at 0
