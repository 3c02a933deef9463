"""Telegram HTML rendering and splitting (bot/telegram_format.py), and the rate limiter."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.fake_bot_api import parse_html
from bot.i18n import label
from bot.ratelimit import SlidingWindowLimiter
from bot.telegram_format import (
    MAX_MESSAGE,
    answer_blocks,
    escape,
    help_lang,
    lang_hint,
    page_keyboard,
    paginate,
    parse_count,
    parse_page_callback,
    render_answer,
    split_html,
    strip_mention,
    strip_tags,
    tags_balanced,
    tg_len,
    user_lang,
)
from retrieval.models import Answer, Result


def make_result(text: str, **overrides) -> Result:
    values = {
        "report_id": "r1",
        "report_date": date(2024, 1, 26),
        "text": text,
        "lang": "en",
        "kind": "takeaway",
        "report_title": "Russian Offensive Campaign Assessment, January 26, 2024",
        "source": "https://www.understandingwar.org/backgrounder/russian-offensive-campaign-"
        "assessment-january-26-2024",
        "score": 1.0,
    }
    values.update(overrides)
    return Result(**values)


def make_answer(texts: list[str], lang: str = "en", note: str | None = None) -> Answer:
    return Answer(
        command="ask",
        query="q",
        lang=lang,
        results=[make_result(t, position=i) for i, t in enumerate(texts)],
        note=note,
    )


def joined_modulo_breaks(pieces: list[str], original: str) -> bool:
    """The pieces' text, in order, is the original with (only) whitespace dropped at breaks."""
    texts = [strip_tags(p) for p in pieces]
    pattern = r"\s*".join(re.escape(t) for t in texts)
    return re.fullmatch(pattern, strip_tags(original), flags=re.DOTALL) is not None


# ---- rendering --------------------------------------------------------------------------------


def test_result_has_date_source_link_and_escaped_text():
    answer = make_answer(["Russia <b>claimed</b> Avdiivka & more"])
    (page,) = render_answer(answer)
    assert "[2024-01-26]" in page
    assert "Russia &lt;b&gt;claimed&lt;/b&gt; Avdiivka &amp; more" in page
    assert "<b>claimed</b>" not in page
    assert '<a href="https://www.understandingwar.org/backgrounder/' in page
    assert ">Russian Offensive Campaign Assessment, January 26, 2024</a>" in page
    assert label("en", "source") in page
    parse_html(page)  # Telegram would accept it


def test_source_without_url_is_the_title_without_a_link():
    result = make_result("x", source="/data/reports/2024-01-26.md", report_title="A <title> & co")
    page = render_answer(Answer(command="ask", query="q", lang="en", results=[result]))[0]
    assert "<a " not in page
    assert "A &lt;title&gt; &amp; co" in page
    assert "/data/reports" not in page


def test_the_report_s_own_link_is_used_and_the_file_path_never_shown():
    url = "https://www.understandingwar.org/backgrounder/russian-offensive-campaign-assessment-march-1"
    result = make_result("x", source="/srv/reportbot/corpus/2022-03-01.html", url=url)
    page = render_answer(Answer(command="ask", query="q", lang="ko", results=[result]))[0]
    assert f'<a href="{url}">Russian Offensive Campaign Assessment, January 26, 2024</a>' in page
    assert "/srv/reportbot" not in page
    parse_html(page)


def test_link_attribute_is_escaped():
    result = make_result("x", source='https://example.org/a?b=1&c="2"')
    page = render_answer(Answer(command="ask", query="q", lang="en", results=[result]))[0]
    assert 'href="https://example.org/a?b=1&amp;c=&quot;2&quot;"' in page
    parse_html(page)


def test_korean_labels_and_notes():
    answer = make_answer(["크렘린은 협상을 거부했습니다."], lang="ko", note="nearest:2024-01-26")
    answer.results[0].lang = "ko"
    blocks = answer_blocks(answer)
    assert blocks[0] == "<i>" + escape(label("ko", "nearest", date="2024-01-26")) + "</i>"
    assert label("ko", "takeaway") in blocks[1]
    assert label("ko", "only_english") not in blocks[1]


def test_english_fallback_marked_for_korean_reader():
    answer = make_answer(["The Kremlin rejected rumours."], lang="ko")
    assert label("ko", "only_english") in answer_blocks(answer)[0]


