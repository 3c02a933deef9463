"""How a parsed report becomes rows of the vector store (one per takeaway text and passage)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Literal

from pydantic import BaseModel

from store.models import Report, SourceFormat, StoreStats

Kind = Literal["takeaway", "passage"]


class Chunk(BaseModel):
    """One embedded row. A bilingual takeaway gives one chunk per language, sharing `position`,
    so a Korean question can match the Korean text and an English one the English text."""

    report_id: str
    version: str
    kind: Kind
    lang: str
    position: int
    text: str
    report_date: date
    title: str
    source: str
    heading: str = ""

    @property
    def id(self) -> str:
        # The version is part of the id so a new version can be written beside the old one
        # and become visible only when the report's manifest row is switched over.
        return f"{self.report_id}:{self.version[:12]}:{self.kind[0]}{self.position}:{self.lang}"

    def metadata(self) -> dict[str, str | int]:
        return {
            "report_id": self.report_id,
            "version": self.version,
            "kind": self.kind,
            "lang": self.lang,
            "position": self.position,
            "report_date": self.report_date.isoformat(),
            "report_date_int": date_to_int(self.report_date),
            "title": self.title,
            "source": self.source,
            "heading": self.heading,
        }

    @classmethod
    def from_row(cls, document: str, metadata: dict) -> Chunk:
        return cls(
            report_id=metadata["report_id"],
            version=metadata["version"],
            kind=metadata["kind"],
            lang=metadata["lang"],
            position=int(metadata["position"]),
            text=document,
            report_date=date.fromisoformat(metadata["report_date"]),
            title=metadata["title"],
            source=metadata["source"],
            heading=metadata.get("heading", ""),
        )


class ReportEntry(BaseModel):
    """The manifest row of a report: which version of its chunks is the committed one."""

    report_id: str
    version: str
    report_date: date
    title: str
    source: str
    sources: list[str]
    languages: list[str]
    takeaways: int
    passages: int
    metadata: dict[str, str] = {}
    source_format: str = ""
    url: str = ""  # the report's web address, "" when its files carry none

    def richness(self) -> tuple[int, int, int, int]:
        """When one report was saved twice, the copy with more languages, takeaways and passages
        wins, whichever file is ingested first, so re-ingesting never flip-flops. A dataset
        record ranks below any saved page of the same report: its body lost the headings and
        paragraph breaks a page keeps, so it splits into more, poorer passages."""
        structured = int(self.source_format != SourceFormat.DATASET)
        return (len(self.languages), structured, self.takeaways, self.passages)

    def to_metadata(self) -> dict[str, str | int]:
        return {
            "version": self.version,
            "report_date": self.report_date.isoformat(),
            "report_date_int": date_to_int(self.report_date),
            "title": self.title,
            "source": self.source,
            "sources": json.dumps(self.sources, ensure_ascii=False),
            "languages": ",".join(self.languages),
            "takeaways": self.takeaways,
            "passages": self.passages,
            "extra": json.dumps(self.metadata, ensure_ascii=False),
            "source_format": self.source_format,
            "url": self.url,
        }

    @classmethod
    def from_metadata(cls, report_id: str, meta: dict) -> ReportEntry:
        return cls(
            report_id=report_id,
            version=meta["version"],
            report_date=date.fromisoformat(meta["report_date"]),
            title=meta["title"],
            source=meta["source"],
            sources=json.loads(meta["sources"]),
            languages=[x for x in meta["languages"].split(",") if x],
            takeaways=int(meta["takeaways"]),
            passages=int(meta["passages"]),
            metadata=json.loads(meta.get("extra") or "{}"),
            source_format=meta.get("source_format", ""),
            url=meta.get("url", ""),
        )

    @classmethod
    def for_report(cls, report: Report) -> ReportEntry:
        return cls(
            report_id=report.report_id,
            version=report.content_hash(),
            report_date=report.report_date,
            title=report.title,
            source=report.source,
            sources=[report.source],
            languages=list(report.languages),
            takeaways=len(report.takeaways),
            passages=len(report.passages),
            metadata=dict(report.metadata),
            source_format=report.source_format,
            url=report.url,
        )


def date_to_int(day: date) -> int:
    """Chroma filters numbers, not dates: 2024-01-26 -> 20240126."""
    return day.year * 10000 + day.month * 100 + day.day


def report_chunks(report: Report) -> list[Chunk]:
    version = report.content_hash()
    common = {
        "report_id": report.report_id,
        "version": version,
        "report_date": report.report_date,
        "title": report.title,
        "source": report.source,
    }
    chunks = [
        Chunk(kind="takeaway", lang=lang, position=t.position, text=text, **common)
        for t in report.takeaways
        for lang, text in t.texts.items()
        if text.strip()
    ]
    chunks += [
        Chunk(
            kind="passage",
            lang=p.lang,
            position=p.position,
            text=p.text,
            heading=p.heading or "",
            **common,
        )
        for p in report.passages
        if p.text.strip()
    ]
    return chunks


def store_stats(
    reports: Iterable[ReportEntry],
    chunks: int,
    translations: int,
    embedding_model: str,
    store: str,
) -> StoreStats:
    """What a store holds, counted from its committed reports' manifest rows (the store's own
    `stats` and the answerer's, from what it loaded, count alike)."""
    entries = list(reports)
    days = sorted(r.report_date for r in entries)
    return StoreStats(
        reports=len(entries),
        takeaways=sum(r.takeaways for r in entries),
        passages=sum(r.passages for r in entries),
        oldest=days[0] if days else None,
        newest=days[-1] if days else None,
        with_link=sum(1 for r in entries if r.url),
        chunks=chunks,
        translations=translations,
        embedding_model=embedding_model,
        store=store,
    )
