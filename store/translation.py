"""Machine translation of takeaways, where a deployment has a model.

No translation model installs from a package registry, so nothing here runs unless the operator
names one (REPORTBOT_TRANSLATION_MODEL): a Hugging Face name or a local path of a Marian
(opus-mt-…), NLLB-200 or M2M-100 model, loaded with transformers. Each English takeaway is
translated once per target language, when its report is ingested (or by `reportbot translate`),
and kept in the store beside the report with the model's name: an unchanged re-ingest translates
nothing, and a store translated by another model is refused until it is translated again.

A translation is never passed off as ISW's words: the read path shows it marked as machine
translation, with the English original beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel
from tqdm import tqdm

log = logging.getLogger(__name__)

TARGETS = ("ko", "uk", "ru")
# The language codes each model family names its targets by.
_NLLB = {"en": "eng_Latn", "ko": "kor_Hang", "uk": "ukr_Cyrl", "ru": "rus_Cyrl"}
_MARIAN = {"ko": "kor", "uk": "ukr", "ru": "rus"}  # ">>kor<<" for multi-target opus-mt models


class Translator(Protocol):
    name: str

    def translate(self, texts: list[str], target: str) -> list[str]: ...


class TranslationMismatchError(RuntimeError):
    """The store's translations were made by another model."""


class TranslationRow(BaseModel):
    """One takeaway of one report version in one language."""

    report_id: str
    version: str
    position: int
    lang: str
    text: str
    model: str

    @property
    def id(self) -> str:
        return translation_id(self.report_id, self.version, self.position, self.lang)


def translation_id(report_id: str, version: str, position: int, lang: str) -> str:
    return f"{report_id}:{version[:12]}:t{position}:{lang}"


class HFTranslator:
    """A Hugging Face sequence-to-sequence translation model, loaded on first use."""

    def __init__(
        self,
        name: str,
        cache_dir: Path | None = None,
        batch_size: int = 8,
        max_new_tokens: int = 256,
    ) -> None:
        self.name = name
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self._tokenizer: Any = None
        self._model: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        cache = str(self.cache_dir) if self.cache_dir else None
        self._tokenizer = AutoTokenizer.from_pretrained(self.name, cache_dir=cache)
        self._model = AutoModelForSeq2SeqLM.from_pretrained(self.name, cache_dir=cache)
        self._model.eval()

    def translate(self, texts: list[str], target: str) -> list[str]:
        import torch

        self._load()
        tokenizer, model = self._tokenizer, self._model
        family = type(tokenizer).__name__.lower()
        extra: dict[str, Any] = {}
        inputs = list(texts)
        if "nllb" in family:
            tokenizer.src_lang = _NLLB["en"]
            extra["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids(_NLLB[target])
        elif "m2m" in family:
            tokenizer.src_lang = "en"
            extra["forced_bos_token_id"] = tokenizer.get_lang_id(target)
        elif getattr(tokenizer, "supported_language_codes", None):
            # A multi-target Marian model picks its output language by a prefix token.
            inputs = [f">>{_MARIAN[target]}<< {text}" for text in inputs]
        out: list[str] = []
        for start in range(0, len(inputs), self.batch_size):
            batch = tokenizer(
                inputs[start : start + self.batch_size],
                return_tensors="pt",
                padding=True,
                truncation=True,
            )
            with torch.no_grad():
                generated = model.generate(**batch, max_new_tokens=self.max_new_tokens, **extra)
            out += [t.strip() for t in tokenizer.batch_decode(generated, skip_special_tokens=True)]
        return out


def pending_rows(
    takeaways: Iterable[tuple[str, str, int, dict[str, str]]],
    targets: Iterable[str],
    done: set[str],
) -> dict[str, list[tuple[str, str, int, str]]]:
    """Per target language, the (report id, version, position, English text) still to translate:
    English takeaways whose report has no text of its own in that language and no translation."""
    todo: dict[str, list[tuple[str, str, int, str]]] = {}
    for report_id, version, position, texts in takeaways:
        english = texts.get("en")
        if not english:
            continue
        for lang in targets:
            if lang in texts or translation_id(report_id, version, position, lang) in done:
                continue
            todo.setdefault(lang, []).append((report_id, version, position, english))
    return todo


def translate_pending(
    todo: dict[str, list[tuple[str, str, int, str]]],
    translator: Translator,
    progress: bool = True,
) -> list[TranslationRow]:
    """Translate what `pending_rows` found, a language at a time, behind a progress bar."""
    rows: list[TranslationRow] = []
    total = sum(len(items) for items in todo.values())
    with tqdm(total=total, desc="translating", unit="takeaway", disable=not progress) as bar:
        for lang, items in todo.items():
            for start in range(0, len(items), 32):
                part = items[start : start + 32]
                texts = translator.translate([english for *_, english in part], lang)
                rows += [
                    TranslationRow(
                        report_id=rid,
                        version=version,
                        position=position,
                        lang=lang,
                        text=text,
                        model=translator.name,
                    )
                    for (rid, version, position, _), text in zip(part, texts, strict=True)
                ]
                bar.update(len(part))
    return rows
