"""Helpers for the watch and subscription tests: a local HTTP site serving corpus files and
feeds (a real server on 127.0.0.1, in a thread), the fast hashing embedder, and small stores."""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import CORPUS


def corpus_html(day: str) -> Path:
    """The corpus's understandingwar.org page of `day` (YYYY-MM-DD)."""
    path = CORPUS / "isw-html" / f"{day}_kma-alarm-ml.html"
    assert path.exists(), path
    return path


def drop_in(folder: Path, source: Path, name: str | None = None) -> Path:
    """Put a report file into a watched folder as a finished copy (copy2 keeps the old
    modification time, so the watcher does not wait for the file to settle)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or source.name)
    shutil.copy2(source, target)
    return target


@dataclass
class Route:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    status: int = 200


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    status: int
    at: float = field(default_factory=time.monotonic)


class LocalSite:
    """A small web site on 127.0.0.1 (http.server in a thread): pages and feeds added by the
    test, with ETag / Last-Modified and conditional GET (304), and a log of every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                site._serve(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        with self._lock:
            self.routes[path] = Route(data, content_type, etag, formatdate(usegmt=True), status)
        return self.url(path)

    def add_report(self, path: str, source: Path) -> str:
        return self.add(path, source.read_bytes())

    def hits(self, path: str, status: int | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path and (status is None or r.status == status)
            ]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            route = self.routes.get(handler.path)
        status = 404 if route is None else route.status
        if route is not None and status == 200:
            if handler.headers.get("If-None-Match") == route.etag:
                status = 304
        with self._lock:
            self.requests.append(Request(handler.path, dict(handler.headers), status))
        handler.send_response(status)
        if route is None or status == 304:
            handler.send_header("Content-Length", "0")
            if route is not None:
                handler.send_header("ETag", route.etag)
            handler.end_headers()
            return
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(route.body)))
        handler.send_header("ETag", route.etag)
        handler.send_header("Last-Modified", route.last_modified)
        handler.end_headers()
        handler.wfile.write(route.body)


def rss(site: LocalSite, items: list[tuple[str, str]]) -> str:
    """An RSS 2.0 feed of (title, path) items, newest first, as ISW's site would list them."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{site.url(path)}</link>"
        f"<pubDate>{formatdate(usegmt=True)}</pubDate></item>"
        for title, path in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>ISW</title><link>{site.base}/</link><description>test</description>"
        f"{entries}</channel></rss>"
    )


def index_page(items: list[tuple[str, str]]) -> str:
    """An HTML page listing report links, as an archive page would."""
    links = "".join(
        f'<li><a href="{escape(path)}">{escape(title)}</a></li>' for title, path in items
    )
    return (
        "<!DOCTYPE html><html><head><title>Ukraine Conflict Updates</title></head><body>"
        f'<nav><a href="/about">About us</a></nav><ul>{links}</ul></body></html>'
    )


def title_of(day: date) -> str:
    return f"Russian Offensive Campaign Assessment, {day:%B} {day.day}, {day.year}"
