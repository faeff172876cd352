"""One run folder on disk: its file names, atomic writes, the status file and the run's writer.

This module is the one owner of the folder's format; `runs` (the store that reads and
starts runs) and `worker` (the process that trains one) both go through it:

    config.json      the RunConfig, frozen at creation (paths made absolute)
    status.json      a JSON object: status, pid + pid_start of the worker, progress, last row, error, ...
    .status.lock     flock'ed by everyone who writes status.json (read-modify-write under the lock)
    metrics.jsonl    one JSON object per logged step or epoch, appended and flushed as written
    vectors.npz      the word vectors with their vocabulary (w2vcore.vectors.Vectors)
    checkpoint.pt    the last checkpoint (tables, optimiser, RNG, position, elapsed seconds), for resume
    snapshots/       the top words' vectors (float16) at 0, 1/n, ..., 1 of the run: NNNN.npy (per mille), words.txt
    log.txt          what the worker printed, including any traceback
    STOP             present while a stop is requested
    .reserve         256 KB a worker holds while it runs and frees first when it fails, so a full disk
                     still leaves room for the run's last status

An imported embedding (`w2vcore.embeddings`) is a folder of the same store without a
training: status.json (done, kind "imported"), vectors.npz, and source.json (the origin file,
its format, the limit, word counts) in place of config.json; it has no metrics, checkpoint or
snapshots.

Every file except the two append-only logs is written to a temporary name in the same folder,
fsynced and renamed over the old one, so a kill at any moment leaves the previous complete file
(or none), never a truncated one. Readers never write: `read_status` and `read_config` validate
what they read and raise `Broken` (a `W2VError`) with the reason.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import shutil
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

import numpy as np

from .config import RunConfig
from .errors import W2VError

CONFIG = "config.json"
SOURCE = "source.json"  # an imported embedding's origin, in place of config.json
STATUS = "status.json"
STATUS_LOCK = ".status.lock"
METRICS = "metrics.jsonl"
VECTORS = "vectors.npz"
CHECKPOINT = "checkpoint.pt"
SNAPSHOTS = "snapshots"
SNAPSHOT_WORDS = "words.txt"
LOG = "log.txt"
STOP = "STOP"
RESERVE = ".reserve"  # space a worker holds so that its last status can be written on a full disk
RESERVE_BYTES = 256 * 1024  # status.json is a few KB; a temporary copy plus the lock fit many times

STATUSES = ("queued", "running", "done", "stopped", "early_stopped", "failed")
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_NUMBER, _INT, _TEXT, _OBJECT = "a number", "a whole number", "text", "an object"
_FIELD_KINDS = {  # status.json fields whose type is checked (others are kept as they are)
    "created": _NUMBER, "updated": _NUMBER, "started": _NUMBER, "queued": _NUMBER, "progress": _NUMBER,
    "pid": _INT, "pid_start": _INT, "vocab_size": _INT, "train_tokens": _INT, "val_tokens": _INT,
    "error": _TEXT, "phase": _TEXT, "thread": _TEXT, "corpus": _TEXT, "last": _OBJECT, "summary": _OBJECT,
    "kind": _TEXT,
}


class Broken(W2VError):
    """A run folder's file is missing, truncated or not in the expected format; the message says which."""


# ------------------------------------------------------------------ writing
def write_atomic(path: Path, data: bytes | str | Callable[[BinaryIO], Any]) -> None:
    """Write `data` (bytes, text, or a function writing to a binary file) to `path` all at once.

    The bytes go to a temporary name in the same folder, are fsynced and renamed over `path`:
    readers and a later kill see the old file or the new one, never part of one.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1))


def reserve_space(run_dir: Path) -> None:
    """Hold RESERVE_BYTES of disk in the run folder (released by `release_space` when the run ends)."""
    with contextlib.suppress(OSError), open(Path(run_dir) / RESERVE, "wb") as f:
        f.write(bytes(RESERVE_BYTES))
        f.flush()
        os.fsync(f.fileno())


def release_space(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (Path(run_dir) / RESERVE).unlink(missing_ok=True)


def disk_nearly_full(run_dir: Path, margin: int = RESERVE_BYTES) -> bool:
    """True when the run folder's file system has less than `margin` bytes free (or cannot be asked)."""
    try:
        return shutil.disk_usage(run_dir).free < margin
    except OSError:
        return False


