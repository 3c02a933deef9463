"""The subscription store (bot/subscriptions.py) and the new-report message (news_html), without
Telegram: what is news, what is queued once, and what one message holds."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import label
from bot.subscriptions import MAX_TOPICS_PER_CHAT, Delivery, SubscriptionStore, TooManyTopics
from bot.telegram_format import MAX_MESSAGE, news_html, strip_tags, tags_balanced, tg_len
from retrieval.models import Answer, Result
from store.records import ReportEntry


def entry(day: str) -> ReportEntry:
    return ReportEntry(
        report_id=f"roca-{day}",
        version="v1",
        report_date=date.fromisoformat(day),
        title=f"Russian Offensive Campaign Assessment, {day}",
        source=f"/reports/{day}.html",
        sources=[f"/reports/{day}.html"],
        languages=["en"],
        takeaways=3,
        passages=10,
    )


def message(chat: int, e: ReportEntry) -> Delivery:
    return Delivery(chat_id=chat, report_id=e.report_id, report_date=e.report_date, text="hi")


@pytest.fixture
def subs(tmp_path) -> SubscriptionStore:
    return SubscriptionStore(tmp_path / "subscriptions.sqlite3")


def test_nothing_is_stored_before_the_first_subscription(subs):
    assert not subs.exists()
    assert subs.subscriptions() == [] and subs.due(10) == []
    assert not subs.exists()


def test_subscriptions_by_topic_survive_a_reopen(subs, tmp_path):
    assert subs.subscribe(1, "", "en")
    assert subs.subscribe(1, "  아브디이프카 ", "ko")
    assert not subs.subscribe(1, "아브디이프카", "ko")  # the same topic again: renewed
    assert subs.subscribe(2, "Bakhmut", "en")
    assert not subs.subscribe(2, "bakhmut", "uk")  # topics compare without case
    again = SubscriptionStore(tmp_path / "subscriptions.sqlite3")
    assert [(s.chat_id, s.topic, s.lang) for s in again.subscriptions(1)] == [
        (1, "", "en"),
        (1, "아브디이프카", "ko"),
    ]
    assert [(s.topic, s.lang) for s in again.subscriptions(2)] == [("bakhmut", "uk")]
    assert again.unsubscribe(1, "아브디이프카") == 1
    assert again.unsubscribe(1, "아브디이프카") == 0
    assert again.unsubscribe(2) == 1
    assert [s.chat_id for s in again.subscriptions()] == [1]


def test_a_chat_follows_a_bounded_number_of_topics(subs):
    for i in range(MAX_TOPICS_PER_CHAT):
        subs.subscribe(7, f"topic {i}", "en")
    with pytest.raises(TooManyTopics):
        subs.subscribe(7, "one more", "en")
    subs.subscribe(7, "", "en")  # "every report" is not a topic
    subs.subscribe(7, "topic 3", "ko")  # renewing one is fine


def test_first_look_is_a_baseline_then_only_newer_reports_are_news(subs):
    old = [entry("2024-01-24"), entry("2024-01-25")]
    first = subs.plan(old, max_news=3)
    assert first.baseline and first.news == [] and len(first.unseen) == 2
    subs.record(first, [])
    assert subs.plan(old, max_news=3).unseen == []

    backfill, new = entry("2023-12-01"), entry("2024-01-26")
    plan = subs.plan([*old, backfill, new], max_news=3)
    assert not plan.baseline
    assert [e.report_id for e in plan.unseen] == [backfill.report_id, new.report_id]
    assert [e.report_id for e in plan.news] == [new.report_id]  # an old report is not news

    # Back after a week away: only the newest few are announced, the rest are just known.
    subs.record(plan, [])
    week = [entry(f"2024-02-0{d}") for d in range(1, 8)]
    plan = subs.plan(week, max_news=3)
    assert [e.report_date.day for e in plan.news] == [5, 6, 7]


def test_a_report_is_queued_once_per_chat_and_sent_oldest_first(subs):
    subs.subscribe(1, "", "en")
    subs.subscribe(2, "", "en")
    subs.record(subs.plan([entry("2024-01-24")], 3), [])
    one, two = entry("2024-01-25"), entry("2024-01-26")
    plan = subs.plan([one, two], 3)
    queued = [message(1, one), message(1, two), message(2, one), message(1, one)]
    assert subs.record(plan, queued) == 3
    assert subs.record(plan, queued) == 0  # announcing the same reports again queues nothing

    due = subs.due(10)
    assert sorted((d.chat_id, d.report_id) for d in due) == [(1, one.report_id), (2, one.report_id)]
    assert subs.due(1) == due[:1]
    assert subs.due(10, skip_chats={1}) == [d for d in due if d.chat_id == 2]
    for d in due:
        subs.finish(d, "sent")
    assert [(d.chat_id, d.report_id) for d in subs.due(10)] == [(1, two.report_id)]


def test_retries_wait_and_unsubscribing_drops_what_still_waits(subs):
    subs.subscribe(1, "", "en")
    subs.record(subs.plan([entry("2024-01-24")], 3), [])
    new = entry("2024-01-25")
    subs.record(subs.plan([new], 3), [message(1, new)])
    [waiting] = subs.due(10)
    subs.retry_later(waiting, 60.0, "502 Bad Gateway", count=True)
    assert subs.due(10) == []
    assert subs.deliveries(1)[0].attempts == 1
    subs.unsubscribe(1)
    assert [d.state for d in subs.deliveries(1)] == ["dropped"]


def result(text: str, lang: str = "en", position: int = 0) -> Result:
    return Result(
        report_id="roca-2024-01-26",
        report_date=date(2024, 1, 26),
        text=text,
        lang=lang,
        kind="takeaway",
        report_title="Russian Offensive Campaign Assessment, January 26, 2024",
        source="https://www.understandingwar.org/backgrounder/roca-january-26-2024",
        score=1.0,
        position=position,
    )


def test_news_message_names_the_date_links_the_report_and_escapes_its_text():
    answer = Answer(
        command="date",
        query="2024-01-26",
        lang="ko",
        results=[result("Russian <b>forces</b> & co.", position=0), result("둘째", "ko", 1)],
    )
    html = news_html(answer)
    assert html.startswith(f"<b>{label('ko', 'news', date='2024-01-26')}</b>\n<a href=")
    assert "Russian &lt;b&gt;forces&lt;/b&gt; &amp; co. (원문 영어)" in html
    assert "<b>2.</b> 둘째" in html and tags_balanced(html)
    topic = news_html(answer.model_copy(update={"command": "topic"}), ["아브디이프카"])
    assert label("ko", "news_topic", date="2024-01-26", topics="“아브디이프카”") in topic


def test_a_long_report_is_one_message_that_points_to_the_rest():
    long = [result(f"Takeaway {i}: " + "word " * 300, position=i) for i in range(8)]
    html = news_html(Answer(command="date", query="", lang="en", results=long))
    assert tg_len(html) <= MAX_MESSAGE and tags_balanced(html)
    assert "Takeaway 0:" in html and "Takeaway 7:" not in html
    shown = sum(f"Takeaway {i}:" in html for i in range(8))
    more = label("en", "news_more", count=8 - shown, date="2024-01-26")
    assert strip_tags(html).endswith(more)
