"""store.korean: the one place that knows Hangul, Korean particles and generic question words;
and the bot's label language, which goes by script through retrieval.language."""

from __future__ import annotations

import pytest

from retrieval.language import guess_by_script
from store.korean import HANGUL_SYLLABLE, HANGUL_WORD, NAME_TAIL, PARTICLES, has_hangul, is_hangul


@pytest.mark.parametrize("ch", ["가", "힣", "ᄀ", "ㅋ", "ꥠ", "ힰ"])
def test_every_hangul_block_is_hangul(ch):
    assert is_hangul(ch) and has_hangul(f"x{ch}y")


@pytest.mark.parametrize("ch", ["a", "Я", "中", "の", "1", " ", "\uabff"])
def test_other_scripts_are_not(ch):
    assert not is_hangul(ch) and not has_hangul(ch)


def test_syllables_and_words():
    assert HANGUL_SYLLABLE.search("HIMARS 관련") and not HANGUL_SYLLABLE.search("ㅋㅋ")
    assert HANGUL_WORD.findall("바흐무트에서 a 군") == ["바흐무트에서"]


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("바흐무트에서", "바흐무트"),
        ("아브디이프카근처", "아브디이프카"),
        ("포크로우스크방향", "포크로우스크"),
        ("헤르손으로", "헤르손"),
        ("크렘린도", "크렘린"),
        ("바흐무트", "바흐무트"),
    ],
)
def test_name_tail(word, name):
    assert NAME_TAIL.sub("", word) == name


def test_particles_longest_first():
    # "으로" must be tried before "로" ("헤르손으로" -> "헤르손", not "헤르손으").
    assert PARTICLES.index("으로") < PARTICLES.index("로")
    assert "도" not in PARTICLES  # 반도, 속도: never stripped from every indexed noun


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("크렘린", "en", "ko"),
        ("ㅋㅋ", None, "ko"),
        ("Що сталося біля Авдіївки?", "en", "uk"),
        ("Что случилось?", None, "ru"),
        ("Бахмут", "uk", "uk"),
        ("Бахмут", "ko", "ru"),
        ("What happened?", "ko", "en"),
        ("", "uk", "uk"),
        ("2024-01-26", "de", "en"),
    ],
)
def test_guess_by_script(text, hint, expected):
    assert guess_by_script(text, hint, ("en", "ko", "uk", "ru")) == expected
