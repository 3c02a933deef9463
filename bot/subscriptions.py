"""Who gets new reports, and which new report went to whom: SQLite in the data folder.

Three tables:

subscriptions  (chat, topic) pairs; topic "" = every new report. The language is the one the
               chat subscribed in.
reports        every report id the bot has seen in the store, and whether it was news. The first
               look (the first /subscribe, or the first watch round) records what is already
               there as known, so only reports that arrive later are pushed.
deliveries     the outbox: one row per (chat, report), holding the message to send. Its primary
               key makes a second announcement of a report to a chat impossible, and a row is
               marked sent only after Telegram accepted the message, so a crash or restart
               between "ingested" and "sent" loses nothing and sends nothing twice.

The new reports of a round and their outbox rows are written in one transaction. Every call
opens its own short connection (WAL mode), so the store may be used from any thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from store.records import ReportEntry

FILE_NAME = "subscriptions.sqlite3"
# Enough for anyone following a few places and names; bounds what one chat can make us match.
MAX_TOPICS_PER_CHAT = 20

State = Literal["pending", "sent", "unconfirmed", "failed", "dropped"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    chat_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    topic_key TEXT NOT NULL,
    lang TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (chat_id, topic_key)
);
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT PRIMARY KEY,
    report_date TEXT NOT NULL,
    seen REAL NOT NULL,
    news INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    chat_id INTEGER NOT NULL,
    report_id TEXT NOT NULL,
    report_date TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    created REAL NOT NULL,
    done REAL,
    reason TEXT,
    PRIMARY KEY (chat_id, report_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class TooManyTopics(Exception):
    """The chat already follows MAX_TOPICS_PER_CHAT topics."""


class Subscription(BaseModel):
    chat_id: int
    topic: str  # "" = every new report
    lang: str
    created: float


class Delivery(BaseModel):
    """One outbox row: a new report's message for one chat."""

    chat_id: int
    report_id: str
    report_date: date
    text: str
    state: State = "pending"
    attempts: int = 0


class Plan(BaseModel):
    """What a look at the store found: reports not seen before, and which of them are news."""

    unseen: list[ReportEntry]
    news: list[ReportEntry]
    baseline: bool  # the first look: everything found is recorded as known, nothing is news


def normalize_topic(topic: str) -> str:
    return " ".join(topic.split())


