"""Reading saved report files as text: size and binary checks, then encoding detection."""

from __future__ import annotations

import codecs
import stat
from pathlib import Path

from store.models import ParseError

# Korean forum reposts saved on Windows are often CP949 (a superset of EUC-KR), so that is the
# one fallback after UTF-8; anything else is refused rather than decoded into mojibake.
_FALLBACK_ENCODINGS = ("cp949",)

# Control characters that never occur in real text files (tab, LF, FF, CR are fine).
_BAD_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\x0c", "\r"}


def read_text(path: Path, max_bytes: int = 20_000_000) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, else CP949/EUC-KR.

    Raises ParseError for files over `max_bytes`, binary files and undecodable bytes. The size is
    checked before reading, and the read itself stops after `max_bytes` (a file may grow, and
    /proc files claim size 0); anything but a regular file (a pipe, /dev/zero) is refused unread.
    """
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ParseError("is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ParseError("not a regular file (a pipe, socket or device)")
        if info.st_size > max_bytes:
            raise ParseError(f"file is too large ({info.st_size:,} bytes; limit {max_bytes:,})")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise ParseError(f"file is too large (over the limit of {max_bytes:,} bytes)")
    # A BOM is an explicit declaration, so honour UTF-16 before the NUL check rejects it.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _check_text(_decode(data, "utf-16"))
    if b"\x00" in data:
        raise ParseError("binary file (contains NUL bytes)")
    try:
        return _check_text(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    for encoding in _FALLBACK_ENCODINGS:
        try:
            return _check_text(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise ParseError("undecodable text (neither UTF-8 nor CP949/EUC-KR)")


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ParseError(f"undecodable {encoding} text") from exc


def _check_text(text: str) -> str:
    """Refuse decoded text that is mostly control characters (a binary file that happens to
    decode, e.g. as CP949)."""
    sample = text[:100_000]
    if sample and sum(ch in _BAD_CONTROL for ch in sample) > len(sample) // 100:
        raise ParseError("binary file (too many control characters)")
    return text
