"""From files and folders to committed reports in the store, with a summary of what happened.

Longer than 400 lines on purpose: the walk over files and datasets, the per-report commit and the
summary that reports every file are one procedure; split, each part would need the others' state.
"""

from __future__ import annotations

import errno
import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from tqdm import tqdm

from store.embedding import Embedder
from store.models import ParseError, Report
from store.parsers import DATASET_SUFFIXES, NotADatasetError, parse_path
from store.records import Chunk, ReportEntry, report_chunks
from store.translation import (
    TranslationMismatchError,
    Translator,
    pending_rows,
    translate_pending,
)
from store.vector_store import ReportStore

log = logging.getLogger(__name__)

# Inside folders only these are taken (a corpus folder also holds e.g. scripts); every other
# file is counted as skipped, by extension. A file named on the command line is always tried,
# whatever its extension, and its content decides the format.
REPORT_SUFFIXES = {".html", ".htm", ".md", ".markdown", ".txt"} | DATASET_SUFFIXES

Status = Literal["added", "updated", "unchanged", "duplicate", "failed", "skipped"]


class FileOutcome(BaseModel):
    """What happened to one file, or to one record of a dataset file (`record` is its index)."""

    path: str
    status: Status
    report_id: str | None = None
    report_date: str | None = None
    reason: str | None = None
    # How the report date was found (store.parsers.report_date), and evidence that disagreed.
    date_source: str | None = None
    warnings: list[str] = []
    record: int | None = None


class DatasetCount(BaseModel):
    """A dataset file's records: how many, how many became reports, which were empty or failed."""

    path: str
    records: int
    reports: int
    empty: list[int] = []
    failed: list[int] = []

    def line(self, limit: int | None = 12) -> str:
        """'data.json: 365 records: 69 reports, 296 empty (#1-5, #7, …)'."""
        parts = [f"{self.reports} reports"]
        if self.empty:
            parts.append(f"{len(self.empty)} empty ({index_ranges(self.empty, limit)})")
        if self.failed:
            parts.append(f"{len(self.failed)} failed ({index_ranges(self.failed, limit)})")
        return f"{self.path}: {self.records} records: " + ", ".join(parts)


def index_ranges(indexes: list[int], limit: int | None = 12) -> str:
    """[1, 2, 3, 5] -> "#1-3, #5"; past `limit` ranges, "…" and how many more records."""
    ranges: list[tuple[int, int]] = []
    for index in sorted(indexes):
        if ranges and index == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], index)
        else:
            ranges.append((index, index))
    shown = ranges if limit is None else ranges[:limit]
    text = ", ".join(f"#{a}" if a == b else f"#{a}-{b}" for a, b in shown)
    if len(shown) < len(ranges):
        rest = sum(b - a + 1 for a, b in ranges[len(shown) :])
        text += f", … {rest} more"
    return text


class IngestSummary(BaseModel):
    outcomes: list[FileOutcome] = []
    datasets: list[DatasetCount] = []

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def skipped_files(self) -> list[FileOutcome]:
        """Files passed over (unknown type, hidden, not a dataset), not empty dataset records."""
        return [o for o in self.outcomes if o.status == "skipped" and o.record is None]

    def skipped_by_kind(self) -> dict[str, int]:
        """Skipped files counted by extension ("(none)" for files without one)."""
        kinds: dict[str, int] = {}
        for outcome in self.skipped_files:
            kind = Path(outcome.path).suffix.lower() or "(none)"
            kinds[kind] = kinds.get(kind, 0) + 1
        return dict(sorted(kinds.items(), key=lambda item: (-item[1], item[0])))

    def line(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "updated", "unchanged", "duplicate")]
        line = ", ".join(parts) + f", {self.count('failed')} failed"
        if skipped := self.skipped_by_kind():
            kinds = ", ".join(f"{kind} {n}" for kind, n in skipped.items())
            total = sum(skipped.values())
            line += f", {total} file{'s' if total != 1 else ''} skipped ({kinds})"
        return line

    def report(self) -> dict[str, object]:
        """The summary as one JSON-ready object: counts first, then datasets and every outcome."""
        statuses: tuple[Status, ...] = (
            "added",
            "updated",
            "unchanged",
            "duplicate",
            "failed",
            "skipped",
        )
        return {
            "counts": {s: self.count(s) for s in statuses},
            "skipped_files_by_extension": self.skipped_by_kind(),
            "datasets": [d.model_dump() for d in self.datasets],
            "outcomes": [o.model_dump(exclude_none=True) for o in self.outcomes],
        }


