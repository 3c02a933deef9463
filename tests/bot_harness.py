"""What the end-to-end bot tests share besides the fake server: a clock they move and a QA
wrapper through which a scenario injects an edge case into the real ReportQA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.ext import Application

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
