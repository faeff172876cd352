"""Train one run directory: corpus -> vocabulary -> training -> vectors, all written to disk.

`python -m w2vcore.worker RUN_DIR` is what `RunStore.start` launches; `execute` is
also called directly in a thread. The stop signal is the file RUN_DIR/STOP (or the
Event passed in), polled by a watcher thread so the hot loop only checks an Event.
Everything it writes goes through `w2vcore.runfolder` (atomic files, the locked status);
it records its pid with the process's start time, and ends every run with a final status:
done/stopped/early_stopped, or failed with a message (a full disk says so).

`python -m w2vcore.worker --standby FOLDER` is a warm spare: it imports torch and the loss
plug-ins, compiles (or loads from numba's disk cache) the SGNS kernel and every loss's kernels
(`compile_ahead` does it for a run on a cold cache, saying so in its status), writes
FOLDER/<pid>.ready and waits for `RunStore.start` to claim it (rename to <pid>.claimed, then
<pid>.job.json). A claimed spare trains like a fresh
worker but starts in a fraction of a second. An unclaimed spare exits when it has idled
for `--idle` seconds or when the process that started it (the app) is gone.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import signal
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

from . import runfolder as rf
from .corpus import encode_corpus, prepare
from .errors import W2VError
from .train import train


def _watch_stop_file(run_dir: Path, stop: threading.Event, done: threading.Event) -> None:
    while not done.wait(0.2):
        if (run_dir / rf.STOP).exists():
            stop.set()
            return


def _prepare_metrics(run_dir: Path, ckpt: dict | None) -> None:
    """A resumed run keeps the rows up to its checkpoint (later ones are redone); a new run starts empty."""
    if ckpt is not None:
        rf.truncate_metrics(run_dir, int(ckpt["step"]))
    else:
        (run_dir / rf.METRICS).unlink(missing_ok=True)


def execute(run_dir: Path, cache_dir: Path, stop: threading.Event | None = None, resume: bool = False,
            callbacks: tuple = (), distribute: Callable | None = None) -> str:
    """Run the whole pipeline for `run_dir`; returns the final status. Never raises.

    With `resume`, a missing or unreadable checkpoint fails the run (it never retrains from scratch).
    distribute(run_dir, data, train_cfg) -> (data, wrap, train_cfg): rank 0 of a torchrun run trains its
    shard through `wrap` (`w2vcore.distributed`).
    """
    run_dir, stop, done = Path(run_dir), stop or threading.Event(), threading.Event()
    threading.Thread(target=_watch_stop_file, args=(run_dir, stop, done), daemon=True).start()
    writer = None
    try:
        rf.update_status(run_dir, status="running", pid=os.getpid(), pid_start=rf.process_start(os.getpid()),
                         started=time.time(), error="", phase="reading corpus")
        rf.reserve_space(run_dir)  # so the last status can be written even if the disk fills up meanwhile
        cfg = rf.read_config(run_dir)
        ckpt = rf.load_checkpoint(run_dir / rf.CHECKPOINT) if resume else None
        encoded = encode_corpus(cfg.corpus.source, cfg.corpus.tokenizer, Path(cache_dir))
        data = prepare(encoded, cfg.corpus)
        _prepare_metrics(run_dir, ckpt)
        compile_ahead(run_dir, cfg)
        rf.update_status(run_dir, phase="training", vocab_size=len(data.vocab), train_tokens=data.n_train_tokens,
                         val_tokens=data.n_val_tokens, corpus=encoded.label)
        wrap, tcfg = None, cfg.train
        if distribute is not None:
            data, wrap, tcfg = distribute(run_dir, data, tcfg)
        writer = rf.RunWriter(run_dir)
        result = train(tcfg, data, [writer, *callbacks], stop=stop, resume=ckpt, data_dir=cfg.data_dir,
                       wrap=wrap)
        status = result.state.status
        rf.release_space(run_dir)
        rf.update_status(run_dir, status=status, phase="", summary=result.summary, progress=result.state.progress)
        return status
    except W2VError as e:
        return _fail(run_dir, str(e))
    except OSError as e:
        if e.errno in rf.DISK_FULL:
            return _fail(run_dir, rf.disk_full_message(e))
        return _internal_error(run_dir, e)
    except Exception as e:  # torch.save, for one, reports a full disk as a RuntimeError
        if rf.disk_nearly_full(run_dir):
            return _fail(run_dir, rf.disk_full_message(OSError(errno.ENOSPC, f"{type(e).__name__}: {e}")))
        return _internal_error(run_dir, e)
    finally:
        done.set()
        if writer is not None:
            writer.close()


def _fail(run_dir: Path, error: str) -> str:
    """Record the failure (the reserve makes room on a full disk); else the run shows failed once we are gone."""
    rf.release_space(run_dir)
    try:
        rf.update_status(run_dir, status="failed", phase="", error=error)
    except OSError:
        with contextlib.suppress(OSError):
            print(f"failed: {error}", flush=True)
    return "failed"


def _internal_error(run_dir: Path, e: Exception) -> str:
    """A bug: the traceback goes to the log, a short message to the page."""
    with contextlib.suppress(OSError), (run_dir / rf.LOG).open("a") as log:
        log.write(traceback.format_exc())
    return _fail(run_dir, f"internal error: {type(e).__name__}: {e} (traceback in log.txt)")


def compile_ahead(run_dir: Path, cfg) -> list[str]:
    """Compile the run's kernels before training, saying so in the status when numba's cache lacks them.

    A fresh install has an empty cache: the first RSR run compiled for 20-40 s (2 shared cores)
    inside its first step, under "training" with no curve. Now the phase names what happens; with a
    warm cache (the standby worker compiled at app start, or an earlier run did) nothing is compiled
    here and the phase never changes. CPU runs only: on a GPU the compiled paths are not used.
    Returns what was compiled: "sgns" for the training kernel, then the losses' names.
    """
    from .engines import kernel
    from .losses import needs_compiling, warm
    from .engines import resolve_device, resolve_engine

    device = resolve_device(cfg.train.device)
    if device.type != "cpu":
        return []
    sgns = resolve_engine(cfg.train, device) == "numba" and not kernel.compiled()
    cold = needs_compiling(spec.name for spec in cfg.train.losses)
    if not (sgns or cold):
        return []
    names = " and ".join((["training"] if sgns else []) + [info.label or info.name for info in cold])
    took = "up to a minute" if cold else "a few seconds"
    rf.update_status(run_dir, phase=f"compiling the {names} kernels (first run on this machine; {took})")
    if sgns:
        kernel.warm_up()
    return (["sgns"] if sgns else []) + warm([info.name for info in cold])


STANDBY_POLL_S = 0.02


def standby(folder: Path, parent: int, idle_s: float, stop: threading.Event) -> dict | None:
    """Warm up, announce readiness, and wait for a job; None when idle too long, orphaned or stopped."""
    from .engines.kernel import warm_up
    from .losses import warm

    warm_up()
    warm()  # imports the loss plug-ins and compiles (or loads) their kernels with a run's argument types
    pid = os.getpid()
    ready, claimed, job = (folder / f"{pid}.{ext}" for ext in ("ready", "claimed", "job.json"))
    ready.touch()
    deadline = time.monotonic() + idle_s
    while True:
        if claimed.exists():  # RunStore.start renamed our ready file: the job follows at once
            for _ in range(int(10 / STANDBY_POLL_S)):
                if job.exists():
                    spec = json.loads(job.read_text())
                    job.unlink(missing_ok=True)
                    claimed.unlink(missing_ok=True)
                    return spec
                time.sleep(STANDBY_POLL_S)
            claimed.unlink(missing_ok=True)
            return None
        if time.monotonic() > deadline or not rf.pid_alive(parent) or stop.is_set():
            try:  # withdraw the offer; if the rename fails we were claimed just now
                os.replace(ready, folder / f"{pid}.exiting")
            except FileNotFoundError:
                continue
            (folder / f"{pid}.exiting").unlink(missing_ok=True)
            (folder / f"{pid}.pid").unlink(missing_ok=True)
            return None
        time.sleep(STANDBY_POLL_S)


def _redirect_output(run_dir: Path) -> None:
    log = os.open(run_dir / "log.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train one Word2Vec Lab run directory.")
    ap.add_argument("run_dir", type=Path, nargs="?")
    ap.add_argument("--cache-dir", type=Path)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--processes", type=int, default=1, help="train on this many processes (starts torchrun)")
    ap.add_argument("--standby", type=Path, help="wait in this folder as a warm spare for RunStore.start")
    ap.add_argument("--parent", type=int, default=os.getppid(), help="exit the standby when this pid is gone")
    ap.add_argument("--idle", type=float, default=1800.0, help="seconds an unclaimed standby waits")
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.standby:
        job = standby(args.standby, args.parent, args.idle, stop)
        if job is None:
            return 0
        run_dir = Path(job["run_dir"])
        os.chdir(run_dir)
        _redirect_output(run_dir)
        status = execute(run_dir, Path(job["cache_dir"]), stop, job["resume"])
    else:
        if args.run_dir is None or args.cache_dir is None:
            ap.error("give RUN_DIR and --cache-dir, or --standby FOLDER")
        if args.processes > 1:
            return _distributed(args)
        status = execute(args.run_dir, args.cache_dir, stop, args.resume)
    return 0 if status != "failed" else 1


def _distributed(args) -> int:
    """Train on --processes N: start torchrun with N ranks on the run (`python -m w2vcore.distributed`) and wait."""
    from .distributed import torchrun

    tail = ["--resume"] if args.resume else []
    cmd = torchrun.command(args.processes, ["-m", "w2vcore.distributed", str(args.run_dir), "--cache-dir",
                                            str(args.cache_dir), *tail])
    return 0 if torchrun.supervise(cmd, args.run_dir) != "failed" else 1

if __name__ == "__main__":
    raise SystemExit(main())

