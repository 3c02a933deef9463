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
import re
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
    """A Hugging Face sequence-to-sequence translation model, loaded on first use.

    `runtime`: "transformers"; "ctranslate2" (the model converted once into
    `cache_dir/ct2/`, then run by CTranslate2: several times faster on a CPU); "auto":
    CTranslate2 when it is installed, else transformers."""

    def __init__(
        self,
        name: str,
        cache_dir: Path | None = None,
        batch_size: int = 8,
        max_new_tokens: int = 256,
        runtime: str = "auto",
    ) -> None:
        self.name = name
        self.cache_dir = cache_dir or Path.home() / ".cache" / "reportbot" / "models"
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.runtime = runtime
        self._tokenizer: Any = None
        self._model: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self.name, cache_dir=str(self.cache_dir))
        if self.runtime == "auto":
            try:
                import ctranslate2  # noqa: F401
            except ImportError:
                self.runtime = "transformers"
            else:
                self.runtime = "ctranslate2"
        if self.runtime == "ctranslate2":
            import ctranslate2
            from ctranslate2.converters import TransformersConverter

            converted = self.cache_dir / "ct2" / re.sub(r"[^\w.-]+", "_", self.name)
            if not (converted / "model.bin").exists():
                log.info("converting %s for CTranslate2 into %s (once)", self.name, converted)
                TransformersConverter(self.name).convert(str(converted), force=True)
            self._model = ctranslate2.Translator(str(converted), device="cpu")
        else:
            from transformers import AutoModelForSeq2SeqLM

            self._model = AutoModelForSeq2SeqLM.from_pretrained(
                self.name, cache_dir=str(self.cache_dir)
            )
            self._model.eval()

    def translate(self, texts: list[str], target: str) -> list[str]:
        self._load()
        tokenizer = self._tokenizer
        family = type(tokenizer).__name__.lower()
        inputs = list(texts)
        start_token: str | None = None  # the token that names the target language
        if "nllb" in family:
            tokenizer.src_lang = _NLLB["en"]
            start_token = _NLLB[target]
        elif "m2m" in family:
            tokenizer.src_lang = "en"
            start_token = tokenizer.lang_code_to_token[target]
        elif getattr(tokenizer, "supported_language_codes", None):
            # A multi-target Marian model picks its output language by a prefix token.
            inputs = [f">>{_MARIAN[target]}<< {text}" for text in inputs]
        out: list[str] = []
        for start in range(0, len(inputs), self.batch_size):
            part = inputs[start : start + self.batch_size]
            if self.runtime == "ctranslate2":
                out += self._ct2_batch(part, start_token)
            else:
                out += self._hf_batch(part, start_token)
        return [text.strip() for text in out]

    def _hf_batch(self, texts: list[str], start_token: str | None) -> list[str]:
        import torch

        tokenizer = self._tokenizer
        extra: dict[str, Any] = {}
        if start_token is not None:
            extra["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids(start_token)
        batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            generated = self._model.generate(**batch, max_new_tokens=self.max_new_tokens, **extra)
        return list(tokenizer.batch_decode(generated, skip_special_tokens=True))

    def _ct2_batch(self, texts: list[str], start_token: str | None) -> list[str]:
        tokenizer = self._tokenizer
        tokens = [
            tokenizer.convert_ids_to_tokens(tokenizer(text, truncation=True)["input_ids"])
            for text in texts
        ]
        prefix = [[start_token]] * len(texts) if start_token is not None else None
        results = self._model.translate_batch(
            tokens, target_prefix=prefix, max_decoding_length=self.max_new_tokens
        )
        out = []
        for result in results:
            hypothesis = result.hypotheses[0][1 if start_token is not None else 0 :]
            ids = tokenizer.convert_tokens_to_ids(hypothesis)
            out.append(tokenizer.decode(ids, skip_special_tokens=True))
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
