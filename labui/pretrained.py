"""The form that opens a pretrained embedding (GloVe, word2vec, fastText .vec, gensim KeyedVectors) as a
read-only entry beside the trained runs, and the import running behind it.

A file on this machine is read in place, so millions of words never pass through the browser; an
upload (small files, Streamlit's upload limit) is saved to the cache folder first. The import runs on
a thread of its own (`ImportJob`): the page stays usable, a fragment polls its progress, and a
finished import adds its entry to the sidebar selection (`runs.arrivals`). A bad file leaves no entry
and shows the reader's message, which names the line.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from w2vcore.embeddings import ENCODINGS, FORMATS, import_embedding
from w2vcore.errors import W2VError
from w2vcore.runs import RunStore

from . import runs
from .text import plain

JOB = "import.job"  # this session's import (one at a time)
FORMAT_LABELS = {"auto": "detect from the file", "word2vec": "word2vec text (header line)",
                 "word2vec-binary": "word2vec binary (.bin)", "glove": "GloVe text (no header)",
                 "fasttext": "fastText .vec", "keyedvectors": "gensim KeyedVectors (.kv, .model)"}
ENCODING_LABELS = {"utf-8": "UTF-8", "latin-1": "Latin-1", "cp1252": "Windows-1252 (cp1252)",
                   "auto": "auto (UTF-8 if valid, else cp1252)"}
WAYS = {"path": "a file on this machine", "upload": "an upload"}


class Cancelled(Exception):
    """Raised from the progress callback when the user cancels: the reader stops, no entry is written."""


@dataclass
class ImportJob:
    """One import on its own thread. The thread writes only these fields; the page reads them."""

    name: str
    path: str
    progress: float = 0.0  # 0..1, from import_embedding's progress callback
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    run_id: str | None = None
    error: str = ""
    cancelled: bool = False
    finished: bool = False
    shown: bool = False  # the page has redrawn once since it finished (table and sidebar updated)

    @property
    def elapsed(self) -> float:
        return self.seconds if self.finished else time.perf_counter() - self.started

    def report(self, fraction: float) -> None:
        if self.cancelled and fraction < 0.95:  # past 0.95 the entry is being written: let it finish
            raise Cancelled
        self.progress = fraction

    def run(self, store: RunStore, fmt: str, limit: int | None, encoding: str, arrivals: list[str]) -> None:
        try:
            self.run_id = import_embedding(store, self.path, self.name, fmt, limit, encoding, self.report)
            arrivals.append(self.run_id)
        except Cancelled:
            self.error = "Import cancelled; nothing was added."
        except W2VError as e:
            self.error = str(e)
        except MemoryError:
            self.error = ("Not enough memory for this embedding: keep fewer words (the \"keep the N most frequent "
                          "words\" limit) and import it again.")
        except Exception as e:  # the page must say what happened, whatever it was
            self.error = f"The import failed ({type(e).__name__}: {e})."
        finally:
            self.seconds = time.perf_counter() - self.started
            self.finished = True


def start(store: RunStore, path: str, name: str, fmt: str, limit: int | None, encoding: str) -> ImportJob:
    """Start importing `path` on a thread; the job is kept in the session under `JOB`."""
    job = ImportJob(name=name, path=path)
    thread = threading.Thread(target=job.run, args=(store, fmt, limit, encoding, runs.arrivals()),
                              name=f"import-{Path(path).name}", daemon=True)
    st.session_state[JOB] = job
    thread.start()
    return job


def job() -> ImportJob | None:
    return st.session_state.get(JOB)


def saved_upload(data: bytes, filename: str, folder: Path) -> Path:
    """The uploaded bytes as `folder/<sha256[:16]>-<filename>` (written once; the suffix keeps the file's type)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}-{Path(filename).name}"
    if not (target.is_file() and target.stat().st_size == len(data)):
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def form() -> None:
    """Where the file comes from, its name, format, encoding and limit, and the Import button."""
    store = runs.store()
    upload_mb = st.get_option("server.maxUploadSize")
    way = st.radio("From", list(WAYS), horizontal=True, key="import.way", format_func=WAYS.get)
    if way == "path":
        path = st.text_input("Path of the embedding file", key="import.path",
                             placeholder="/data/glove.6B.300d.txt",
                             help="read in place, at any size (millions of words × 300): nothing is uploaded")
        stem = Path(path.strip()).stem if path.strip() else ""
    else:
        upload = st.file_uploader(f"An embedding file (up to {upload_mb} MB)", key="import.upload",
                                  help="for small files; give a larger file as a path on this machine instead")
        st.caption(f"Uploads go through the browser and are limited to {upload_mb} MB; a larger file (GloVe 6B "
                   "300d is about 1 GB) is read in place from its path.")
        stem = Path(upload.name).stem if upload is not None else ""
    a, b, c, d = st.columns([3, 3, 2, 2])
    name = a.text_input("Name", key="import.name", placeholder=stem or "the file's name",
                        help="shown in the run lists; the id adds a time stamp")
    fmt = b.selectbox("Format", list(FORMATS), key="import.format", format_func=FORMAT_LABELS.get,
                      help="detected from the first bytes: a word2vec header line (text or binary), a word and "
                           "numbers (GloVe), a pickle (gensim). Unpickling a gensim file runs code from it: "
                           "open only files you trust.")
    encoding = c.selectbox("Encoding of the words", list(ENCODINGS), key="import.encoding",
                           format_func=ENCODING_LABELS.get,
                           help="UTF-8 for GloVe, fastText and most files; older word2vec files may be Latin-1 "
                                "or cp1252")
    limit = d.number_input("Keep the N most frequent words (0 = all)", min_value=0, max_value=100_000_000,
                           value=0, step=10_000, key="import.limit",
                           help="these files list words most frequent first, so reading stops after N words; "
                                "less memory and a faster import")
    current = job()
    busy = current is not None and not current.finished
    if not st.button("Import", type="primary", icon=":material/upload_file:", key="import.go", disabled=busy):
        return
    if way == "path":
        if not path.strip():
            st.error("Type the path of the embedding file first.")
            return
        source = str(Path(path.strip()).expanduser())
    else:
        if upload is None:
            st.error("Choose a file to upload first.")
            return
        try:
            source = str(saved_upload(upload.getvalue(), upload.name, store.cache_dir / "uploads"))
        except OSError as e:
            st.error(plain(f"The upload cannot be saved in {store.cache_dir / 'uploads'}: {e.strerror or e}"))
            return
    start(store, source, name.strip() or stem or "embedding", fmt, limit or None, encoding)
    st.rerun()  # the progress fragment takes over


def progress() -> None:
    """The current import's progress bar (polled), or how it ended; redraws the app once when it ends."""
    current = job()
    if current is None:
        return

    @st.fragment(run_every=0.5 if not current.finished else None)
    def poll() -> None:
        now = job()
        if now is None:
            return
        if not now.finished:
            bar, cancel = st.columns([5, 1], vertical_alignment="bottom")
            stage = (f"{now.progress:.0%}" if now.progress > 0 else
                     "opening (a GloVe file's lines are counted first)")
            bar.progress(min(1.0, now.progress), text=f"Importing {plain(Path(now.path).name)}: {stage} · "
                                                      f"{now.elapsed:.0f} s")
            if cancel.button("Cancel", key="import.cancel", icon=":material/cancel:"):
                now.cancelled = True
            return
        if not now.shown:
            now.shown = True
            st.rerun(scope="app")  # the runs table and the sidebar show the new entry
        if now.run_id:
            st.success(f"Imported **{plain(now.name)}** in {now.seconds:.1f} s and added it to the sidebar "
                       "selection: open it on Explore, Compare, Bias, Values or Export.",
                       icon=":material/check_circle:")
        else:
            st.error(plain(now.error + " Your other runs are untouched."), icon=":material/error:")

    poll()
