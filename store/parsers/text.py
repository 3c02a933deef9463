"""Text helpers shared by every format: cleaning, and recognising the recurring pieces of an ISW
report (Key Takeaways heading, bullets, author lines, boilerplate, endnotes)."""

from __future__ import annotations

import re

# Invisible or odd spaces that pasted and scraped text is full of.
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
# Inline endnote markers: "[12]", also the markdown form "[[12]](https://…)". The link target
# stops at the next "[[" (the next marker), so a line of unclosed "[[1]](" stays linear.
ENDNOTE_MARKER = re.compile(r"\[\[(\d{1,3})\]\]\((?:[^)\s\[]|\[(?!\[))*\)|\[(\d{1,3})\]")
# A block that *is* an endnote: starts with its marker ("[1] https://…").
ENDNOTE_LINE = re.compile(r"^\s*\[\[?\d{1,3}\]")

# "Key Takeaways", also as news sites paste it: "Key Takeaways from the ISW:", "ISW's key takeaways".
KEY_TAKEAWAYS = re.compile(
    r"^(?:(?:the\s+)?isw(?:'s|’s)?\s+)?key\s*take\s*-?aways?"
    r"(?:\s+(?:from|of|by)\s+(?:the\s+)?(?:isw|institute\s+for\s+the\s+study\s+of\s+war)\b[^.]{0,60})?"
    r"\s*[:.]?$",
    re.IGNORECASE,
)
# Title of the series (or of the early "Warning Update" pages).
TITLE_LIKE = re.compile(r"campaign\s+assessment|warning\s+update", re.IGNORECASE)

# Bullets: glyphs may touch the text; "-", "*", "+" and numbers need a space after them.
BULLET = re.compile(r"^\s*(?:[•·∙●○◦▪▫■□‣⁃►▶✓✔]\s*|[-–*+]\s+|\(?\d{1,2}[.)]\s+)")

# Map links, page chrome and disclaimers repeated in every report: never content.
_NOISE = re.compile(
    r"^(?:"
    r"click\s*here"
    r"|tip\s*x?\s*make a text selection"
    r"|for more information on isw.s map methodology"
    r"|we do not report in detail on russian war crimes"
    r"|note: isw does not receive any classified material"
    r"|download the pdf"
    r"|follow isw\b"
    r"|sourcing for this assessment is available"
    r"|(?:posted|published|updated)(?:\s+on)?\s+\w+\.?\s+\d{1,2},?\s+\d{4}\W*$"
    # A paste's date line ("date 2024-01-20", "날짜: 2024년 1월 20일"): evidence, not content.
    r"|(?:report\s+)?dated?\s*[:：=-]?\s*(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\w+\.?\s+\d{1,2},?\s+\d{4})\W*$"
    r"|(?:날짜|일자|작성일)\s*[:：]?\s*\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일\W*$"
    r"|isw logo$"
    r"|support isw$"
    r"|russian offensive campaign assessment$"
    r")",
    re.IGNORECASE,
)
# Image captions: "[Source: NASA FIRMS …]", "Satellite image ©2022 Maxar Technologies".
_CAPTION = re.compile(
    r"^\[[^\]]*\]$|©|^source:|\bsource:[^.]{0,150}\.?$"
    r"|^\[?imagery courtesy|courtesy of planet labs|^satellite image\b.{0,80}$",
    re.IGNORECASE,
)
# Where the report ends and the newsletter / site footer begins.
FOOTER = re.compile(
    r"^(?:follow isw on social media|click here to read the full assessment|visit our website"
    r"|donate online|unsubscribe|reading now|next up\b)",
    re.IGNORECASE,
)

_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z]\.|[A-Z][\w'’-]+)){1,3}"
_AUTHORS = re.compile(rf"^(?:by\s+)?{_NAME}(?:\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*){_NAME})*,?$")
_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*")
_SENTENCE_END = re.compile(r"[.!?…。\"”’]$")


def normalize_space(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def clean_text(text: str) -> str:
    """Collapse whitespace and drop inline endnote markers ("…city.[12] Russian" -> "…city. Russian")."""
    text = ENDNOTE_MARKER.sub(" ", text)
    text = normalize_space(text)
    return re.sub(r"\s+([.,;:!?)\]”’])", r"\1", text)


def is_noise(text: str) -> bool:
    """Boilerplate, map links, image captions, or nothing readable at all."""
    text = clean_text(text)
    if not re.search(r"\w\w", text):
        return True
    return bool(_NOISE.match(text) or (len(text) < 300 and _CAPTION.search(text)))


def is_key_takeaways(text: str) -> bool:
    return bool(KEY_TAKEAWAYS.match(clean_text(text).strip("*_# ")))


def strip_bullet(text: str) -> tuple[bool, str]:
    """(was it a bullet, the text without its marker)."""
    match = BULLET.match(text)
    return (True, text[match.end() :]) if match else (False, text)


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(clean_text(text)))


def authors_in(text: str) -> list[str]:
    """The names in a byline such as "Riley Bailey, Grace Mappes, and Frederick W. Kagan", else []."""
    text = clean_text(text)
    if len(text) > 250 or TITLE_LIKE.search(text) or is_key_takeaways(text):
        return []
    if not _AUTHORS.match(text):
        return []
    text = re.sub(r"^by\s+", "", text, flags=re.IGNORECASE).rstrip(",")
    return [name for name in _AUTHOR_SPLIT.split(text) if name]


def first_sentence(text: str) -> str:
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z\"“])", text)
    return text[: match.start()] if match else text


def start_key(text: str, length: int = 60) -> str | None:
    """How a text opens, ignoring punctuation, case and dash styles (which differ between a
    takeaway bullet and the bold lead of its topline paragraph); None when too short to tell.
    A key, so a text is looked up among many instead of compared with each."""
    key = re.sub(r"[^a-z0-9]", "", clean_text(text).lower())[:length]
    return key if len(key) >= 20 else None
