"""One process of a torchrun run: join the process group, train this rank's shard, and (rank 0) write the run.

torchrun starts N copies of `python -m w2vcore train ...` with RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE and the rendezvous address in the environment (`env://`). Rank 0 runs the usual
worker pipeline (`worker.execute`: status, metrics, checkpoints, vectors; the STOP file) and writes
the world size into the run's status; the other ranks read the same config and the same
memory-mapped corpus cache, train their shard and write nothing. The backend follows the device:
NCCL when every local rank has a CUDA device, gloo otherwise, unless the user picks one.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from .. import runfolder as rf
from ..config import MAX_SEED, TrainConfig
from ..errors import W2VError
from .shard import shard_data, syncs_per_epoch
from .synced import Synced

BACKENDS = ("auto", "gloo", "nccl", "mpi")


def pick_backend(requested: str, device: str) -> str:
    """NCCL when the run may use CUDA and this node has a GPU per local process; gloo otherwise.

    `W2VError` for 'nccl' without them: it would fail later inside torch.cuda with a bare RuntimeError.
    """
    if requested not in BACKENDS:
        raise W2VError(f"backend must be one of {', '.join(BACKENDS)}, got {requested!r}")
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    on_gpus = device in ("auto", "cuda") and gpus >= local
    if requested == "nccl" and not on_gpus:  # NCCL reduces CUDA tensors only, one device per process
        raise W2VError(f"backend 'nccl' needs a CUDA GPU for each of the {local} processes on this machine and "
                       f"device 'auto' or 'cuda' (found {gpus} GPUs, device {device!r}); use backend 'gloo' or "
                       "'auto'")
    if requested != "auto":
        return requested
    return "nccl" if on_gpus else "gloo"


def join(backend: str = "auto", device: str = "auto") -> tuple[int, int]:
    """Initialise the default process group from the environment (once); (rank, world size)."""
    if not dist.is_initialized():
        chosen = pick_backend(backend, device)
        if chosen == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(chosen)
    return dist.get_rank(), dist.get_world_size()


def rank_config(cfg: TrainConfig, rank: int) -> TrainConfig:
    """This rank's training settings: its own random streams; CPU threads shared among the node's processes."""
    threads = cfg.threads
    if threads == 0 and cfg.device in ("auto", "cpu") and not torch.cuda.is_available():
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    seed = cfg.seed if rank == 0 else (cfg.seed + 104_729 * rank) % (MAX_SEED + 1)
    return dataclasses.replace(cfg, seed=seed, threads=threads)


class Plan:
    """How this rank trains: its shard, its settings, and the `Synced` wrapper (kept for its sync timings)."""

    def __init__(self, rank: int, world: int):
        self.rank, self.world = rank, world
        self.driver: Synced | None = None

    def __call__(self, run_dir: Path, data: Any, cfg: TrainConfig) -> tuple[Any, Any, TrainConfig]:
        if self.rank == 0:
            rf.update_status(run_dir, world_size=self.world)
            dist.barrier()  # the corpus cache and compiled kernels exist: the other ranks may read them now
        shard = shard_data(data, self.rank, self.world)
        syncs = syncs_per_epoch(data.n_train_tokens, self.world, cfg.sync_every)

        def wrap(driver):
            self.driver = Synced(driver, shard, rank=self.rank, world=self.world, syncs=syncs,
                                 chunk_tokens=cfg.chunk_tokens, mode=cfg.sync_mode, rows=cfg.sync_rows,
                                 share=shard.n_train_tokens / max(1, data.n_train_tokens))
            return self.driver

        return shard, wrap, rank_config(cfg, self.rank)


def run_rank(run_dir: Path, cache_dir: Path, resume: bool = False, stop: threading.Event | None = None,
             callbacks: tuple = ()) -> tuple[str, Synced | None]:
    """Train this rank's part of the run in `run_dir` (the group must be joined): the final status, and the
    rank's driver (its tables and sync timings; None when the run failed before training).

    Rank 0 never raises (a failure is the run's status); another rank raises, so torchrun ends the run.
    """
    from ..corpus import encode_corpus, prepare
    from ..train import train
    from ..worker import execute

    plan = Plan(dist.get_rank(), dist.get_world_size())
    if plan.rank == 0:
        status = execute(run_dir, cache_dir, stop, resume, callbacks, distribute=plan)
        if plan.driver is not None:
            d = plan.driver
            rf.update_status(run_dir, syncs=d.sync_count, sync_seconds=d.sync_seconds, sync_wait_s=d.sync_wait_s,
                             sync_rows_share=d.rows_sent / max(1, d.sync_count))
        return status, plan.driver
    dist.barrier()  # rank 0 has encoded the corpus (or failed: then this raises when it exits)
    cfg = rf.read_config(run_dir)
    ckpt = rf.load_checkpoint(run_dir / rf.CHECKPOINT) if resume else None
    data = prepare(encode_corpus(cfg.corpus.source, cfg.corpus.tokenizer, Path(cache_dir)), cfg.corpus)
    shard, wrap, tcfg = plan(run_dir, data, cfg.train)
    result = train(tcfg, shard, stop=stop or threading.Event(), resume=ckpt, data_dir=cfg.data_dir, wrap=wrap)
    return result.state.status, plan.driver
