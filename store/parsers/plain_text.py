"""Plain text pasted from a report page or a repost."""

from __future__ import annotations

from store.models import Report, SourceFormat
from store.parsers.blocks import assemble
from store.parsers.dates import any_full_date, find_report_date
from store.parsers.lines import join_lines
from store.parsers.report import make_report


def parse_plain_text(text: str, source: str) -> Report:
    body = assemble(join_lines(text.splitlines()), allow_unlabeled_takeaways=True)
    report_date = find_report_date(
        titles=body.titles,
        datelines=body.datelines,
        bodies=[text],
        # Any full date in the paste (e.g. "posted Feb 27, 2022") can only lend its year.
        year_hints=[any_full_date(text)],
    )
    return make_report(
        title=body.titles[0] if body.titles else "",
        report_date=report_date,
        source=source,
        source_format=SourceFormat.PLAIN_TEXT,
        authors=body.authors,
        takeaways=[{"en": t} for t in body.takeaways],
        sections=[(s, "en") for s in body.sections],
        metadata={"subtitle": body.subtitle},
    )
