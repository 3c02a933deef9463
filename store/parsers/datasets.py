"""Files holding many reports: JSON (a list, an object with a list under some key, or a single
object), JSON Lines, CSV and TSV, as research projects publish them.

A record is a report when it has a long text field (the body) and a date-like field, and maybe a
title, a URL and authors. The fields are found by what they hold, not by their names, which
differ from one project to the next: a column is the body when its values are long prose, a
date when they read as dates or timestamps, and so on. The body is then parsed like a paste
(store.parsers.plain_text, after store.parsers.flattened restores its paragraphs), with the
other fields as outside evidence (store.models.SourceHints).

A null, empty or malformed record is counted and named by its index; it never stops the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from store.models import ParseError, Report, SourceFormat, SourceHints
from store.parsers import text as tx
from store.parsers.report_date import eastern_date

DATASET_SUFFIXES = {".json", ".jsonl", ".ndjson", ".csv", ".tsv"}
# A body is long prose: a report's text runs to thousands of characters.
_MIN_BODY_CHARS = 500
_MAX_FIELD_CHARS = 20_000_000
# Columns are judged on this many records (enough to see past nulls, cheap on big files).
_SAMPLE = 500
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
# A column name is short; a first line with a longer cell is already a record.
_MAX_HEADER_CELL = 200
# How deep to look for the list of records in a JSON object ({"data": {"reports": [...]}}).
_MAX_DEPTH = 4


@dataclass
class RecordResult:
    """One record's fate: a report, or why there is none (`empty` records are only counted)."""

    index: int
    report: Report | None = None
    reason: str = ""
    empty: bool = False


@dataclass
class Columns:
    """Which fields of the records hold what (dotted paths for nested objects)."""

    body: str
    dates: list[str] = field(default_factory=list)
    title: str | None = None
    url: str | None = None
    authors: str | None = None


class NotADatasetError(ParseError):
    """A table or JSON file that holds no report text at all (a manifest such as SOURCES.tsv,
    a config file): not a failed report, so an ingest counts it as skipped."""


