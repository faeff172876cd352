"""Worker processes: start `python -m w2vcore.worker` detached, and keep one warm spare ready.

A run's worker runs in its own session, so a page refresh or the app's end leaves it going.
A warm spare (torch imported, kernel loaded) waits in `<runs>/.standby/` as `<pid>.ready`;
`hand_to_standby` claims it by renaming that file and writes the job beside it, so a run
logs its first point about a second after the click instead of after a cold start.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from . import runfolder as rf


def spawn(args: list[str], log_path: Path, cwd: Path) -> int:
    """`python -m w2vcore.worker ARGS` in its own session, so the app's end does not end it; its pid."""
    env = dict(os.environ)
    pkg_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
    with open(log_path, "ab") as log:
        # cwd = a folder of ours: `-m` puts cwd on sys.path, and a stray `timeit.py` (say) in the
        # caller's folder must not shadow a module inside the worker
        proc = subprocess.Popen([sys.executable, "-m", "w2vcore.worker", *args], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                start_new_session=True)
    return proc.pid


def warm(folder: Path, idle_s: float = 1800.0) -> None:
    """Keep one warm worker waiting in `folder`; it exits after `idle_s` unclaimed seconds or when
    this process ends. Cheap to call often."""
    folder.mkdir(exist_ok=True)
    for f in [*folder.glob("*.pid"), *folder.glob("*.ready")]:  # spares that were killed
        if f.stem.isdigit() and not rf.pid_alive(int(f.stem)):
            f.unlink(missing_ok=True)
    fresh = time.time() - 120  # a spare still warming up has no .ready yet: count its recent pid file
    if any(f.suffix == ".ready" and rf.pid_alive(int(f.stem)) for f in folder.glob("*.ready")) or \
            any(f.stat().st_mtime > fresh and rf.pid_alive(int(f.stem)) for f in folder.glob("*.pid")):
        return
    pid = spawn(["--standby", str(folder), "--parent", str(os.getpid()), "--idle", str(idle_s)],
                folder / "standby.log", cwd=folder)
    (folder / f"{pid}.pid").touch()


def hand_to_standby(folder: Path, run_dir: Path, cache_dir: Path, resume: bool) -> int | None:
    """Give the run to a warm spare in `folder` if one is ready (and warm the next); its pid, or None."""
    for ready in folder.glob("*.ready") if folder.is_dir() else ():
        pid = int(ready.stem)
        try:
            os.replace(ready, folder / f"{pid}.claimed")  # atomic: one claimer wins
        except FileNotFoundError:
            continue
        (folder / f"{pid}.pid").unlink(missing_ok=True)
        if not rf.pid_alive(pid):
            (folder / f"{pid}.claimed").unlink(missing_ok=True)
            continue
        rf.write_json(folder / f"{pid}.job.json", {"run_dir": str(run_dir), "cache_dir": str(cache_dir),
                                                       "resume": resume})
        warm(folder)
        return pid
    return None