def test_empty_answer_says_no_match():
    assert render_answer(Answer(command="ask", query="q", lang="ko")) == [
        escape(label("ko", "no_match"))
    ]


def test_note_with_user_query_is_escaped():
    answer = Answer(command="topic", query="<b>x</b>&", lang="en", note="no_topic")
    (page,) = render_answer(answer)
    assert "&lt;b&gt;x&lt;/b&gt;&amp;" in page
    parse_html(page)


# ---- splitting --------------------------------------------------------------------------------


def test_short_answer_is_one_page():
    assert len(render_answer(make_answer(["One.", "Two."]))) == 1


def test_pages_break_between_takeaways():
    texts = [f"Takeaway {i}. " + "word " * 150 for i in range(20)]
    answer = make_answer(texts)
    pages = render_answer(answer)
    blocks = answer_blocks(answer)
    assert len(pages) > 1
    assert all(tg_len(p) <= MAX_MESSAGE for p in pages)
    # Every page is whole blocks: no takeaway is cut.
    assert "\n\n".join(pages) == "\n\n".join(blocks)


def test_ten_thousand_character_takeaway():
    sentence = "Russian forces attacked near Avdiivka & <Bakhmut> on 26 January. "
    text = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    answer = make_answer([text])
    pages = render_answer(answer)
    assert len(pages) == 3
    for page in pages:
        assert tg_len(page) <= MAX_MESSAGE
        assert tags_balanced(page)
        parse_html(page)
    # Split at sentence ends: every page but the last ends with a full sentence.
    for page in pages[:-1]:
        assert strip_tags(page).rstrip().endswith("January.")
    assert joined_modulo_breaks(pages, "\n\n".join(answer_blocks(answer)))
    # The numbered header is bold; its tag is closed on page 1 and not reopened.
    assert pages[0].startswith("<b>1. [2024-01-26]</b>")


def test_split_reopens_tags_and_never_cuts_entities():
    body = "<i>" + escape("a & b < c. " * 40) + "</i>"
    pieces = split_html(body, 60)
    assert len(pieces) > 5
    for piece in pieces:
        assert tg_len(piece) <= 60
        assert piece.startswith("<i>") and piece.endswith("</i>")
        assert tags_balanced(piece)
        parse_html(piece)
    assert joined_modulo_breaks(pieces, body)


def test_split_without_spaces_breaks_anywhere_but_inside_entities():
    body = escape("&" * 100)
    pieces = split_html(body, 22)
    assert all(tg_len(p) <= 22 for p in pieces)
    assert all(re.fullmatch(r"(&amp;)+", p) for p in pieces)
    assert "".join(pieces) == body


def test_split_counts_utf16_units():
    body = "😀" * 100  # two UTF-16 units each
    pieces = split_html(body, 50)
    assert all(tg_len(p) <= 50 for p in pieces)
    assert "".join(pieces) == body


def test_split_never_ends_a_piece_with_an_empty_tag():
    body = "x" * 8 + "<b>" + "y" * 20 + "</b>"
    for piece in split_html(body, 12):
        assert "<b></b>" not in piece
        assert tags_balanced(piece)


takeaway_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000
) | st.lists(
    st.sampled_from(
        ["word", "<b>", "&", "&amp;", "Авдіївка", "아브디이프카", ". ", " ", "\n", "😀"]
    ),
    max_size=1500,
).map("".join)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    texts=st.lists(takeaway_text, min_size=1, max_size=6), limit=st.sampled_from([300, 1000, 4096])
)
def test_property_pages_fit_balance_and_keep_the_text(texts, limit):
    answer = make_answer(texts)
    pages = render_answer(answer, limit=limit)
    for page in pages:
        assert tg_len(page) <= limit
        assert tags_balanced(page)
        parse_html(page)  # Telegram's HTML parser accepts it
    whole = "\n\n".join(answer_blocks(answer))
    assert joined_modulo_breaks(pages, whole)
    # And the report text arrives escaped: unescaping the pages' text gives the takeaways back.
    plain = html.unescape(strip_tags("".join(pages)))
    for text in texts:
        for word in text.split():
            assert word in plain


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=2000), limit=st.integers(min_value=40, max_value=400))
def test_property_split_escaped_text(text, limit):
    body = "<b>" + escape(text) + "</b>"
    pieces = split_html(body, limit)
    assert all(tg_len(p) <= limit and tags_balanced(p) for p in pieces)
    assert joined_modulo_breaks(pieces, body)


