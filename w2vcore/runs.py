"""Runs on disk: create, start in the background, watch, stop, load, delete.

Each run lives in `<root>/<id>/`:

    config.json      the RunConfig, frozen at creation
    status.json      queued | running | done | stopped | early_stopped | failed (+ error), atomic
    metrics.jsonl    one JSON line per logged step or epoch, flushed as written
    vectors.npz      the word vectors with their vocabulary (w2vcore.vectors.Vectors)
    checkpoint.pt    the last checkpoint (tables, optimiser, RNG, position), for resume
    snapshots/       the top words' vectors (float16) at 0, 1/n, ..., 1 of the run: NNNN.npy (per mille), words.txt
    log.txt          what the worker printed, including any traceback

A run is trained by `w2vcore.worker` in a subprocess (the app never trains in its
own process, so a page refresh or app restart leaves the run going) or in a thread
(tests, notebooks). Neither imports streamlit. A worker that dies leaves its run
marked failed on the next look, with its metrics and last checkpoint intact.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .errors import W2VError

ACTIVE = ("queued", "running")
FINISHED = ("done", "stopped", "early_stopped", "failed")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_threads: dict[Path, tuple[threading.Thread, threading.Event]] = {}  # in-process runs, by run folder


def default_runs_dir() -> Path:
    return Path(os.environ.get("W2V_RUNS_DIR", "runs")).resolve()


def default_cache_dir() -> Path:
    return Path(os.environ.get("W2V_CACHE_DIR", Path.home() / ".cache" / "w2vlab")).resolve()


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def read_jsonl(path: Path) -> list[dict]:
    """All complete lines; a half-written last line (a killed writer) is skipped."""
    if not path.exists():
        return []
    rows = []
    with path.open() as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child has exited even though its pid still answers
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "run"


@dataclass
class RunInfo:
    id: str
    name: str
    status: str
    path: Path
    created: float
    updated: float
    error: str = ""
    progress: float = 0.0
    last: dict[str, Any] = field(default_factory=dict)  # the latest logged metrics

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class RunStore:
    """A folder of runs. Ids are checked so that no id or name can escape the folder."""

    def __init__(self, root: Path | str | None = None, cache_dir: Path | str | None = None):
        self.root = Path(root).resolve() if root else default_runs_dir()
        self.cache_dir = Path(cache_dir).resolve() if cache_dir else default_cache_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------- paths
    def path(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not _ID_RE.match(run_id) or ".." in run_id:
            raise W2VError(f"'{run_id}' is not a valid run id (letters, digits, '_', '-', '.')")
        p = (self.root / run_id).resolve()
        if p.parent != self.root:
            raise W2VError(f"run id '{run_id}' points outside the runs folder")
        return p

    def _existing(self, run_id: str) -> Path:
        p = self.path(run_id)
        if not (p / "config.json").exists():
            raise W2VError(f"no run '{run_id}' in {self.root}")
        return p

    # ------------------------------------------------------------- lifecycle
    def create(self, cfg: RunConfig) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{_slug(cfg.name)}"
        run_id, n = base, 1
        while (self.root / run_id).exists():
            n += 1
            run_id = f"{base}-{n}"
        p = self.path(run_id)
        p.mkdir()
        write_json_atomic(p / "config.json", cfg.to_dict())
        now = time.time()
        write_json_atomic(p / "status.json", {"status": "queued", "created": now, "updated": now})
        return run_id

    def start(self, run_id: str, mode: str = "process", resume: bool = False) -> None:
        """Train the run in a subprocess (default) or a thread of this process."""
        p = self._existing(run_id)
        if self.info(run_id).active and self._status(p).get("pid"):
            raise W2VError(f"run '{run_id}' is already running")
        (p / "STOP").unlink(missing_ok=True)
        self._set_status(p, status="queued", error="")
        if mode == "thread":
            from .worker import execute

            stop = threading.Event()
            t = threading.Thread(target=execute, args=(p, self.cache_dir, stop, resume), daemon=True,
                                 name=f"w2v-{run_id}")
            _threads[p] = (t, stop)
            t.start()
            return
        if mode != "process":
            raise W2VError(f"mode must be 'process' or 'thread', got {mode!r}")
        pid = self._hand_to_standby(p, resume)
        if pid is None:
            args = [str(p), "--cache-dir", str(self.cache_dir)] + (["--resume"] if resume else [])
            pid = self._spawn(args, p / "log.txt", cwd=p)
        self._set_status(p, pid=pid)

    def _spawn(self, args: list[str], log_path: Path, cwd: Path) -> int:
        """`python -m w2vcore.worker ARGS` in its own session, so the app's end does not end it."""
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

    # ------------------------------------------------------------- standby
    @property
    def _standby_dir(self) -> Path:
        return self.root / ".standby"

    def warm(self, idle_s: float = 1800.0) -> None:
        """Keep one warm worker waiting (torch imported, kernel loaded), so the next start is instant.

        It exits after `idle_s` unclaimed seconds or when this process ends. Cheap to call often.
        """
        folder = self._standby_dir
        folder.mkdir(exist_ok=True)
        for f in [*folder.glob("*.pid"), *folder.glob("*.ready")]:  # spares that were killed
            if f.stem.isdigit() and not _pid_alive(int(f.stem)):
                f.unlink(missing_ok=True)
        fresh = time.time() - 120  # a spare still warming up has no .ready yet: count its recent pid file
        if any(f.suffix == ".ready" and _pid_alive(int(f.stem)) for f in folder.glob("*.ready")) or \
                any(f.stat().st_mtime > fresh and _pid_alive(int(f.stem)) for f in folder.glob("*.pid")):
            return
        pid = self._spawn(["--standby", str(folder), "--parent", str(os.getpid()), "--idle", str(idle_s)],
                          folder / "standby.log", cwd=folder)
        (folder / f"{pid}.pid").touch()

    def _hand_to_standby(self, p: Path, resume: bool) -> int | None:
        """Give the run to a warm spare if one is ready; its pid, or None."""
        folder = self._standby_dir
        for ready in folder.glob("*.ready") if folder.is_dir() else ():
            pid = int(ready.stem)
            try:
                os.replace(ready, folder / f"{pid}.claimed")  # atomic: one claimer wins
            except FileNotFoundError:
                continue
            (folder / f"{pid}.pid").unlink(missing_ok=True)
            if not _pid_alive(pid):
                (folder / f"{pid}.claimed").unlink(missing_ok=True)
                continue
            write_json_atomic(folder / f"{pid}.job.json", {"run_dir": str(p), "cache_dir": str(self.cache_dir),
                                                           "resume": resume})
            self.warm()  # the next spare
            return pid
        return None

    def stop(self, run_id: str) -> None:
        """Ask the run to stop; it checkpoints, saves its vectors and ends as 'stopped'."""
        p = self._existing(run_id)
        (p / "STOP").touch()
        if p in _threads:
            _threads[p][1].set()

    def wait(self, run_id: str, timeout: float = 600.0, poll: float = 0.1) -> RunInfo:
        deadline = time.monotonic() + timeout
        while True:
            info = self.info(run_id)
            if not info.active or time.monotonic() > deadline:
                return info
            time.sleep(poll)

    def delete(self, run_id: str) -> None:
        p = self._existing(run_id)
        if self.info(run_id).active:
            raise W2VError(f"run '{run_id}' is still running: stop it before deleting it")
        shutil.rmtree(p)

    # ---------------------------------------------------------------- reading
    def _status(self, p: Path) -> dict:
        try:
            return json.loads((p / "status.json").read_text())
        except (OSError, json.JSONDecodeError):
            return {"status": "failed", "error": "status.json is missing or unreadable"}

    def _set_status(self, p: Path, **fields) -> None:
        st = self._status(p)
        st.update(fields, updated=time.time())
        write_json_atomic(p / "status.json", st)

    def info(self, run_id: str) -> RunInfo:
        p = self._existing(run_id)
        st = self._status(p)
        if st.get("status") == "running" and not _pid_alive(st.get("pid")):
            st = self._mark_dead(p, st)
        elif st.get("status") == "running" and p in _threads and not _threads[p][0].is_alive():
            st = self._mark_dead(p, st)
        try:
            name = json.loads((p / "config.json").read_text()).get("name", run_id)
        except (OSError, json.JSONDecodeError):
            name = run_id
        return RunInfo(id=run_id, name=name, status=st.get("status", "failed"), path=p,
                       created=st.get("created", 0.0), updated=st.get("updated", 0.0),
                       error=st.get("error", ""), progress=st.get("progress", 0.0), last=st.get("last", {}))

    def _mark_dead(self, p: Path, st: dict) -> dict:
        st = dict(st, status="failed",
                  error="the training process ended unexpectedly (killed or crashed); metrics and the last "
                        "checkpoint are kept, and the run can be resumed")
        self._set_status(p, status=st["status"], error=st["error"])
        return st

    def list(self) -> list[RunInfo]:
        """Runs, newest first. Folders that are not runs are ignored."""
        out = []
        for p in self.root.iterdir():
            if p.is_dir() and (p / "config.json").exists() and _ID_RE.match(p.name):
                out.append(self.info(p.name))
        return sorted(out, key=lambda r: r.created, reverse=True)

    def config(self, run_id: str) -> RunConfig:
        p = self._existing(run_id)
        return RunConfig.from_dict(json.loads((p / "config.json").read_text()))

    def metrics(self, run_id: str) -> list[dict]:
        return read_jsonl(self._existing(run_id) / "metrics.jsonl")

    def load_vectors(self, run_id: str):
        from .vectors import Vectors

        p = self._existing(run_id) / "vectors.npz"
        if not p.exists():
            raise W2VError(f"run '{run_id}' has no vectors yet (status: {self.info(run_id).status})")
        return Vectors.load(p)

    def snapshots(self, run_id: str) -> list[float]:
        """Progress points (0..1) at which the run saved a snapshot of its top words' vectors."""
        folder = self._existing(run_id) / "snapshots"
        return sorted(int(f.stem) / 1000 for f in folder.glob("[0-9]*.npy")) if folder.is_dir() else []

    def load_snapshot(self, run_id: str, progress: float):
        """The snapshot nearest to `progress`, as Vectors over the most frequent words."""
        from .vectors import Vectors

        points = self.snapshots(run_id)
        if not points:
            raise W2VError(f"run '{run_id}' has no snapshots (snapshots=0 in its config, or it has not started)")
        nearest = min(points, key=lambda p: abs(p - progress))
        folder = self._existing(run_id) / "snapshots"
        rows = np.load(folder / f"{round(nearest * 1000):04d}.npy").astype(np.float32)
        words = (folder / "words.txt").read_text().split("\n")[:len(rows)]
        return Vectors(words, rows)

    def checkpoint_path(self, run_id: str) -> Path:
        return self._existing(run_id) / "checkpoint.pt"
