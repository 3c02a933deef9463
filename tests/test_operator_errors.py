"""An operator's mistakes end in one line that names the setting, file or server and says what
to do, with exit status 2; `--debug` shows the traceback instead."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import CORPUS, SEED

SHAPES = Path(__file__).parent / "fixtures" / "shapes"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("REPORTBOT_MAX_RESULTS", "abc", "valid integer"),
        ("REPORTBOT_MAX_RESULTS", "-1", "allowed: >= 1 and <= 50"),
        ("REPORTBOT_MAX_RESULTS", "0", "allowed: >= 1 and <= 50"),
        ("REPORTBOT_MAX_RESULTS", "51", "allowed: >= 1 and <= 50"),
        ("REPORTBOT_EMBEDDING_BACKEND", "gpu", "'onnx' or 'torch'"),
        ("REPORTBOT_WATCH_INTERVAL", "0", "allowed: > 0"),
        ("REPORTBOT_TELEGRAM_READ_TIMEOUT", "-2", "allowed: > 0"),
        ("REPORTBOT_WEBHOOK_PORT", "70000", "allowed: >= 1 and <= 65535"),
    ],
)
def test_a_bad_setting_is_one_line(hashing_cli, monkeypatch, capsys, variable, value, says):
    monkeypatch.setenv(variable, value)
    assert main([*hashing_cli, "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"setting {variable}={value}:" in err and says in err


def test_a_data_folder_that_is_a_file(tmp_path, hashing_cli, monkeypatch, capsys):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    monkeypatch.setenv("REPORTBOT_DATA_DIR", str(target))
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{target} is a file, not a folder" in err


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda db: db.write_bytes(b""), "is empty (0 bytes), not a new store"),
        (lambda db: db.write_bytes(b"garbage" * 100), "is not a SQLite database"),
        (lambda db: db.write_bytes(db.read_bytes()[: len(db.read_bytes()) // 3]), "damaged"),
    ],
    ids=["emptied", "garbage", "truncated"],
)
def test_a_damaged_store_is_reported_never_recreated(hashing_cli, tmp_path, capsys, damage, says):
    if not SEED.exists():
        pytest.skip("shared corpus not available")
    assert main([*hashing_cli, "ingest", "--quiet", str(SEED)]) == 0
    database = tmp_path / "data" / "chroma" / "chroma.sqlite3"
    kept = tmp_path / "kept.sqlite3"
    shutil.copy(database, kept)
    damage(database)
    capsys.readouterr()
    for command in (["stats"], ["ask", "Avdiivka"]):
        assert main([*hashing_cli, *command]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err and "restore a backup" in err, err
    if database.stat().st_size:
        assert database.stat().st_size < kept.stat().st_size  # left as it was, not replaced
    else:
        assert database.read_bytes() == b""
    with pytest.raises(Exception, match="."):
        main([*hashing_cli, "--debug", "stats"])


def test_a_chroma_server_that_does_not_answer(hashing_cli, capsys):
    assert main([*hashing_cli, "--chroma-url", "http://127.0.0.1:9", "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Chroma server at http://127.0.0.1:9 does not answer" in err


class _Rejecting(http.server.BaseHTTPRequestHandler):
    """A Bot API that rejects every token, as Telegram does a revoked one."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def rejecting_api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Rejecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bot"
    server.shutdown()
    server.server_close()


