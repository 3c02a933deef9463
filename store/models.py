"""Typed records that flow from the parsers into the vector store."""

from __future__ import annotations

import hashlib
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field

DEFAULT_SERIES = "Russian Offensive Campaign Assessment"


class SourceFormat(StrEnum):
    KOREAN_REPOST = "korean_repost"
    ISW_HTML = "isw_html"
    MARKDOWN = "markdown"
    PLAIN_TEXT = "plain_text"
    # A Ukrainian or Russian repost of a report (its takeaways translated by the reposter).
    CYRILLIC_REPOST = "cyrillic_repost"
    # One record of a JSON / JSONL / CSV / TSV file holding many reports.
    DATASET = "dataset"


class Takeaway(BaseModel):
    """One Key Takeaway; `texts` maps a language code to the same takeaway in that language.

    A Korean forum repost gives both "en" and "ko" for takeaway *i*; an ISW page gives "en" only.
    """

    position: int = Field(ge=0)
    texts: dict[str, str]

    def text_for(self, lang: str) -> tuple[str, str]:
        """The text in `lang` if the report has it, else English, else any: (lang, text)."""
        for candidate in (lang, "en", *self.texts):
            if candidate in self.texts:
                return candidate, self.texts[candidate]
        raise ValueError("takeaway has no text")


class Passage(BaseModel):
    """A body paragraph (or a Korean summary item) of a report."""

    position: int = Field(ge=0)
    text: str
    lang: str = "en"
    heading: str | None = None


class Report(BaseModel):
    series: str = DEFAULT_SERIES
    title: str
    report_date: date
    authors: list[str] = Field(default_factory=list)
    source: str
    source_format: SourceFormat
    languages: list[str] = Field(default_factory=lambda: ["en"])
    takeaways: list[Takeaway] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    # Free-form extras a format carries, e.g. the Korean repost's 카테고리 / 주요 국가 / 향후 전망.
    metadata: dict[str, str] = Field(default_factory=dict)
    # How report_date was found ("title", "dateline", "file name", …: store.parsers.report_date)
    # and what disagreed with it. Not part of the content: they never make a report "updated".
    date_source: str = ""
    warnings: list[str] = Field(default_factory=list)
    # The report's web address, from the file's own evidence (store.parsers.links); "" when it
    # has none. Not content either: a link found later fills in without re-embedding anything.
    url: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def report_id(self) -> str:
        """Stable id of the *report*, not the file: the same assessment saved as HTML and as
        markdown must collapse into one report."""
        slug = hashlib.sha1(self.series.lower().encode()).hexdigest()[:8]
        return f"{slug}-{self.report_date.isoformat()}"

    def content_hash(self) -> str:
        """Changes whenever anything we would store changes; used to skip unchanged re-ingests."""
        content = self.model_dump_json(exclude={"source", "date_source", "warnings", "url"})
        return hashlib.sha256(content.encode()).hexdigest()


class StoreStats(BaseModel):
    """What a store holds: the one count `reportbot stats`, the bot's /stats and the terminal
    chat all show."""

    reports: int
    takeaways: int
    passages: int
    oldest: date | None
    newest: date | None
    with_link: int = 0
    chunks: int = 0
    translations: int = 0
    embedding_model: str
    store: str


class SourceHints(BaseModel):
    """What is known about a document from outside its text: its file name, and the fields a
    dataset record or a crawler header carries beside the body."""

    file_name: str = ""
    title: str = ""
    urls: list[str] = Field(default_factory=list)
    # Publication or crawl moments (ISO 8601, epoch seconds); only a last resort for the date.
    timestamps: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)


class ParseError(ValueError):
    """A file that is not a report we can read; the message says why, in one line."""
