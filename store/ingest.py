"""From files and folders to committed reports in the store, with a summary of what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from tqdm import tqdm

from store.embedding import Embedder
from store.models import ParseError, Report
from store.parsers import parse_file
from store.records import Chunk, ReportEntry, report_chunks
from store.vector_store import ReportStore

log = logging.getLogger(__name__)

# Inside folders only these are taken (a corpus folder also holds e.g. SOURCES.tsv); a file named
# on the command line is always tried, whatever its extension, and its content decides the format.
REPORT_SUFFIXES = {".html", ".htm", ".md", ".markdown", ".txt"}

Status = Literal["added", "updated", "unchanged", "duplicate", "failed"]


class FileOutcome(BaseModel):
    path: str
    status: Status
    report_id: str | None = None
    report_date: str | None = None
    reason: str | None = None


class IngestSummary(BaseModel):
    outcomes: list[FileOutcome] = []

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def line(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "updated", "unchanged", "duplicate")]
        return ", ".join(parts) + f", {self.count('failed')} failed"


def discover(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively, report-like files only); keep explicit files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in REPORT_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def parse_all(files: list[Path], progress: bool = True) -> tuple[list[Report], list[FileOutcome]]:
    reports: list[Report] = []
    failures: list[FileOutcome] = []
    for path in tqdm(files, desc="parsing", unit="file", disable=not progress, leave=False):
        try:
            reports.append(parse_file(path))
        except ParseError as err:
            failures.append(FileOutcome(path=str(path), status="failed", reason=str(err)))
        except OSError as err:
            failures.append(
                FileOutcome(path=str(path), status="failed", reason=err.strerror or str(err))
            )
    return reports, failures


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
) -> IngestSummary:
    """Parse, embed and commit every report found under `paths`.

    A file that cannot be parsed is reported and skipped; the rest go on. Unchanged reports are
    not re-embedded. The same report saved twice (say HTML and markdown) is stored once.

    One ingest at a time writes a data folder's store (store.write_lock): while another one
    (in any process) holds it, this one waits, telling `on_wait` (default: a log warning), or
    raises store.write_lock.StoreBusyError when `wait` is False.
    """
    with store.writing(wait, on_wait):
        return _ingest(paths, store, embedder, progress, select)


def _ingest(
    paths: Iterable[Path],
    store: ReportStore,
    embedder: Embedder,
    progress: bool,
    select: Callable[[list[Report]], list[Report]] | None,
) -> IngestSummary:
    files = discover(paths)
    swept = store.sweep()
    if swept:
        log.info("removed %d chunks left by an interrupted ingest", swept)
    reports, failures = parse_all(files, progress)
    if select is not None:
        reports = select(reports)
    summary = IngestSummary(outcomes=list(failures))
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
        )
        summary.outcomes.append(outcome)
        if status in ("added", "updated"):
            if current is not None:
                entry.sources = sorted(set(current.sources) | {report.source})
            superseded = todo.get(report.report_id)
            if superseded is not None:
                # A richer copy of the same report came later in this batch.
                superseded[2].status = "duplicate"
            known[report.report_id] = entry
            todo[report.report_id] = (report, entry, outcome)
        elif current is not None and report.source not in current.sources:
            current.sources.append(report.source)
            # A pending entry is saved with its chunks; saving it now would commit a version
            # whose chunks are not written yet.
            if report.report_id not in todo:
                store.save_entry(current)

    chunks_total = sum(len(report_chunks(r)) for r, _, _ in todo.values())
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
                store.write_report(entry, chunks, vectors[at : at + len(chunks)])
                at += len(chunks)
                bar.update(len(chunks))
    return summary


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


def _decide(new: ReportEntry, current: ReportEntry | None) -> Status:
    if current is None:
        return "added"
    if current.version == new.version:
        return "unchanged"
    if current.source == new.source or new.richness() > current.richness():
        return "updated"
    return "duplicate"