def discover(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively, report-like files only); keep explicit files as given."""
    return walk(paths)[0]


def walk(paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome]]:
    """(the files to parse, the files passed over with why): folders are expanded recursively
    to the files whose extension we read; hidden files and folders are passed over."""
    found: list[Path] = []
    passed: list[FileOutcome] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        for p in sorted(path.rglob("*")):
            if not p.is_file():
                continue
            if any(part.startswith(".") for part in p.relative_to(path).parts):
                passed.append(FileOutcome(path=str(p), status="skipped", reason="hidden file"))
            elif p.suffix.lower() in REPORT_SUFFIXES:
                found.append(p)
            else:
                reason = f"not a report file type ({p.suffix.lower() or 'no extension'})"
                passed.append(FileOutcome(path=str(p), status="skipped", reason=reason))
    return found, passed


def parse_all(files: list[Path], progress: bool = True) -> tuple[list[Report], list[FileOutcome]]:
    """The reports in `files`, and the outcomes of what gave none (failed, skipped)."""
    reports, outcomes, _ = _parse_files(files, progress)
    return reports, outcomes


def _parse_files(
    files: list[Path], progress: bool
) -> tuple[list[Report], list[FileOutcome], list[DatasetCount]]:
    reports: list[Report] = []
    outcomes: list[FileOutcome] = []
    datasets: list[DatasetCount] = []
    for path in tqdm(files, desc="parsing", unit="file", disable=not progress, leave=False):
        try:
            results = parse_path(path)
        except NotADatasetError as err:
            outcomes.append(FileOutcome(path=str(path), status="skipped", reason=str(err)))
            continue
        except ParseError as err:
            outcomes.append(FileOutcome(path=str(path), status="failed", reason=str(err)))
            continue
        except OSError as err:
            reason = err.strerror or str(err)
            outcomes.append(FileOutcome(path=str(path), status="failed", reason=reason))
            continue
        reports += [r.report for r in results if r.report is not None]
        if path.suffix.lower() not in DATASET_SUFFIXES and len(results) == 1:
            continue
        count = DatasetCount(path=str(path), records=len(results), reports=0)
        for result in results:
            if result.report is not None:
                count.reports += 1
                continue
            status: Status = "skipped" if result.empty else "failed"
            (count.empty if result.empty else count.failed).append(result.index)
            outcomes.append(
                FileOutcome(
                    path=f"{path}#{result.index}",
                    status=status,
                    reason=result.reason,
                    record=result.index,
                )
            )
        datasets.append(count)
    return reports, outcomes, datasets


def newest(reports: list[Report], count: int) -> list[Report]:
    """The reports of the `count` newest report dates (all copies of those dates)."""
    dates = sorted({r.report_date for r in reports}, reverse=True)[:count]
    return [r for r in reports if r.report_date in set(dates)]


def ingest(
    paths: Iterable[Path],
    store: ReportStore,
    embedder: Embedder,
    progress: bool = True,
    select: Callable[[list[Report]], list[Report]] | None = None,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    translator: Translator | None = None,
    targets: Sequence[str] = ("ko",),
) -> IngestSummary:
    """Parse, embed and commit every report found under `paths`.

    A file that cannot be parsed is reported and skipped; the rest go on. Unchanged reports are
    not re-embedded. The same report saved twice (say HTML and markdown) is stored once.

    One ingest at a time writes a data folder's store (store.write_lock): while another one
    (in any process) holds it, this one waits, telling `on_wait` (default: a log warning), or
    raises store.write_lock.StoreBusyError when `wait` is False.
    """
    with store.writing(wait, on_wait):
        summary, written = _ingest(paths, store, embedder, progress, select)
        if translator is not None and written:
            # The new and changed reports' English takeaways, once per target language.
            takeaways = [
                (r.report_id, r.content_hash(), t.position, t.texts)
                for r in written
                for t in r.takeaways
            ]
            todo = pending_rows(takeaways, targets, set())
            store.save_translations(translate_pending(todo, translator, progress))
        return summary


def translate_store(
    store: ReportStore,
    translator: Translator,
    targets: Sequence[str],
    progress: bool = True,
    redo: bool = False,
) -> int:
    """`reportbot translate`: the English takeaways of every stored report that have no
    translation yet (`redo`: all of them, dropping those of another model first); returns how
    many were translated."""
    with store.writing():
        if redo:
            store.drop_translations()
        elif (current := store.translation_model()) not in (None, translator.name):
            raise TranslationMismatchError(
                f"the store's translations were made by {current!r}, not {translator.name!r}: "
                "translate again with `reportbot translate --redo`"
            )
        store.drop_translations(stale_only=True)
        done = set(store.translations())
        views: dict[tuple[str, str, int], dict[str, str]] = {}
        for chunk in store.committed_chunks():
            if chunk.kind == "takeaway":
                views.setdefault((chunk.report_id, chunk.version, chunk.position), {})[
                    chunk.lang
                ] = chunk.text
        todo = pending_rows(
            ((rid, version, pos, texts) for (rid, version, pos), texts in views.items()),
            targets,
            done,
        )
        rows = translate_pending(todo, translator, progress)
        store.save_translations(rows)
        return len(rows)


def _ingest(
    paths: Iterable[Path],
    store: ReportStore,
    embedder: Embedder,
    progress: bool,
    select: Callable[[list[Report]], list[Report]] | None,
) -> tuple[IngestSummary, list[Report]]:
    """The summary, and the reports whose new version was written."""
    files, passed = walk(paths)
    swept = store.sweep()
    if swept:
        log.info("removed %d chunks left by an interrupted ingest", swept)
    reports, outcomes, datasets = _parse_files(files, progress)
    if select is not None:
        reports = select(reports)
    summary = IngestSummary(outcomes=passed + outcomes, datasets=datasets)
    known = store.reports()

    # Decide first (cheap), embed after, so one progress bar can show the real work.
    todo: dict[str, tuple[Report, ReportEntry, FileOutcome]] = {}
    for report in sorted(reports, key=lambda r: (r.report_date, r.source)):
        entry = ReportEntry.for_report(report)
        current = known.get(report.report_id)
        status = _decide(entry, current)
        outcome = FileOutcome(
            path=report.source,
            status=status,
            report_id=report.report_id,
            report_date=report.report_date.isoformat(),
            date_source=report.date_source or None,
            warnings=report.warnings,
            record=_record_index(report.source),
        )
        summary.outcomes.append(outcome)
        for warning in report.warnings:
            log.warning("%s: %s", report.source, warning)
        log.info(
            "%s: %s, dated %s by its %s",
            report.source,
            status,
            outcome.report_date,
            report.date_source,
        )
        if status in ("added", "updated"):
            if current is not None:
                entry.sources = sorted(set(current.sources) | {report.source})
            superseded = todo.get(report.report_id)
            if superseded is not None:
                # A richer copy of the same report came later in this batch.
                superseded[2].status = "duplicate"
            known[report.report_id] = entry
            todo[report.report_id] = (report, entry, outcome)
        elif current is not None:
            # The manifest row takes what this copy adds, without re-embedding anything: its
            # file, and a link the stored copy lacks (or its own file's new link).
            changed = report.source not in current.sources
            if changed:
                current.sources.append(report.source)
            if entry.url and entry.url != current.url:
                if not current.url or current.source == report.source:
                    current.url = entry.url
                    outcome.status, outcome.reason = "updated", "link added"
                    changed = True
            # A pending entry is saved with its chunks; saving it now would commit a version
            # whose chunks are not written yet.
            if changed and report.report_id not in todo:
                store.save_entry(current)

    chunks_total = sum(len(report_chunks(r)) for r, _, _ in todo.values())
    stored = 0
    with tqdm(
        total=chunks_total, desc="embedding", unit="passage", disable=not progress or not todo
    ) as bar:
        for group in _embedding_groups(
            [(entry, report_chunks(r)) for r, entry, _ in todo.values()]
        ):
            # One embedding call for several reports: batches of similar-length passages
            # across reports pad far less than one report at a time (measured 1.8x faster).
            # Each report is still written and committed on its own, in order.
            texts = [c.text for _, chunks in group for c in chunks]
            vectors = embedder.embed_passages(texts)
            at = 0
            for entry, chunks in group:
                try:
                    store.write_report(entry, chunks, vectors[at : at + len(chunks)])
                except Exception as err:
                    if not is_disk_full(err, store.data_dir):
                        raise
                    raise StoreFullError(
                        f"disk full: {stored} of {len(todo)} reports stored; free space and run "
                        "ingest again (what is stored stays, the rest is added then)"
                    ) from err
                stored += 1
                at += len(chunks)
                bar.update(len(chunks))
    return summary, [report for report, _, _ in todo.values()]


class StoreFullError(RuntimeError):
    """The disk filled up during an ingest; the message is one line and says what to do."""


# How a full disk shows through SQLite and Chroma's own storage layer.
_DISK_FULL = ("no space left on device", "database or disk is full", "disk full")
# Chroma's storage layer reports a full disk only as a failed compaction ("Error in compaction:
# Failed to apply logs to the metadata segment", seen on a 3 MB tmpfs): with this little space
# left on the store's disk, that is what a failed write means.
_NEARLY_FULL_BYTES = 8 * 1024 * 1024


def is_disk_full(err: BaseException, folder: Path | None = None) -> bool:
    """Is `err` (or what caused it) the disk of `folder` running out of space?"""
    if folder is not None:
        try:
            if shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES:
                return True
        except OSError:
            pass
    while err is not None:
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return True
        if any(sign in str(err).lower() for sign in _DISK_FULL):
            return True
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return False


# Passages embedded per call: enough to sort them into well-filled batches, few enough that a
# kill loses little work and the progress bar moves.
EMBED_GROUP = 256


def _embedding_groups(
    reports: list[tuple[ReportEntry, list[Chunk]]],
) -> list[list[tuple[ReportEntry, list[Chunk]]]]:
    groups: list[list[tuple[ReportEntry, list[Chunk]]]] = [[]]
    size = 0
    for entry, chunks in reports:
        if size >= EMBED_GROUP:
            groups.append([])
            size = 0
        groups[-1].append((entry, chunks))
        size += len(chunks)
    return [g for g in groups if g]


def _record_index(source: str) -> int | None:
    """The record index of a dataset report's source ("reports.json#12"), else None."""
    _, hash_, index = source.rpartition("#")
    return int(index) if hash_ and index.isdigit() else None


def source_file(source: str) -> Path:
    """The file a report's source names: a dataset record's "reports.json#12" is reports.json."""
    head, hash_, index = source.rpartition("#")
    return Path(head if hash_ and index.isdigit() else source)


def _decide(new: ReportEntry, current: ReportEntry | None) -> Status:
    if current is None:
        return "added"
    if current.version == new.version:
        return "unchanged"
    if current.source == new.source or new.richness() > current.richness():
        return "updated"
    return "duplicate"