class SubscriptionStore:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._ready = False

    def exists(self) -> bool:
        """Has anything been stored yet? (No file until the first /subscribe or watch round: a
        bot nobody subscribed to does no work for subscribers.)"""
        return self.path.exists()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            if not self._ready:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                self._ready = True
            with db:  # one transaction: committed on success, rolled back on an exception
                yield db

    # ---- subscriptions ------------------------------------------------------------------------

    def subscribe(self, chat_id: int, topic: str, lang: str) -> bool:
        """Add (or renew, in `lang`) a subscription; True if it is new."""
        topic = normalize_topic(topic)
        with self._connect() as db:
            exists = db.execute(
                "SELECT 1 FROM subscriptions WHERE chat_id = ? AND topic_key = ?",
                (chat_id, topic.casefold()),
            ).fetchone()
            if not exists and topic:
                (count,) = db.execute(
                    "SELECT COUNT(*) FROM subscriptions WHERE chat_id = ? AND topic_key != ''",
                    (chat_id,),
                ).fetchone()
                if count >= MAX_TOPICS_PER_CHAT:
                    raise TooManyTopics
            db.execute(
                "INSERT INTO subscriptions (chat_id, topic, topic_key, lang, created) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_id, topic_key) DO UPDATE SET "
                "topic = excluded.topic, lang = excluded.lang, created = excluded.created",
                (chat_id, topic, topic.casefold(), lang, self.clock()),
            )
        return not exists

    def unsubscribe(self, chat_id: int, topic: str | None = None) -> int:
        """Remove one topic (or, with None, every subscription of the chat); how many went.
        A chat left with no subscription gets none of the messages still waiting for it."""
        with self._connect() as db:
            if topic is None:
                removed = db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
            else:
                removed = db.execute(
                    "DELETE FROM subscriptions WHERE chat_id = ? AND topic_key = ?",
                    (chat_id, normalize_topic(topic).casefold()),
                )
            left = db.execute(
                "SELECT 1 FROM subscriptions WHERE chat_id = ? LIMIT 1", (chat_id,)
            ).fetchone()
            if not left:
                self._drop_pending(db, chat_id, "unsubscribed")
            return removed.rowcount

    def remove_chat(self, chat_id: int, reason: str) -> None:
        """The chat cannot be written to any more (the user blocked the bot, the chat is gone):
        forget its subscriptions and what still waited for it."""
        with self._connect() as db:
            db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
            self._drop_pending(db, chat_id, reason)

    def _drop_pending(self, db: sqlite3.Connection, chat_id: int, reason: str) -> None:
        db.execute(
            "UPDATE deliveries SET state = 'dropped', done = ?, reason = ? "
            "WHERE chat_id = ? AND state = 'pending'",
            (self.clock(), reason, chat_id),
        )

    def subscriptions(self, chat_id: int | None = None) -> list[Subscription]:
        """A chat's subscriptions (all chats' with None), oldest first."""
        if not self.exists():
            return []
        query = "SELECT chat_id, topic, lang, created FROM subscriptions"
        args: tuple = ()
        if chat_id is not None:
            query, args = query + " WHERE chat_id = ?", (chat_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created, topic", args).fetchall()
        return [Subscription(chat_id=r[0], topic=r[1], lang=r[2], created=r[3]) for r in rows]

    # ---- new reports --------------------------------------------------------------------------

    def plan(self, entries: Iterable[ReportEntry], max_news: int) -> Plan:
        """Which of the store's reports were not seen before, and which of those are news: newer
        than every report seen before (a backfill of old reports is not news), at most the
        `max_news` newest of them (a bot back after a long pause does not flood anyone)."""
        entries = list(entries)
        with self._connect() as db:
            seen = {r[0] for r in db.execute("SELECT report_id FROM reports")}
            baseline = db.execute("SELECT 1 FROM meta WHERE key = 'baseline'").fetchone() is None
            (newest,) = db.execute("SELECT MAX(report_date) FROM reports").fetchone()
        unseen = sorted(
            (e for e in entries if e.report_id not in seen), key=lambda e: e.report_date
        )
        if baseline:
            return Plan(unseen=unseen, news=[], baseline=True)
        news = [e for e in unseen if newest is None or e.report_date.isoformat() > newest]
        return Plan(unseen=unseen, news=news[-max_news:] if max_news > 0 else [], baseline=False)

    def record(self, plan: Plan, deliveries: Sequence[Delivery]) -> int:
        """Remember the plan's reports as seen and queue their messages, in one transaction;
        how many messages were queued (a chat never gets a report twice)."""
        now = self.clock()
        news = {e.report_id for e in plan.news}
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('baseline', ?)", (now,))
            db.executemany(
                "INSERT OR IGNORE INTO reports (report_id, report_date, seen, news) "
                "VALUES (?, ?, ?, ?)",
                [
                    (e.report_id, e.report_date.isoformat(), now, int(e.report_id in news))
                    for e in plan.unseen
                ],
            )
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO deliveries "
                "(chat_id, report_id, report_date, text, next_attempt, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (d.chat_id, d.report_id, d.report_date.isoformat(), d.text, now, now)
                    for d in deliveries
                ],
            )
            return db.total_changes - before

    # ---- the outbox ---------------------------------------------------------------------------

    def due(self, limit: int, skip_chats: Iterable[int] = ()) -> list[Delivery]:
        """Up to `limit` messages due now, at most one per chat (its oldest report first), none
        for the chats in `skip_chats`."""
        if limit <= 0 or not self.exists():
            return []
        skip = set(skip_chats)
        with self._connect() as db:
            rows = db.execute(
                "SELECT chat_id, report_id, report_date, text, attempts FROM deliveries "
                "WHERE state = 'pending' AND next_attempt <= ? "
                "ORDER BY report_date, created LIMIT 5000",
                (self.clock(),),
            ).fetchall()
        picked: dict[int, Delivery] = {}
        for chat_id, report_id, report_date, text, attempts in rows:
            if chat_id in skip or chat_id in picked:
                continue
            picked[chat_id] = Delivery(
                chat_id=chat_id,
                report_id=report_id,
                report_date=date.fromisoformat(report_date),
                text=text,
                attempts=attempts,
            )
            if len(picked) >= limit:
                break
        return list(picked.values())

    def finish(self, delivery: Delivery, state: State, reason: str | None = None) -> None:
        """Sent (Telegram accepted it), unconfirmed (a timeout: it may have arrived, and is not
        sent again), or failed for good."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET state = ?, done = ?, reason = ?, attempts = attempts + 1 "
                "WHERE chat_id = ? AND report_id = ?",
                (state, self.clock(), reason, delivery.chat_id, delivery.report_id),
            )

    def retry_later(self, delivery: Delivery, delay: float, reason: str, count: bool) -> None:
        """Try again in `delay` seconds (`count`: this was a failed attempt, not a pause)."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET next_attempt = ?, reason = ?, "
                "attempts = attempts + ? WHERE chat_id = ? AND report_id = ?",
                (self.clock() + delay, reason, int(count), delivery.chat_id, delivery.report_id),
            )

    def deliveries(self, chat_id: int | None = None) -> list[Delivery]:
        """Every outbox row (of one chat), oldest report first: what was sent, what waits."""
        if not self.exists():
            return []
        query = "SELECT chat_id, report_id, report_date, text, state, attempts FROM deliveries"
        args: tuple = ()
        if chat_id is not None:
            query, args = query + " WHERE chat_id = ?", (chat_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY report_date, created", args).fetchall()
        return [
            Delivery(
                chat_id=r[0],
                report_id=r[1],
                report_date=date.fromisoformat(r[2]),
                text=r[3],
                state=r[4],
                attempts=r[5],
            )
            for r in rows
        ]
