"""What the end-to-end bot tests share besides the fake server: a clock they move, a QA
wrapper through which a scenario injects an edge case into the real ReportQA, and the sentinel
that proves nothing more is on its way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.ext import Application

from bot.fake_bot_api import Call, FakeBotApi
from bot.telegram_app import ALLOWED_UPDATES


class FakeClock:
    """The bot's clock (rate-limit windows, page expiry); tests move it forward."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SwitchableQA:
    """The real ReportQA; a test may override one attribute (an edge-case answer, a failure,
    uploads pointed at its own store)."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.overrides: dict[str, object] = {}

    def __getattr__(self, name: str):
        overrides = self.__dict__["overrides"]
        if name in overrides:
            return overrides[name]
        return getattr(self.__dict__["real"], name)


@asynccontextmanager
async def polling(application: Application, menu: bool = True) -> AsyncIterator[Application]:
    """The real Application, polling the fake server as run_polling would run it (`menu`: with
    its post_init, which sets the command menu), stopped and shut down afterwards."""
    await application.initialize()
    if menu:
        await application.post_init(application)
    await application.start()
    await application.updater.start_polling(
        poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
    )
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def sentinel(api: FakeBotApi, chat: int, timeout: float = 30.0) -> Call:
    """Prove that the bot sent everything it was going to for the updates before now.

    A /help in a fresh private chat (`chat`) is answered at once and never rate-limited; the
    bot reads updates in order, so by the time its answer arrives, the bot has taken up every
    earlier update and sent what those sent straight away (a duplicate, a second notice, a late
    "typing…"). The caller then counts what arrived: a sleep would only hope it waited long
    enough, and wait just as long when nothing comes."""
    api.push_text(chat, "/help")
    return await api.wait_for("sendMessage", lambda p: p.get("chat_id") == chat, timeout=timeout)
