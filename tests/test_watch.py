"""Watching sources (store/watch.py) and `reportbot watch`: folders, report pages, RSS feeds and
index pages served by a real HTTP server on 127.0.0.1, ingested into a real Chroma store.

The store uses the hashing embedder (store/embedding/hashing.py): what is tested is which documents
are fetched and ingested, how often, and what survives a restart, not the vectors.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import chromadb
import pytest

from bot.cli import main
from store.embedding import HashingEmbedder
from store.vector_store import ReportStore
from store.watch import STATE_FILE, WATCH_DIR, Watcher, check_source
from tests.conftest import SEED
from tests.watch_helpers import (
    LocalSite,
    corpus_html,
    drop_in,
    index_page,
    rss,
    title_of,
)

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available")

JUNE_1, JUNE_2, JUNE_3 = date(2022, 6, 1), date(2022, 6, 2), date(2022, 6, 3)


@pytest.fixture
def site():
    with LocalSite() as running:
        yield running


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir):
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    yield ReportStore(client, "isw_reports", HashingEmbedder.name)
    client.close()


def watch(sources, data_dir: Path, **options) -> Watcher:
    return Watcher([str(s) for s in sources], data_dir, **options)


def report_dates(store: ReportStore) -> list[str]:
    return sorted(e.report_date.isoformat() for e in store.reports().values())


def serve_report(site: LocalSite, day: date) -> str:
    path = f"/backgrounder/russian-offensive-campaign-assessment-{day:%B-%-d-%Y}".lower()
    site.add_report(path, corpus_html(day.isoformat()))
    return path


# ---- folders ----------------------------------------------------------------------------------


def test_folder_dataset_is_ingested_record_by_record(tmp_path, data_dir, store):
    """A dataset of many reports dropped into a watched folder is read as `ingest` reads it."""
    shapes = Path(__file__).parent / "fixtures" / "shapes"
    folder = tmp_path / "inbox"
    drop_in(folder, shapes / "dataset-list.json")
    drop_in(folder, shapes / "not-a-report-notes.txt")
    with watch([folder], data_dir) as watcher:
        summary = watcher.run_once(store, HashingEmbedder()).summary
    assert summary.count("added") == 2
    assert [(d.reports, d.empty, d.failed) for d in summary.datasets] == [(2, [0, 2, 6], [3, 5])]
    refused = [o for o in summary.failed if o.record is None]
    assert len(refused) == 1 and "not an ISW assessment" in (refused[0].reason or "")
    assert report_dates(store) == ["2023-05-16", "2023-06-06"]


def test_folder_new_and_changed_files_are_ingested_once(tmp_path, data_dir, store):
    folder = tmp_path / "inbox"
    folder.mkdir()
    embedder = HashingEmbedder()
    with watch([folder], data_dir) as watcher:
        assert watcher.run_once(store, embedder).summary.outcomes == []

        first = drop_in(folder, corpus_html("2022-06-01"))
        found = watcher.run_once(store, embedder)
        assert [s.files for s in found.sources] == [[str(first)]]
        assert found.summary.count("added") == 1
        assert report_dates(store) == ["2022-06-01"]

        # Nothing new: the file is not even parsed again.
        again = watcher.run_once(store, embedder)
        assert again.sources[0].files == [] and again.summary.outcomes == []

        # A second report, and a changed first one (a correction): both taken, once.
        drop_in(folder, corpus_html("2022-06-02"))
        text = first.read_text(encoding="utf-8").replace("Russian forces", "Russian troops")
        first.write_text(text, encoding="utf-8")
        os.utime(first, (time.time() - 60, time.time() - 60))
        found = watcher.run_once(store, embedder)
        assert sorted(Path(f).name for f in found.sources[0].files) == [
            "2022-06-01_kma-alarm-ml.html",
            "2022-06-02_kma-alarm-ml.html",
        ]
        assert (found.summary.count("added"), found.summary.count("updated")) == (1, 1)
        assert watcher.run_once(store, embedder).summary.outcomes == []
    assert report_dates(store) == ["2022-06-01", "2022-06-02"]


def test_a_file_still_being_written_waits_for_the_next_round(tmp_path, data_dir, store):
    folder = tmp_path / "inbox"
    folder.mkdir()
    clock = [time.time()]
    partial = folder / "2022-06-01.html"
    partial.write_bytes(corpus_html("2022-06-01").read_bytes()[:20_000])  # just written
    with watch([folder], data_dir, settle=5.0, clock=lambda: clock[0]) as watcher:
        found = watcher.run_once(store, HashingEmbedder())
        assert found.sources[0].waiting == 1 and found.summary.outcomes == []
        partial.write_bytes(corpus_html("2022-06-01").read_bytes())  # the copy completes
        clock[0] = time.time() + 10  # ...and is left alone for a while
        found = watcher.run_once(store, HashingEmbedder())
    assert found.summary.count("added") == 1
    assert found.summary.outcomes[0].path == str(partial)


# ---- URLs: pages, feeds, index pages ------------------------------------------------------------


def test_report_page_url_is_fetched_conditionally_and_survives_a_restart(site, data_dir, store):
    path = serve_report(site, JUNE_1)
    with watch([site.url(path)], data_dir) as watcher:
        found = watcher.run_once(store, HashingEmbedder())
        assert found.sources[0].kind == "page"
        assert found.summary.count("added") == 1
        [saved] = found.sources[0].files
        # Saved inside the data folder, as UTF-8, under a harmless name.
        assert Path(saved).parent == data_dir / WATCH_DIR / "pages"
        assert Path(saved).read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype")
        assert watcher.run_once(store, HashingEmbedder()).sources[0].unchanged
    # A new watcher (a restart) asks "changed since?" and reads nothing again.
    with watch([site.url(path)], data_dir) as watcher:
        found = watcher.run_once(store, HashingEmbedder())
    assert found.sources[0].unchanged and found.summary.outcomes == []
    statuses = [r.status for r in site.hits(path)]
    assert statuses == [200, 304, 304]
    assert site.hits(path)[-1].headers.get("If-None-Match")
    assert (data_dir / WATCH_DIR / STATE_FILE).exists()
    assert report_dates(store) == ["2022-06-01"]


def test_rss_feed_follows_new_report_links_only(site, data_dir, store):
    one, two = serve_report(site, JUNE_1), serve_report(site, JUNE_2)
    site.add_report("/iran-update-june-2-2022", corpus_html("2022-06-03"))
    items = [
        (title_of(JUNE_2), two),
        ("Iran Update, June 2, 2022", "/iran-update-june-2-2022"),  # another publication
        (title_of(JUNE_1), one),
    ]
    feed = site.add("/feed.xml", rss(site, items), "application/rss+xml")
    # A link to another site, even titled like a report, is never fetched.
    offsite = rss(site, items).replace(
        "</channel>",
        f"<item><title>{title_of(JUNE_3)}</title><link>http://localhost:9/x</link></item>"
        "</channel>",
    )
    site.add("/feed.xml", offsite, "application/rss+xml")
    with watch([feed], data_dir) as watcher:
        found = watcher.run_once(store, HashingEmbedder())
        assert found.sources[0].kind == "feed"
        assert report_dates(store) == ["2022-06-01", "2022-06-02"]
        assert site.hits("/iran-update-june-2-2022") == []

        # The feed did not change: one conditional request, no page fetched again.
        found = watcher.run_once(store, HashingEmbedder())
        assert found.sources[0].unchanged and found.summary.outcomes == []

        # A new item appears: only that page is fetched.
        three = serve_report(site, JUNE_3)
        site.add("/feed.xml", rss(site, [(title_of(JUNE_3), three), *items]), "application/rss+xml")
        found = watcher.run_once(store, HashingEmbedder())
    assert found.summary.count("added") == 1
    assert report_dates(store) == ["2022-06-01", "2022-06-02", "2022-06-03"]
    assert [len(site.hits(p, 200)) for p in (one, two, three)] == [1, 1, 1]


def test_html_index_page_lists_reports(site, data_dir, store):
    one, two = serve_report(site, JUNE_1), serve_report(site, JUNE_2)
    index = site.add("/ukraine-conflict-updates", index_page([(title_of(JUNE_2), two), ("x", one)]))
    with watch([index], data_dir) as watcher:
        found = watcher.run_once(store, HashingEmbedder())
    assert found.sources[0].kind == "index"
    # Both links look like reports (the second by its address); "About us" does not.
    assert report_dates(store) == ["2022-06-01", "2022-06-02"]
    assert site.hits("/about") == []


def test_feed_with_many_new_links_is_taken_a_few_at_a_time(site, data_dir, store):
    days = [date(2022, 6, d) for d in (1, 2, 3)]
    feed = site.add(
        "/feed.xml", rss(site, [(title_of(d), serve_report(site, d)) for d in days]), "text/xml"
    )
    with watch([feed], data_dir, max_items=2) as watcher:
        assert watcher.run_once(store, HashingEmbedder()).summary.count("added") == 2
        # The feed is not remembered until every link was dealt with: the rest comes next.
        assert watcher.run_once(store, HashingEmbedder()).summary.count("added") == 1
        assert watcher.run_once(store, HashingEmbedder()).sources[0].unchanged
    assert len(report_dates(store)) == 3


def test_same_report_in_a_folder_and_at_a_url_is_ingested_once(tmp_path, site, data_dir, store):
    folder = tmp_path / "inbox"
    drop_in(folder, corpus_html("2022-06-01"))
    page = site.url(serve_report(site, JUNE_1))
    feed = site.add("/feed.xml", rss(site, [(title_of(JUNE_1), urlpath(page))]), "text/xml")
    with watch([folder, page, feed], data_dir) as watcher:
        found = watcher.run_once(store, HashingEmbedder())
        assert found.summary.count("added") == 1
        assert found.summary.count("unchanged") == 1  # the other copy: the same report
        assert watcher.run_once(store, HashingEmbedder()).summary.outcomes == []
    [entry] = store.reports().values()
    assert len(entry.sources) == 2  # the folder's file and the fetched page
    # The page the URL source and the feed both name was fetched once.
    assert len(site.hits(urlpath(page), 200)) == 1


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_each_source_fails_on_its_own(tmp_path, site, data_dir, store):
    good = site.url(serve_report(site, JUNE_1))
    site.add("/report.pdf", b"%PDF-1.7 ...", "application/pdf")
    site.add("/huge.html", "<html>" + "x" * 300_000 + "</html>")
    site.add("/down", "", status=503)
    site.add("/notes.txt", "just some notes, not a report", "text/plain")
    sources = [
        tmp_path / "missing-folder",
        site.url("/report.pdf"),
        site.url("/huge.html"),
        site.url("/down"),
        site.url("/notes.txt"),
        "http://127.0.0.1:9/nothing-listens-here",
        good,
    ]
    with watch(sources, data_dir, max_bytes=200_000, timeout=2) as watcher:
        found = watcher.run_once(store, HashingEmbedder())
    errors = {s.source: s.error for s in found.sources}
    assert "no such folder" in errors[str(tmp_path / "missing-folder")]
    assert "content type application/pdf" in errors[site.url("/report.pdf")]
    assert "too large" in errors[site.url("/huge.html")]
    assert "HTTP 503" in errors[site.url("/down")]
    assert "neither a report nor a feed" in errors[site.url("/notes.txt")]
    assert "Connect" in errors["http://127.0.0.1:9/nothing-listens-here"]
    assert errors[good] is None
    assert report_dates(store) == ["2022-06-01"]
    assert found.errors == 6


def test_sources_must_be_folders_or_http_urls():
    for bad in ("file:///etc/passwd", "ftp://example.org/feed", "  "):
        with pytest.raises(ValueError):
            check_source(bad)
    check_source("/srv/reports")
    check_source("https://www.understandingwar.org/rss.xml")


# ---- the command ------------------------------------------------------------------------------


def test_cli_watch_once_ingests_reports_and_prints_a_summary(
    tmp_path, site, hashing_cli, capsys, monkeypatch
):
    folder = tmp_path / "inbox"
    drop_in(folder, corpus_html("2022-06-01"))
    feed = site.add(
        "/feed.xml", rss(site, [(title_of(JUNE_2), serve_report(site, JUNE_2))]), "text/xml"
    )
    assert main([*hashing_cli, "watch", str(folder), feed, "--once", "-q"]) == 0
    out = capsys.readouterr().out
    assert f"{folder} (folder): 1 new or changed" in out
    assert f"{feed} (feed): 1 new or changed" in out
    assert "2 added, 0 updated, 0 unchanged, 0 duplicate, 0 failed" in out

    # REPORTBOT_WATCH names the sources; a second run finds nothing new and says so quietly.
    monkeypatch.setenv("REPORTBOT_WATCH", f"{folder},{feed}")
    assert main([*hashing_cli, "watch", "--once", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main([*hashing_cli, "watch", "--once"]) == 0
    assert "not changed" in capsys.readouterr().out

    # A failing source: reported, exit status 1, the other source still watched.
    assert main([*hashing_cli, "watch", str(folder), site.url("/gone"), "--once"]) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_cli_watch_refuses_nothing_to_watch_and_bad_sources(hashing_cli, capsys):
    assert main([*hashing_cli, "watch", "--once"]) == 2
    assert "nothing to watch" in capsys.readouterr().err
    assert main([*hashing_cli, "watch", "ftp://example.org/feed", "--once"]) == 2
    assert "http(s) URL" in capsys.readouterr().err
    assert main([*hashing_cli, "watch", "/srv", "--interval", "0"]) == 2


def test_cli_watch_help_explains_sources_and_who_pushes(capsys):
    with pytest.raises(SystemExit):
        main(["watch", "--help"])
    text = capsys.readouterr().out
    for phrase in ("a folder", "a report page URL", "a feed URL", "only ingests", "/subscribe"):
        assert phrase in text
