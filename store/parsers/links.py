"""A report's web address, taken only from the evidence its file carries: an ISW page's
canonical link (or og:url), a clipper's source line, a dataset's URL field.

A link to the wrong report is worse than none: an address whose slug names another day than the
report's is dropped (a crawl of the December 20 page that holds the December 17 report), and
nothing is ever made up from the date.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urljoin, urlsplit

from store.parsers.dates import MONTHS
from store.parsers.report_date import url_date

# Where ISW's relative links point ("/backgrounder/russian-offensive-campaign-assessment-…").
ISW_SITE = "https://www.understandingwar.org"
_WEB = re.compile(r"^https?://[^\s/]+\.[^\s/]+", re.IGNORECASE)
# A slug that names a day without its year: "…-assessment-march-1".
_SLUG_DAY = re.compile(
    rf"-(?P<month>{'|'.join(sorted(MONTHS, key=len, reverse=True))})-(?P<day>\d{{1,2}})/?$",
    re.IGNORECASE,
)


def report_url(candidates: list[str], report_date: date, base: str = ISW_SITE) -> str:
    """The first candidate that is a web address of a page (made absolute against `base`) and
    does not name another day than the report; "" if none is."""
    for raw in candidates:
        url = (raw or "").strip()
        if not url:
            continue
        if url.startswith("/"):
            url = urljoin(base, url)
        if not _WEB.match(url) or urlsplit(url).path in ("", "/"):
            continue  # not a web address, or a site's home page (og:url of a dev host)
        if _names_another_day(url, report_date):
            continue
        return url
    return ""


def _names_another_day(url: str, report_date: date) -> bool:
    named = url_date(url)
    if named is not None:
        return named != report_date
    slug = _SLUG_DAY.search(urlsplit(url).path)
    if slug is None:
        return False
    month, day = MONTHS[slug.group("month").lower()], int(slug.group("day"))
    return (month, day) != (report_date.month, report_date.day)
