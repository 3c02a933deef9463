"""Watching sources for new reports: folders, report pages by URL, and feeds listing report pages.

A source is a folder (or one file) on this machine, or an http(s) URL. A URL may be a report page
itself, an RSS/Atom feed, or an HTML index page; a feed or index is followed to the report pages
it links to (same host only, and only links whose text or address matches `link_pattern`, so a
feed that also lists other publications cannot slip, say, an "Iran Update" in as the
assessment of that date).

What was seen is remembered in `data_dir/watch/state.sqlite3`: a file's size and modification
time, a URL's ETag / Last-Modified (sent back as a conditional GET) and the SHA-256 of what it
served. A round hands only new or changed documents to the ordinary `store.ingest.ingest`, and
what it saw is written down only after that ingest returns, so a round cut short (a crash, a
kill) is simply done again; ingest itself is idempotent and stores a report that two sources
both carry once. Fetched pages are saved as UTF-8 files in `data_dir/watch/pages` (the store
remembers its reports' files; `reportbot reindex` reads them again).

Each source fails on its own: a server that is down, a page that is too large or of the wrong
type is reported for that source, and the other sources go on.

Longer than 400 lines on purpose: the three kinds of source, the conditional fetch and the state
that makes a round safe to cut short are one protocol.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from pydantic import BaseModel
from selectolax.lexbor import LexborHTMLParser

from store.embedding import Embedder
from store.ingest import REPORT_SUFFIXES, IngestSummary, ingest
from store.models import ParseError
from store.parsers import parse_text
from store.parsers.isw_html import looks_like_html
from store.translation import Translator
from store.vector_store import ReportStore

log = logging.getLogger(__name__)

WATCH_DIR = "watch"
STATE_FILE = "state.sqlite3"
PAGES_DIR = "pages"
# ISW's daily report, however a feed or an index titles or addresses it.
DEFAULT_LINK_PATTERN = r"(?i)campaign[\s_-]*assessment"
USER_AGENT = "reportbot (ISW report watcher)"
# Content types a report page, a feed or an index page comes as; anything else (a PDF, an image,
# a ZIP) is refused before it is read. An absent type is sniffed from the content.
PAGE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown"}
)
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
_FEED_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)[\s>]", re.S
)

Kind = Literal["folder", "page", "feed", "index"]


class WatchError(Exception):
    """One source or link could not be read; the message says why, in one line."""


class SourceResult(BaseModel):
    """What one round found at one source."""

    source: str
    kind: Kind | None = None  # what the source turned out to be (None: not reached)
    files: list[str] = []  # new or changed documents handed to ingest
    unchanged: bool = False  # a URL answered "not modified" or served the same bytes
    waiting: int = 0  # folder files still being written (taken next round)
    error: str | None = None  # the source itself failed
    problems: list[str] = []  # single links of a feed or index that failed

    def line(self) -> str:
        what = self.kind or "source"
        if self.error:
            return f"{self.source}: error: {self.error}"
        if self.unchanged:
            return f"{self.source}: not changed"
        parts = [f"{len(self.files)} new or changed"]
        if self.waiting:
            parts.append(f"{self.waiting} still being written")
        if self.problems:
            parts.append(f"{len(self.problems)} link(s) failed")
        return f"{self.source} ({what}): " + ", ".join(parts)


class WatchRound(BaseModel):
    """One round over every source, and what ingesting their new documents did."""

    sources: list[SourceResult]
    summary: IngestSummary

    @property
    def errors(self) -> int:
        return sum(1 for s in self.sources if s.error) + sum(len(s.problems) for s in self.sources)

    def line(self) -> str:
        files = sum(len(s.files) for s in self.sources)
        return f"{len(self.sources)} source(s), {files} new or changed file(s): " + (
            self.summary.line()
        )


@dataclass
class Fetched:
    url: str  # after redirects
    body: bytes
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def is_feed(self) -> bool:
        return self.content_type in FEED_TYPES or bool(_FEED_START.match(self.body[:2000]))

    def text(self) -> str:
        """The body as text: the declared charset, else a UTF-16 BOM, UTF-8 or CP949 (what
        store.sources reads), else refused rather than turned into mojibake."""
        candidates = [self.charset] if self.charset else []
        if self.body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            candidates.append("utf-16")
        candidates += ["utf-8-sig", "cp949"]
        for encoding in candidates:
            try:
                return self.body.decode(encoding)  # type: ignore[arg-type]
            except (LookupError, UnicodeDecodeError):
                continue
        raise WatchError("undecodable text (neither its declared charset, UTF-8 nor CP949)")


@dataclass
class Seen:
    fingerprint: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Mark:
    """What to remember about one file or URL once the round's ingest is done."""

    key: str
    seen: Seen
    path: str | None = None