def looks_like_dataset(text: str, suffix: str) -> bool:
    """By extension for .json/.jsonl/.csv/.tsv; any other file only when it parses as JSON
    (a .txt that starts with "[ISW]" is a repost, not a list)."""
    if suffix in DATASET_SUFFIXES:
        return True
    if text.lstrip()[:1] not in ("[", "{"):
        return False
    try:
        return isinstance(json.loads(text), list | dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def parse_dataset(text: str, source: str, suffix: str, file_name: str = "") -> list[RecordResult]:
    """Every record of a dataset file, in order. Raises ParseError only when the file as a whole
    cannot be read as a dataset of reports (not JSON, no column of report text)."""
    from store.parsers import parse_text  # the parsers package imports this module

    records = _records(text, suffix)
    rows = [(i, _flatten(value)) for i, value in enumerate(records)]
    columns = find_columns([row for _, row in rows if isinstance(row, dict)])
    if columns is None and not any(
        isinstance(r, str) and len(r) >= _MIN_BODY_CHARS for _, r in rows
    ):
        raise NotADatasetError(
            f"not a dataset of reports: none of its {len(records)} records has a field of "
            f"report text ({_MIN_BODY_CHARS}+ characters)"
        )
    results: list[RecordResult] = []
    for index, row in rows:
        if isinstance(row, _Malformed):
            results.append(RecordResult(index, reason="not valid JSON"))
            continue
        if _is_empty(row):
            results.append(RecordResult(index, empty=True, reason=_empty_reason(records[index])))
            continue
        if isinstance(row, str):  # a list of bare report texts
            body, hints = row, SourceHints(file_name=file_name)
        elif not isinstance(row, dict):
            reason = f"not a record but {type(records[index]).__name__}"
            results.append(RecordResult(index, reason=reason))
            continue
        else:
            body = row.get(columns.body) if columns else None
            hints = _hints(row, columns, file_name) if columns else SourceHints(file_name=file_name)
        if not isinstance(body, str) or len(body.strip()) < _MIN_BODY_CHARS:
            results.append(RecordResult(index, reason="no report text in this record"))
            continue
        try:
            report = parse_text(body, f"{source}#{index}", hints)
        except ParseError as err:
            results.append(RecordResult(index, reason=str(err)))
            continue
        results.append(
            RecordResult(index, report.model_copy(update={"source_format": SourceFormat.DATASET}))
        )
    return results


def find_columns(rows: list[dict[str, Any]]) -> Columns | None:
    """The body, date, title, URL and author fields, judged by the values of sampled rows."""
    sample = rows[:_SAMPLE]
    keys = list(dict.fromkeys(k for row in sample for k in row))
    values = {
        k: [row[k] for row in sample if isinstance(row.get(k), str) and row[k].strip()]
        for k in keys
    }
    bodies = [
        (median(len(v) for v in vals), k)
        for k, vals in values.items()
        if vals and median(len(v) for v in vals) >= _MIN_BODY_CHARS
    ]
    if not bodies:
        return None
    body = max(bodies)[1]
    columns = Columns(body=body)
    for key, vals in values.items():
        if key == body or not vals:
            continue
        if _share(vals, _is_date) >= 0.8:
            columns.dates.append(key)
        elif _share(vals, lambda v: bool(_URL.match(v.strip()))) >= 0.8 and columns.url is None:
            columns.url = key
        elif _share(vals, lambda v: bool(tx.TITLE_LIKE.search(v)) and len(v) < 300) >= 0.5:
            columns.title = columns.title or key
        elif _share(vals, lambda v: bool(tx.authors_in(v))) >= 0.8:
            columns.authors = columns.authors or key
    return columns


def _share(values: list[str], test: Any) -> float:
    return sum(1 for v in values if test(v)) / len(values)


def _is_date(value: str) -> bool:
    return len(value) <= 40 and eastern_date(value) is not None


def _hints(row: dict[str, Any], columns: Columns, file_name: str) -> SourceHints:
    def text(key: str | None) -> str:
        value = row.get(key) if key else None
        return value.strip() if isinstance(value, str) else ""

    return SourceHints(
        file_name=file_name,
        title=text(columns.title),
        urls=[u for u in (text(columns.url),) if u],
        timestamps=[t for t in (text(k) for k in columns.dates) if t],
        authors=tx.authors_in(text(columns.authors)) if columns.authors else [],
    )


def _records(text: str, suffix: str) -> list[Any]:
    if suffix in (".csv", ".tsv"):
        return _table_rows(text, "\t" if suffix == ".tsv" else None)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise ParseError(f"not valid JSON ({err.msg} at line {err.lineno})") from err
        return list(_json_lines(lines))
    except RecursionError as err:
        raise ParseError("JSON nested too deeply") from err
    return _record_list(data)


def _json_lines(lines: list[str]) -> Iterator[Any]:
    """JSON Lines: one value a line; a line that is not JSON is a malformed record."""
    for line in lines:
        try:
            yield json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            yield _Malformed()


class _Malformed:
    """A JSON Lines line that does not parse."""


def _record_list(data: Any, depth: int = 0) -> list[Any]:
    """The records in a JSON document: a list, the longest list of objects under some key, or
    the object itself as one record."""
    if isinstance(data, list):
        return data
    if depth == 0 and isinstance(data, dict) and _has_body(data):
        return [data]  # one report as an object (its own lists are tags or paragraphs)
    if isinstance(data, dict) and depth < _MAX_DEPTH:
        lists = [
            found
            for value in data.values()
            if isinstance(value, dict | list)
            and (found := _record_list(value, depth + 1))
            and any(isinstance(v, dict) for v in found)
        ]
        if lists:
            return max(lists, key=len)
    return [data] if depth == 0 else []


def _has_body(record: dict[str, Any]) -> bool:
    flat = _flatten(record)
    return any(isinstance(v, str) and len(v) >= _MIN_BODY_CHARS for v in flat.values())


def _table_rows(text: str, delimiter: str | None) -> list[Any]:
    """A table's rows as {column: value} (None for an empty row). The delimiter is the one the
    first line uses most (a sniffer reads the commas of the prose in the bodies); a first line
    with a cell of prose in it is a record, not a header, and the columns are numbered."""
    csv.field_size_limit(_MAX_FIELD_CHARS)
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = max(",;\t|", key=first.count) if any(c in first for c in ",;\t|") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise ParseError(f"unreadable table: {err}") from err
    if not rows:
        return []
    header, data = rows[0], rows[1:]
    if any(len(cell) > _MAX_HEADER_CELL for cell in header):
        header, data = [f"column {i + 1}" for i in range(max(map(len, rows)))], rows
    return [
        dict(zip(header, row, strict=False)) if any(cell.strip() for cell in row) else None
        for row in data
    ]


def _flatten(value: Any, prefix: str = "") -> Any:
    """Nested objects as dotted keys, lists of strings (paragraphs) as lines of text."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if not isinstance(value, dict):
        return value
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        item = _flatten(item, f"{name}.")
        if isinstance(item, dict):
            flat.update(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            flat[name] = str(item)  # epoch timestamps, ids: compared as text
        else:
            flat[name] = item
    return flat


def _is_empty(row: Any) -> bool:
    if row is None:
        return True
    if isinstance(row, str):
        return not row.strip()
    if isinstance(row, dict):
        return not any(
            v.strip() if isinstance(v, str) else v not in (None, [], {}) for v in row.values()
        )
    return isinstance(row, list) and not row


def _empty_reason(value: Any) -> str:
    if value is None:
        return "null record"
    return "empty record"
