"""What the read path hands to the bot and the command line."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from retrieval.gloss import Gloss
from store.models import StoreStats as StoreStats  # the one stats, of the store

Command = Literal["ask", "latest", "topic", "date"]
Kind = Literal["takeaway", "passage"]


class Result(BaseModel):
    """One takeaway (or, when a report has none, one passage) with the report it came from."""

    report_id: str
    report_date: date
    text: str
    lang: str
    kind: Kind
    report_title: str
    source: str
    # The report's web address (from its saved page, clip or dataset), when it has one.
    url: str | None = None
    # A reading aid when `text` is not in the reader's language: what it names, in theirs.
    gloss: list[Gloss] = Field(default_factory=list)
    # When `text` is a machine translation: the model that made it, and ISW's own words.
    translated_by: str | None = None
    original_text: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text_lang(self) -> str:
        """The language `text` is in (`lang`, named as the JSON of translations names it)."""
        return self.lang

    score: float
    position: int = 0
    # A body passage that supports the takeaway, when the passage was the best evidence.
    supporting: str | None = None
    # Older reports that said (nearly) the same thing; collapsed into this newer result.
    also_reported: list[date] = Field(default_factory=list)


class Answer(BaseModel):
    command: Command
    query: str
    lang: str
    results: list[Result] = Field(default_factory=list)
    # Why the answer is empty or narrowed (e.g. "no report for 2024-01-27; nearest 2024-01-26").
    note: str | None = None

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json")


class WeekCount(BaseModel):
    """One week of a topic's timeline."""

    week: date  # the Monday it starts on
    count: int  # takeaways that mention the term
    reports: int  # reports the store holds from that week


class Peak(BaseModel):
    """One of a topic's busiest weeks, with one takeaway of it (the week's newest)."""

    week: date
    count: int
    takeaway: Result


class Timeline(BaseModel):
    """How often the reports' takeaways mention a term, week by week across the store: the same
    mentions /topic lists (any known name of the term), counted per week."""

    term: str
    name: str  # the term's name in `lang` (the term as asked when it has no known names)
    lang: str
    forms: list[str]  # every name that was looked for
    weeks: list[WeekCount] = Field(default_factory=list)  # oldest first, every week covered
    total: int = 0
    peaks: list[Peak] = Field(default_factory=list)  # busiest first
    first: Result | None = None
    last: Result | None = None
    note: str | None = None  # "no_topic", "empty_store"

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json")
