"""A fake Telegram Bot API server for end-to-end tests and benchmarks of the real bot.

The bot itself never imports this module: it is the stand-in for api.telegram.org that the tests
and the benchmarks (bench_bot_load, bench_share, bench_cold_start) run the real Application
against, so it lives beside the code it fakes rather than in tests/ (benchmarks do not import
tests). It needs aiohttp, from the dev extra. It is one module over 400 lines because it is one
server: every method shares the chats, the update queue, the call log and the fault queues.

An aiohttp web server on 127.0.0.1 (a free port) inside the test process that answers
`/bot<token>/<method>` like api.telegram.org does, for the methods python-telegram-bot uses here:
getMe, getUpdates (long polling, honouring offset/timeout/limit), sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, sendChatAction, setMyCommands, getMyCommands,
deleteWebhook, setWebhook, getWebhookInfo, close, logOut, getFile, file downloads
(`/file/bot<token>/<file_path>`, recorded as calls of the pseudo-method "download"), sendPhoto
(a multipart upload: the PNG is checked and kept, its size read from its header) and
answerInlineQuery (checked as Telegram checks results; `choose_inline_result` then does what a
reader's client does: the chosen result's message is posted in a chat `via_bot`, and a
chosen_inline_result update follows).

It checks what Telegram checks where it matters for these tests (the token, HTML parse mode, a
4096-character limit, "message is not modified", answering a callback query twice), records every
call (method + params) and can fault the next N calls of a method:

  fail_next     a 429 (`retry_after`), a 400 or a 5xx; the call takes no effect
  delay_next    the call is answered normally, but only after `seconds` (a client whose read
                timeout is shorter sees a timeout; the call still takes effect, as on a slow
                Telegram)
  reset_next    the request is read, then the connection is reset without an answer; no effect
  garbage_next  HTTP 200 with a body that is not JSON; no effect
  not_ok_next   HTTP 200 with {"ok": false}; no effect

A chat can block the bot (`block`): from then on every message to it is refused with 403
"Forbidden: bot was blocked by the user", as Telegram does.

`injected` counts the faults served, by (method, kind): kind is the status ("429", "502", ...)
for fail_next, else delay, reset, garbage or not_ok. getUpdates mimics Telegram's offset
semantics: an update is delivered again and again until a getUpdates call with a higher offset
confirms it, so a lost or garbled response loses nothing. Updates of every type are delivered
whatever `allowed_updates` says, so the bot's own filters are what is tested. Helpers push
updates (a text message, a command, a group message, a callback query, any other message, a
document whose bytes getFile and the download path then serve).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MAX_TEXT = 4096
# Tags Telegram's HTML parse mode accepts.
SUPPORTED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
# Parameters Telegram takes as strings; every other form value is JSON (PTB's encoding).
STRING_PARAMS = {
    "text",
    "caption",
    "callback_query_id",
    "language_code",
    "action",
    "parse_mode",
    "url",
    "secret_token",
    "inline_message_id",
    "query",
    "inline_query_id",
    "filename",
}
MAX_CAPTION = 1024
MAX_INLINE_RESULTS = 50
# How long Telegram waits for an inline query's answer.
INLINE_ANSWER_WINDOW = 10.0
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


class HtmlError(ValueError):
    pass


def parse_html(text: str) -> str:
    """The plain text of a Telegram HTML message; HtmlError where Telegram would refuse it."""
    return parse_html_entities(text)[0]


def parse_html_entities(text: str) -> tuple[str, list[dict]]:
    """The plain text of a Telegram HTML message and its links as Telegram's `text_link`
    entities (UTF-16 offsets); HtmlError where Telegram would refuse it."""
    out: list[str] = []
    stack: list[str] = []
    links: list[tuple[int, str]] = []  # open <a>: where its text starts, its href
    entities: list[dict] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if m is None:
                raise HtmlError(f"Unsupported start tag at byte offset {i}")
            closing, name = m.group(1) == "/", m.group(2).lower()
            if name not in SUPPORTED_TAGS:
                raise HtmlError(f'Unsupported start tag "{name}" at byte offset {i}')
            if closing:
                if not stack or stack[-1] != name:
                    raise HtmlError(f'Unmatched end tag at byte offset {i}, expected "</{name}>"')
                stack.pop()
                if name == "a":
                    start, url = links.pop()
                    end = utf16_len("".join(out))
                    if url and end > start:
                        entities.append(
                            {
                                "type": "text_link",
                                "offset": start,
                                "length": end - start,
                                "url": url,
                            }
                        )
            else:
                stack.append(name)
                if name == "a":
                    href = re.search(r'href\s*=\s*"([^"]*)"', m.group(3) or "")
                    url = html.unescape(href.group(1)) if href else ""
                    links.append((utf16_len("".join(out)), url))
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if m is not None:
                out.append(html.unescape(m.group(0)))
                i = m.end()
            else:
                out.append(ch)
                i += 1
        elif ch == ">":
            raise HtmlError(f"Unexpected end tag at byte offset {i}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out), entities


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None = None
    kind: str = "status"  # the HTTP status ("429", "502", ...), delay, reset, garbage, not_ok
    delay: float = 0.0


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    result: Any = None
    at: float = field(default_factory=time.monotonic)
    fault: str | None = None  # the kind of fault injected into this call, if any

    @property
    def ok(self) -> bool:
        """The call took effect (a delayed call does, however late its answer)."""
        return self.status == 200 and self.fault in (None, "delay")


class FakeBotApi:
    def __init__(
        self,
        token: str,
        username: str = "isw_report_bot",
        bot_id: int = 7000000001,
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "ISW Reports",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.messages: dict[tuple[int, int], dict] = {}
        self.chats: dict[int, dict] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._pending: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._answered: set[str] = set()
        self._file_ids = itertools.count(1)
        self.files: dict[str, dict[str, Any]] = {}  # file_id -> file_path, data, size
        self.blocked: dict[int, str] = {}  # chat id -> the 403 description its messages get
        self._inline_ids = itertools.count(1)
        # inline query id -> {"from", "query", "at" (monotonic, when pushed), "answer"}
        self.inline_queries: dict[str, dict[str, Any]] = {}
        self.photos: dict[str, bytes] = {}  # file_id -> the PNG a sendPhoto uploaded
        self.injected: Counter[tuple[str, str]] = Counter()
        self._updates_changed = asyncio.Event()
        self._calls_changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE_URL / ApplicationBuilder.base_url should be."""
        return f"http://127.0.0.1:{self.port}/bot"

    def reset(self) -> None:
        """Forget recorded calls, armed faults and their counts (not chats, messages, files or
        pending updates)."""
        self.calls.clear()
        self._faults.clear()
        self.injected.clear()

    # ---- faults ---------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail: 429 with parameters.retry_after, a 400 with
        `description`, or a 5xx."""
        if status == 429:
            fault = Fault(429, description or f"Too Many Requests: retry after {retry_after}")
            fault.retry_after = retry_after
        elif status >= 500:
            fault = Fault(status, description or "Internal Server Error")
        else:
            fault = Fault(status, description or "Bad Request: something is wrong")
        fault.kind = str(status)  # counted in `injected` as "429", "502", ...
        self._arm(method, fault, times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` are answered (and take effect) after `seconds`."""
        self._arm(method, Fault(200, "", kind="delay", delay=seconds), times)

    def reset_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method`: the connection is reset before any answer."""
        self._arm(method, Fault(0, "", kind="reset"), times)

    def garbage_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 200 with a body that is not JSON."""
        self._arm(method, Fault(200, "", kind="garbage"), times)

    def not_ok_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 200 with {"ok": false} and no result."""
        self._arm(method, Fault(200, "", kind="not_ok"), times)

    def _arm(self, method: str, fault: Fault, times: int) -> None:
        for _ in range(times):
            self._faults[method].append(fault)

    def block(
        self, chat_id: int, description: str = "Forbidden: bot was blocked by the user"
    ) -> None:
        """The user of `chat_id` blocks the bot: sending to the chat fails with 403 from now on
        (the call is recorded, with status 403)."""
        self.blocked[chat_id] = description

    def armed(self, method: str) -> int:
        """Faults still waiting for calls of `method`."""
        return len(self._faults.get(method) or ())

    # ---- updates --------------------------------------------------------------------------------

    def push_update(self, payload: dict) -> dict:
        update = {"update_id": next(self._update_ids), **payload}
        self._pending.append(update)
        self._wake(updates=True)
        return update

    def user(
        self, user_id: int, language_code: str | None = "en", first_name: str = "Tester"
    ) -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def chat(self, chat_id: int, chat_type: str = "private", title: str = "Test group") -> dict:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Tester"
        else:
            chat["title"] = title
        self.chats[chat_id] = chat
        return chat

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "en",
        chat_type: str | None = None,
        reply_to: dict | None = None,
    ) -> dict:
        """A text message from a user; bot_command and mention entities as Telegram sets them.
        Returns the message."""
        if chat_type is None:
            chat_type = "private" if chat_id > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": self.user(user_id or abs(chat_id), language_code),
            "text": text,
        }
        entities = _entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.messages[(chat_id, message["message_id"])] = message
        self.push_update({"message": message})
        return message

    def push_message(
        self,
        chat_id: int,
        *,
        user_id: int | None = None,
        language_code: str | None = "en",
        chat_type: str | None = None,
        kind: str = "message",
        **content: Any,
    ) -> dict:
        """Any message (a sticker, a photo, ...: `content` holds its fields) as an update of
        `kind` ("message", "edited_message", "channel_post", ...). Returns the message."""
        if chat_type is None:
            chat_type = "private" if chat_id > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            **content,
        }
        if chat_type != "channel":
            message["from"] = self.user(user_id or abs(chat_id), language_code)
        self.messages[(chat_id, message["message_id"])] = message
        self.push_update({kind: message})
        return message

    def add_file(self, data: bytes, suffix: str = "") -> dict:
        """A file Telegram holds: getFile describes it, the download path serves `data`.
        Returns its file_id, file_unique_id and file_size."""
        number = next(self._file_ids)
        file_id = f"BQACAgIAAx{number:06d}"
        self.files[file_id] = {
            "file_path": f"documents/file_{number}{suffix}",
            "data": data,
            "unique": f"AgAD{number:06d}",
        }
        return {"file_id": file_id, "file_unique_id": f"AgAD{number:06d}", "file_size": len(data)}

    def push_document(
        self,
        chat_id: int,
        file_name: str | None,
        data: bytes,
        *,
        user_id: int | None = None,
        file_size: int | None = None,
        mime_type: str = "text/plain",
        **kwargs: Any,
    ) -> dict:
        """A user sends a file; `file_size` is what Telegram reports (default: the real size)."""
        document = self.add_file(data, ".txt")
        if file_size is not None:
            document["file_size"] = file_size
            self.files[document["file_id"]]["size"] = file_size
        if file_name is not None:
            document["file_name"] = file_name
        document["mime_type"] = mime_type
        return self.push_message(chat_id, user_id=user_id, document=document, **kwargs)

    def push_command(self, chat_id: int, command: str, **kwargs: Any) -> dict:
        assert command.startswith("/")
        return self.push_text(chat_id, command, **kwargs)

    def push_group_message(
        self, chat_id: int, text: str, *, user_id: int, mention: bool = False, **kwargs: Any
    ) -> dict:
        if mention:
            text = f"@{self.bot_user['username']} {text}"
        kwargs.setdefault("chat_type", "supergroup")
        return self.push_text(chat_id, text, user_id=user_id, **kwargs)

    def push_callback(
        self,
        message: dict,
        data: str,
        *,
        user_id: int,
        language_code: str | None = "en",
    ) -> str:
        """A press on an inline button under `message` (a message the bot sent). Returns the
        callback query id."""
        query_id = f"cq{next(self._callback_ids)}"
        current = self.messages.get((message["chat"]["id"], message["message_id"]), message)
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user(user_id, language_code),
                    "message": current,
                    "chat_instance": f"ci{message['chat']['id']}",
                    "data": data,
                }
            }
        )
        return query_id

    def push_inline_query(
        self, user_id: int, query: str, *, language_code: str | None = "en", offset: str = ""
    ) -> str:
        """A reader types `@bot query` (one update per keystroke in real life). Returns the
        inline query id."""
        query_id = f"iq{next(self._inline_ids)}"
        sender = self.user(user_id, language_code)
        self.inline_queries[query_id] = {
            "from": sender,
            "query": query,
            "at": time.monotonic(),
            "answer": None,
        }
        self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": sender,
                    "query": query,
                    "offset": offset,
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    def choose_inline_result(
        self, query_id: str, result_id: str, chat_id: int, *, chat_type: str | None = None
    ) -> dict:
        """The reader picks a result of an answered inline query: its input_message_content is
        posted in `chat_id` as the reader's message `via_bot` (with the text and links parsed as
        Telegram parses them), then a chosen_inline_result update comes (bots with inline
        feedback on get it). Returns the posted message."""
        asked = self.inline_queries[query_id]
        answer = asked["answer"]
        if answer is None:
            raise ValueError(f"inline query {query_id} was not answered")
        result = next(r for r in answer["results"] if r["id"] == result_id)
        content = result["input_message_content"]
        raw = content["message_text"]
        text, entities = raw, []
        if str(content.get("parse_mode") or "").upper() == "HTML":
            text, entities = parse_html_entities(raw)
        if chat_type is None:
            chat_type = "private" if chat_id > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": asked["from"],
            "via_bot": self.bot_user,
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if content.get("link_preview_options"):
            message["link_preview_options"] = content["link_preview_options"]
        self.messages[(chat_id, message["message_id"])] = message
        self.push_update({"message": message})
        self.push_update(
            {
                "chosen_inline_result": {
                    "result_id": result_id,
                    "from": asked["from"],
                    "query": asked["query"],
                }
            }
        )
        return message

    # ---- inspection -----------------------------------------------------------------------------

    def calls_of(
        self,
        method: str,
        predicate: Callable[[dict], bool] | None = None,
        *,
        ok_only: bool = True,
    ) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and (c.ok or not ok_only)
            and (predicate is None or predicate(c.params))
        ]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Successful sendMessage calls to a chat."""
        return self.calls_of("sendMessage", lambda p: p.get("chat_id") == chat_id)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[dict], bool] | None = None,
        timeout: float = 10.0,
        *,
        count: int = 1,
    ) -> Call:
        """Wait until `count` successful calls of `method` match `predicate`; the last of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_of(method, predicate)
            if len(found) >= count:
                return found[count - 1]
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [(c.method, c.status, c.params) for c in self.calls[-10:]]
                raise TimeoutError(f"no {count}x {method} matching within {timeout}s; last: {seen}")
            changed = self._calls_changed
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass

    # ---- the server -----------------------------------------------------------------------------

    def _wake(self, *, updates: bool = False) -> None:
        if updates:
            self._updates_changed.set()
            self._updates_changed = asyncio.Event()
        else:
            self._calls_changed.set()
            self._calls_changed = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        delayed = None
        faults = self._faults.get(method)
        if faults:
            fault = faults.popleft()
            self.injected[(method, fault.kind)] += 1
            if fault.kind == "delay":
                delayed = fault.kind
                await asyncio.sleep(fault.delay)
            else:
                return self._faulty(request, method, params, fault)
        handler = getattr(self, "_m_" + method.lower(), None)
        if handler is None:
            self._record(Call(method, params, 404))
            return _error(404, "Not Found")
        try:
            result = await handler(params)
        except ApiError as err:
            self._record(Call(method, params, err.status, fault=delayed))
            return _error(err.status, err.description, err.parameters)
        self._record(Call(method, params, 200, result, fault=delayed))
        return web.json_response({"ok": True, "result": result})

    def _faulty(
        self, request: web.Request, method: str, params: dict, fault: Fault
    ) -> web.Response:
        """The answer to a call with an injected fault (other than a delay): it has no effect."""
        self._record(Call(method, params, fault.status, fault=fault.kind))
        if fault.kind == "reset":
            # The request was read; reset the connection instead of answering.
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=200)
        if fault.kind == "garbage":
            return web.Response(
                status=200,
                body=b"<html><body>502 Bad Gateway</body></html>\x00{",
                content_type="text/html",
            )
        if fault.kind == "not_ok":
            return web.json_response({"ok": False})
        extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
        return _error(fault.status, fault.description, extra)

    async def _download(self, request: web.Request) -> web.Response:
        """GET /file/bot<token>/<file_path>: a file's bytes (recorded as method "download")."""
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.match_info["path"]
        params = {"file_path": path}
        faults = self._faults.get("download")
        if faults:
            fault = faults.popleft()
            self.injected[("download", fault.kind)] += 1
            return self._faulty(request, "download", params, fault)
        found = next((f for f in self.files.values() if f["file_path"] == path), None)
        if found is None:
            self._record(Call("download", params, 404))
            return _error(404, "Not Found")
        self._record(Call("download", params, 200, len(found["data"])))
        return web.Response(body=found["data"], content_type="application/octet-stream")

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._wake()

    # ---- methods --------------------------------------------------------------------------------

    async def _m_getme(self, params: dict) -> Any:
        return self.bot_user

    async def _m_getupdates(self, params: dict) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if offset > 0:
            # Telegram forgets every update before the offset: they are confirmed.
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            changed = self._updates_changed
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                break
        return self._pending[:limit]

    async def _m_deletewebhook(self, params: dict) -> Any:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_setwebhook(self, params: dict) -> Any:
        return True

    async def _m_getwebhookinfo(self, params: dict) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_close(self, params: dict) -> Any:
        return True

    async def _m_logout(self, params: dict) -> Any:
        return True

    async def _m_setmycommands(self, params: dict) -> Any:
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (
            json.dumps(params.get("scope") or {"type": "default"}),
            params.get("language_code") or "",
        )
        self.commands[key] = commands
        return True

    async def _m_getmycommands(self, params: dict) -> Any:
        key = (
            json.dumps(params.get("scope") or {"type": "default"}),
            params.get("language_code") or "",
        )
        return self.commands.get(key, [])

    async def _m_getfile(self, params: dict) -> Any:
        file_id = str(params.get("file_id") or "")
        found = self.files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        size = found.get("size", len(found["data"]))
        if size > 20_000_000:  # the Bot API serves files up to 20 MB
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": found["unique"],
            "file_size": size,
            "file_path": found["file_path"],
        }

    async def _m_answerinlinequery(self, params: dict) -> Any:
        """Checked as Telegram does: a known query answered once and in time, at most 50
        results with unique ids of 1-64 bytes, articles with a title and a message Telegram can
        parse (HTML, 1-4096 characters), a sane cache_time and button."""
        query_id = str(params.get("inline_query_id") or "")
        asked = self.inline_queries.get(query_id)
        if (
            asked is None
            or asked["answer"] is not None
            or time.monotonic() - asked["at"] > INLINE_ANSWER_WINDOW
        ):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        results = params.get("results")
        if not isinstance(results, list) or len(results) > MAX_INLINE_RESULTS:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids: set[str] = set()
        for result in results:
            rid = str(result.get("id") or "")
            if not 1 <= len(rid.encode()) <= 64:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            if rid in ids:
                raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
            ids.add(rid)
            if result.get("type") != "article":
                raise ApiError(400, "Bad Request: RESULT_TYPE_INVALID")
            if not str(result.get("title") or "").strip():
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
            content = result.get("input_message_content") or {}
            try:
                self._checked_text(
                    {"text": content.get("message_text"), "parse_mode": content.get("parse_mode")}
                )
            except ApiError as err:
                raise ApiError(400, err.description.replace("message", "MESSAGE", 1)) from None
        cache_time = params.get("cache_time", 300)
        if not isinstance(cache_time, int) or cache_time < 0:
            raise ApiError(400, "Bad Request: cache_time is invalid")
        button = params.get("button")
        if button is not None:
            if not str(button.get("text") or "").strip():
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            if not _START_PARAMETER.fullmatch(str(button.get("start_parameter") or "")):
                raise ApiError(400, "Bad Request: START_PARAM_INVALID")
        asked["answer"] = params
        return True

    async def _m_sendphoto(self, params: dict) -> Any:
        """A photo uploaded as multipart/form-data: it must be an image (PNG or JPEG); the
        caption is checked like a message's text, at most 1024 characters."""
        chat = self._known_chat(params)
        data = params.get("photo")
        if not isinstance(data, bytes) or not data:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        size = _png_size(data)
        if size is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
        }
        caption = params.get("caption")
        if caption:
            text = caption
            if str(params.get("parse_mode") or "").upper() == "HTML":
                try:
                    text = parse_html(caption)
                except HtmlError as err:
                    raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
            if utf16_len(text.strip()) > MAX_CAPTION:
                raise ApiError(400, "Bad Request: message caption is too long")
            message["caption"] = text
        file = self.add_file(data, ".png")
        self.photos[file["file_id"]] = data
        width, height = size
        message["photo"] = [{**file, "width": width, "height": height}]
        reply = params.get("reply_parameters")
        if reply:
            original = self.messages.get((chat["id"], reply.get("message_id")))
            if original is not None:
                message["reply_to_message"] = original
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    async def _m_sendchataction(self, params: dict) -> Any:
        self._known_chat(params)
        return True

    async def _m_sendmessage(self, params: dict) -> Any:
        chat = self._known_chat(params)
        text = self._checked_text(params)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": text,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        reply = params.get("reply_parameters")
        if reply:
            original = self.messages.get((chat["id"], reply.get("message_id")))
            if original is not None:
                message["reply_to_message"] = original
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    async def _m_editmessagetext(self, params: dict) -> Any:
        message = self._known_message(params)
        text = self._checked_text(params)
        markup = params.get("reply_markup")
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _m_editmessagereplymarkup(self, params: dict) -> Any:
        message = self._known_message(params)
        markup = params.get("reply_markup")
        if markup == message.get("reply_markup") or (not markup and "reply_markup" not in message):
            raise ApiError(400, "Bad Request: message is not modified")
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _m_answercallbackquery(self, params: dict) -> Any:
        query_id = params.get("callback_query_id")
        if not query_id or query_id in self._answered:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answered.add(query_id)
        return True

    # ---- checks ---------------------------------------------------------------------------------

    def _known_chat(self, params: dict) -> dict:
        chat = self.chats.get(_int(params.get("chat_id")))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat["id"] in self.blocked:
            raise ApiError(403, self.blocked[chat["id"]])
        return chat

    def _known_message(self, params: dict) -> dict:
        chat = self._known_chat(params)
        message = self.messages.get((chat["id"], _int(params.get("message_id"))))
        if message is None or message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _checked_text(self, params: dict) -> str:
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        text = raw
        if str(params.get("parse_mode") or "").upper() == "HTML":
            try:
                text = parse_html(raw)
            except HtmlError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
        if utf16_len(text.strip()) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return text


# ---- helpers --------------------------------------------------------------------------------


def _error(status: int, description: str, parameters: dict | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


async def _params(request: web.Request) -> dict[str, Any]:
    """A Bot API call's parameters: from a JSON body, a form (PTB: url-encoded, JSON-encoded
    non-string values) or the query string."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
                return params
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, web.FileField):  # a multipart upload: its bytes
                    params[key] = value.file.read()
    return {k: _decode(k, v) for k, v in params.items()}


def _decode(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk; None if it is not a PNG."""
    if len(data) < 24 or not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _utf16_offset(text: str, index: int) -> int:
    return utf16_len(text[:index])


def _entities(text: str) -> list[dict]:
    """bot_command at the start and @mentions, with UTF-16 offsets, as Telegram computes them."""
    entities = []
    m = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
    if m:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))})
    for m in re.finditer(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}", text):
        entities.append(
            {
                "type": "mention",
                "offset": _utf16_offset(text, m.start()),
                "length": utf16_len(m.group(0)),
            }
        )
    return entities
