"""Sharing and timeline formatting without a store: the shared message, links, inline titles,
the timeline caption within Telegram's limit, the timeline button, and what inline mode and
its debouncer decide."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from telegram import Chat, Message, Update, User

from bot.fake_bot_api import parse_html, parse_html_entities
from bot.gates import GROUP_TEXT, PRIVATE_TEXT
from bot.inline import Debouncer, ResultCache, is_term
from bot.telegram_format import (
    MAX_CAPTION,
    inline_results,
    inline_title,
    parse_timeline_callback,
    render_answer,
    report_url,
    result_html,
    share_html,
    tags_balanced,
    tg_len,
    timeline_callback_data,
    timeline_caption,
)
from retrieval.models import Answer, Peak, Result, Timeline, WeekCount
from tests.bot_harness import FakeClock

URL = "https://www.understandingwar.org/backgrounder/russian-offensive-campaign-assessment-february-17-2024"


def result(text: str = "Ukrainian forces withdrew from Avdiivka.", **overrides) -> Result:
    values = {
        "report_id": "2024-02-17",
        "report_date": date(2024, 2, 17),
        "text": text,
        "lang": "en",
        "kind": "takeaway",
        "report_title": "Russian Offensive Campaign Assessment, February 17, 2024",
        "source": "/data/corpus/isw-html/2024-02-17.html",
        "score": 1.0,
    }
    values.update(overrides)
    return Result(**values)


def test_a_shared_takeaway_reads_as_the_bots_answers_do():
    r = result()
    assert share_html(r, "en") == result_html(r, "en", None)
    answer = render_answer(Answer(command="topic", query="x", lang="en", results=[r]))[0]
    # The same block, without the number a list needs.
    assert answer.replace("<b>1. [", "<b>[", 1) == share_html(r, "en")


def test_the_link_is_the_reports_own_or_none():
    assert report_url(result()) is None  # read from a file: no address is made up
    assert "<a " not in share_html(result(), "en")
    assert report_url(result(source=URL)) == URL
    linked = result().model_copy(update={"url": URL})
    assert report_url(linked) == URL
    text, entities = parse_html_entities(share_html(linked, "ko"))
    assert entities == [
        {
            "type": "text_link",
            "offset": entities[0]["offset"],
            "length": len(linked.report_title),
            "url": URL,
        }
    ]
    assert text.startswith("[2024-02-17] Ukrainian forces withdrew from Avdiivka. (원문 영어)")
    assert report_url(result().model_copy(update={"url": "javascript:alert(1)"})) is None


def test_a_very_long_takeaway_still_fits_one_message():
    long = result("Russian forces attacked near Avdiivka & <Bakhmut>. " * 200)
    html = share_html(long, "en")
    assert tg_len(html) <= 4096 and tags_balanced(html)
    parse_html(html)


def test_inline_titles_show_the_date_and_the_first_words():
    title, description = inline_title(result("Word " * 40))
    assert title.startswith("2024-02-17 · Word Word")
    assert len(title) <= 64 and title.endswith("…")
    assert description.startswith("…Word")
    short_title, short_description = inline_title(result("Short one."))
    assert short_title == "2024-02-17 · Short one."
    assert short_description == result().report_title
    results = inline_results(
        Answer(command="topic", query="x", lang="en", results=[result(), result(position=1)])
    )
    assert len({r.id for r in results}) == 2
    assert all(1 <= len(r.id.encode()) <= 64 for r in results)


def timeline(texts: list[str]) -> Timeline:
    start = date(2024, 1, 1)
    weeks = [
        WeekCount(week=start + timedelta(days=7 * i), count=i % 4, reports=1) for i in range(10)
    ]
    peaks = [
        Peak(week=w.week, count=w.count, takeaway=result(t, report_date=w.week))
        for w, t in zip(weeks[3::4], texts, strict=False)
    ]
    return Timeline(
        term="아브디이프카",
        name="아브디이프카",
        lang="ko",
        forms=["Avdiivka", "아브디이프카"],
        weeks=weeks,
        total=sum(w.count for w in weeks),
        peaks=peaks,
        first=result(texts[0], report_date=start),
        last=result(texts[-1], report_date=weeks[-1].week),
    )


def test_the_caption_fits_telegrams_limit_with_every_peak_and_both_ends():
    texts = [
        f"Takeaway {i}: " + "Russian forces attacked near Avdiivka & Bakhmut. " * 30
        for i in range(3)
    ]
    caption = timeline_caption(timeline(texts))
    assert tg_len(caption) <= MAX_CAPTION and tags_balanced(caption)
    plain = parse_html(caption)
    assert plain.startswith("아브디이프카: 핵심 요점 13개가 언급 (2024-01-01 … 2024-03-04)")
    for i in range(3):
        assert f"Takeaway {i}: Russian forces" in plain
    assert "가장 많이 언급된 주" in plain and "첫 언급 [2024-01-01]" in plain
    assert "마지막 언급 [2024-03-04]" in plain
    # Shortened at word boundaries; English-only takeaways marked as in answers.
    assert all(line.endswith("… (원문 영어)") for line in plain.splitlines()[2:])
    short = parse_html(timeline_caption(timeline(["One.", "Two.", "Three."])))
    assert "[2024-01-22] One. (원문 영어)\n" in short
    assert "…" not in "".join(short.splitlines()[1:])


def test_the_timeline_button_carries_the_term_within_64_bytes():
    data = timeline_callback_data("아브디이프카")
    assert data is not None and len(data.encode()) <= 64
    assert parse_timeline_callback(data) == "아브디이프카"
    assert timeline_callback_data("아" * 30) is None  # 90 bytes: no button, /timeline still works
    assert parse_timeline_callback("pg:abcd:1") is None


def message(text: str, chat_type: str, via_bot: bool) -> Update:
    bot = User(7000000001, "ISW", is_bot=True, username="isw_report_bot")
    msg = Message(
        1,
        date=None,  # type: ignore[arg-type]
        chat=Chat(-5 if chat_type != "private" else 5, chat_type),
        from_user=User(5, "Reader", is_bot=False),
        text=text,
        via_bot=bot if via_bot else None,
    )
    return Update(1, message=msg)


def test_a_message_posted_through_inline_mode_is_not_a_question():
    assert PRIVATE_TEXT.check_update(message("What about Avdiivka?", "private", False))
    assert not PRIVATE_TEXT.check_update(message("[2024-02-17] Ukrainian…", "private", True))
    assert not GROUP_TEXT.check_update(message("@isw_report_bot [2024-02-17] …", "group", True))


def test_what_counts_as_a_term():
    assert is_term("아브디이프카") and is_term("Chasiv Yar") and is_term("Wagner Group PMC")
    assert not is_term("What did the Kremlin say about negotiations")
    assert not is_term("크렘린 협상?")


async def test_only_the_newest_query_of_a_user_settles():
    debouncer = Debouncer(0.05)
    answered: list[str] = []

    def answer(text: str):
        async def run() -> None:
            answered.append(text)

        return lambda: run()

    tasks = [debouncer.schedule(1, answer(t), asyncio.create_task) for t in ("a", "ab", "abc")]
    tasks.append(debouncer.schedule(2, answer("other user"), asyncio.create_task))
    await asyncio.gather(*tasks)
    assert sorted(answered) == ["abc", "other user"]
    assert debouncer.superseded == 2 and debouncer.settled == 2 and debouncer.latest == {}


def test_the_result_cache_keeps_answers_for_its_ttl():
    clock = FakeClock()
    cache = ResultCache(ttl=300, clock=clock, size=2)
    cache.put(("Avdiivka", None), [], "en")
    assert cache.get(("Avdiivka", None)) is not None
    clock.advance(300)
    assert cache.get(("Avdiivka", None)) is None
    for key in ("a", "b", "c"):
        cache.put((key, None), [], "en")
    assert cache.get(("a", None)) is None and cache.get(("c", None)) is not None
    assert (cache.hits, cache.misses) == (2, 2)
