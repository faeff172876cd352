"""Runs on disk: create, start in the background, watch, stop, load, delete.

Each run lives in `<root>/<id>/`, in the format `w2vcore.runfolder` owns (config.json,
status.json, metrics.jsonl, vectors.npz, checkpoint.pt, snapshots/, log.txt). Imported
embeddings (`w2vcore.embeddings`) sit beside them as read-only entries of kind
"imported": listed and loaded like a finished run, while what needs a training (config,
start/resume, stop, checkpoint) says that they have none.

A run is trained by `w2vcore.worker` in a subprocess started by `w2vcore.launch` (the
app never trains in its own process, so a page refresh or app restart leaves the run
going) or in a thread (tests, notebooks). Neither imports streamlit.

Reading (`info`, `list`, `metrics`, `config`, `load_vectors`) never writes. A run whose
status says queued/running but whose worker is gone (the pid has exited or now belongs
to another process, the thread has ended, or no worker took a queued run within
`QUEUED_TIMEOUT_S`) is reported failed, with its metrics and last checkpoint intact; it
is written as failed only by a user action (stop, start), as a compare-and-set under the
status lock. A run folder that cannot be read (a symlink, a truncated config.json, a
status.json that is not a valid object) is listed with status "broken" and the reason,
and never breaks the listing of the others.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import launch
from . import runfolder as rf
from .config import RunConfig
from .errors import W2VError

ACTIVE = ("queued", "running")
BROKEN = "broken"
FINISHED = ("done", "stopped", "early_stopped", "failed", BROKEN)
STANDBY = ".standby"  # the warm spare worker's folder inside the runs folder (w2vcore.launch)
QUEUED_TIMEOUT_S = 120.0  # a started run that no worker took up within this long is failed
_IDENTITY = ("status", "pid", "pid_start", "thread", "started", "queued")  # which attempt a status belongs to
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SNAPSHOT_RE = re.compile(r"^\d{4}$")
_threads: dict[Path, tuple[threading.Thread, threading.Event]] = {}  # in-process runs, by run folder
_thread_serial = itertools.count(1)


def default_runs_dir() -> Path:
    return Path(os.environ.get("W2V_RUNS_DIR", "runs")).resolve()


def default_cache_dir() -> Path:
    return Path(os.environ.get("W2V_CACHE_DIR", Path.home() / ".cache" / "w2vlab")).resolve()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "run"


def _check_folder(path: Path, what: str) -> None:
    if path.exists() and not path.is_dir():
        raise W2VError(f"the {what} {path} is a file, not a folder; point it at a folder")


def _absolute_paths(cfg: RunConfig) -> RunConfig:
    """The corpus path and data folder as absolute paths: the worker runs inside the run folder."""
    def absolute(path: str) -> str:
        return os.path.abspath(os.path.expanduser(path))

    source = cfg.corpus.source
    if source.kind != "default" and source.path:
        source = dataclasses.replace(source, path=absolute(source.path))
    return dataclasses.replace(cfg, corpus=dataclasses.replace(cfg.corpus, source=source),
                               data_dir=absolute(cfg.data_dir) if cfg.data_dir else cfg.data_dir)


def _processes(asked: Any, default: Any, mode: str) -> int:
    """The number of training processes for a start: `asked`, else `default`; W2VError when it cannot be."""
    from .distributed.torchrun import MAX_PROCESSES

    n = default if asked is None else asked
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PROCESSES:
        raise W2VError(f"processes must be a whole number from 1 to {MAX_PROCESSES}, got {n!r}")
    if n > 1 and mode == "thread":
        raise W2VError("a run on several processes trains through torchrun: start it with mode='process'")
    return n


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


def _is_entry(p: Path) -> bool:
    """A complete run (config.json) or imported embedding (source.json): each is written last."""
    return os.path.lexists(p / rf.CONFIG) or os.path.lexists(p / rf.SOURCE)


def _identity(st: dict | None) -> dict:
    return {key: (st or {}).get(key) for key in _IDENTITY}


@dataclass
class RunInfo:
    id: str
    name: str
    status: str  # queued | running | done | stopped | early_stopped | failed | broken
    path: Path
    created: float
    updated: float
    error: str = ""
    progress: float = 0.0
    last: dict[str, Any] = field(default_factory=dict)  # the latest logged metrics
    kind: str = "trained"  # "trained" | "imported" (a pretrained embedding: vectors only)
    processes: int = 1  # training processes: the torchrun world size, 1 for a single process

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class RunStore:
    """A folder of runs. Ids are checked so that no id or name can escape the folder."""

    def __init__(self, root: Path | str | None = None, cache_dir: Path | str | None = None):
        self.root = Path(root).resolve() if root else default_runs_dir()
        self.cache_dir = Path(cache_dir).resolve() if cache_dir else default_cache_dir()
        _check_folder(self.root, "runs folder (--runs-dir or W2V_RUNS_DIR)")
        _check_folder(self.cache_dir, "cache folder (--cache-dir or W2V_CACHE_DIR)")
        try:
            if not self.root.is_dir():  # reading an existing folder never writes (a full disk still lists)
                self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise W2VError(f"cannot create the runs folder {self.root}: {e.strerror or e}") from None

    # ----------------------------------------------------------------- paths
    def path(self, run_id: str) -> Path:
        """The run's folder (not resolved: a symlinked run folder is seen as a link, never followed)."""
        if not isinstance(run_id, str) or not _ID_RE.match(run_id) or ".." in run_id:
            raise W2VError(f"'{run_id}' is not a valid run id (letters, digits, '_', '-', '.')")
        return self.root / run_id

    def _existing(self, run_id: str) -> Path:
        """The folder of a run that can be read; `W2VError` for a missing run or a symlinked folder."""
        p = self.path(run_id)
        if p.is_symlink():
            raise W2VError(f"run '{run_id}' is a symbolic link to {os.readlink(p)}, which is not followed; "
                           "delete it to remove the link")
        if not p.is_dir() or not _is_entry(p):
            raise W2VError(f"no run '{run_id}' in {self.root}")
        return p

    def _trained(self, run_id: str, what: str) -> Path:
        """The folder of a trained run; W2VError saying an imported embedding has no `what`."""
        p = self._existing(run_id)
        if os.path.lexists(p / rf.SOURCE):
            raise W2VError(f"'{run_id}' is an imported embedding (vectors only, no training): it has no {what}")
        return p

    # ------------------------------------------------------------- lifecycle
    def new_folder(self, name: str) -> tuple[str, Path]:
        """(id, folder) for a new entry named `name`; not listed until its config.json/source.json exists."""
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(name)}"
        for n in itertools.count(1):
            run_id = base if n == 1 else f"{base}-{n}"
            p = self.path(run_id)
            try:
                p.mkdir()  # atomic: of several creators of one name, exactly one gets each id
                return run_id, p
            except FileExistsError:
                continue

    def create(self, cfg: RunConfig) -> str:
        """A new run folder (queued); its corpus and data paths are stored absolute."""
        cfg = _absolute_paths(cfg)
        run_id, p = self.new_folder(cfg.name)
        with rf.whole_or_gone(p, f"create the run folder {p}"):
            now = time.time()
            rf.write_json(p / rf.STATUS, {"status": "queued", "created": now, "updated": now})
            rf.write_json(p / rf.CONFIG, cfg.to_dict())  # last: a folder is a run once its config is complete
        return run_id

    def start(self, run_id: str, mode: str = "process", resume: bool = False, processes: int | None = None) -> None:
        """Train the run in a subprocess (default) or a thread of this process.

        `resume` continues from the run's checkpoint; without a readable one it is refused here,
        before anything is written. `processes` > 1 trains on that many processes through torchrun
        (`w2vcore.distributed`); by default a new run takes 1 and a resumed run its last number.
        """
        if mode not in ("process", "thread"):
            raise W2VError(f"mode must be 'process' or 'thread', got {mode!r}")
        p = self._trained(run_id, "training to start or resume")
        stored, info = self._look(run_id, p)
        last = stored or {}
        before = last.get("processes") or last.get("world_size") or 1 if resume else 1
        processes = _processes(processes, before, mode)
        if info.status == BROKEN:
            raise W2VError(f"run '{run_id}' is broken and cannot start ({info.error}); delete it")
        if info.active and any(stored.get(k) for k in ("pid", "queued", "thread")):
            raise W2VError(f"run '{run_id}' is already running")
        if resume:
            rf.check_checkpoint(p / rf.CHECKPOINT)
        thread, worker = None, dict(pid=None, pid_start=None, thread=None)
        if mode == "thread":
            from .worker import execute

            stop = threading.Event()
            thread = threading.Thread(target=execute, args=(p, self.cache_dir, stop, resume), daemon=True,
                                      name=f"w2v-{run_id}-{next(_thread_serial)}")
            _threads[p] = (thread, stop)  # before the status names it: a reader finds it (not started = alive)
            worker = dict(pid=os.getpid(), pid_start=rf.process_start(os.getpid()), thread=thread.name)
        else:
            _threads.pop(p, None)
        # this attempt's process count and sync figures replace an earlier attempt's (rank 0 rewrites them)
        fresh = {"syncs": 0, "sync_seconds": 0.0, "sync_wait_s": 0.0} if "syncs" in last else {}
        if rf.update_status(p, expect=_identity(stored), status="queued", error="", phase="", queued=time.time(),
                            processes=processes, world_size=processes, **fresh, **worker) is None:
            raise W2VError(f"run '{run_id}' changed state while it was being started; look at it again")
        (p / rf.STOP).unlink(missing_ok=True)
        if thread is not None:
            thread.start()
            return
        pid = launch.hand_to_standby(self.root / STANDBY, p, self.cache_dir, resume) if processes == 1 else None
        if pid is None:
            args = [str(p), "--cache-dir", str(self.cache_dir), "--processes", str(processes)]
            pid = launch.spawn(args + (["--resume"] if resume else []), p / rf.LOG, cwd=p)
        rf.update_status(p, pid=pid, pid_start=rf.process_start(pid))

    # ------------------------------------------------------------- standby
    def warm(self, idle_s: float = 1800.0) -> None:
        """Keep one warm worker waiting (torch imported, kernel loaded), so the next start is instant.

        It exits after `idle_s` unclaimed seconds or when this process ends. Cheap to call often.
        """
        launch.warm(self.root / STANDBY, idle_s)

    def stop(self, run_id: str) -> None:
        """Ask the run to stop; it checkpoints, saves its vectors and ends as 'stopped'.

        A run whose worker is gone is recorded as failed instead (only if its status is unchanged).
        """
        p = self._trained(run_id, "training to stop")
        stored, info = self._look(run_id, p)
        if stored is not None and stored["status"] in ACTIVE and not info.active:
            rf.update_status(p, expect=_identity(stored), status="failed", error=info.error, phase="")
            return
        (p / rf.STOP).touch()
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
        """Remove a run that is not active. A symlinked run folder: only the link goes, never its target."""
        p = self.path(run_id)
        if p.is_symlink():
            p.unlink()
            return
        if self._look(run_id, self._existing(run_id))[1].active:
            raise W2VError(f"run '{run_id}' is still running: stop it before deleting it")
        shutil.rmtree(p)
        _threads.pop(p, None)

    # ---------------------------------------------------------------- reading
    def info(self, run_id: str) -> RunInfo:
        p = self.path(run_id)
        if p.is_symlink():
            return self._broken(run_id, p, f"the run folder is a symbolic link (to {os.readlink(p)}); "
                                           "it is not followed")
        return self._look(run_id, self._existing(run_id))[1]

    def _look(self, run_id: str, p: Path) -> tuple[dict | None, RunInfo]:
        """The stored status (None if broken) and the run as it stands now. Writes nothing."""
        kind = "imported" if os.path.lexists(p / rf.SOURCE) else "trained"
        try:
            name = rf.read_source(p)["name"] if kind == "imported" else rf.read_config(p).name
        except rf.Broken as e:
            return None, self._broken(run_id, p, str(e))
        try:
            stored = rf.read_status(p)
        except rf.Broken as e:
            return None, self._broken(run_id, p, str(e), name)
        st = self._derive(p, stored)
        return stored, RunInfo(id=run_id, name=name, status=st["status"], path=p, created=st.get("created", 0.0),
                               updated=st.get("updated", 0.0), error=st.get("error", ""),
                               progress=st.get("progress", 0.0), last=st.get("last", {}), kind=kind,
                               processes=_count(st.get("world_size") or st.get("processes")))

    def _broken(self, run_id: str, p: Path, reason: str, name: str | None = None) -> RunInfo:
        try:
            created = p.lstat().st_mtime
        except OSError:
            created = 0.0
        return RunInfo(id=run_id, name=name or run_id, status=BROKEN, path=p, created=created, updated=created,
                       error=reason)

    def _derive(self, p: Path, st: dict) -> dict:
        """`st`, or `st` as failed when it says queued/running but its worker is gone.

        The status is read again after the liveness check: a worker that wrote its final status
        and exited between the first read and the check is seen finished, never failed.
        """
        if st["status"] not in ACTIVE or self._worker_alive(p, st):
            return st
        try:
            again = rf.read_status(p)
        except rf.Broken:
            again = st
        if _identity(again) != _identity(st):  # it finished, or another attempt began, meanwhile
            return again
        return dict(st, status="failed", error=self._why_dead(st))

    def _worker_alive(self, p: Path, st: dict) -> bool:
        pid = st.get("pid")
        if st.get("thread") and pid == os.getpid():
            thread = _threads.get(p, (None,))[0]
            return thread is not None and thread.name == st["thread"] and (thread.ident is None or thread.is_alive())
        if pid:
            return rf.pid_alive(pid, st.get("pid_start"))
        queued = st.get("queued", st.get("created", 0.0))
        return st["status"] == "queued" and time.time() - queued < QUEUED_TIMEOUT_S

    @staticmethod
    def _why_dead(st: dict) -> str:
        if st["status"] == "queued" and not st.get("pid"):
            return (f"no worker took up the run within {QUEUED_TIMEOUT_S:.0f} s (the app or the machine may "
                    "have stopped); start it again")
        if st["status"] == "queued":
            return "the training process ended before training began (see log.txt); start it again"
        return ("the training process ended unexpectedly (killed or crashed); metrics and the last "
                "checkpoint are kept, and the run can be resumed")

    def list(self) -> list[RunInfo]:
        """Runs, newest first. Folders that are not runs are ignored; broken runs are listed as broken."""
        try:
            entries = sorted(self.root.iterdir())
        except OSError as e:
            raise W2VError(f"cannot read the runs folder {self.root}: {e.strerror or e}") from None
        out = []
        for p in entries:
            if not _ID_RE.match(p.name) or not (p.is_symlink() or _is_entry(p)):
                continue
            try:
                out.append(self.info(p.name))
            except W2VError:  # deleted while we looked
                continue
        return sorted(out, key=lambda r: r.created, reverse=True)

    def config(self, run_id: str) -> RunConfig:
        return rf.read_config(self._trained(run_id, "training config"))

    def source(self, run_id: str) -> dict:
        """An imported embedding's origin (source.json: name, format, origin path, limit, counts)."""
        p = self._existing(run_id)
        if not os.path.lexists(p / rf.SOURCE):
            raise W2VError(f"'{run_id}' is a trained run, not an imported embedding; its settings are its config")
        return rf.read_source(p)

    def metrics(self, run_id: str) -> list[dict]:
        """The logged rows; lines that are not JSON objects (or not UTF-8) are skipped. None for an import."""
        return rf.read_metrics(self._existing(run_id) / rf.METRICS)

    def load_vectors(self, run_id: str):
        from .vectors import Vectors

        p = self._existing(run_id) / rf.VECTORS
        if not p.exists():
            raise W2VError(f"run '{run_id}' has no vectors yet (status: {self.info(run_id).status})")
        return Vectors.load(p)

    def snapshots(self, run_id: str) -> list[float]:
        """Progress points (0..1) at which the run saved a snapshot of its top words' vectors."""
        folder = self._existing(run_id) / rf.SNAPSHOTS
        if not folder.is_dir():
            return []
        return sorted(int(f.stem) / 1000 for f in folder.glob("*.npy") if _SNAPSHOT_RE.match(f.stem))

    def load_snapshot(self, run_id: str, progress: float):
        """The snapshot nearest to `progress`, as Vectors over the most frequent words."""
        from .vectors import Vectors

        points = self.snapshots(run_id)
        if not points:
            raise W2VError(f"run '{run_id}' has no snapshots (snapshots=0 in its config, or it has not started)")
        nearest = min(points, key=lambda p: abs(p - progress))
        folder = self._existing(run_id) / rf.SNAPSHOTS
        try:
            rows = np.load(folder / f"{round(nearest * 1000):04d}.npy", allow_pickle=False).astype(np.float32)
            words = (folder / rf.SNAPSHOT_WORDS).read_text(encoding="utf-8").split("\n")[:len(rows)]
            return Vectors(words, rows)
        except (OSError, ValueError, EOFError) as e:
            raise W2VError(f"run '{run_id}' has a damaged snapshot at {nearest:.0%}: {e}") from None

    def checkpoint_path(self, run_id: str) -> Path:
        return self._trained(run_id, "checkpoint") / rf.CHECKPOINT

    def load_checkpoint(self, run_id: str) -> dict:
        """The run's checkpoint (tensors only, never unpickled objects); `W2VError` if missing or damaged."""
        return rf.load_checkpoint(self.checkpoint_path(run_id))
