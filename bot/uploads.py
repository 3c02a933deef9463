"""Report files an admin sends in a private chat: checked (size before downloading, name,
content), saved under data_dir/uploads, ingested, and announced to subscribers like a watched
report."""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
import secrets
import time
import unicodedata
from pathlib import Path

from telegram import Update

from bot.context import BotContext, update_lang
from bot.gates import admitted, is_admin
from bot.i18n import label
from bot.sending import reply
from bot.telegram_format import escape
from store.ingest import REPORT_SUFFIXES, IngestSummary

log = logging.getLogger(__name__)

# What an ingest reads in folders: report pages and texts, and datasets of many reports.
UPLOAD_SUFFIXES = frozenset(REPORT_SUFFIXES)
UPLOADS_DIR = "uploads"
# Failure reasons listed under an upload's summary (a dataset may have hundreds).
UPLOAD_REASONS = 10
# Files that are binary whatever their name says (PDF, ZIP/DOCX, PNG, GIF, JPEG, ELF, EXE, gzip).
_BINARY_MAGIC = (
    b"%PDF",
    b"PK\x03\x04",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"\x7fELF",
    b"MZ",
    b"\x1f\x8b",
)
_BAD_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\x0c", "\r"}


async def accept_upload(update: Update, context: BotContext) -> None:
    """An admin sends a report file in a private chat: check its size (before downloading), name
    and content, save it under data_dir/uploads, ingest it and reload the answers."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    d = context.deps
    settings = d.settings
    lang = update_lang(update)
    if not is_admin(update, settings):  # no admins configured: nobody may upload
        if await admitted(update, context, questions=False):
            await reply(update, context, escape(label(lang, "admin_only")))
        return
    document = message.document
    name = safe_upload_name(document.file_name)
    if name is None:
        await reply(update, context, escape(label(lang, "upload_bad_type")))
        return
    limit = settings.max_upload_bytes
    if await too_large(update, context, document.file_size, limit):
        return
    file = await context.bot.get_file(document.file_id)
    if await too_large(update, context, file.file_size, limit):
        return
    data = bytes(await file.download_as_bytearray())
    if await too_large(update, context, len(data), limit):
        return
    if not looks_like_text(data):
        await reply(update, context, escape(label(lang, "upload_bad_type")))
        return
    async with d.upload_lock:
        path = await asyncio.to_thread(save_upload, settings.data_dir / UPLOADS_DIR, name, data)
        summary = await asyncio.to_thread(d.library.ingest, [path], progress=False)
        if summary.count("failed") and len(summary.outcomes) == summary.count("failed"):
            path.unlink(missing_ok=True)  # nothing of it is in the store: keep no litter
        await asyncio.to_thread(d.qa.refresh)
    log.info("Upload %s by admin %s: %s", name, update.effective_user.id, summary.line())
    await reply(update, context, escape(upload_summary(lang, name, path, summary)))
    if d.announce is not None and (summary.count("added") or summary.count("updated")):
        await d.announce()  # a new report is pushed to subscribers like a watched one


async def too_large(update: Update, context: BotContext, size: int | None, limit: int) -> bool:
    if size is None or size <= limit:
        return False
    megabytes = f"{size / 1_000_000:.1f}"
    text = label(update_lang(update), "upload_too_large", size=megabytes, limit=f"{limit / 1e6:g}")
    await reply(update, context, escape(text))
    return True


def safe_upload_name(file_name: str | None) -> str | None:
    """A harmless file name for an upload: its last path component only (no `..`, no folders,
    no absolute paths, either slash), letters, digits, `.`, `_` and `-`, no leading dot, at most
    80 characters before the extension. None unless the extension is one we ingest."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", file_name or ""))[-1]
    stem, dot, suffix = base.rpartition(".")
    suffix = "." + suffix.lower()
    if not dot or suffix not in UPLOAD_SUFFIXES:
        return None
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:80].strip("._-")
    return (stem or "report") + suffix


def looks_like_text(data: bytes) -> bool:
    """Text, not binary, whatever the name says: no known binary signature, decodes as UTF-8,
    UTF-16 with a BOM or CP949 (what store.sources reads), hardly any control characters."""
    if not data.strip() or data.startswith(_BINARY_MAGIC):
        return False
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    elif b"\x00" in data:
        return False
    else:
        encodings = ("utf-8-sig", "cp949")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:100_000]
        return (
            bool(sample.strip()) and sum(ch in _BAD_CONTROL for ch in sample) <= len(sample) // 100
        )
    return False


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` to a new file in `folder` (never elsewhere, never over another file)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    path = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}-{name}"
    if path.parent != root or path.resolve().parent != root:
        raise ValueError(f"unsafe upload name {name!r}")
    with open(path, "xb") as handle:  # "x": fails rather than follow or replace anything
        handle.write(data)
    return path


def upload_summary(lang: str, name: str, path: Path, summary: IngestSummary) -> str:
    counts = {s: summary.count(s) for s in ("added", "updated", "unchanged", "duplicate")}
    text = label(lang, "upload_done", name=name, failed=summary.count("failed"), **counts)
    for dataset in summary.datasets:
        text += "\n" + dataset.line().replace(str(path), name)
    for outcome in summary.failed[:UPLOAD_REASONS]:
        # The reason names the file by its path on this machine: show the user's name instead.
        reason = (outcome.reason or "").replace(str(path), name)
        if outcome.record is not None:
            reason = f"{name} #{outcome.record}: {reason}"
        text += f"\n• {reason}"
    if len(summary.failed) > UPLOAD_REASONS:
        text += f"\n• … (+{len(summary.failed) - UPLOAD_REASONS})"
    return text
