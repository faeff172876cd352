"""Text encodings: the choices a user has, and detection for "auto".

A corpus file, an upload or an embedding file is read in the encoding the user picks
(`ENCODINGS`). "auto" decides from the first bytes: a byte-order mark, then UTF-16's
pattern of NUL bytes, then UTF-8 validity, else Windows-1252 (a superset of Latin-1's
printable characters, what Windows editors save), with a note saying so.
"""
from __future__ import annotations

import codecs

ENCODINGS = ("utf-8", "utf-16", "latin-1", "cp1252", "auto")
ADVICE = "pick its encoding (the Data page's Encoding choice, or --encoding; 'auto' detects UTF-16 and Windows-1252)"
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def codec(encoding: str, head: bytes) -> tuple[str, str]:
    """(the Python codec to read a file with, a note for the user or "") from the chosen encoding
    and the file's first bytes (a sample of a few KB to a MB)."""
    if encoding == "auto":
        return detect(head)
    if encoding == "utf-8":
        return "utf-8-sig", ""  # a BOM is dropped, as before
    if encoding == "utf-16":
        return _utf16(head) or "utf-16-le", ""
    return encoding, ""


def detect(head: bytes) -> tuple[str, str]:
    """(codec, note) for `head`, the first bytes of a file; the note is "" unless the guess needs saying."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, ""
    utf16 = _utf16(head)
    if utf16:
        return utf16, f"read as UTF-16 ({'little' if utf16.endswith('le') else 'big'}-endian, no byte-order mark)"
    try:
        head.decode("utf-8")
        return "utf-8", ""
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 4 and e.reason == "unexpected end of data":  # a character cut by the sample
            return "utf-8", ""
    return "cp1252", f"not UTF-8; read as Windows-1252 (cp1252). If accented letters look wrong, {ADVICE}"


def _utf16(head: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when the NUL bytes fall on odd/even offsets as in UTF-16 text, else None."""
    for bom, name in _BOMS[1:]:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    if odd > 0.3 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.3 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None
