"""`python -m w2vcore.distributed RUN_DIR --cache-dir DIR [--resume]`: one torchrun rank of a run the app started.

`RunStore.start(..., processes=N)` starts a worker that runs torchrun with N copies of this module
(`w2vcore.distributed.torchrun`). Each joins the process group and trains its shard
(`ranks.run_rank`); rank 0 writes the run folder and watches its STOP file. SIGTERM (torchrun
stopping the ranks) stops this rank at the next sync.
"""
from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from .. import runfolder as rf
from ..errors import W2VError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="One torchrun rank of a Word2Vec Lab run.")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    import torch.distributed as dist

    from .ranks import join, run_rank

    try:
        join("auto", rf.read_config(args.run_dir).train.device)
    except (W2VError, RuntimeError) as e:  # rank 0 records why the processes could not meet
        if os.environ.get("RANK") == "0":
            rf.update_status(args.run_dir, status="failed", phase="",
                             error=f"the training processes could not start together: {e}")
        return 1
    status, _ = run_rank(args.run_dir, args.cache_dir, resume=args.resume, stop=stop)
    dist.destroy_process_group()
    return 0 if status != "failed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
