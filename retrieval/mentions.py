"""Which takeaways literally mention a term: /topic's look-up, fast at any store size.

Every takeaway text, lower-cased, is joined into one string, newest report first. `str.find`
(C speed) locates each form of the term; the precise rule (whole Latin words, Hangul word
prefixes; retrieval.search.mention_pattern) is then checked on the few texts found, instead of
running a regex over every takeaway (400 ms per /topic at 200,000 chunks).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date

from retrieval.catalog import Catalog, TakeawayView

# Never inside a lower-cased takeaway text, so a form cannot match across two of them.
_SEPARATOR = "\n\x00\n"


class MentionIndex:
    def __init__(self, catalog: Catalog) -> None:
        # Each takeaway as (report id, its index in the report, date, position), not its view: the views
        # of every report took ~50 MB at 205,000 chunks; a hit's view is made when found.
        keys: list[tuple[str, int, date, int]] = []
        texts: dict[tuple[str, int], list[str]] = {}
        for rid, rows in catalog.each_report_takeaways():
            day = catalog.reports[rid].report_date
            for i, view in enumerate(rows):
                keys.append((rid, i, day, view.position))
                texts[(rid, i)] = [text.lower() for text in view.texts.values()]
        # Newest first; within a report, in report order.
        keys.sort(key=lambda key: (-key[2].toordinal(), key[3]))
        self._catalog = catalog
        self._keys = keys
        starts: list[int] = []
        owner: list[int] = []
        parts: list[str] = []
        offset = 0
        for i, (rid, at, _, _) in enumerate(keys):
            for lowered in texts.pop((rid, at)):
                starts.append(offset)
                owner.append(i)
                parts.append(lowered)
                offset += len(lowered) + len(_SEPARATOR)
        self._starts = starts
        self._owner = owner
        self._text = _SEPARATOR.join(parts)

    def find(
        self, forms: list[str], matchers: list[re.Pattern[str]], limit: int | None
    ) -> list[tuple[TakeawayView, date]]:
        """Up to `limit` (None: all) takeaways that some matcher accepts, newest first. `forms`
        are the literal strings the matchers look for (found case-insensitively, then checked)."""
        candidates: set[int] = set()
        for form in {f.lower() for f in forms if f}:
            at = self._text.find(form)
            while at != -1:
                candidates.add(self._owner[bisect_right(self._starts, at) - 1])
                at = self._text.find(form, at + 1)
        out: list[tuple[TakeawayView, date]] = []
        for i in sorted(candidates):
            rid, at, day, _ = self._keys[i]
            view = self._catalog.takeaways[rid][at]
            if any(m.search(t) for t in view.texts.values() for m in matchers):
                out.append((view, day))
                if limit is not None and len(out) >= limit:
                    break
        return out
