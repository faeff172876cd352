"""Corpus sources -> documents of raw text segments.

A document is a `list[str]` of segments; a segment is at most one sentence-boundary
unit (a line, or a Brown sentence), and the tokenizer may split it further. Word
contexts never cross segments. Files are streamed, so a source may exceed RAM.

Kinds: "text" (a file or a folder of *.txt), "brown" (NLTK's tagged Brown layout) and
"default" (the wiki sample and Lee corpus shipped in gensim's wheel, offline).
Files are decoded in the source's `encoding` (`w2vcore.charset`: utf-8, utf-16, latin-1,
cp1252 or auto-detected); undecodable bytes are replaced and the user is told which
encoding to pick instead.
"""
from __future__ import annotations

import bz2
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from . import charset
from .config import CorpusSource
from .errors import W2VError

Progress = Callable[[float], None]  # fraction of the source's bytes read, 0..1

WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_CORPUS = "lee_background.cor"
WIKI_MIN_WORDS = 50  # shorter pages (stubs, disambiguations) are skipped, as gensim's WikiCorpus does
BROWN_FILE = re.compile(r"^c[a-r]\d\d$")
BINARY_SNIFF = 8192  # bytes searched for NUL
DECODE_SAMPLE = 1 << 20  # bytes decoded to measure the undecodable share
MAX_UNDECODABLE = 0.30


def iter_documents(source: CorpusSource, notes: list[str] | None = None,
                   progress: Progress | None = None) -> Iterator[list[str]]:
    """Yield the documents of `source` in a fixed order.

    notes, if given, collects warnings for the user (e.g. undecodable bytes replaced);
    progress, if given, is called after each document with the fraction of bytes read.
    """
    notes = [] if notes is None else notes
    progress = progress or (lambda fraction: None)
    if source.kind == "default":
        yield from _default_documents(notes, progress)
        return
    files = _source_files(source)
    total = max(1, sum(_size(p) for p in files))
    label = source.name if source.name and len(files) == 1 else None  # an upload: its name, not the cache file's
    done = 0
    for path in files:
        def file_progress(pos: int, done=done) -> None:
            progress(min(1.0, (done + pos) / total))

        if source.kind == "brown":
            yield from _brown_documents(path, notes, file_progress, source.encoding)
        elif _size(path) > 0 or len(files) == 1:
            yield from _text_documents(path, notes, file_progress, label, source.encoding)
        else:
            notes.append(f"{path.name} is empty and was skipped")
        done += _size(path)


def brown_categories(path: str | Path) -> dict[str, str]:
    """Brown file id -> genre ("ca01" -> "news") from cats.txt; {} when it is absent."""
    cats = Path(path) / "cats.txt"
    if not cats.is_file():
        return {}
    out = {}
    for line in _read_text(cats, []).splitlines():
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out


def save_upload(data: bytes, filename: str, upload_dir: Path, notes: list[str] | None = None,
                encoding: str = "utf-8") -> CorpusSource:
    """Store uploaded bytes as `upload_dir/<sha256[:16]>.txt` (idempotent) and return its source,
    to be read in `encoding`.

    notes, if given, gets a warning when the start of the file does not decode in `encoding`
    (reading it will replace those bytes), or what "auto" decided when that needs saying.
    """
    source = CorpusSource(kind="text", path="upload", name=filename, encoding=encoding)  # validates the encoding
    head = data[:DECODE_SAMPLE]
    _check_bytes(head, len(data), filename, encoding)
    if notes is not None:
        name, note = charset.codec(encoding, head)
        if note:
            notes.append(f"{filename}: {note}")
        try:
            head.decode(name)
        except UnicodeDecodeError as e:
            if e.start < DECODE_SAMPLE - 4:  # not just a character cut at the sample's end
                notes.append(f"{filename} is not valid {_show(encoding)} (first bad byte at offset {e.start:,}); "
                             f"its undecodable bytes will be replaced, so accented words may split. If it was saved "
                             f"in another encoding (Windows and older Mac editors often use cp1252/Latin-1), "
                             f"{charset.ADVICE}.")
    upload_dir = Path(upload_dir)
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = upload_dir / f"{hashlib.sha256(data).hexdigest()[:16]}.txt"
    if not (target.is_file() and target.stat().st_size == len(data)):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=upload_dir)  # unique per writer
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    return dataclasses.replace(source, path=str(target))


def _show(encoding: str) -> str:
    return {"utf-8": "UTF-8", "utf-16": "UTF-16", "latin-1": "Latin-1", "cp1252": "Windows-1252 (cp1252)"}.get(
        encoding, encoding)


