"""The offline reading aid: what an English takeaway names, in the reader's language, with
ISW's spelling beside it (retrieval/gloss.py), on real takeaways."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.telegram_format import render_answer
from retrieval.gazetteer import Gazetteer
from retrieval.gloss import gloss, gloss_line
from store.parsers import parse_file
from tests.conftest import CORPUS, SEED

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


@pytest.fixture(scope="module")
def kerch_bridge() -> list[str]:
    report = parse_file(CORPUS / "isw-html" / "2022-10-08_kma-alarm-ml.html")
    return [t.texts["en"] for t in report.takeaways]


@pytest.mark.parametrize(
    ("lang", "bridge", "crimea", "kremlin", "surovikin"),
    [
        ("ko", "케르치 해협 대교", "크림반도", "크렘린", "세르게이 수로비킨"),
        ("uk", "Кримський міст", "Крим", "Кремль", "Сергій Суровікін"),
        ("ru", "Крымский мост", "Крым", "Кремль", "Сергей Суровикин"),
    ],
)
def test_real_takeaways_are_glossed_names_first(
    gazetteer, kerch_bridge, lang, bridge, crimea, kremlin, surovikin
):
    first = gloss(kerch_bridge[0], "en", lang, gazetteer)
    assert [(g.text, g.original, g.kind) for g in first[:2]] == [
        (bridge, "Kerch Strait Bridge", "name"),
        (crimea, "occupied Crimea", "name"),
    ]
    assert all(g.kind == "term" for g in first[2:])  # names first, then the glossary's terms
    second = gloss(kerch_bridge[1], "en", lang, gazetteer)
    assert [g.text for g in second[:2]] == [kremlin, surovikin]
    assert gloss_line(second).startswith(f"{kremlin}(Kremlin) · {surovikin}(Sergey Surovikin)")
    assert len(second) <= 8


def test_no_gloss_in_the_text_s_own_language_or_without_forms(gazetteer, kerch_bridge):
    assert gloss(kerch_bridge[0], "en", "en", gazetteer) == []
    assert gloss(kerch_bridge[0], "en", "de", gazetteer) == []  # no German forms
    assert gloss("크렘린은 협상을 거부했다", "ko", "ko", gazetteer) == []


def test_answers_carry_the_gloss_in_json_and_telegram(slice_store, slice_data_dir, qa, capsys):
    answer = qa.ask("케르치 대교 폭발", lang="ko")
    english = [r for r in answer.results if r.lang == "en"]
    assert english and all(r.gloss for r in english)
    assert any(g.original == "Kerch Strait Bridge" for r in english for g in r.gloss)
    korean = [r for r in answer.results if r.lang == "ko"]
    assert all(not r.gloss for r in korean)  # the seed's own Korean takeaways need none
    page = "".join(render_answer(answer))
    assert "케르치 해협 대교(Kerch Strait Bridge)" in page

    assert main(["--data-dir", str(slice_data_dir), "ask", "Керченський міст", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    glossed = [g for r in data["results"] for g in r["gloss"]]
    assert {"text": "Кримський міст", "original": "Kerch Strait Bridge", "kind": "name"} in glossed
