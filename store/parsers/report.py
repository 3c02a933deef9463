"""Building the final `Report` from what a format parser found."""

from __future__ import annotations

from datetime import date

from store.chunking import split_passage
from store.models import ParseError, Passage, Report, SourceFormat, SourceHints, Takeaway
from store.parsers.blocks import Body, Section
from store.parsers.links import report_url
from store.parsers.report_date import DateChoice, DateEvidence

# The topline: the opening passages, where a report says what day it covers.
_TOPLINE_PASSAGES = 2

_EN_DATE = "{d:%B} {d.day}, {d.year}"


def default_title(report_date: date, series: str = "Russian Offensive Campaign Assessment") -> str:
    return f"{series}, {_EN_DATE.format(d=report_date)}"


def body_evidence(
    body: Body,
    hints: SourceHints,
    *,
    titles: list[str],
    text: str,
    bodies: list[str] | None = None,
    year_hints: list[date | None] | None = None,
) -> DateEvidence:
    """The date evidence of a document parsed into `body`, with what is known from outside it.
    `text` is the document as lines (for a pasted date line); `bodies` default to it."""
    return DateEvidence(
        titles=titles,
        datelines=body.datelines,
        bodies=[text] if bodies is None else bodies,
        paste=text,
        mentions=[*body.takeaways, *(s.text for s in body.sections[:_TOPLINE_PASSAGES])],
        file_name=hints.file_name,
        urls=hints.urls,
        timestamps=hints.timestamps,
        year_hints=year_hints or [],
    )


def make_report(
    *,
    title: str,
    dated: DateChoice,
    source: str,
    source_format: SourceFormat,
    takeaways: list[dict[str, str]],
    sections: list[tuple[Section, str]],
    authors: list[str] | None = None,
    metadata: dict[str, str] | None = None,
    urls: list[str] | None = None,
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
        title=title or default_title(dated.day),
        report_date=dated.day,
        date_source=dated.source,
        warnings=dated.warnings,
        url=report_url(urls or [], dated.day),
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
