"""Machine translation end to end through the real transformers code path (store/translation.py).

No translation model can be installed here, so the test builds a tiny Marian model itself: a
SentencePiece vocabulary trained on a few hundred sentences of a report, random weights, saved to
a folder and loaded by path, as a deployment loads `Helsinki-NLP/opus-mt-…`. Its output is noise:
what is tested is the plumbing (ingest → stored translations → JSON → Telegram, nothing
translated twice, a model change noticed), not translation quality.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.fake_bot_api import parse_html
from bot.telegram_format import news_html, render_answer
from store.embedding import HashingEmbedder
from store.ingest import ingest, translate_store
from store.parsers import parse_file
from store.translation import HFTranslator, TranslationMismatchError
from store.vector_store import ReportStore, open_client
from tests.conftest import CORPUS, SEED

BRIDGE = CORPUS / "isw-html" / "2022-10-08_kma-alarm-ml.html"

pytestmark = pytest.mark.skipif(not BRIDGE.exists(), reason="shared corpus not available")


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory) -> Path:
    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder = tmp_path_factory.mktemp("tiny-marian")
    sentences = []  # a few hundred sentences of reports
    for page in sorted((CORPUS / "isw-html").glob("2022-10-0*_kma-alarm-ml.html")):
        report = parse_file(page)
        texts = [t.texts["en"] for t in report.takeaways] + [p.text for p in report.passages]
        sentences += [s for text in texts for s in text.split(". ") if len(s) > 20]
    assert len(sentences) >= 300
    (folder / "corpus.txt").write_text("\n".join(sentences), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(folder / "corpus.txt"),
        model_prefix=str(folder / "source"),
        vocab_size=300,
        model_type="unigram",
        pad_id=-1,
        eos_id=0,
        unk_id=1,
        bos_id=-1,
        eos_piece="</s>",
        unk_piece="<unk>",
        minloglevel=2,
    )
    for name in ("source.spm", "target.spm"):
        shutil.copy(folder / "source.model", folder / name)
    pieces = spm.SentencePieceProcessor(model_file=str(folder / "source.model"))
    vocab = {pieces.id_to_piece(i): i for i in range(pieces.get_piece_size())}
    pad = vocab["<pad>"] = len(vocab)  # last, as in the Marian models on the Hub
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    MarianTokenizer(
        str(folder / "source.spm"), str(folder / "target.spm"), str(folder / "vocab.json")
    ).save_pretrained(folder)
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=256,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
    )
    MarianMTModel(config).save_pretrained(folder)
    return folder


class Counting:
    """A translator that counts the texts it was given (the real one does the work)."""

    def __init__(self, inner: HFTranslator) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts = 0

    def translate(self, texts: list[str], target: str) -> list[str]:
        self.texts += len(texts)
        return self.inner.translate(texts, target)


def test_translations_from_ingest_to_the_reader(tiny_marian, tmp_path, capsys):
    from retrieval.gazetteer import Gazetteer
    from retrieval.language import LanguageDetector
    from retrieval.service import ReportQA
    from retrieval.tokenize import Tokenizer

    translator = Counting(HFTranslator(str(tiny_marian), tmp_path / "cache", 8, 8, "transformers"))
    store = ReportStore(open_client(tmp_path / "data"), "isw_reports", HashingEmbedder.name)
    embedder = HashingEmbedder()
    ingest([SEED, BRIDGE], store, embedder, False, translator=translator, targets=("ko", "uk"))

    bridge, seed = parse_file(BRIDGE), parse_file(SEED)
    rows = store.translations().values()
    assert {r.model for r in rows} == {str(tiny_marian)}
    by_report = {(r.report_id, r.lang) for r in rows}
    # The page's takeaways in both languages; the Korean repost already has its own Korean.
    assert (bridge.report_id, "ko") in by_report and (bridge.report_id, "uk") in by_report
    assert (seed.report_id, "ko") not in by_report and (seed.report_id, "uk") in by_report
    assert (
        translator.texts
        == len(rows)
        == 2 * len(bridge.takeaways) + sum("en" in t.texts for t in seed.takeaways)
    )

    again = ingest([SEED, BRIDGE], store, embedder, False, translator=translator, targets=("ko",))
    assert again.count("unchanged") == 2
    assert translator.texts == len(rows)  # an unchanged re-ingest translates nothing

    qa = ReportQA(store, embedder, Gazetteer.load(), LanguageDetector(), Tokenizer())
    answer = qa.on_date("2022-10-08", lang="ko")
    first = answer.results[0]
    assert first.translated_by == str(tiny_marian) and first.lang == "ko"
    assert first.original_text == bridge.takeaways[0].texts["en"]
    data = json.loads(answer.model_dump_json())["results"][0]
    assert {"text", "original_text", "text_lang", "translated_by"} <= set(data)
    assert data["text_lang"] == "ko"
    page = "".join(render_answer(answer))
    assert "(기계 번역" in page and "<blockquote expandable>" in page
    assert "Kerch Strait Bridge" in page  # ISW's own words, one tap away
    parse_html(page)  # Telegram would accept it
    pushed = news_html(answer)  # a new report pushed to subscribers says so too
    assert "(기계 번역" in pushed and "<blockquote expandable>" in pushed
    parse_html(pushed)

    # Another model: refused, until asked to translate again.
    other = Counting(HFTranslator(str(tiny_marian), tmp_path / "cache", 8, 4, "transformers"))
    other.name = "another-model"
    with pytest.raises(TranslationMismatchError, match="another-model"):
        translate_store(store, other, ["ko"], progress=False)
    redone = translate_store(store, other, ["ko"], progress=False, redo=True)
    assert redone == other.texts > 0
    assert {r.model for r in store.translations().values()} == {"another-model"}


def test_translate_without_a_model_is_one_line(hashing_cli, capsys):
    assert main([*hashing_cli, "translate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "REPORTBOT_TRANSLATION_MODEL" in err


def test_reportbot_translate_backfills_a_store(tiny_marian, hashing_cli, monkeypatch, capsys):
    assert main([*hashing_cli, "ingest", "--quiet", str(BRIDGE)]) == 0
    monkeypatch.setenv("REPORTBOT_TRANSLATION_MODEL", str(tiny_marian))
    assert main([*hashing_cli, "translate", "--lang", "ko,ru", "--quiet"]) == 0
    takeaways = len(parse_file(BRIDGE).takeaways)
    out = capsys.readouterr().out
    assert f"translated {2 * takeaways} takeaways into ko, ru" in out
    assert main([*hashing_cli, "translate", "--lang", "ko,ru", "--quiet"]) == 0
    assert "translated 0 takeaways" in capsys.readouterr().out  # nothing twice
    assert main([*hashing_cli, "translate", "--lang", "de"]) == 2
    assert "cannot translate into de" in capsys.readouterr().err


def test_the_ctranslate2_runtime(tiny_marian, tmp_path):
    """With CTranslate2 installed, the model is converted once into the cache and run by it."""
    pytest.importorskip("ctranslate2")
    translator = HFTranslator(str(tiny_marian), tmp_path / "cache", runtime="auto")
    texts = ["Russian forces attacked near Avdiivka.", "The Kremlin rejected negotiations."]
    out = translator.translate(texts, "ko")
    assert translator.runtime == "ctranslate2" and len(out) == 2
    assert all(isinstance(text, str) for text in out)
    converted = list((tmp_path / "cache" / "ct2").glob("*/model.bin"))
    assert len(converted) == 1
    again = HFTranslator(str(tiny_marian), tmp_path / "cache", runtime="ctranslate2")
    assert again.translate(texts, "ko") == out  # the converted model, reused, is deterministic
