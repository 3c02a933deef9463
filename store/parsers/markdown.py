"""Web-clipper / crawler markdown: optional YAML front matter or "# Source:" / "# Date:" crawler
header lines, then the report with markdown emphasis and links."""

from __future__ import annotations

import re

import yaml

from store.models import Report, SourceFormat, SourceHints
from store.parsers import text as tx
from store.parsers.blocks import Block, assemble
from store.parsers.dates import any_full_date
from store.parsers.lines import join_lines
from store.parsers.report import body_evidence, make_report
from store.parsers.report_date import choose_report_date
from store.parsers.signals import require_assessment

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
CRAWLER_HEADER = re.compile(
    r"^#\s*(source|date|url|title|crawled|published)\s*:\s*(.*)$", re.IGNORECASE
)
# The patterns below run over single lines of any length, so none may scan past the start of
# its next possible match: "[" * 200_000 or "![a](" repeated must not cost time quadratic in the
# line. Hence link texts without "[", an image's target without "![", an endnote link's target
# without "[[", and the title suffix matched from the start of a run of spaces only.
# Header fields that date the clip or crawl, not the report.
_STAMPS = ("date", "published", "created", "crawled", "clipped")
_SITE_SUFFIX = re.compile(r"(?<!\s)\s*\|[^|]*$")

_IMAGE = re.compile(r"!\[[^\[\]]*\]\((?:[^)!]|!(?!\[))*\)")
_ENDNOTE_LINK = re.compile(r"\[\[(\d{1,3})\]\]\((?:[^)\s\[]|\[(?!\[))*\)")
_LINK = re.compile(r"\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_AUTOLINK = re.compile(r"<https?://[^<>\s]*>")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*)$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$")


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader, but dates stay text as written: "date: 2024-13-45" would otherwise
    raise ValueError inside the loader and lose the whole front matter, and a header date is
    only a year hint anyway (parse_iso / any_full_date read it, or ignore it when invalid)."""


_FrontMatterLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def looks_like_markdown(text: str) -> bool:
    if FRONT_MATTER.match(text) or CRAWLER_HEADER.match(text.lstrip()):
        return True
    # Linear in the text (see _IMAGE): a bullet's indent cannot run across lines (a run of
    # blank lines would be rescanned from each of them), a link has no "[" inside.
    signals = [
        re.search(r"^#{1,6}\s+\S", text, re.MULTILINE),
        re.search(r"\*\*[^*\n]+\*\*", text),
        re.search(r"\[[^\[\]\n]*\]\([^)\s\[]+\)", text),
        re.search(r"^[^\S\n]*[-*+]\s+\S", text, re.MULTILINE),
    ]
    return sum(bool(s) for s in signals) >= 2


def parse_markdown(text: str, source: str, hints: SourceHints | None = None) -> Report:
    hints = hints or SourceHints()
    meta, text = _split_header(text)
    body = assemble(join_lines(text.splitlines(), _markdown_line), allow_unlabeled_takeaways=True)
    title = _SITE_SUFFIX.sub("", meta.get("title", "") or hints.title).strip()
    titles = [t for t in (title, *body.titles) if t]
    require_assessment(titles, body.labeled, text)
    # Header dates and URLs are the crawl's, and can be wrong (a December 20 URL holding the
    # December 17 report): the report's own words decide (store.parsers.report_date).
    outside = hints.model_copy(
        update={
            "urls": [*hints.urls, *(meta[k] for k in ("source", "url") if meta.get(k))],
            "timestamps": [*hints.timestamps, *(meta[k] for k in _STAMPS if meta.get(k))],
        }
    )
    evidence = body_evidence(body, outside, titles=titles, text=text)
    evidence.year_hints = [any_full_date(text)]
    return make_report(
        title=title or (body.titles[0] if body.titles else ""),
        dated=choose_report_date(evidence),
        source=source,
        source_format=SourceFormat.MARKDOWN,
        urls=outside.urls,
        authors=_authors(meta) or hints.authors or body.authors,
        takeaways=[{"en": t} for t in body.takeaways],
        sections=[(s, "en") for s in body.sections],
        metadata={"subtitle": body.subtitle},
    )


def _split_header(text: str) -> tuple[dict[str, str], str]:
    """Front matter and crawler header lines -> ({key: value}, the rest of the text)."""
    meta: dict[str, str] = {}
    match = FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.load(match.group(1), Loader=_FrontMatterLoader)  # a SafeLoader
        except (yaml.YAMLError, RecursionError):
            loaded = None  # unreadable (or absurdly nested) front matter: just drop it
        if isinstance(loaded, dict):
            meta = {str(k).lower(): _scalar(v) for k, v in loaded.items() if v is not None}
        text = text[match.end() :]
    lines = text.splitlines()
    while lines and (not lines[0].strip() or CRAWLER_HEADER.match(lines[0].strip())):
        header = CRAWLER_HEADER.match(lines.pop(0).strip())
        if header:
            key = "source" if header.group(1).lower() == "url" else header.group(1).lower()
            meta.setdefault(key, header.group(2).strip())
    return meta, "\n".join(lines)


def _scalar(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _authors(meta: dict[str, str]) -> list[str]:
    raw = meta.get("author") or meta.get("authors") or ""
    return [name.strip() for name in re.split(r",|\band\b", raw) if name.strip()]


def _markdown_line(line: str) -> Block:
    if heading := _HEADING.match(line):
        text, _, _ = _inline(heading.group(1))
        return Block(text, kind="heading", bold=True)
    item = _ITEM.match(line)
    text, bold, lead = _inline(item.group(1) if item else line)
    return Block(text, kind="item" if item else "para", bold=bold, lead=lead)


def _inline(line: str) -> tuple[str, bool, str]:
    """Markdown inline syntax -> (plain text, whole line bold?, bold lead sentence)."""
    line = _IMAGE.sub("", line)
    line = _ENDNOTE_LINK.sub(r"[\1]", line)
    line = _LINK.sub(r"\1", line)
    line = _AUTOLINK.sub("", line)
    line = _ESCAPE.sub(r"\1", line)
    # Clippers render a link inside bold text as "**Click****here****to see…**".
    line = line.replace("****", " ").strip()
    bold, lead = False, ""
    if line.startswith(("**", "__")):
        close = line.find(line[:2], 2)
        if close > 0:
            lead = _strip_emphasis(line[2:close])
            rest = tx.ENDNOTE_MARKER.sub("", line[close + 2 :])
            bold = not re.search(r"\w", rest)
    return _strip_emphasis(line), bold, lead


def _strip_emphasis(text: str) -> str:
    text = text.replace("**", "").replace("__", "")
    # Single * or _ at a word edge is emphasis; inside words (snake_case) it is text.
    return re.sub(r"(?<![\w*])[*_](?=\S)|(?<=\S)[*_](?![\w*])", "", text).strip()