def test_a_rejected_token_at_start_is_one_line(hashing_cli, monkeypatch, capsys, rejecting_api):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:revoked")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", rejecting_api)
    monkeypatch.setenv("REPORTBOT_SAMPLES", str(SHAPES / "paste-date-line.txt"))
    assert main([*hashing_cli, "run"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("reportbot:")]
    assert len(lines) == 1 and "rejected the bot token (InvalidToken)" in lines[0], err
    assert "revoked" not in err and "Traceback" not in err


def test_an_unreachable_bot_api_is_one_line_then_retried(capsys):
    from telegram.ext import ApplicationBuilder

    from bot.settings import Settings
    from bot.telegram_app import _check_connection

    settings = Settings(telegram_api_base_url="http://127.0.0.1:9/bot")
    application = (
        ApplicationBuilder().token("123456:abc").base_url(settings.telegram_api_base_url).build()
    )
    _check_connection(application, settings)  # does not raise: the start goes on, retrying
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "cannot reach the Bot API at http://127.0.0.1:9" in out[0]
    assert "retrying until it answers" in out[0]


def test_a_full_disk_during_ingest_is_one_line_and_keeps_what_was_stored(
    hashing_cli, monkeypatch, capsys, tmp_path
):
    """A fault-injecting shim at the storage boundary (a filesystem that fills up needs
    privileges CI lacks): the third report's write fails as SQLite does on a full disk."""
    import sqlite3

    from store.vector_store import ReportStore

    files = sorted((CORPUS / "isw-html").glob("2022-03-0*_kma-alarm-ml.html"))[:4]
    if len(files) < 4:
        pytest.skip("shared corpus not available")
    real = ReportStore.write_report
    calls = []

    def filling(self, entry, chunks, vectors):
        calls.append(entry.report_id)
        if len(calls) >= 3:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, entry, chunks, vectors)

    monkeypatch.setattr(ReportStore, "write_report", filling)
    assert main([*hashing_cli, "ingest", "--quiet", *map(str, files)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "reportbot: disk full: 2 of 4 reports stored; free space and run ingest again "
        "(what is stored stays, the rest is added then)"
    )
    monkeypatch.setattr(ReportStore, "write_report", real)  # space freed
    assert main([*hashing_cli, "ingest", "--quiet", *map(str, files)]) == 0
    assert "2 added, 0 updated, 2 unchanged" in capsys.readouterr().out


_HANGING_STORE = """
import sys, threading
sys.path.insert(0, {repo!r})
from store.vector_store import ReportStore
ReportStore.open = classmethod(lambda *a, **k: threading.Event().wait())  # blocks for good
from bot.cli import main
sys.exit(main(["--data-dir", {data!r}, "stats"]))
"""


def test_a_store_that_never_answers_is_one_line_not_a_hang(tmp_path):
    """As a reader sat in a futex after the disk filled: the command gives up on its own."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    script = _HANGING_STORE.format(repo=str(REPO), data=str(tmp_path / "data"))
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "REPORTBOT_STORE_TIMEOUT": "2"},
    )
    assert proc.returncode == 1
    assert time.monotonic() - started < 30
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not answer within 2 s" in lines[0], proc.stderr


_READ_ONLY = """
import sys
sys.path.insert(0, {repo!r})
from store.embedding import HashingEmbedder
import bot.commands
bot.commands.load_embedder = lambda settings: HashingEmbedder()
from bot.cli import main
args = ["--data-dir", {data!r}, "--model", HashingEmbedder.name]
asked = main([*args, "date", "2024-01-26", "--limit", "1"])
ingested = main([*args, "ingest", "--quiet", {file!r}])
print("STATUS", asked, ingested)
"""


def test_a_read_only_data_folder_answers_and_refuses_only_writes(hashing_cli, tmp_path, capsys):
    """A read-only mount (root is not stopped by permission bits, so the folder is bind-mounted
    read-only in a mount namespace of its own; other users get a folder without write bits)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    if not SEED.exists():
        pytest.skip("shared corpus not available")
    assert main([*hashing_cli, "ingest", "--quiet", str(SEED)]) == 0
    data, view = tmp_path / "data", tmp_path / "view"
    view.mkdir()
    script = _READ_ONLY.format(
        repo=str(REPO),
        data=str(view),
        file=str(SHAPES / "paste-date-line.txt"),
    )
    python = [sys.executable, "-c", script]
    if os.geteuid() == 0:
        mount = f'mount --bind {data} {view} && mount -o remount,bind,ro {view} && exec "$@"'
        command = ["unshare", "-m", "sh", "-c", mount, "sh", *python]
    else:
        os.rmdir(view)
        view.symlink_to(data)
        for folder in [data, *data.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o555)
        command = python
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "STATUS 0 2" in proc.stdout, proc.stdout + proc.stderr
    assert "[2024-01-26]" in proc.stdout  # answered from the read-only store
    refusal = [line for line in proc.stderr.splitlines() if line.startswith("reportbot:")]
    assert len(refusal) == 1 and "cannot be written" in refusal[0], proc.stderr
    assert "Traceback" not in proc.stderr


_FILL_THE_DISK = """
import sys, glob
sys.path.insert(0, {repo!r})
from store.embedding import HashingEmbedder
import bot.commands
bot.commands.load_embedder = lambda settings: HashingEmbedder()
from bot.cli import main
args = ["--data-dir", {data!r}, "--model", HashingEmbedder.name]
files = {files!r}
print("FULL", main([*args, "ingest", "--quiet", *files]), flush=True)
print("READ", main([*args, "date", "2022-03-01", "--limit", "1"]), flush=True)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root (CI is)")
def test_a_really_full_disk_during_ingest(tmp_path):
    """A 3 MB filesystem (tmpfs in a mount namespace of its own) fills up mid-ingest: one line
    and exit 1, reads still answer at once, and after space is freed the next ingest adds the
    rest."""
    import subprocess
    import sys

    from tests.conftest import REPO

    files = sorted(str(p) for p in (CORPUS / "isw-html").glob("2022-0*_kma-alarm-ml.html"))[:60]
    if len(files) < 60:
        pytest.skip("shared corpus not available")
    small = tmp_path / "small"
    small.mkdir()
    script = _FILL_THE_DISK.format(repo=str(REPO), data=str(small / "data"), files=files)
    steps = (
        f'mount -t tmpfs -o size=3m tmpfs {small} && {sys.executable} -c "$0" && '
        f'mount -o remount,size=64m {small} && {sys.executable} -c "$0"'
    )
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", steps, script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "REPORTBOT_STORE_TIMEOUT": "20"},
    )
    out, err = proc.stdout, proc.stderr
    assert out.count("FULL 1") == 1 and out.count("FULL 0") == 1, out + err
    assert out.count("READ 0") == 2, out + err  # answered on the full disk, and after
    full = [line for line in err.splitlines() if line.startswith("reportbot:")]
    assert len(full) == 1 and full[0].startswith("reportbot: disk full: "), err
    stored = int(full[0].split("disk full: ")[1].split(" of ")[0])
    assert 0 < stored < 60
    assert "Traceback" not in err
