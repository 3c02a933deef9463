"""A reading aid that works offline: under a takeaway that is not in the reader's language, the
people, places, units and key terms it names, in the reader's language with ISW's spelling
beside it: "아브디이프카(Avdiivka) · 크렘린(Kremlin) · 협상(negotiations)".

The names come from the gazetteer and the glossary (one Gazetteer holds both), so nothing is
translated or invented: a word the gazetteer does not know is simply not glossed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from retrieval.gazetteer import Gazetteer

# The languages the gazetteer has forms for, besides English.
GLOSSED = ("ko", "uk", "ru")
# Enough to help read a takeaway; a long list would be a second text.
MAX_ITEMS = 8


class Gloss(BaseModel):
    """One named thing: its name in the reader's language and as the takeaway writes it;
    `kind` "name" (a person, place, unit, event) or "term" (the glossary's vocabulary)."""

    text: str
    original: str
    kind: Literal["name", "term"] = "name"


def gloss(text: str, text_lang: str, reader_lang: str, gazetteer: Gazetteer) -> list[Gloss]:
    """The things `text` names, in `reader_lang`: people, places, units and events first, then
    the glossary's terms, each group in the order the text names them; [] when the text is
    already in the reader's language or the gazetteer has no forms in it."""
    if text_lang == reader_lang or reader_lang not in GLOSSED:
        return []
    names: list[Gloss] = []
    terms: list[Gloss] = []
    seen: set[str] = set()
    for start, end, entry in gazetteer.find_spans(text):
        forms = getattr(entry, reader_lang)
        if entry.id in seen or not forms:
            continue
        seen.add(entry.id)
        kind = "term" if entry.type == "term" else "name"
        item = Gloss(text=forms[0], original=text[start:end], kind=kind)
        (terms if kind == "term" else names).append(item)
    return (names + terms)[:MAX_ITEMS]


def gloss_line(items: list[Gloss]) -> str:
    """ "아브디이프카(Avdiivka) · 크렘린(Kremlin)"."""
    return " · ".join(f"{item.text}({item.original})" for item in items)
