"""Saved understandingwar.org report pages (HTML)."""

from __future__ import annotations

import re
from datetime import date

from selectolax.lexbor import LexborHTMLParser, LexborNode

from store.models import ParseError, Report, SourceFormat, SourceHints
from store.parsers import text as tx
from store.parsers.blocks import Block, assemble
from store.parsers.dates import any_full_date, parse_iso
from store.parsers.html_depth import nesting_depth
from store.parsers.report import body_evidence, make_report
from store.parsers.report_date import choose_report_date

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
# What makes an element a container rather than a paragraph (see _collect_blocks).
_BLOCK_TAGS = _PARAGRAPH_TAGS | _HEADING_TAGS | _LIST_TAGS | {"div", "li", "table", "section"}

# Report pages nest elements about 20 deep. Far deeper nesting is broken or hostile input, and
# lexbor takes time quadratic in the depth to build such a tree (200,000 nested <div>s: a
# minute), so it is refused before parsing (see html_depth).
MAX_NESTING = 256
# The largest saved report page is 142 KB. Some tag soup still makes lexbor quadratic
# (`<form></select><select></p><nobr>` repeated: 0.5 s at 660 KB), so a page far larger than
# any report is refused rather than parsed for minutes.
MAX_HTML_CHARS = 1_500_000


_BLOCK_END = re.compile(
    r"<br\s*/?>|</(?:p|div|li|h[1-6]|tr|blockquote|section|article|pre|dd|dt)\s*>", re.IGNORECASE
)


def check_page(text: str) -> None:
    """Refuse, before lexbor sees it, a page too large, truncated or nested too deeply to be a
    report (see MAX_HTML_CHARS and MAX_NESTING)."""
    if len(text) > MAX_HTML_CHARS:
        raise ParseError(
            f"HTML page too large for a report ({len(text):,} characters; limit {MAX_HTML_CHARS:,})"
        )
    if re.search(r"<html[\s>]", text[:5000], re.IGNORECASE) and not re.search(
        r"</html\s*>", text, re.IGNORECASE
    ):
        raise ParseError("truncated HTML (no closing </html> tag)")
    if nesting_depth(text, MAX_NESTING) > MAX_NESTING:
        raise ParseError(f"HTML nested too deeply (more than {MAX_NESTING} levels of elements)")


def page_text(text: str) -> str:
    """A page's visible text with a line per paragraph, as a browser's copy gives it (inline
    elements stay inside their line): for pages that are not ISW's own, such as a forum's
    repost saved as HTML, which the text parsers read."""
    tree = LexborHTMLParser(_BLOCK_END.sub(lambda m: m.group(0) + "\n", text))
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    root = tree.body or tree.root
    return root.text(separator="") if root is not None else ""


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:1000].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or (
        head.startswith("<") and bool(re.search(r"<(?:p|div|body|article)[\s>]", head))
    )


def parse_isw_html(text: str, source: str, hints: SourceHints | None = None) -> Report:
    hints = hints or SourceHints()
    check_page(text)
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
    titles = [t for t in (title, *body.titles) if t]
    outside = hints.model_copy(update={"urls": [*hints.urls, *_page_urls(tree)]})
    evidence = body_evidence(
        body, outside, titles=titles, text="", bodies=[s.text for s in body.sections]
    )
    # The posting date only lends a year to titles like "…Assessment, March 1".
    evidence.year_hints = [_byline_date(tree)]
    dated = choose_report_date(evidence)
    return make_report(
        title=title or (body.titles[0] if body.titles else ""),
        dated=dated,
        source=source,
        source_format=SourceFormat.ISW_HTML,
        urls=outside.urls,
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


def _page_urls(tree: LexborHTMLParser) -> list[str]:
    """The page's own address (canonical link, og:url), whose slug names its day."""
    urls = []
    for selector, attribute in (
        ('link[rel="canonical"]', "href"),
        ('meta[property="og:url"]', "content"),
    ):
        node = tree.css_first(selector)
        if node is not None and (value := node.attributes.get(attribute)):
            urls.append(value)
    return urls


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


def _collect_blocks(root: LexborNode, out: list[Block]) -> None:
    """Flatten the body into paragraphs, list items and headings, in document order.
    Containers (divs wrapping a whole report, tables) are descended into.

    Iterative, with one stack entry per level (no recursion limit on deep pages), and whether a
    node contains blocks is worked out once for the whole tree rather than by a subtree walk
    at every level (depth x size on deeply nested pages)."""
    containers = _nodes_with_blocks(root)
    # (the children still to visit, are they the children of a <ul>/<ol>)
    stack = [(root.iter(include_text=False), False)]
    while stack:
        children, in_list = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag
        if in_list:
            if tag == "li":
                out.append(Block(child.text(), kind="item", bold=_all_bold(child)))
            else:
                stack.append((child.iter(include_text=False), False))
        elif tag in _LIST_TAGS:
            stack.append((child.iter(include_text=False), True))
        elif tag in _HEADING_TAGS:
            out.append(Block(child.text(), kind="heading"))
        elif tag in _PARAGRAPH_TAGS or child.mem_id not in containers:
            # Empty ones (images, spacers) are kept: they still separate lists.
            out.append(Block(child.text(), bold=_all_bold(child)))
        else:
            stack.append((child.iter(include_text=False), False))


def _nodes_with_blocks(root: LexborNode) -> set[int]:
    """The mem_ids of the nodes under `root` (and `root`) that have a block element among their
    descendants (not counting themselves). Each block marks its ancestors up to the first one
    already marked, so every node is marked at most once."""
    marked: set[int] = set()
    root_id = root.mem_id
    for node in root.traverse(include_text=False):
        if node.tag not in _BLOCK_TAGS or node.mem_id == root_id:
            continue
        parent = node.parent
        while parent is not None and parent.mem_id not in marked:
            marked.add(parent.mem_id)
            if parent.mem_id == root_id:
                break
            parent = parent.parent
    return marked


def _all_bold(node: LexborNode) -> bool:
    """Is (nearly) all of the node's text inside <strong>/<b>? Endnote markers and stray
    spaces outside the bold run do not count."""
    letters = _letters(node.text())
    if not letters:
        return False
    under_bold: dict[int, bool] = {}  # shared by the ancestor walks: each node is walked once
    bold = sum(
        len(_letters(n.text()))
        for n in node.css(", ".join(_BOLD_TAGS))
        if not _has_bold_ancestor(n, node, under_bold)
    )
    return bold >= 0.9 * len(letters)


def _has_bold_ancestor(node: LexborNode, root: LexborNode, memo: dict[int, bool]) -> bool:
    """Is one of the node's ancestors below `root` bold? `memo` remembers the answer (for "the
    node or an ancestor below root") for every node walked, so that many bold runs in one deep
    paragraph cost one walk, not one each."""
    path: list[int] = []
    parent = node.parent
    found = False
    while parent is not None and parent.mem_id != root.mem_id:
        if parent.mem_id in memo:
            found = memo[parent.mem_id]
            break
        if parent.tag in _BOLD_TAGS:
            found = True
            break
        path.append(parent.mem_id)
        parent = parent.parent
    for mem_id in path:
        memo[mem_id] = found
    return found


def _letters(text: str) -> str:
    return re.sub(r"[\W\d_]", "", tx.ENDNOTE_MARKER.sub("", text))