def gensim_test_data() -> Path | None:
    """gensim's bundled test_data folder, found without importing gensim; None if not installed."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data"
    return folder if folder.is_dir() else None


def gensim_file(name: str) -> Path:
    """A file bundled with gensim (the built-in corpus, SimLex, ...), or W2VError saying what is missing."""
    folder = gensim_test_data()
    if folder is None or not (folder / name).is_file():
        raise W2VError(f"gensim's bundled {name} was not found: the built-in data comes with the gensim package "
                       "(pip install -r requirements.txt)")
    return folder / name


def source_fingerprint(source: CorpusSource) -> str:
    """A stable string that changes when the source's files change (part of the cache key)."""
    if source.kind == "default":  # without importing gensim (0.5-2 s): a run's start waits on this
        files = [[name, gensim_file(name).stat().st_size] for name in (WIKI_DUMP, LEE_CORPUS)]
        return json.dumps({"kind": "default", "gensim": importlib.metadata.version("gensim"), "files": files})
    root = Path(source.path).expanduser()
    files = []
    for p in _source_files(source):
        try:
            st = p.stat()
        except OSError as e:
            raise _read_error(p, e) from None
        files.append([p.name if p == root else p.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
    if source.encoding != "utf-8":  # utf-8, the default, is left out: caches made before the choice keep their key
        return json.dumps({"kind": source.kind, "files": files, "encoding": source.encoding})
    return json.dumps({"kind": source.kind, "files": files})


def _source_files(source: CorpusSource) -> list[Path]:
    """The files a "text" or "brown" source reads, in corpus order."""
    root = Path(source.path).expanduser()
    if not root.exists():
        raise W2VError(f"corpus path {source.path} not found")
    if source.kind == "brown":
        return _brown_files(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise W2VError(f"corpus path {source.path} is neither a file nor a folder")
    files = sorted((p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".txt"),
                   key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise W2VError(f"folder {root} has no .txt files; a text corpus folder is read as every *.txt inside it")
    if all(_size(p) == 0 for p in files):
        raise W2VError(f"every .txt file in {root} is empty")
    return files


def _brown_files(root: Path) -> list[Path]:
    if not root.is_dir():
        raise W2VError(f"a Brown corpus path must be a folder (NLTK's corpora/brown), got the file {root}")
    listed = brown_categories(root)
    if listed:
        missing = sorted(f for f in listed if not (root / f).is_file())
        if missing:
            raise W2VError(f"cats.txt in {root} lists {len(missing)} files that are missing, e.g. {missing[0]}")
        return [root / f for f in sorted(listed)]
    files = sorted(p for p in root.iterdir() if p.is_file() and BROWN_FILE.match(p.name))
    if not files:
        raise W2VError(f"{root} has no Brown files (ca01 ... cr09) and no cats.txt; is it NLTK's corpora/brown?")
    return files


def _brown_documents(path: Path, notes: list[str], progress: Callable[[int], None],
                     encoding: str = "utf-8") -> Iterator[list[str]]:
    """One document per file; one segment per tagged sentence, tags removed ("Jury/nn-tl" -> "Jury")."""
    segments = []
    for line in _read_text(path, notes, encoding).splitlines():
        words = [tok.rsplit("/", 1)[0] for tok in line.split()]
        if words:
            segments.append(" ".join(words))
    progress(path.stat().st_size)
    if segments:
        yield segments


def _text_documents(path: Path, notes: list[str], progress: Callable[[int], None],
                    label: str | None = None, encoding: str = "utf-8") -> Iterator[list[str]]:
    """Blank-line-separated paragraphs, segments = lines; without blank lines each line is a document."""
    _check_file(path, encoding)
    by_paragraph = _has_blank_separator(path, encoding)
    with _open_lines(path, notes, label, encoding) as (lines, raw):
        paragraph = []
        for line in lines:
            line = line.strip()
            if line and not by_paragraph:
                yield [line]
                progress(raw.tell())
            elif line:
                paragraph.append(line)
            elif paragraph:
                yield paragraph
                paragraph = []
                progress(raw.tell())
        if paragraph:
            yield paragraph
    progress(path.stat().st_size)


def _has_blank_separator(path: Path, encoding: str) -> bool:
    """Whether a blank line separates two non-empty lines somewhere in the file."""
    seen_text = pending_blank = False
    with _open_lines(path, None, encoding=encoding) as (lines, _):
        for line in lines:
            if not line.strip():
                pending_blank = seen_text
            elif pending_blank:
                return True
            else:
                seen_text = True
    return False


@contextmanager
def _open_lines(path: Path, notes: list[str] | None, label: str | None = None,
                encoding: str = "utf-8") -> Iterator[tuple[Iterator[str], BinaryIO]]:
    """(decoded lines, the binary file under them); notes gets a warning (naming `label`, else the
    file) if bytes were replaced, and what "auto" decided when that needs saying."""
    replaced = 0

    def lines() -> Iterator[str]:
        nonlocal replaced
        try:
            for line in text:
                if "\ufffd" in line:
                    replaced += line.count("\ufffd")
                yield line
        except OSError as e:  # a disk or network error in the middle of the file
            raise _read_error(path, e) from None

    with _open_binary(path) as raw:
        name, note = charset.codec(encoding, _head(path, raw))
        raw.seek(0)
        with io.TextIOWrapper(raw, encoding=name, errors="replace") as text:
            yield lines(), raw
    if notes is not None and note:
        notes.append(f"{label or path.name}: {note}")
    if notes is not None and replaced:
        notes.append(f"{label or path.name}: {replaced} undecodable bytes replaced (the file is not valid "
                     f"{_show(encoding if encoding != 'auto' else name)}); {charset.ADVICE}")


def _read_text(path: Path, notes: list[str], encoding: str = "utf-8") -> str:
    """A small file's whole text, validated and decoded like a streamed one."""
    _check_file(path, encoding)
    with _open_lines(path, notes, encoding=encoding) as (lines, _):
        return "".join(lines)


def _head(path: Path, f: BinaryIO) -> bytes:
    try:
        return f.read(DECODE_SAMPLE)
    except OSError as e:
        raise _read_error(path, e) from None


def _check_file(path: Path, encoding: str = "utf-8") -> None:
    with _open_binary(path) as f:
        _check_bytes(_head(path, f), _size(path), str(path), encoding)


@contextmanager
def _open_binary(path: Path) -> Iterator[BinaryIO]:
    """open(path, "rb"), with W2VError naming the file when it cannot be opened (permissions, a folder, ...)."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise _read_error(path, e) from None
    with f:
        yield f


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as e:
        raise _read_error(path, e) from None


def _read_error(path: Path, e: OSError) -> W2VError:
    reason = e.strerror or type(e).__name__
    if isinstance(e, PermissionError):
        return W2VError(f"cannot read {path}: permission denied; make the file readable (chmod +r) or copy it")
    return W2VError(f"cannot read {path}: {reason}")


def read_phrases(path: str | Path) -> list[str]:
    """Multi-word expressions from a UTF-8 text file, one a line (blank lines skipped).

    W2VError (naming the file) when it is missing, a folder, unreadable, binary or not UTF-8:
    phrases are matched exactly, so undecodable bytes are refused rather than replaced.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise W2VError(f"phrases file {path} not found")
    if not path.is_file():
        raise W2VError(f"phrases file {path} is not a file; give a text file with one phrase a line")
    with _open_binary(path) as f:
        try:
            data = f.read()
        except OSError as e:
            raise _read_error(path, e) from None
    if b"\x00" in data[:BINARY_SNIFF]:
        raise W2VError(f"phrases file {path} does not look like text (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise W2VError(f"phrases file {path} is not valid UTF-8 (first bad byte at offset {e.start:,}); "
                       "save it as UTF-8") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _check_bytes(head: bytes, size: int, name: str, encoding: str = "utf-8") -> None:
    """Raise W2VError unless `head` (the first bytes of a `size`-byte file) looks like text in `encoding`."""
    if size == 0:
        raise W2VError(f"{name} is empty")
    codec, _ = charset.codec(encoding, head)
    if codec.startswith("utf-16"):
        head = head.decode(codec, errors="replace").encode("utf-8")
        codec = "utf-8"
    if b"\x00" in head[:BINARY_SNIFF]:
        hint = ("if it is UTF-16 text, pick UTF-16 or auto as its encoding (the Data page, or --encoding utf-16)"
                if encoding != "auto" else "upload plain text")
        raise W2VError(f"{name} does not look like text (it contains NUL bytes); {hint}")
    decoded = head.decode(codec, errors="replace")
    if decoded.count("\ufffd") > MAX_UNDECODABLE * max(1, len(decoded)):
        raise W2VError(f"{name} does not look like text (over {MAX_UNDECODABLE:.0%} of it is not "
                       f"{_show(encoding)}); if it is text, {charset.ADVICE}")


def _default_documents(notes: list[str], progress: Progress) -> Iterator[list[str]]:
    """gensim's shortened wiki dump (one document per article), then Lee (one per line).

    gensim is imported here, not at module level: importing it takes about 2 s.
    """
    from gensim.corpora.wikicorpus import IGNORED_NAMESPACES, extract_pages, filter_wiki

    wiki, lee = gensim_file(WIKI_DUMP), gensim_file(LEE_CORPUS)
    total = wiki.stat().st_size + lee.stat().st_size
    ignored = tuple(ns + ":" for ns in IGNORED_NAMESPACES)
    with open(wiki, "rb") as raw, bz2.BZ2File(raw) as f:
        for title, text, _ in extract_pages(f):
            if text.lstrip()[:9].lower() == "#redirect" or (title or "").startswith(ignored):
                continue
            plain = filter_wiki(text)
            if len(plain.split()) < WIKI_MIN_WORDS:
                continue
            segments = [line.strip() for line in plain.splitlines() if line.strip()]
            yield segments
            progress(raw.tell() / total)
    for line in _read_text(lee, notes).splitlines():
        if line.strip():
            yield [line.strip()]
    progress(1.0)