# ---- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "expected"),
    [
        ("", "ko", "ko"),
        ("", "ko-KR", "ko"),
        ("", "en", "en"),
        ("", None, "en"),
        ("", "fr", "en"),
        ("도움", "en", "ko"),
        ("help", "ko", "en"),
        ("", "uk", "uk"),
        ("", "uk-UA", "uk"),
        ("", "ru", "ru"),
        ("", "ru-RU", "ru"),
        ("довідка", "en", "uk"),
        ("справка", "en", "ru"),
    ],
)
def test_help_lang(text, code, expected):
    assert help_lang(text, code) == expected


@pytest.mark.parametrize("lang", ["ko", "uk", "ru"])
def test_every_label_in_korean_ukrainian_and_russian(lang):
    """No label falls back to English for the languages the bot is written for; the
    placeholders are those of the English label."""
    from string import Formatter

    from bot.i18n import LABELS

    for key, english in LABELS["en"].items():
        text = LABELS[lang].get(key)
        assert text is not None or not english, (lang, key)
        if text:
            fields = {f for _, f, _, _ in Formatter().parse(english) if f}
            assert {f for _, f, _, _ in Formatter().parse(text) if f} == fields, (lang, key)


@pytest.mark.parametrize(
    ("lang", "example"),
    [("uk", "Що сталося біля Авдіївки?"), ("ru", "Что произошло с Крымским мостом")],
)
def test_help_shows_a_question_in_the_readers_language(lang, example):
    from bot.i18n import LABELS

    assert example in LABELS[lang]["help"]
    assert example in LABELS["en"]["help"]


def test_user_lang_and_hints():
    assert user_lang("크렘린", "en") == "ko"
    assert user_lang("Що сталося біля Авдіївки?", "en") == "uk"
    assert user_lang("Что случилось?", None) == "ru"
    assert user_lang("", "uk") == "uk"
    assert user_lang("", "de") == "en"
    assert lang_hint("2024-01-26", "ko") == "ko"
    assert lang_hint("1월 26일", "en") is None
    assert lang_hint("January 26", "ko") is None


def test_command_arguments_and_mentions():
    assert parse_count("3") == 3
    assert parse_count("") is None
    assert parse_count("x") is None
    assert parse_count("0") is None
    assert strip_mention("@ISW_Report_Bot  크렘린이 뭐라고 했어?", "isw_report_bot") == (
        "크렘린이 뭐라고 했어?"
    )
    assert strip_mention("hey @isw_report_bot2 x", "isw_report_bot") == "hey @isw_report_bot2 x"


def test_page_keyboard_and_callback_data():
    first = page_keyboard("abcd1234", 0, 3, "ko")
    (button,) = first.inline_keyboard[0]
    assert label("ko", "more") in button.text
    assert parse_page_callback(button.callback_data) == ("abcd1234", 1)
    middle = page_keyboard("abcd1234", 1, 3, "en")
    assert [parse_page_callback(b.callback_data) for b in middle.inline_keyboard[0]] == [
        ("abcd1234", 0),
        ("abcd1234", 2),
    ]
    assert page_keyboard("abcd1234", 0, 1, "en") is None
    assert len(first.inline_keyboard[0][0].callback_data.encode()) <= 64
    assert parse_page_callback("pg:zz:1") is None
    assert parse_page_callback(None) is None


def test_paginate_skips_empty_blocks():
    assert paginate(["", "a", "", "b"], 100) == ["a\n\nb"]


# ---- rate limit -------------------------------------------------------------------------------


def test_sliding_window_limiter():
    now = [1000.0]
    limiter = SlidingWindowLimiter(3, 60.0, clock=lambda: now[0])
    assert [limiter.hit(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit(1) == pytest.approx(60.0)
    assert limiter.hit(2) == 0.0  # per user
    now[0] += 30
    assert limiter.hit(1) == pytest.approx(30.0)  # refused requests do not count
    now[0] += 30.001
    assert limiter.hit(1) == 0.0  # the window slid past the first three
    assert limiter.hit(1) == 0.0
    assert limiter.hit(1) == 0.0
    assert limiter.hit(1) > 0


def test_limiter_zero_means_unlimited():
    limiter = SlidingWindowLimiter(0)
    assert all(limiter.hit(1) == 0.0 for _ in range(1000))
