"""Parsing saved reports (Korean forum reposts, ISW pages, markdown clips, plain text, and
datasets of many reports) into `store.models.Report`.

Every failure is a `ParseError` with a one-line reason; `parse_file` prefixes the file name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from store.models import ParseError, Report, SourceFormat, SourceHints
from store.parsers.cyrillic_repost import looks_like_cyrillic_repost, parse_cyrillic_repost
from store.parsers.datasets import (
    DATASET_SUFFIXES,
    NotADatasetError,
    RecordResult,
    looks_like_dataset,
    parse_dataset,
)
from store.parsers.isw_html import looks_like_html, page_text, parse_isw_html
from store.parsers.korean_repost import looks_like_korean_repost, parse_korean_repost
from store.parsers.markdown import looks_like_markdown, parse_markdown
from store.parsers.plain_text import parse_plain_text
from store.sources import read_text

__all__ = [
    "DATASET_SUFFIXES",
    "NotADatasetError",
    "ParseError",
    "RecordResult",
    "detect_format",
    "parse_file",
    "parse_path",
    "parse_text",
]

_PARSERS: dict[SourceFormat, Callable[[str, str, SourceHints | None], Report]] = {
    SourceFormat.ISW_HTML: parse_isw_html,
    SourceFormat.KOREAN_REPOST: parse_korean_repost,
    SourceFormat.MARKDOWN: parse_markdown,
    SourceFormat.PLAIN_TEXT: parse_plain_text,
    SourceFormat.CYRILLIC_REPOST: parse_cyrillic_repost,
}


def detect_format(text: str) -> SourceFormat:
    """The format of a document, judged by its content (file extensions lie)."""
    if looks_like_html(text):
        return SourceFormat.ISW_HTML
    # Before markdown: a repost pasted with "**" or "- " bullets is still a repost.
    if looks_like_korean_repost(text):
        return SourceFormat.KOREAN_REPOST
    if looks_like_cyrillic_repost(text):
        return SourceFormat.CYRILLIC_REPOST
    if looks_like_markdown(text):
        return SourceFormat.MARKDOWN
    return SourceFormat.PLAIN_TEXT


def parse_text(text: str, source: str, hints: SourceHints | None = None) -> Report:
    """Parse one document; `source` (normally its path) is recorded on the report; `hints`
    is what is known about it from outside its text (its file name, a record's other fields)."""
    text = text.lstrip("\ufeff")  # a BOM left by a caller that decoded the file itself
    if not text.strip():
        raise ParseError("empty document")
    if "\x00" in text:
        raise ParseError("binary data (contains NUL characters)")
    try:
        found = detect_format(text)
        if found is SourceFormat.ISW_HTML and looks_like_korean_repost(text):
            # Hangul in the page (a linear count of the raw text first: lexbor is not run twice
            # on every page): a Korean forum's repost saved as a web page is read as the repost
            # it is, so its Korean summary pairs with the English takeaways.
            visible = page_text(text)
            if looks_like_korean_repost(visible):
                return parse_korean_repost(visible, source, hints)
        return _PARSERS[found](text, source, hints)
    except ParseError:
        raise
    except Exception as exc:
        # A parser bug on odd input must still surface as "this file could not be parsed", so
        # one bad file never stops an ingest (seen: RecursionError from deeply nested YAML front
        # matter, OverflowError from a front-matter date of 9999-12-31).
        reason = " ".join(str(exc).split())[:300]  # one line, even for pydantic's errors
        raise ParseError(f"unexpected parser failure: {type(exc).__name__}: {reason}") from exc


def parse_file(path: Path) -> Report:
    """read_text + parse_text for a file holding one report; the ParseError names the file."""
    try:
        return parse_text(read_text(path), str(path), SourceHints(file_name=path.name))
    except ParseError as exc:
        raise type(exc)(f"{_name(path)}: {exc}") from exc


def parse_path(path: Path) -> list[RecordResult]:
    """The reports in a file: one for a report file (raising ParseError as parse_file does),
    one result per record for a dataset (JSON, JSON Lines, CSV, TSV)."""
    try:
        text = read_text(path)
        if not looks_like_dataset(text, path.suffix.lower()):
            return [RecordResult(0, parse_text(text, str(path), SourceHints(file_name=path.name)))]
        return parse_dataset(text, str(path), path.suffix.lower(), path.name)
    except ParseError as exc:
        raise type(exc)(f"{_name(path)}: {exc}") from exc


def _name(path: Path) -> str:
    return str(path) if str(path).isprintable() else repr(str(path))  # keep it one line
