"""Plain text pasted from a report page, a repost or a news site, and the body of a dataset
record (its structure flattened: see store.parsers.flattened)."""

from __future__ import annotations

from store.models import Report, SourceFormat, SourceHints
from store.parsers.blocks import assemble
from store.parsers.dates import any_full_date
from store.parsers.flattened import unflatten
from store.parsers.lines import flattened_line, join_lines, plain_line
from store.parsers.report import body_evidence, make_report
from store.parsers.report_date import choose_report_date
from store.parsers.signals import require_assessment


def parse_plain_text(
    text: str,
    source: str,
    hints: SourceHints | None = None,
    source_format: SourceFormat = SourceFormat.PLAIN_TEXT,
) -> Report:
    hints = hints or SourceHints()
    # Text that lost its line structure also lost its headings' markup: bare short lines are
    # taken as headings there (in an ordinary paste they may be anything).
    restored = unflatten(text)
    classify = flattened_line if restored.splitlines() != text.splitlines() else plain_line
    text = restored
    body = assemble(join_lines(text.splitlines(), classify), allow_unlabeled_takeaways=True)
    titles = [t for t in (hints.title, *body.titles) if t]
    require_assessment(titles, body.labeled, text)
    # Any full date in the paste (e.g. "posted Feb 27, 2022") can only lend its year.
    evidence = body_evidence(
        body, hints, titles=titles, text=text, year_hints=[any_full_date(text)]
    )
    return make_report(
        title=titles[0] if titles else "",
        dated=choose_report_date(evidence),
        source=source,
        source_format=source_format,
        urls=hints.urls,
        authors=hints.authors or body.authors,
        takeaways=[{"en": t} for t in body.takeaways],
        sections=[(s, "en") for s in body.sections],
        metadata={"subtitle": body.subtitle},
    )
