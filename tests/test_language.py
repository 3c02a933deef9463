"""The language of a question: script rules first, lingua only where the script leaves a choice."""

from __future__ import annotations

import pytest

from retrieval.language import LanguageDetector, normalize_hint


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


CASES = [
    # Hangul decides, whatever English names come with it.
    ("Il-76 추락 원인?", None, "ko"),
    ("HIMARS 관련 소식", None, "ko"),
    ("/topic 아브디이프카", None, "ko"),
    ("/topic@reportbot 바흐무트", "en", "ko"),
    ("Wagner 반란은 어떻게 끝났나?", None, "ko"),
    ("2024년 1월 26일 Avdiivka 상황", None, "ko"),
    ("ATACMS", "ko", "en"),  # short Latin text is English even for a Korean client
    # Short Latin texts and transliterated names that lingua alone would call fr/pl/de.
    ("Avdiivka", None, "en"),
    ("Il-76", None, "en"),
    ("HIMARS", None, "en"),
    ("Krynky", None, "en"),
    ("/topic@reportbot Avdiivka", None, "en"),
    ("what happened near Bakhmut?", None, "en"),
    ("Avdiivka coke plant", None, "en"),
    ("Robotyne counteroffensive results", None, "en"),
    ("Izium counteroffensive", None, "en"),
    ("Mariupol Azovstal siege", None, "en"),
    ("sanctions evasion", None, "en"),
    ("Russian forces advanced near Pokrovsk", None, "en"),
    ("North Korean troops in Kursk", None, "en"),
    # Ukrainian vs Russian.
    ("Що сталося біля Бахмута?", None, "uk"),
    ("Що сталося з ATACMS?", None, "uk"),
    ("Авдіївка", None, "uk"),
    ("Что произошло под Бахмутом?", None, "ru"),
    ("Что с HIMARS", None, "ru"),
    ("Авдеевка", None, "ru"),
    ("Что произошло в Київі?", None, "ru"),  # a Ukrainian name inside a Russian sentence
    ("Бахмут", "ru-RU", "ru"),  # the same word in both: the client's language settles it
    ("Бахмут", "uk", "uk"),
    # Short questions without a letter of their own: the words only one language uses.
    ("Що з Бахмутом?", None, "uk"),
    ("Что с Бахмутом?", None, "ru"),
    ("Що з Бахмутом?", "ru", "uk"),
    ("Что с Бахмутом?", "uk", "ru"),
    ("Де Пригожин?", None, "uk"),
    ("Где Пригожин?", None, "ru"),
    ("Що нового?", None, "uk"),
    ("Что нового?", None, "ru"),
    ("Коли впав Бахмут?", None, "uk"),
    ("Когда пал Бахмут?", None, "ru"),
    ("Як там Херсон?", None, "uk"),
    ("Как там Херсон?", None, "ru"),
    ("Хто такий Шойгу?", None, "uk"),
    ("Кто такой Шойгу?", None, "ru"),
    ("Чи звільнили Херсон?", None, "uk"),
    ("Освободили ли Херсон?", None, "ru"),
    ("Що було в Авдеевке?", None, "uk"),  # a Russian name inside a Ukrainian question
    # Other Latin-script languages, when lingua is sure.
    ("Was ist in Bachmut passiert?", None, "de"),
    ("Russische Truppen rücken bei Pokrowsk vor", None, "de"),
    ("Wie ist die Lage in Awdijiwka?", "de-DE", "de"),
    ("Que s'est-il passé à Bakhmut ?", None, "fr"),
    ("Les forces russes avancent près de Pokrovsk", None, "fr"),
    ("Où en est la contre-offensive ?", "fr", "fr"),
    ("¿Qué pasó en Bajmut?", None, "es"),
    ("Co się stało w Bachmucie?", None, "pl"),
    # Japanese and Chinese.
    ("バフムトで何が起きた？", None, "ja"),
    ("巴赫穆特发生了什么？", None, "zh"),
    ("東部戦線", "ja", "ja"),
    # Nothing to read: the hint, else English.
    ("", None, "en"),
    ("   ", "ko", "ko"),
    ("🔥🔥🇺🇦", "ko", "ko"),
    ("😀", "uk-UA", "uk"),
    ("😀", None, "en"),
    ("2024-01-26", "ru", "ru"),
    ("?!", "", "en"),
    ("/latest", "de", "de"),
    ("/latest@reportbot", None, "en"),
]


@pytest.mark.parametrize(("text", "hint", "expected"), CASES)
def test_detect(detector, text, hint, expected):
    assert detector.detect(text, hint) == expected


@pytest.mark.parametrize(
    ("hint", "expected"),
    [("en-US", "en"), ("pt-br", "pt"), ("zh-hans", "zh"), ("KO", "ko"), ("", None), (None, None)],
)
def test_normalize_hint(hint, expected):
    assert normalize_hint(hint) == expected


def test_unknown_language_code_is_rejected():
    with pytest.raises(ValueError, match="xx"):
        LanguageDetector(("en", "xx"))


def test_restricted_language_set_still_follows_the_script_rules():
    small = LanguageDetector(("en", "de"))
    assert small.detect("HIMARS 관련 소식") == "ko"
    assert small.detect("Was ist in Bachmut passiert?") == "de"
    assert small.detect("Avdiivka") == "en"


def test_models_load_only_for_the_scripts_questions_use():
    """A bot whose users write Korean and English never loads the Cyrillic or Han models."""
    detector = LanguageDetector()
    assert detector.detect("크렘린이 협상에 대해 뭐라고 했어?") == "ko"
    assert detector._detectors == {}
    # A plainly English question is settled by the small trigram models alone...
    assert detector.detect("What did the Kremlin say about the negotiations?") == "en"
    assert detector._detectors == {}
    # ...another Latin-script language needs the full ones.
    assert detector.detect("Was hat der Kreml über Verhandlungen gesagt?") == "de"
    assert set(detector._detectors) == {"latin"}
    # Words only Ukrainian writes settle it without lingua's Cyrillic models...
    assert detector.detect("Що сказав Кремль про переговори?") == "uk"
    assert set(detector._detectors) == {"latin"}
    # ...which a word both languages write ("Бахмут") needs.
    assert detector.detect("Бахмут", "uk") == "uk"
    assert set(detector._detectors) == {"latin", "cyrillic"}


def test_a_script_with_one_configured_language_needs_no_model():
    detector = LanguageDetector(["en", "ko", "ru"])
    assert detector.detect("Что сказал Кремль о переговорах?") == "ru"
    assert detector._detectors["cyrillic"] is None
