"""`python -m w2vcore train` across processes: under torchrun, and `--nproc N`, which starts torchrun itself.

Under torchrun every rank parses the same command line. Rank 0 checks the settings and creates the
run folder (or takes `--run-id`'s), and tells the others its id; then each rank trains
(`ranks.run_rank`). `--nproc N` on a plain command line creates the run here, then runs
`python -m torch.distributed.run --standalone --nproc-per-node N -m w2vcore ... train ... --run-id ID`
and waits (`torchrun.supervise`: when torchrun fails, the run is marked failed with its exit code
and keeps its last checkpoint).
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Callable

from ..errors import W2VError
from ..preflight import validate
from . import torchrun


def _create(args, store, run_config: Callable[[Any], Any]) -> str:
    cfg = run_config(args)
    summary = validate(cfg, store.cache_dir, store.root)  # refused runs get no folder
    print(f"{summary.corpus}: {summary.vocab_size:,} words, {summary.train_tokens:,} training tokens")
    return store.create(cfg)


def train_rank(args, store, run_config: Callable[[Any], Any], progress: Callable[[], Any] | None = None) -> int:
    """This torchrun rank's share of `train`; exit code 0, or 1 when the run failed."""
    import torch.distributed as dist

    from .ranks import join, run_rank

    rank, world = join(args.backend, args.device or "auto")
    run_id = [args.run_id]
    if run_id[0] is None:
        if rank == 0:
            try:
                run_id[0] = _create(args, store, run_config)
            except W2VError as e:
                run_id[0] = ""
                print(f"error: {e}", file=sys.stderr)
        dist.broadcast_object_list(run_id, src=0)
    if not run_id[0]:
        return 2
    run_dir = store.path(run_id[0])
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl-C reaches every rank: the next sync stops all
    if rank == 0:
        print(f"run {run_id[0]} in {run_dir} on {world} processes ({dist.get_backend()})")
    status, _ = run_rank(run_dir, store.cache_dir, resume=args.resume, stop=stop,
                      callbacks=(progress(),) if rank == 0 and progress else ())
    if rank == 0:
        info = store.info(run_id[0])
        print(f"{status}: vectors in {run_dir}" if status != "failed" else f"error: {info.error}")
    dist.destroy_process_group()
    return 1 if status == "failed" else 0


def torchrun_command(nproc: int, argv: list[str], run_id: str) -> list[str]:
    """The torchrun command line for `argv` (this command's arguments) without --nproc, on run `run_id`."""
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    return torchrun.command(nproc, ["-m", "w2vcore", *rest, "--run-id", run_id])


def launch(args, argv: list[str], store, run_config: Callable[[Any], Any]) -> int:
    """Create the run (unless --run-id names one), run torchrun on it and report how it ended."""
    if args.nproc < 1:
        raise W2VError(f"--nproc must be at least 1, got {args.nproc}")
    if args.resume and not args.run_id:
        raise W2VError("--resume continues a run: name it with --run-id")
    if args.nproc > torchrun.MAX_PROCESSES:
        raise W2VError(f"--nproc {args.nproc} is more than {torchrun.MAX_PROCESSES} processes on one machine")
    run_id = args.run_id or _create(args, store, run_config)
    torchrun.supervise(torchrun_command(args.nproc, [a for a in argv if a != "--run-id" and a != run_id], run_id),
                       store.path(run_id))
    info = store.info(run_id)
    if info.status == "failed":
        raise W2VError(info.error)
    print(f"{info.status}: vectors in {store.path(run_id)}")
    return 0
