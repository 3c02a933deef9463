"""The format-independent half of parsing.

Each format turns its document into a flat list of `Block`s (paragraphs, list items, headings,
with inline endnote markers still in place); `assemble` then finds the byline, the Key
Takeaways and the body passages the same way for all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from store.chunking import split_passage
from store.parsers import text as tx
from store.parsers.dates import DATELINE

# "break": boilerplate, a caption or an image between blocks. It carries no text, but it still
# ends a list (the takeaways list and the next list are often separated only by a map).
Kind = Literal["para", "item", "heading", "break"]

_MAX_HEADING = 300
_HEADER_SCAN = 8  # the byline sits in the first few blocks; never look further
# Takeaways are rarely longer than this; a paragraph that is, after shorter ones, is body text.
_LONG_TAKEAWAY = 500
# A line without a sentence end this short, after takeaway sentences, is the next heading.
_SHORT_HEADING = 120


@dataclass
class Block:
    text: str
    kind: Kind = "para"
    bold: bool = False  # the whole block is bold (a heading, or a bold topline sentence)
    lead: str = ""  # its bold opening sentence, if it has one
    gap: bool = True  # preceded by a blank line (line-based formats only)


@dataclass
class Section:
    """A passage before splitting: its text and the heading it sits under."""

    text: str
    heading: str | None


@dataclass
class Body:
    titles: list[str] = field(default_factory=list)
    subtitle: str = ""
    authors: list[str] = field(default_factory=list)
    datelines: list[str] = field(default_factory=list)
    takeaways: list[str] = field(default_factory=list)
    # The takeaways sat under a "Key Takeaways" heading (not merely a list that reads like them).
    labeled: bool = False
    sections: list[Section] = field(default_factory=list)


def assemble(blocks: list[Block], *, allow_unlabeled_takeaways: bool) -> Body:
    """Byline, takeaways and passages of a report given as blocks.

    `allow_unlabeled_takeaways`: some crawls drop the "Key Takeaways" heading and keep only
    the list; ISW's own pages always label it, so for them an unlabeled list is body text.
    """
    body = Body()
    blocks = [
        Block("", kind="break") if tx.is_noise(b.text) else b for b in _until_endnotes(blocks)
    ]
    blocks = _take_header(blocks, body)
    blocks = _take_takeaways(blocks, body, allow_unlabeled_takeaways)
    body.sections = _sections(blocks)
    return body


def _until_endnotes(blocks: list[Block]) -> list[Block]:
    """Everything before the endnotes ("[1] https://…") or the newsletter/site footer."""
    for i, block in enumerate(blocks):
        text = tx.normalize_space(block.text)
        if i > 0 and (tx.ENDNOTE_LINE.match(text) or tx.FOOTER.match(text)):
            return blocks[:i]
    return blocks


def _take_header(blocks: list[Block], body: Body) -> list[Block]:
    """Consume the leading title / subtitle / authors / dateline blocks, in any order."""
    seen = 0
    for i, block in enumerate(blocks):
        if block.kind == "break":
            continue
        seen += 1
        text = tx.clean_text(block.text)
        if seen > _HEADER_SCAN or block.kind == "item" or len(text) > 250:
            return blocks[i:]
        if DATELINE.match(text):
            body.datelines.append(text)
        elif tx.is_key_takeaways(text):
            return blocks[i:]
        elif tx.TITLE_LIKE.search(text) and not tx.ends_sentence(text):
            body.titles.append(text)
        elif text.lower().startswith("special edition"):
            body.subtitle = text
        elif names := tx.authors_in(text):
            body.authors.extend(names)
        else:
            return blocks[i:]
    return []


def _take_takeaways(blocks: list[Block], body: Body, allow_unlabeled: bool) -> list[Block]:
    """Move the Key Takeaways out of `blocks` into `body.takeaways`."""
    start = next((i for i, b in enumerate(blocks) if tx.is_key_takeaways(b.text)), None)
    if start is not None:
        first = start + 1
        while first < len(blocks) and blocks[first].kind == "break":
            first += 1  # a map or spacer between the heading and its list
        end = first
        while end < len(blocks) and blocks[end].kind == "item":
            end += 1
        if end == first:
            # Pasted text loses bullet glyphs: then the takeaways are the paragraphs directly
            # below the heading, up to the first blank line -- unless the paste puts a blank line
            # between all its paragraphs (a browser's copy of a page), where only the report's
            # next part ends them.
            spaced = _double_spaced(blocks)
            while end < len(blocks) and blocks[end].kind == "para":
                if end > first and (
                    (blocks[end].gap and not spaced) or _ends_run(blocks[first:end], blocks[end])
                ):
                    break
                end += 1
        body.takeaways = [tx.clean_text(b.text) for b in blocks[first:end]]
        body.labeled = True
        return blocks[:start] + blocks[end:]
    if allow_unlabeled:
        run = _unlabeled_takeaways(blocks)
        if run:
            start, end = run
            body.takeaways = [tx.clean_text(b.text) for b in blocks[start:end]]
            return blocks[:start] + blocks[end:]
    return blocks


def _double_spaced(blocks: list[Block]) -> bool:
    """Does (nearly) every paragraph of the text stand after a blank line?"""
    paragraphs = [b for b in blocks if b.kind == "para"]
    return len(paragraphs) >= 5 and sum(b.gap for b in paragraphs) >= 0.9 * len(paragraphs)


def _ends_run(run: list[Block], block: Block) -> bool:
    """Does `block` end a run of unmarked takeaway paragraphs that has no blank line after it
    (text whose breaks were flattened)? Takeaways are sentences of a few lines: a heading or a
    list's introduction ("…at this time:") ends them, and so does a paragraph far longer than
    the takeaways before it (the body resuming)."""
    text = tx.clean_text(block.text)
    if text.endswith(":"):
        return True
    if (
        not tx.ends_sentence(text)
        and len(text) < _SHORT_HEADING
        and not text.endswith((";", ",", " and", " or"))
        and 2 * sum(tx.ends_sentence(b.text) for b in run) >= len(run)
    ):
        return True  # a heading after sentences (a run of "…;" items is a list of its own)
    lengths = sorted(len(tx.clean_text(b.text)) for b in run)
    return len(text) > _LONG_TAKEAWAY and len(text) > 2.5 * lengths[len(lengths) // 2]


def _unlabeled_takeaways(blocks: list[Block]) -> tuple[int, int] | None:
    """The first list before any section heading that reads like Key Takeaways: every item
    bold, or at least half of them repeating the bold lead of a topline paragraph."""
    # The leads' tx.start_key: a set, not a list to compare every item with (items x leads).
    leads: set[str] = set()
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if _is_heading(blocks, i):
            return None
        if block.kind != "item":
            if block.lead and (key := tx.start_key(block.lead)) is not None:
                leads.add(key)
            i += 1
            continue
        end = i
        while end < len(blocks) and blocks[end].kind == "item":
            end += 1
        items = blocks[i:end]
        echoed = sum(tx.start_key(item.text) in leads for item in items)
        if len(items) >= 2 and (all(item.bold for item in items) or 2 * echoed >= len(items)):
            return i, end
        i = end
    return None


def _is_heading(blocks: list[Block], i: int) -> bool:
    block = blocks[i]
    if block.kind == "heading":
        return True
    if block.kind != "para" or not block.bold:
        return False
    text = tx.clean_text(block.text)
    if len(text) > _MAX_HEADING or tx.ends_sentence(text):
        return False
    # "…four primary efforts at this time:" introduces the list below it: a paragraph.
    next_is_item = i + 1 < len(blocks) and blocks[i + 1].kind == "item"
    return not (text.endswith(":") and next_is_item)


def _sections(blocks: list[Block]) -> list[Section]:
    """Paragraphs become sections under the latest heading; a run of list items is packed into
    as few sections as fit (led by the paragraph introducing it, if that ends with a colon)."""
    sections: list[Section] = []
    heading: str | None = None
    i = 0
    while i < len(blocks):
        block = blocks[i]
        text = tx.clean_text(block.text)
        if _is_heading(blocks, i):
            heading = text.rstrip(":.").strip() or None
            i += 1
            continue
        if block.kind == "item":
            end = i
            while end < len(blocks) and blocks[end].kind == "item":
                end += 1
            items = [tx.clean_text(b.text) for b in blocks[i:end]]
            intro = None
            if sections and sections[-1].heading == heading and sections[-1].text.endswith(":"):
                intro = sections.pop().text
            sections.extend(Section(t, heading) for t in _pack_list(intro, items))
            i = end
            continue
        if block.kind != "break" and re.search(r"[^\W\d_]{3}", text):
            sections.append(Section(text, heading))
        i += 1
    return sections


def _pack_list(intro: str | None, items: list[str], max_chars: int = 1200) -> list[str]:
    """List items joined one per line into as few passages as fit; long items split alone."""
    passages: list[str] = []
    current = intro or ""
    for item in items:
        line = f"- {item}"
        if current and len(current) + 1 + len(line) <= max_chars:
            current = f"{current}\n{line}"
            continue
        if current:
            passages.append(current)
        current = ""
        if len(line) > max_chars:
            passages.extend(split_passage(line, max_chars))
        else:
            current = line
    if current:
        passages.append(current)
    return passages
