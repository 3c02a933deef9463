"""What reportbot knows about written Korean: the Hangul blocks, the particles glued to words,
and the words that ask for "the report" rather than a subject.

It lives in `store/`, the lowest layer, because the write path needs it too (a Korean repost
is told by its Hangul) and `retrieval/` and `bot/` may import `store/` but never the reverse.
Korean morphology (Kiwi) is not here: it belongs to the tokenizer that uses it.
"""

from __future__ import annotations

import re

# Character-class ranges, to put inside [...] of a pattern.
# The precomposed syllables 가-힣: what modern Korean text is written in.
SYLLABLES = "\uac00-\ud7a3"
# Conjoining jamo, compatibility jamo (ㄱ, ㅋㅋ) and the archaic extended jamo blocks.
JAMO = "\u1100-\u11ff"
COMPAT_JAMO = "\u3130-\u318f"
JAMO_EXTENDED = "\ua960-\ua97f\ud7b0-\ud7ff"

# One syllable: "is this Korean text" for parsers, tokenizer and dates, which only meet
# precomposed text.
HANGUL_SYLLABLE = re.compile(f"[{SYLLABLES}]")
# A word of two or more syllables: shorter Hangul runs cannot be transliterated names.
HANGUL_WORD = re.compile(f"[{SYLLABLES}]{{2,}}")
_ANY_HANGUL = re.compile(f"[{SYLLABLES}{JAMO}{COMPAT_JAMO}{JAMO_EXTENDED}]")


def is_hangul(ch: str) -> bool:
    """One character of any Hangul block: syllables, jamo, compatibility or extended jamo
    (a word boundary, a script or a font need the letters, not only the syllables). Plain
    comparisons, not the pattern: the gazetteer calls this for every character it scans."""
    return (
        "\uac00" <= ch <= "\ud7a3"
        or "\u1100" <= ch <= "\u11ff"
        or "\u3130" <= ch <= "\u318f"
        or "\ua960" <= ch <= "\ua97f"
        or "\ud7b0" <= ch <= "\ud7ff"
    )


def has_hangul(text: str) -> bool:
    """Whether any character of `text` is Hangul, in any block."""
    return _ANY_HANGUL.search(text) is not None


# Particles glued to a noun, longest first so that "으로" is taken before "로". Kiwi sometimes
# leaves one on an unknown transliterated name ("도네츠크주의"); a question glues them onto
# names ("바흐무트에서").
PARTICLES: tuple[str, ...] = tuple(
    "에서 으로 에게 까지 부터 의 에 은 는 을 를 이 가 와 과 로".split()
)
# "도" (also) is a particle too, but many nouns end in it (반도, 속도, 정도): only stripped from
# what is read as a name, never from every indexed noun.
NAME_PARTICLES: tuple[str, ...] = (*PARTICLES, "도")
# Nouns of place written right after a name ("아브디이프카 근처", "바흐무트방향").
PLACE_WORDS: tuple[str, ...] = ("근처", "주변", "일대", "방향")
# What ends a name in a question: "바흐무트에서" -> "바흐무트", "아브디이프카근처" -> "아브디이프카".
NAME_TAIL = re.compile(
    "(" + "|".join(sorted((*PLACE_WORDS, *NAME_PARTICLES), key=len, reverse=True)) + ")$"
)

# Suffixes that make a place, a force or an institution out of a name: 벨고로드주 -> 벨고로드,
# 하르키우시 -> 하르키우, 러시아군 -> 러시아, 드니프로강 -> 드니프로, 크렘린궁 -> 크렘린.
NAME_SUFFIXES: tuple[str, ...] = ("주", "시", "군", "구", "강", "해", "측", "궁")

# Words of a question that ask for "the report" rather than a subject ("2024년 1월 26일 핵심
# 요점" is a date lookup); the read path tokenises them beside their English counterparts.
GENERIC_WORDS = "핵심 요점 요약 보고서 보고 정리 무슨 일 있었 있었어 있었나 뭐 뭐야 알려줘 알려 주세요 내용 소식 평가"
