"""What the understand stage hands to search and assembly: a question, read.

Its own module, not `retrieval.understand`'s, because the stages below import it: search takes
`Terms` whole, and assembly takes the `Query`; the understand stage imports them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from retrieval.dates import DateRange
from retrieval.gazetteer import GazetteerEntry
from retrieval.numbers import KoreanNumber


@dataclass(frozen=True)
class Terms:
    """One text to search for, with what it names: the searches' whole input."""

    text: str
    # The embedded text plus its dense hints (None: nothing to embed, no dense search).
    vector: np.ndarray | None = None
    # Other names of what the text names, grouped by the thing they name (lexical search
    # counts each group once), and the same flattened without repeats.
    concepts: list[list[str]] = field(default_factory=list)
    expansions: list[str] = field(default_factory=list)
    # One English name per named thing, added to the text before it is embedded.
    hints: list[str] = field(default_factory=list)
    # The gazetteer entries and the written numbers ("1만6천") found in the text.
    named: list[GazetteerEntry] = field(default_factory=list)
    numbers: list[KoreanNumber] = field(default_factory=list)


@dataclass(frozen=True)
class Query:
    """A question, read: its language, the report dates it names, and what to search for."""

    question: str
    lang: str
    # The report dates the question names (a year supplied when it wrote none), or None.
    range: DateRange | None
    # The question without its date words, searched inside `range` (or everywhere without
    # one); None when it only asks for the range's report ("2024년 1월 26일 핵심 요점").
    terms: Terms | None
    # The whole question, date words kept, searched outside `range`: there a date may be the
    # event's own ("postponed the draft to November 1"). None without a range.
    whole: Terms | None = None

    @property
    def report_lookup(self) -> bool:
        """The question asks for the takeaways of the reports in its range, not a subject."""
        return self.range is not None and self.terms is None
