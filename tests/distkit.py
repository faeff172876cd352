"""Two real training processes for the distributed tests: a free port, one rank's run, the spawn, Lee's run config,
and the checks a finished two-process run must pass (test_distributed.py on gloo, test_cuda.py on NCCL)."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp

from w2vcore.config import CorpusConfig, CorpusSource, RunConfig, TrainConfig
from w2vcore.runs import RunStore

SETTINGS = dict(dim=50, epochs=3, window=5, threads=1, seed=3, sync_every=4_000, log_every_s=0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(rank: int, world: int, port: int, run_dir: str, cache_dir: str, resume: bool, out: str,
              backend: str = "gloo", device: str = "cpu") -> None:
    """One rank: join `backend`, train, and leave the tables' sums, sync count, status and device in `out`-rank.*."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world))
    import torch.distributed as dist

    from w2vcore.distributed.ranks import join, run_rank

    join(backend, device)
    status, driver = run_rank(Path(run_dir), Path(cache_dir), resume=resume)
    tables = torch.stack([driver.w_in.double().sum(), driver.w_out.double().sum(), driver.w_in.double().abs().sum()])
    np.save(f"{out}-{rank}.npy", np.array([*tables.tolist(), driver.sync_count]))
    Path(f"{out}-{rank}.status").write_text(status)
    Path(f"{out}-{rank}.device").write_text(str(driver.w_in.device))
    dist.destroy_process_group()


def spawn(store: RunStore, run_id: str, out: Path, resume: bool = False, backend: str = "gloo",
          device: str = "cpu") -> list[tuple[str, np.ndarray]]:
    """Two ranks on run `run_id`; each rank's (status, [sum w_in, sum w_out, sum |w_in|, syncs])."""
    mp.start_processes(rank_main, args=(2, free_port(), str(store.path(run_id)), str(store.cache_dir), resume,
                                        str(out), backend, device), nprocs=2, join=True, start_method="spawn")
    return [(Path(f"{out}-{r}.status").read_text(), np.load(f"{out}-{r}.npy")) for r in range(2)]


def lee_config(**train) -> RunConfig:
    from gensim.test.utils import datapath

    return RunConfig(name="dist", corpus=CorpusConfig(source=CorpusSource("text", datapath("lee_background.cor")),
                                                      min_count=3, val_fraction=0.0),
                     train=TrainConfig(**{**SETTINGS, **train}))


def check_one_run(store: RunStore, run_id: str, ranks: list[tuple[str, np.ndarray]], epochs: int) -> None:
    """A finished two-process run: both ranks done, one run folder with the world size and every sync,
    the same tables on both ranks, and vectors for the vocabulary."""
    from w2vcore import runfolder as rf

    assert [status for status, _ in ranks] == ["done", "done"]
    assert [r.id for r in store.list()] == [run_id]  # one run folder
    st = store.info(run_id)
    assert st.status == "done" and st.progress == 1.0
    status = rf.read_status(store.path(run_id))
    assert status["world_size"] == 2 and status["syncs"] == ranks[0][1][3] >= epochs
    np.testing.assert_array_equal(ranks[0][1], ranks[1][1])  # the same tables (and syncs) on both ranks
    assert len(store.load_vectors(run_id).index_to_key) > 1000
