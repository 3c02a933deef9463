"""Saved understandingwar.org report pages (HTML)."""

from __future__ import annotations

import re
from datetime import date

from selectolax.lexbor import LexborHTMLParser, LexborNode

from store.models import ParseError, Report, SourceFormat
from store.parsers import text as tx
from store.parsers.blocks import Block, assemble
from store.parsers.dates import any_full_date, find_report_date, parse_iso
from store.parsers.report import make_report

# Site chrome that is never report text.
_CHROME = "script, style, noscript, iframe, svg, template, form, nav, header, footer, aside, figure"
# Where the report body lives: the Drupal field ISW's site used, then generic fallbacks.
_BODY_SELECTORS = (
    "div.field-name-body div.field-item",
    "div.field-name-body",
    "article .entry-content",
    ".entry-content",
    "article",
    "main",
    "body",
)
_TITLE_SELECTORS = ("h1#page-title", "h1.title", "h1.entry-title", "article h1", "h1")
_SITE_SUFFIX = re.compile(r"\s*[|–—-]\s*(?:Institute for the Study of War|Critical Threats).*$")
_PARAGRAPH_TAGS = {"p", "h1", "blockquote", "pre", "dd", "dt"}
_HEADING_TAGS = {"h2", "h3", "h4", "h5", "h6"}
_LIST_TAGS = {"ul", "ol"}
_BOLD_TAGS = {"strong", "b"}


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:1000].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or (
        head.startswith("<") and bool(re.search(r"<(?:p|div|body|article)[\s>]", head))
    )


def parse_isw_html(text: str, source: str) -> Report:
    if re.search(r"<html[\s>]", text[:5000], re.IGNORECASE) and not re.search(
        r"</html\s*>", text, re.IGNORECASE
    ):
        raise ParseError("truncated HTML (no closing </html> tag)")
    tree = LexborHTMLParser(text)
    title = _title(tree)
    for node in tree.css(_CHROME):
        node.decompose()
    root = next((n for s in _BODY_SELECTORS if (n := tree.css_first(s)) is not None), None)
    if root is None or not tx.normalize_space(root.text()):
        raise ParseError("HTML page has no report body")
    if not tx.TITLE_LIKE.search(title) and not re.search(
        r"key\s*takeaways", root.text(), re.IGNORECASE
    ):
        raise ParseError(f"HTML page is not an ISW campaign assessment (title: {title[:80]!r})")

    for br in root.css("br"):
        br.replace_with(" ")  # <br> separates words; selectolax would glue them together
    blocks: list[Block] = []
    _collect_blocks(root, blocks)
    body = assemble(blocks, allow_unlabeled_takeaways=False)
    report_date = find_report_date(
        titles=[title, *body.titles],
        datelines=body.datelines,
        bodies=[s.text for s in body.sections],
        year_hints=[_byline_date(tree)],
    )
    return make_report(
        title=title or (body.titles[0] if body.titles else ""),
        report_date=report_date,
        source=source,
        source_format=SourceFormat.ISW_HTML,
        authors=body.authors,
        takeaways=[{"en": t} for t in body.takeaways],
        sections=[(s, "en") for s in body.sections],
        metadata={"subtitle": body.subtitle},
    )


def _title(tree: LexborHTMLParser) -> str:
    for selector in _TITLE_SELECTORS:
        node = tree.css_first(selector)
        if node is not None and tx.normalize_space(node.text()):
            return tx.normalize_space(node.text())
    meta = tree.css_first('meta[property="og:title"]')
    if meta is not None and meta.attributes.get("content"):
        return _SITE_SUFFIX.sub("", tx.normalize_space(meta.attributes["content"] or ""))
    node = tree.css_first("title")
    return _SITE_SUFFIX.sub("", tx.normalize_space(node.text())) if node is not None else ""


def _byline_date(tree: LexborHTMLParser) -> date | None:
    """The posting date: only a year hint for titles like "…Assessment, March 1"."""
    for selector, attribute in (
        ("span.submitted [content]", "content"),
        ('meta[property="article:published_time"]', "content"),
        ("time[datetime]", "datetime"),
    ):
        node = tree.css_first(selector)
        if node is not None and (found := parse_iso(node.attributes.get(attribute) or "")):
            return found
    node = tree.css_first("span.submitted")
    return any_full_date(node.text()) if node is not None else None


def _collect_blocks(node: LexborNode, out: list[Block]) -> None:
    """Flatten the body into paragraphs, list items and headings, in document order.
    Containers (divs wrapping a whole report, tables) are descended into."""
    for child in node.iter(include_text=False):
        tag = child.tag
        if tag in _LIST_TAGS:
            for item in child.iter(include_text=False):
                if item.tag == "li":
                    out.append(Block(item.text(), kind="item", bold=_all_bold(item)))
                else:
                    _collect_blocks(item, out)
        elif tag in _HEADING_TAGS:
            out.append(Block(child.text(), kind="heading"))
        elif tag in _PARAGRAPH_TAGS or not _has_blocks(child):
            # Empty ones (images, spacers) are kept: they still separate lists.
            out.append(Block(child.text(), bold=_all_bold(child)))
        else:
            _collect_blocks(child, out)


def _has_blocks(node: LexborNode) -> bool:
    return any(
        n.tag in _PARAGRAPH_TAGS | _HEADING_TAGS | _LIST_TAGS | {"div", "li", "table", "section"}
        for n in node.traverse(include_text=False)
        if n.mem_id != node.mem_id
    )


def _all_bold(node: LexborNode) -> bool:
    """Is (nearly) all of the node's text inside <strong>/<b>? Endnote markers and stray
    spaces outside the bold run do not count."""
    letters = _letters(node.text())
    if not letters:
        return False
    bold = sum(
        len(_letters(n.text()))
        for n in node.css(", ".join(_BOLD_TAGS))
        if not _has_bold_ancestor(n, node)
    )
    return bold >= 0.9 * len(letters)


def _has_bold_ancestor(node: LexborNode, root: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != root.mem_id:
        if parent.tag in _BOLD_TAGS:
            return True
        parent = parent.parent
    return False


def _letters(text: str) -> str:
    return re.sub(r"[\W\d_]", "", tx.ENDNOTE_MARKER.sub("", text))