class WatchState:
    """What was seen at each file and URL, in SQLite (one short connection per call, so the
    state is safe to use from any thread and another process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
                " etag TEXT, last_modified TEXT, path TEXT, updated REAL NOT NULL)"
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    def get(self, key: str) -> Seen | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT fingerprint, etag, last_modified FROM seen WHERE key = ?", (key,)
            ).fetchone()
        return Seen(*row) if row else None

    def known(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ",".join("?" * len(part))
                rows = db.execute(f"SELECT key FROM seen WHERE key IN ({marks})", part)
                found |= {r[0] for r in rows}
        return found

    def remember(self, marks: Sequence[Mark], now: float) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT INTO seen (key, fingerprint, etag, last_modified, path, updated) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, etag = excluded.etag, "
                "last_modified = excluded.last_modified, path = excluded.path, "
                "updated = excluded.updated",
                [
                    (m.key, m.seen.fingerprint, m.seen.etag, m.seen.last_modified, m.path, now)
                    for m in marks
                ],
            )


def is_url(spec: str) -> bool:
    return urlsplit(spec).scheme.lower() in ("http", "https")


def check_source(spec: str) -> None:
    """ValueError unless `spec` is a folder or file path or an http(s) URL."""
    scheme = urlsplit(spec).scheme.lower()
    # "C:\reports" has a one-letter "scheme"; anything longer must be http(s).
    if not spec.strip() or (len(scheme) > 1 and scheme not in ("http", "https")):
        raise ValueError(f"watch source {spec!r}: give a folder or an http(s) URL")


class Watcher:
    """Polls `sources` (folder paths and http(s) URLs); `run_once` ingests what is new."""

    def __init__(
        self,
        sources: Sequence[str],
        data_dir: Path,
        *,
        timeout: float = 20.0,
        max_bytes: int = 5_000_000,
        max_items: int = 20,
        link_pattern: str = DEFAULT_LINK_PATTERN,
        settle: float = 2.0,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        translator: Translator | None = None,
        translate_to: Sequence[str] = ("ko",),
    ) -> None:
        for spec in sources:
            check_source(spec)
        self.sources = list(dict.fromkeys(sources))
        self.root = data_dir / WATCH_DIR
        self.pages = self.root / PAGES_DIR
        self.state = WatchState(self.root / STATE_FILE)
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.link_pattern = re.compile(link_pattern)
        # A file modified this recently may still be being copied in: it waits a round, so a
        # half-written report is never ingested (and pushed) as if it were complete.
        self.settle = settle
        self.clock = clock
        # New reports are translated as any ingest translates them (store.translation).
        self.translator = translator
        self.translate_to = tuple(translate_to)
        self._own_client = client is None
        self._this_round: set[str] = set()
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- a round --------------------------------------------------------------------------------

    def run_once(
        self, store: ReportStore, embedder: Embedder, progress: bool = False
    ) -> WatchRound:
        """Poll every source, ingest the new or changed documents in one batch (so a report two
        sources carry is stored once), then remember what was seen."""
        results, marks = self.poll()
        return self.take(results, marks, store, embedder, progress)

    def take(
        self,
        results: list[SourceResult],
        marks: list[Mark],
        store: ReportStore,
        embedder: Embedder,
        progress: bool = False,
    ) -> WatchRound:
        """Ingest what `poll` found, then remember it (not before: a round cut short is done
        again, and ingest is idempotent)."""
        files = list(dict.fromkeys(Path(f) for r in results for f in r.files))
        summary = (
            ingest(
                files,
                store,
                embedder,
                progress,
                translator=self.translator,
                targets=self.translate_to,
            )
            if files
            else IngestSummary()
        )
        self.state.remember(marks, self.clock())
        return WatchRound(sources=results, summary=summary)

    def poll(self) -> tuple[list[SourceResult], list[Mark]]:
        """What is new at each source (nothing is ingested or remembered yet)."""
        results: list[SourceResult] = []
        marks: list[Mark] = []
        # Links already fetched this round (two feeds listing one report): fetched once.
        self._this_round: set[str] = set()
        for spec in self.sources:
            result = SourceResult(source=spec)
            found: list[Mark] = []
            try:
                if is_url(spec):
                    self._poll_url(spec, result, found)
                else:
                    self._poll_folder(Path(spec).expanduser(), result, found)
            except WatchError as err:
                result.error = str(err)
            except Exception as err:  # one odd source must never stop the others
                log.exception("watching %s failed", spec)
                result.error = f"{type(err).__name__}: {err}"
            if result.error:
                log.warning("watch source %s: %s", spec, result.error)
            for problem in result.problems:
                log.warning("watch source %s: %s", spec, problem)
            results.append(result)
            marks += found
        return results, marks

    # ---- folders --------------------------------------------------------------------------------

    def _poll_folder(self, folder: Path, result: SourceResult, marks: list[Mark]) -> None:
        result.kind = "folder"
        if not folder.exists():
            raise WatchError("no such folder or file")
        if folder.is_dir():
            files = sorted(
                p
                for p in folder.rglob("*")
                if p.is_file()
                and p.suffix.lower() in REPORT_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(folder).parts)
            )
        else:
            files = [folder]
        now = self.clock()
        for path in files:
            try:
                info = path.stat()
            except OSError:
                continue  # removed while we looked
            if now - info.st_mtime < self.settle:
                result.waiting += 1
                continue
            key = "file:" + str(path.resolve())
            seen = Seen(f"{info.st_size}:{info.st_mtime_ns}")
            known = self.state.get(key)
            if known is not None and known.fingerprint == seen.fingerprint:
                continue
            result.files.append(str(path))
            marks.append(Mark(key, seen, str(path)))

    # ---- URLs -----------------------------------------------------------------------------------

    def _poll_url(self, url: str, result: SourceResult, marks: list[Mark]) -> None:
        known = self.state.get(url)
        self._this_round.add(url)
        doc = self.fetch(url, known)
        if doc is None or (known is not None and known.fingerprint == doc.sha256):
            result.unchanged = True
            if doc is not None:  # new validators for the same bytes
                marks.append(Mark(url, Seen(doc.sha256, doc.etag, doc.last_modified)))
            return
        seen = Seen(doc.sha256, doc.etag, doc.last_modified)
        if doc.is_feed():
            result.kind = "feed"
            links = self._feed_links(doc)
        else:
            text = doc.text()
            try:
                parse_text(text, url)
            except ParseError as err:
                if not looks_like_html(text):
                    raise WatchError(f"neither a report nor a feed ({err})") from err
                result.kind = "index"
                links = self._index_links(doc, text)
            else:
                result.kind = "page"
                path = self._save(url, text)
                result.files.append(str(path))
                marks.append(Mark(url, seen, str(path)))
                return
        if self._follow(url, links, result, marks):
            # The listing is remembered only when every link on it was dealt with: a link that
            # failed (or waits for the next round) is tried again with the listing.
            marks.append(Mark(url, seen))

    def _follow(
        self, listing: str, links: list[str], result: SourceResult, marks: list[Mark]
    ) -> bool:
        """Fetch the report pages a feed or index links to that were not fetched before."""
        known = self.state.known(links) | self._this_round
        todo = [link for link in links if link not in known]
        complete = len(todo) <= self.max_items
        for link in todo[: self.max_items]:
            self._this_round.add(link)
            try:
                doc = self.fetch(link, None)
                if doc is None:
                    raise WatchError("not modified, but never fetched")
                text = doc.text()
                parse_text(text, link)
            except WatchError as err:
                result.problems.append(f"{link}: {err}")
                complete = False
                continue
            except ParseError as err:
                # Not a report after all: remembered, so it is not fetched again every round.
                result.problems.append(f"{link}: not a report ({err})")
                marks.append(Mark(link, Seen(doc.sha256, doc.etag, doc.last_modified)))
                continue
            path = self._save(link, text)
            result.files.append(str(path))
            marks.append(Mark(link, Seen(doc.sha256, doc.etag, doc.last_modified), str(path)))
        if not complete and len(todo) > self.max_items:
            log.info(
                "%s lists %d new links; %d fetched now, the rest next round",
                listing,
                len(todo),
                self.max_items,
            )
        return complete

    def _wanted(self, base: str, href: str, title: str) -> str | None:
        """An absolute link worth following: http(s), on the listing's host, and titled or
        addressed like a report."""
        link = urldefrag(urljoin(base, href.strip())).url
        parts = urlsplit(link)
        if parts.scheme.lower() not in ("http", "https") or link == base:
            return None
        if _host(link) != _host(base):
            return None
        if not (self.link_pattern.search(title) or self.link_pattern.search(parts.path)):
            return None
        return link

    def _feed_links(self, doc: Fetched) -> list[str]:
        import feedparser  # only a watcher with a feed needs it

        # A stream, never a string: feedparser would open a string as a URL or a file name.
        feed = feedparser.parse(
            io.BytesIO(doc.body), response_headers={"content-type": doc.content_type}
        )
        if not feed.entries and feed.get("bozo"):
            raise WatchError(f"unreadable feed ({feed.get('bozo_exception')})")
        links: list[str] = []
        for entry in feed.entries:
            hrefs = [entry.get("link") or ""] + [
                ln.get("href") or "" for ln in entry.get("links", [])
            ]
            for href in hrefs:
                link = href and self._wanted(doc.url, href, entry.get("title") or "")
                if link:
                    links.append(link)
                    break
        return list(dict.fromkeys(links))

    def _index_links(self, doc: Fetched, text: str) -> list[str]:
        tree = LexborHTMLParser(text)
        links = [
            self._wanted(doc.url, node.attributes.get("href") or "", node.text(strip=True))
            for node in tree.css("a[href]")
        ]
        return list(dict.fromkeys(link for link in links if link))

    def fetch(self, url: str, known: Seen | None) -> Fetched | None:
        """GET `url` (conditionally, when `known` has validators); None for 304 Not Modified.
        Refuses error statuses, unexpected content types and bodies over max_bytes (checked
        on the declared length, then while reading)."""
        headers = {}
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return None
                if response.status_code >= 400:
                    raise WatchError(f"HTTP {response.status_code} {response.reason_phrase}")
                content_type = response.headers.get("content-type", "").split(";")[0]
                content_type = content_type.strip().lower()
                if content_type and content_type not in PAGE_TYPES | FEED_TYPES:
                    raise WatchError(f"not a web page or feed (content type {content_type})")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise WatchError(_too_large(int(declared), self.max_bytes))
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise WatchError(_too_large(len(body), self.max_bytes, over=True))
                return Fetched(
                    url=str(response.url),
                    body=bytes(body),
                    content_type=content_type,
                    charset=response.charset_encoding,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
        except httpx.HTTPError as err:
            reason = str(err) or type(err).__name__
            raise WatchError(f"{type(err).__name__}: {reason}") from err

    def _save(self, url: str, text: str) -> Path:
        """Write a fetched report as UTF-8 under pages/, named after its address (the same URL
        always maps to the same file, so a changed page replaces its old copy)."""
        parts = urlsplit(url)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{parts.hostname or ''}{parts.path}")
        slug = slug.strip("._-")[:80].strip("._-") or "page"
        digest = hashlib.sha1(url.encode()).hexdigest()[:10]
        suffix = ".html" if looks_like_html(text) else ".md"
        self.pages.mkdir(parents=True, exist_ok=True)
        path = self.pages / f"{slug}-{digest}{suffix}"
        # Atomic: a reader (or a crash) never sees half a page.
        handle, temp = tempfile.mkstemp(dir=self.pages, prefix=".tmp-", suffix=suffix)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return path


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _too_large(size: int, limit: int, over: bool = False) -> str:
    said = f"over {limit:,}" if over else f"{size:,}"
    return f"too large ({said} bytes; limit {limit:,})"
