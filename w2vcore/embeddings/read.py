"""Readers for pretrained embedding files: word2vec text and binary, GloVe, fastText .vec, gensim KeyedVectors.

`read_embedding(path)` detects the format from the content (`detect_format`: a pickle is a
gensim `KeyedVectors.save` file; a first line of two whole numbers is word2vec's "V d"
header, followed by text or by raw float32 records; a word and numbers on the first line is
GloVe), or takes it from `format`. fastText's .vec is word2vec text with its header.

Files are streamed: text in blocks of lines whose numbers are parsed in one numpy call,
binary record by record. The float32 matrix is allocated once, sized from the header (or,
for GloVe, from a first pass counting lines), so memory stays near the kept matrix. These
formats list words most frequent first, so `limit` keeps the N most frequent words.
`progress(fraction)` reports the share of the file's bytes read. A bad file raises
`W2VError` naming its line (or record): a wrong number of values, a value that is not a
number or not finite, a repeated word, binary data where text is expected, a word that is
not valid in the chosen encoding.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .. import charset
from ..errors import W2VError
from .base import (BINARY_BLOCK, ENCODINGS, FORMATS, SNIFF, TEXT_BLOCK, ENCODING_HINT, HEADER_LINE, Embedding,
                   Progress, first_nonfinite_row)

def read_embedding(path: str | Path, format: str = "auto", limit: int | None = None, encoding: str = "utf-8",
                   progress: Progress | None = None) -> Embedding:
    """The embedding in `path`; `limit` keeps only the first (most frequent) N words."""
    if format not in FORMATS:
        raise W2VError(f"format must be one of {FORMATS}, got {format!r}")
    if encoding not in ENCODINGS:
        raise W2VError(f"the encoding of an embedding file must be one of {ENCODINGS}, got {encoding!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise W2VError(f"limit must be a whole number of words, at least 1, got {limit!r}")
    path = Path(path).expanduser()
    if not path.is_file():
        raise W2VError(f"embedding file {path} not found" if not path.exists() else f"{path} is not a file")
    fmt = detect_format(path) if format == "auto" else format
    progress = progress or (lambda fraction: None)
    if fmt == "keyedvectors":
        from .keyedvectors import read_keyedvectors

        return read_keyedvectors(path, limit, progress)
    try:
        with open(path, "rb") as f:
            codec = _codec(encoding, f.read(SNIFF))
            f.seek(0)
            if fmt == "word2vec-binary":
                return _read_binary(f, path, limit, codec, progress)
            return _read_text(f, path, fmt, limit, codec, progress)
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror or e}") from None


def detect_format(path: Path) -> str:
    """"keyedvectors", "word2vec" (text with a header), "word2vec-binary" or "glove", from the first bytes."""
    with open(path, "rb") as f:
        head = f.read(SNIFF)
    if not head.strip():
        raise W2VError(f"{path} is empty")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "keyedvectors"
    first, _, rest = head.partition(b"\n")
    header = HEADER_LINE.match(first)
    if header:
        d = int(header.group(2))
        line = rest.split(b"\n", 1)[0].rstrip()
        if b"\x00" not in line and len(line.split(b" ")) == d + 1 and _numbers(line.split(b" ")[1:]):
            return "word2vec"
        return "word2vec-binary"
    if b"\x00" in first:
        raise W2VError(f"{path} holds binary data but no word2vec header ('<words> <dimensions>' on line 1); "
                       "it is not an embedding file this program reads")
    fields = first.split()
    if len(fields) >= 2 and _numbers(fields[1:]):
        return "glove"
    raise W2VError(f"{path}, line 1: expected a word followed by numbers (GloVe) or '<words> <dimensions>' "
                   f"(word2vec), got {first[:60]!r}")


def _numbers(fields: list[bytes]) -> bool:
    try:
        [float(x) for x in fields]
        return True
    except ValueError:
        return False


def _codec(encoding: str, head: bytes) -> str:
    if encoding != "auto":
        return encoding
    name, _ = charset.detect(head)
    if name.startswith("utf-16"):
        raise W2VError("the file looks like UTF-16 text; embedding files are read as UTF-8, Latin-1 or cp1252: "
                       "convert it (iconv -f utf-16 -t utf-8) first")
    return name


def _header(f: BinaryIO, path: Path) -> tuple[int, int]:
    line = f.readline()
    m = HEADER_LINE.match(line)
    if not m or int(m.group(2)) < 1:
        raise W2VError(f"{path}, line 1: a word2vec file starts with '<number of words> <dimensions>', "
                       f"got {line[:60]!r}; a file without that line is GloVe (format glove)")
    return int(m.group(1)), int(m.group(2))


# ------------------------------------------------------------------ text
def _read_text(f: BinaryIO, path: Path, fmt: str, limit: int | None, codec: str, progress: Progress) -> Embedding:
    size = max(1, path.stat().st_size)
    if fmt == "glove":
        first = f.readline()
        if HEADER_LINE.match(first):
            raise W2VError(f"{path}, line 1 looks like a word2vec header ({first.strip()[:40]!r}); "
                           "choose the word2vec format (GloVe files have no header line)")
        d = len(first.split()) - 1
        if d < 1:
            raise W2VError(f"{path}, line 1: expected a word followed by its numbers, got {first[:60]!r}")
        f.seek(0)
        in_file = _count_lines(f, limit)
        n, line_no = min(in_file, limit or in_file), 1
        f.seek(0)
        in_file = None if limit and in_file >= limit else in_file
    else:
        in_file, d = _header(f, path)
        n, line_no = min(in_file, limit or in_file), 2
    matrix = np.empty((n, d), dtype=np.float32)
    words: list[str] = []
    seen: dict[str, int] = {}
    leftover, block_bytes = b"", int(min(TEXT_BLOCK, max(1 << 16, matrix.nbytes // 16)))  # within ~1/3 of the matrix
    while len(words) < n:
        block = f.read(block_bytes)
        data = leftover + block
        cut = data.rfind(b"\n") if block else len(data)
        if cut < 0:
            leftover = data
            continue
        lines = data[:cut].split(b"\n") if data[:cut] else []
        leftover = data[cut + 1:]
        _parse_lines(lines, line_no, matrix, words, seen, codec, path)
        line_no += len(lines)
        progress(min(1.0, f.tell() / size))
        if not block:
            break
    if len(words) < n:
        raise W2VError(f"{path} ends after {len(words):,} of the {in_file:,} words its header announces "
                       f"(line {line_no}); the file is truncated, or the header is wrong")
    progress(1.0)
    return Embedding(words, matrix, fmt, codec, in_file)


def _count_lines(f: BinaryIO, limit: int | None) -> int:
    """Lines in the file (a last line without a newline counts), stopping once past `limit`."""
    n, last = 0, b"\n"
    while block := f.read(BINARY_BLOCK):
        n += block.count(b"\n")
        last = block[-1:]
        if limit and n > limit:
            return n
    return n + (last != b"\n")


def _parse_lines(lines: list[bytes], line_no: int, matrix: np.ndarray, words: list[str], seen: dict[str, int],
                 codec: str, path: Path) -> None:
    """Append the non-blank `lines` (the first numbered `line_no`) as rows of `matrix`, up to its size.

    Fast path: one `np.loadtxt` (numpy's C parser) over the block's numbers; any doubt (a row
    of another length, a parse error, a non-finite value, a bad word) re-reads the block line
    by line to name the bad line.
    """
    row, d = len(words), matrix.shape[1]
    stripped = [s for s in map(bytes.rstrip, lines) if s][: len(matrix) - row]
    if not stripped:
        return
    heads, rests = zip(*(s.partition(b" ")[::2] for s in stripped))
    try:
        values = np.loadtxt(io.BytesIO(b"\n".join(rests)), dtype=np.float32, delimiter=" ", comments=None,
                            ndmin=2, encoding="latin-1")
    except ValueError:
        values = None
    try:
        block_words = [w.decode(codec) for w in heads]
    except UnicodeDecodeError:
        block_words = None
    if values is None or values.size != len(rests) * d or block_words is None or \
            not np.isfinite(values).all():
        block_words, values = _parse_slowly(lines, line_no, d, len(stripped), codec, path)
    matrix[row: row + len(block_words)] = values.reshape(-1, d)
    for i, word in enumerate(block_words):
        if seen.setdefault(word, row + i) != row + i:
            raise W2VError(f"{path}, line {_line_of(lines, line_no, i)}: the word {word!r} appears a second time "
                           f"(first as word {seen[word] + 1:,}); an embedding file lists each word once")
        words.append(word)


def _parse_slowly(lines: list[bytes], line_no: int, d: int, n: int, codec: str,
                  path: Path) -> tuple[list[str], np.ndarray]:
    """The first `n` non-blank lines parsed one by one; W2VError naming the first bad line."""
    words, rows = [], np.empty((n, d), dtype=np.float32)
    for no, line in enumerate(lines, line_no):
        if len(words) == n:
            break
        line = line.rstrip()
        if not line:
            continue
        where = f"{path}, line {no}"
        if b"\x00" in line:
            raise W2VError(f"{where} holds binary data, not text; is it a word2vec binary file "
                           "(format word2vec-binary)?")
        word, _, rest = line.partition(b" ")
        try:
            word_text = word.decode(codec)
        except UnicodeDecodeError as e:
            raise W2VError(f"{where}: the word {word[:40]!r} is not valid {codec} (byte {e.start + 1}); "
                           f"{ENCODING_HINT}") from None
        fields = rest.split()
        if len(fields) != d:
            raise W2VError(f"{where}: expected the word and {d} numbers, got {len(fields)} values after "
                           f"{word_text[:40]!r}")
        for k, x in enumerate(fields, 1):
            try:
                value = float(x)
            except ValueError:
                raise W2VError(f"{where}: value {k} ({x[:20].decode(codec, 'replace')!r}) is not a number") from None
            if not np.isfinite(np.float32(value)):
                raise W2VError(f"{where}: value {k} of {word_text[:40]!r} is {x[:20].decode(codec, 'replace')} "
                               "(not a finite number)")
        rows[len(words)] = np.array(fields, dtype=np.float32)
        words.append(word_text)
    return words, rows


def _line_of(lines: list[bytes], line_no: int, i: int) -> int:
    """The line number of the i-th non-blank line of `lines`."""
    nonblank = (no for no, line in enumerate(lines, line_no) if line.rstrip())
    for _ in range(i):
        next(nonblank)
    return next(nonblank)


# ---------------------------------------------------------------- binary
def _read_binary(f: BinaryIO, path: Path, limit: int | None, codec: str, progress: Progress) -> Embedding:
    """word2vec's C binary: "V d\\n", then per word: the word, a space, d little-endian float32 (and "\\n")."""
    size = max(1, path.stat().st_size)
    in_file, d = _header(f, path)
    n, row_bytes = min(in_file, limit or in_file), 4 * d
    matrix = np.empty((n, d), dtype=np.float32)
    words: list[str] = []
    seen: dict[str, int] = {}
    buf, pos = b"", 0
    for i in range(n):
        while (space := buf.find(b" ", pos)) < 0 or len(buf) < space + 1 + row_bytes:
            more = f.read(BINARY_BLOCK)
            if not more:
                raise W2VError(f"{path} ends after {i:,} of the {in_file:,} vectors its header announces "
                               "(truncated, or not a word2vec binary file)")
            buf, pos = buf[pos:] + more, 0
            progress(min(1.0, f.tell() / size))
        raw = buf[pos:space].lstrip(b"\n")
        record = buf[space + 1: space + 1 + row_bytes]
        if i == 0 and re.fullmatch(rb"[0-9eE.+\- \n\r]*", record):
            raise W2VError(f"{path}: the first vector is text ({record[:30]!r}...), not binary; "
                           "choose the word2vec (text) format")
        try:
            word = raw.decode(codec)
        except UnicodeDecodeError as e:
            raise W2VError(f"{path}, vector {i + 1:,} (byte {pos:,} of its block): the word {raw[:40]!r} is not "
                           f"valid {codec} (byte {e.start + 1}); {ENCODING_HINT}") from None
        if seen.setdefault(word, i) != i:
            raise W2VError(f"{path}, vector {i + 1:,}: the word {word!r} appears a second time "
                           f"(first as word {seen[word] + 1:,}); an embedding file lists each word once")
        words.append(word)
        matrix[i] = np.frombuffer(buf, "<f4", d, space + 1)
        pos = space + 1 + row_bytes
    i = first_nonfinite_row(matrix)
    if i is not None:
        raise W2VError(f"{path}, vector {i + 1:,} ({words[i]!r}) holds NaN or infinite values")
    progress(1.0)
    return Embedding(words, matrix, "word2vec-binary", codec, in_file)
