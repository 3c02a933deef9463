"""Building the final `Report` from what a format parser found."""

from __future__ import annotations

from datetime import date

from store.chunking import split_passage
from store.models import ParseError, Passage, Report, SourceFormat, Takeaway
from store.parsers.blocks import Section

_EN_DATE = "{d:%B} {d.day}, {d.year}"


def default_title(report_date: date, series: str = "Russian Offensive Campaign Assessment") -> str:
    return f"{series}, {_EN_DATE.format(d=report_date)}"


def make_report(
    *,
    title: str,
    report_date: date,
    source: str,
    source_format: SourceFormat,
    takeaways: list[dict[str, str]],
    sections: list[tuple[Section, str]],
    authors: list[str] | None = None,
    metadata: dict[str, str] | None = None,
) -> Report:
    """`takeaways`: one {lang: text} per takeaway, in order; `sections`: (section, lang) in
    reading order, split here into passages of embeddable size."""
    passages = [
        Passage(position=0, text=piece, lang=lang, heading=section.heading)
        for section, lang in sections
        for piece in split_passage(section.text)
    ]
    for position, passage in enumerate(passages):
        passage.position = position
    takeaway_models = [
        Takeaway(position=i, texts=texts) for i, texts in enumerate(t for t in takeaways if t)
    ]
    if not takeaway_models and not passages:
        raise ParseError("no Key Takeaways or body paragraphs found")
    found = {lang for t in takeaway_models for lang in t.texts} | {p.lang for p in passages}
    languages = sorted(found, key=lambda lang: (lang != "en", lang))
    return Report(
        title=title or default_title(report_date),
        report_date=report_date,
        authors=_unique(authors or []),
        source=source,
        source_format=source_format,
        languages=languages,
        takeaways=takeaway_models,
        passages=passages,
        metadata={k: v for k, v in (metadata or {}).items() if v},
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