def disk_full_message(e: OSError) -> str:
    where = f" writing {e.filename}" if e.filename else ""
    return f"the disk is full ({e.strerror or e}{where}); free some space, then resume the run"


@contextlib.contextmanager
def whole_or_gone(folder: Path, what: str) -> Iterator[None]:
    """Fill a new `folder` in the block; when it fails, the folder goes (no half-made entry is left behind),
    and an OSError becomes a W2VError: "cannot <what>: <reason>" (a full disk says so)."""
    try:
        yield
    except BaseException as e:
        shutil.rmtree(folder, ignore_errors=True)
        if not isinstance(e, OSError):
            raise
        reason = disk_full_message(e) if e.errno in DISK_FULL else e.strerror or str(e)
        raise W2VError(f"cannot {what}: {reason}") from None


# ------------------------------------------------------------------ reading
def _read_json(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise Broken(f"{path.name} is missing") from None
    except IsADirectoryError:
        raise Broken(f"{path.name} is a folder, not a file") from None
    except OSError as e:
        raise Broken(f"{path.name} cannot be read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise Broken(f"{path.name} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        kind = "empty" if not text.strip() else "truncated or not JSON"
        raise Broken(f"{path.name} is {kind}") from None


def _kind_ok(value: Any, kind: str) -> bool:
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str if kind == _TEXT else dict)


def check_status(st: Any) -> dict:
    """`st` if it is a status object with sane field types; otherwise `Broken` saying what is wrong."""
    if not isinstance(st, dict):
        raise Broken(f"status.json holds {type(st).__name__ if st is not None else 'null'}, not a JSON object")
    if st.get("status") not in STATUSES:
        raise Broken(f"status.json has status {st.get('status')!r}, not one of {', '.join(STATUSES)}")
    for key, kind in _FIELD_KINDS.items():
        if st.get(key) is not None and not _kind_ok(st[key], kind):
            raise Broken(f"status.json field '{key}' is {st[key]!r}, not {kind}")
    if not 0.0 <= st.get("progress", 0.0) <= 1.0:
        raise Broken(f"status.json field 'progress' is {st['progress']!r}, not between 0 and 1")
    return st


def read_status(run_dir: Path) -> dict:
    return check_status(_read_json(run_dir / STATUS))


def read_config(run_dir: Path) -> RunConfig:
    d = _read_json(run_dir / CONFIG)
    if not isinstance(d, dict):
        raise Broken(f"config.json holds {type(d).__name__}, not a JSON object")
    try:
        return RunConfig.from_dict(d)
    except W2VError as e:
        raise Broken(f"config.json: {e}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise Broken(f"config.json does not describe a run: {e}") from None


def read_source(run_dir: Path) -> dict:
    """An imported embedding's source.json: an object with its name, format and origin."""
    d = _read_json(run_dir / SOURCE)
    if not isinstance(d, dict):
        raise Broken(f"source.json holds {type(d).__name__}, not a JSON object")
    for key in ("name", "format", "origin"):
        if not isinstance(d.get(key), str):
            raise Broken(f"source.json field '{key}' is {d.get(key)!r}, not text")
    return d


def read_metrics(path: Path) -> list[dict]:
    """The logged rows: JSON objects with a whole-number 'step'. Other lines are skipped.

    A killed writer leaves at most a half line at the end; a hand-edited file may hold anything.
    """
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise W2VError(f"{path} cannot be read: {e.strerror or e}") from None
    rows = []
    with f:
        for line in f:
            try:
                row = json.loads(line.decode("utf-8"))
            except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                continue
            if isinstance(row, dict) and _kind_ok(row.get("step"), _INT):
                rows.append(row)
    return rows


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Keep only the rows logged up to `step` (a checkpoint's), so a resumed run never repeats or goes back."""
    path = run_dir / METRICS
    if not path.exists():
        return
    keep = [json.dumps(row) + "\n" for row in read_metrics(path) if row["step"] <= step]
    write_atomic(path, "".join(keep))


def check_checkpoint(path: Path) -> None:
    """Refuse a missing or truncated checkpoint cheaply (its zip directory), before anything else is touched."""
    if not path.is_file():
        raise W2VError(f"there is no checkpoint to resume from ({path.name} is missing); start the run again instead")
    try:
        with zipfile.ZipFile(path) as z:
            if not any(name.endswith("data.pkl") for name in z.namelist()):
                raise W2VError(f"{path} is not a checkpoint written by this program; start the run again instead")
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise W2VError(f"the checkpoint {path} is truncated or unreadable ({e}); start the run again "
                       "instead") from None


def load_checkpoint(path: Path) -> dict:
    """The checkpoint as a dict of tensors (never unpickles arbitrary objects); `W2VError` if unreadable."""
    import torch

    check_checkpoint(path)
    try:
        ck = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # torch raises RuntimeError, EOFError or UnpicklingError for damaged files
        raise W2VError(f"the checkpoint {path} cannot be read ({type(e).__name__}: {e}); start the run "
                       "again instead") from None
    if not isinstance(ck, dict) or not {"w_in", "w_out", "step"} <= ck.keys():
        raise W2VError(f"{path} is not a checkpoint of a run (no tables or position)")
    return ck


# ------------------------------------------------------------- the status file
@contextlib.contextmanager
def status_lock(run_dir: Path) -> Iterator[None]:
    """Exclusive lock for a read-modify-write of status.json (between threads and processes alike)."""
    fd = os.open(run_dir / STATUS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def update_status(run_dir: Path, expect: dict | None = None, **fields) -> dict | None:
    """Merge `fields` into status.json under the lock; the new status.

    With `expect`, a compare-and-set: only if every expected field still has that value,
    otherwise nothing is written and the result is None. A broken status is replaced.
    """
    with status_lock(run_dir):
        try:
            st = read_status(run_dir)
        except Broken:
            st = {}
        if expect is not None and any(st.get(k) != v for k, v in expect.items()):
            return None
        st.update(fields, updated=time.time())
        write_json(run_dir / STATUS, st)
        return st


# --------------------------------------------------------------- processes
def process_start(pid: int | None) -> int | None:
    """The start time of process `pid` (clock ticks since boot, /proc/<pid>/stat field 22); None if unknown."""
    if not pid:
        return None
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def pid_alive(pid: int | None, start: int | None = None) -> bool:
    """Whether `pid` runs (not a zombie) and, if `start` is given, is the process that started then."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:  # a zombie child has exited even though its pid still answers
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True  # no /proc: the pid answered, trust it
    if fields[0] == "Z":
        return False
    return start is None or fields[19:20] == [str(start)]  # a different start time: the pid was reused


# ------------------------------------------------------------------ the writer
class RunWriter:
    """Training callback writing a run folder: metrics.jsonl lines, status.json progress, checkpoints,
    snapshots and the final vectors (all but the metrics log through `write_atomic`)."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        self.metrics = (run_dir / METRICS).open("a")

    def _write(self, kind: str, st, metrics: dict) -> None:
        row = {"kind": kind, "step": st.step, "time": round(st.elapsed, 3), **{k: float(v) for k, v in metrics.items()}}
        self.metrics.write(json.dumps(row) + "\n")
        self.metrics.flush()
        update_status(self.dir, progress=st.progress, last=row)

    def on_step(self, st, metrics):
        self._write("step", st, metrics)

    def on_epoch_end(self, st, metrics):
        self._write("epoch", st, metrics)

    def on_checkpoint(self, st, ckpt):
        import torch

        write_atomic(self.dir / CHECKPOINT, lambda f: torch.save(ckpt, f))

    def on_snapshot(self, st, rows, words):
        folder = self.dir / SNAPSHOTS
        folder.mkdir(exist_ok=True)
        if not (folder / SNAPSHOT_WORDS).exists():
            write_atomic(folder / SNAPSHOT_WORDS, "\n".join(words) + "\n")
        name = f"{round(st.progress * 1000):04d}.npy"  # per mille of the run
        write_atomic(folder / name, lambda f: np.save(f, rows))

    def on_train_end(self, st, result):
        write_atomic(self.dir / VECTORS, result.vectors.save)

    def close(self):
        with contextlib.suppress(OSError):  # a full disk can fail the last flush; the rows before it are kept
            self.metrics.close()
