"""Imported embeddings as read-only entries of the run store.

`import_embedding(store, FILE)` reads a pretrained embedding (`w2vcore.embeddings`) and
writes one folder beside the trained runs:

    vectors.npz   keys + float32 vectors, the format trained runs use (uncompressed: np.load reads it fast)
    status.json   {"status": "done", "kind": "imported", "progress": 1, ...}
    source.json   name, origin (absolute path), format, encoding, limit, words kept and in the file, dimensions

Every file goes through `runfolder.write_atomic`, and source.json comes last: until it exists
the folder is not an entry, so a failed or killed import is never listed. `RunStore.list()`
shows the entry with kind "imported" and status done; `RunStore.load_vectors` loads it.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import runfolder as rf
from ..runs import RunStore
from .base import Embedding, Progress
from .read import read_embedding


def import_embedding(store: RunStore, path: str | Path, name: str | None = None, format: str = "auto",
                     limit: int | None = None, encoding: str = "utf-8",
                     progress: Progress | None = None) -> str:
    """Read `path` and add it to `store` as an imported entry; its id.

    `progress(fraction)` covers reading (0..0.95) and writing (to 1).
    """
    path = Path(path).expanduser().resolve()
    report = progress or (lambda fraction: None)
    started = time.perf_counter()
    emb = read_embedding(path, format, limit, encoding, lambda f: report(0.95 * f))
    name = name or path.stem
    run_id, folder = store.new_folder(name)
    with rf.whole_or_gone(folder, f"write the imported embedding to {folder}"):
        rf.write_atomic(folder / rf.VECTORS, lambda f: _save(f, emb))
        now = time.time()
        rf.write_json(folder / rf.STATUS, {"status": "done", "kind": "imported", "created": now, "updated": now,
                                           "progress": 1.0})
        rf.write_json(folder / rf.SOURCE, {
            "kind": "imported", "name": name, "origin": str(path), "format": emb.format, "encoding": emb.encoding,
            "limit": limit, "words": len(emb.words), "words_in_file": emb.in_file, "dim": int(emb.vectors.shape[1]),
            "bytes": _size(path), "seconds": round(time.perf_counter() - started, 2), "notes": emb.notes})
    report(1.0)
    return run_id


def _save(f, emb: Embedding) -> None:
    """The npz `Vectors.save` writes, streamed from the matrix (numpy writes it in chunks: no copy)."""
    np.savez(f, keys=np.array(emb.words, dtype=np.str_), vectors=emb.vectors)


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
