"""Korean numbers written with 만/억/천 units, in the forms English reports write them.

Korean readers write "1만6천 명", "17억 달러", "30만" where ISW writes "16,000", "$1.7 billion",
"300,000". Neither the embedding model nor BM25 links the two, and an exact number is often
the one thing that pins a question to its report. No maintained library reads these (they are
a few lines), so it is done here: digits followed by a unit, repeated ("12억5천만").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_SMALL = {"십": 10, "백": 100, "천": 1000}
_BIG = {"만": 10**4, "억": 10**8, "조": 10**12}
_PART = r"(\d+(?:[.,]\d+)?)\s?([십백천]?[만억조]|[십백천])"
# "1만 6000": plain digits after the units are its ones (up to 9999, and not a year or a day).
_NUMBER = re.compile(
    rf"(?<![\d.,]){_PART}(?:\s?{_PART})*(?:\s?(?P<ones>\d{{1,4}})(?![\d.,년월일]))?"
)
_ONE_PART = re.compile(_PART)


@dataclass(frozen=True)
class KoreanNumber:
    text: str  # as written: "1만6천"
    value: Decimal
    forms: tuple[str, ...]  # as English reports write it: ("16,000",)


def korean_numbers(text: str) -> list[KoreanNumber]:
    """Numbers with Korean units in `text`, in order. Plain digits ("2024", "16,000") are not
    listed: they are already written the English way."""
    found = []
    for match in _NUMBER.finditer(text):
        value = Decimal(0)
        for digits, unit in _ONE_PART.findall(match.group(0)):
            multiplier = 1
            for ch in unit:
                multiplier *= _SMALL.get(ch) or _BIG[ch]
            value += Decimal(digits.replace(",", "")) * multiplier
        if match.group("ones"):
            value += Decimal(match.group("ones"))
        if value > 0:
            found.append(KoreanNumber(match.group(0).strip(), value, english_forms(value)))
    return found


# Ukrainian and Russian write "16 тисяч", "1,7 млрд", "300 тыс.": digits (a decimal comma) and
# a scale word in any of its cases.
_CYRILLIC_SCALE = (
    (10**3, r"тис\.?|тисяч[аіиеоуюмх]*|тыс\.?|тысяч[аиеоуюмх]*"),
    (10**6, r"млн\.?|мільйон\w*|миллион\w*"),
    (10**9, r"млрд\.?|мільярд\w*|миллиард\w*"),
    (10**12, r"трлн\.?|трильйон\w*|триллион\w*"),
)
_CYRILLIC_NUMBER = re.compile(
    r"(?<![\d.,])(?P<digits>\d+(?:[.,]\d+)?)\s?(?P<scale>"
    + "|".join(f"(?:{words})" for _, words in _CYRILLIC_SCALE)
    + r")(?![а-яіїєґё])",
    re.IGNORECASE,
)


def cyrillic_numbers(text: str) -> list[KoreanNumber]:
    """Numbers with a Ukrainian or Russian scale word ("16 тисяч", "1,7 млрд доларів") in
    `text`, in order, with the forms English reports write them in."""
    found = []
    for match in _CYRILLIC_NUMBER.finditer(text):
        scale = match.group("scale").lower()
        multiplier = next(
            size for size, words in _CYRILLIC_SCALE if re.fullmatch(words, scale, re.IGNORECASE)
        )
        digits = match.group("digits")
        # A comma is the decimal separator ("1,7"), unless three digits follow ("16,000").
        whole, _, part = digits.replace(".", ",").partition(",")
        number = Decimal(whole + part) if len(part) == 3 else Decimal(f"{whole}.{part or 0}")
        value = number * multiplier
        if value > 0:
            found.append(KoreanNumber(match.group(0).strip(), value, english_forms(value)))
    return found


def written_numbers(text: str) -> list[KoreanNumber]:
    """`korean_numbers` and `cyrillic_numbers` of `text`."""
    return korean_numbers(text) + cyrillic_numbers(text)


def english_forms(value: Decimal) -> tuple[str, ...]:
    """16000 -> ("16,000",); 1.7e9 -> ("1.7 billion",); 3e6 -> ("3 million", "3,000,000")."""
    forms = []
    for size, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if value >= size:
            forms.append(f"{_plain(value / size)} {word}")
            break
    if value == value.to_integral_value():
        forms.append(f"{int(value):,}")
    else:
        forms.append(_plain(value))
    return tuple(forms)


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
