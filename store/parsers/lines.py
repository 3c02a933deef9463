"""Turning line-oriented text (plain text, markdown, the English half of a repost) into blocks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from store.parsers import text as tx
from store.parsers.blocks import Block

# A line-classifier: one raw line -> a Block (its `gap` is filled in by `join_lines`).
Classifier = Callable[[str], Block]


def plain_line(line: str) -> Block:
    """Plain text has no markup: bullets make items, and the first sentence is the lead
    (it is what an unlabeled takeaway list would repeat)."""
    is_item, text = tx.strip_bullet(line)
    text = text.strip()
    return Block(text, kind="item" if is_item else "para", lead=tx.first_sentence(text))


# A heading in text that lost its markup: a short line of words with no closing punctuation.
_BARE_HEADING = re.compile(r"^[A-Z][^.!?:;,\"”’]{3,100}[\w)]$")


def flattened_line(line: str) -> Block:
    """A line of text whose markup was flattened away (a dataset body): as `plain_line`, and a
    short line of words without a sentence end is a heading ("Russian Main Effort—Eastern
    Ukraine"), so the passages below it carry it."""
    block = plain_line(line)
    if block.kind == "para" and _BARE_HEADING.match(block.text) and " " in block.text:
        block.kind = "heading"
    return block


def join_lines(lines: Iterable[str], classify: Classifier = plain_line) -> list[Block]:
    """One block per line, except that hard-wrapped lines are joined to the block above.

    A line continues the previous one only when nothing separates them (no blank line), it is
    not a bullet or heading itself, and it clearly continues the text: it starts in lowercase,
    the line above ends mid-phrase (comma, dash), or it is indented under a bullet.
    """
    blocks: list[Block] = []
    # The block being built is kept as its lines, joined once it is complete, and it is judged
    # by its last line that has any text: re-reading (and re-copying) the whole growing block
    # for every line made a long run of wrapped lines quadratic.
    parts: list[str] = []
    last_text = ""
    gap = True
    for raw in lines:
        if not raw.strip():
            gap = True
            continue
        block = classify(raw)
        if not block.text.strip():
            continue
        if not gap and blocks and _continues(blocks[-1].kind, parts[-1], last_text, block, raw):
            if len(parts) == 1:
                parts[0] = parts[0].rstrip()
            parts.append(block.text.strip())
            # A line of nothing but endnote markers leaves the block's end as it was.
            if tx.clean_text(block.text):
                last_text = block.text
            continue
        _finish(blocks, parts)
        block.gap = gap
        blocks.append(block)
        parts = [block.text]
        last_text = block.text
        gap = False
    _finish(blocks, parts)
    return blocks


def _finish(blocks: list[Block], parts: list[str]) -> None:
    if len(parts) > 1:
        blocks[-1].text = " ".join(parts)


def _continues(
    previous_kind: str, previous_line: str, last_text: str, block: Block, raw: str
) -> bool:
    """Does `block` continue the block above, whose last line is `previous_line` and whose
    last line with text is `last_text` (how the whole block ends, for tx.ends_sentence)?"""
    if block.kind != "para" or previous_kind == "heading":
        return False
    text = block.text.strip()
    if re.match(r"[a-z]", text) or previous_line.rstrip().endswith((",", "–", "—", "-")):
        return not tx.ends_sentence(last_text)
    return previous_kind == "item" and raw[:1].isspace()
