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


def join_lines(lines: Iterable[str], classify: Classifier = plain_line) -> list[Block]:
    """One block per line, except that hard-wrapped lines are joined to the block above.

    A line continues the previous one only when nothing separates them (no blank line), it is
    not a bullet or heading itself, and it clearly continues the text: it starts in lowercase,
    the line above ends mid-phrase (comma, dash), or it is indented under a bullet.
    """
    blocks: list[Block] = []
    gap = True
    for raw in lines:
        if not raw.strip():
            gap = True
            continue
        block = classify(raw)
        if not block.text.strip():
            continue
        if not gap and blocks and _continues(blocks[-1], block, raw):
            blocks[-1].text = f"{blocks[-1].text.rstrip()} {block.text.strip()}"
            continue
        block.gap = gap
        blocks.append(block)
        gap = False
    return blocks


def _continues(previous: Block, block: Block, raw: str) -> bool:
    if block.kind != "para" or previous.kind == "heading":
        return False
    text = block.text.strip()
    if re.match(r"[a-z]", text) or re.search(r"[,–—-]$", previous.text.rstrip()):
        return not tx.ends_sentence(previous.text)
    return previous.kind == "item" and raw[:1].isspace()
