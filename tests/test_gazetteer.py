"""The multilingual gazetteer: data validity, matching rules, both expansion directions."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

import pytest

from retrieval.gazetteer import ENTRY_TYPES, Gazetteer, GazetteerEntry
from tests.conftest import CORPUS

# Entries whose first English form does not occur in the stored corpus (the 2022 reports and
# two 2025-2026 crawls): later front-line towns, people, units, weapons and events, spelt from
# knowledge of ISW's later reports and NOT verified against them. Listed explicitly so that a new
# misspelt entry fails the test, and an entry that the corpus does contain fails as "stale".
NOT_IN_CORPUS: frozenset[str] = frozenset(
    {
        "toretsk",
        "uae",  # the 2025-26 talks in Abu Dhabi come after the corpus
        "robotyne",
        "krynky",
        "sudzha",
        "76th_vdv_division",
        "234th_airborne_regiment",
        "kropyvnytskyi",
        "cherkasy_oblast",
        "khmelnytskyi_oblast",
        "lutsk",
        "ternopil_oblast",
        "ivano_frankivsk_oblast",
        "uzhhorod",
        "chernivtsi",
        "chernivtsi_oblast",
        "feodosia",
        "armyansk",
        "novoprokopivka",
        "staromaiorske",
        "urozhaine",
        "pyatykhatky",
        "novohrodivka",
        "hirnyk",
        "bilozerske",
        "ivanivske",
        "vovcha_river",
        "don_river",
        "seim_river",
        "trump",
        "witkoff",
        "patriarch_kirill",
        "zakharova",
        "khinshtein",
        "smirnov",
        "bogomaz",
        "umerov",
        "sybiha",
        "rubio",
        "kellogg",
        "dmitriev",
        "ushakov",
        "medinsky",
        "bortnikov",
        "kim_jong_un",
        "xi_jinping",
        "rutte",
        "navalny",
        "kadyrovites",
        "storm_z",
        "storm_v",
        "africa_corps",
        "osce",
        "icc",
        "gazprom",
        "sparta_battalion",
        "somalia_battalion",
        "vostok_battalion",
        "russian_volunteer_corps",
        "freedom_of_russia_legion",
        "104th_vdv_division",
        "83rd_vdv_brigade",
        "31st_vdv_brigade",
        "45th_spetsnaz_brigade",
        "f_16",
        "storm_shadow",
        "oreshnik",
        "leopard",
        "abrams",
        "a_50",
        "bradley",
        "tomahawk",
        "taurus",
        "gepard",
        "stinger",
        "istanbul_talks",
        "black_sea_grain_initiative",
        "wagner_rebellion",
        "kursk_incursion",
        "grayvoron",
        "korenevo",
        "malaya_loknya",
        "guyevo",
        "gornal",
        "prohres",
        "velykomykhailivka",
        "vasyukivka",
        "predtechyne",
        "hlyboke",
        "pivnichne",
        "kostiantynopil",
        "chasiv_yar_refractory",
        "avdiivka_coke_plant",
        "shebekino",
        "matviyenko",
        "dugin",
        "orban",
        "fico",
        "sandu",
        "duda",
        "starmer",
        "boris_johnson",
        "von_der_leyen",
        "kallas",
        "svyrydenko",
        "klitschko",
        "terekhov",
        "tarnavskyi",
        "yevkurov",
        "north_korea",
        "north_korean_troops",
        "engels_airbase",
        "morozovsk",
        "ust_luga",
        "olenya_airbase",
        "kherson_east_bank",
    }
)


NAMES = Path(str(resources.files("retrieval").joinpath("data/gazetteer.json")))
GLOSSARY = Path(str(resources.files("retrieval").joinpath("data/glossary.json")))


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    """The names only: these tests are about names; the glossary has its own tests below."""
    return Gazetteer.load(NAMES)


def _raw(path: Path = NAMES) -> list[dict]:
    return json.loads(path.read_text("utf-8"))


# --- data -------------------------------------------------------------------------------------


def test_data_is_valid():
    raw = _raw()
    assert len(raw) >= 300
    ids = [item["id"] for item in raw]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for item in raw:
        entry = GazetteerEntry.model_validate(item)
        assert re.fullmatch(r"[a-z0-9_]+", entry.id), entry.id
        assert entry.type in ENTRY_TYPES, entry.id
        assert entry.en, entry.id
        for form in entry.forms():
            assert form.strip() == form and form, (entry.id, form)
        for form in entry.ko:
            # a single syllable would match the start of countless Korean words
            assert len(re.findall(r"[가-힣]", form)) >= 2 or not re.search(r"[가-힣]", form), form


def test_one_entry_per_line():
    text = resources.files("retrieval").joinpath("data/gazetteer.json").read_text("utf-8")
    lines = text.strip().splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert len(lines) == len(_raw()) + 2


def test_no_form_belongs_to_two_entries():
    owner: dict[str, str] = {}
    clashes = []
    for item in _raw():
        entry = GazetteerEntry.model_validate(item)
        for form in entry.forms():
            key = " ".join(form.casefold().replace("’", "'").split())
            if owner.setdefault(key, entry.id) != entry.id:
                clashes.append((form, owner[key], entry.id))
    assert not clashes


def test_load_from_path_equals_packaged(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_raw()[:3]), encoding="utf-8")
    assert len(Gazetteer.load(path)) == 3
    assert len(Gazetteer.load()) == len(_raw()) + len(_raw(GLOSSARY))


# --- find / expand ----------------------------------------------------------------------------


def ids(gaz: Gazetteer, text: str) -> list[str]:
    return [e.id for e in gaz.find(text)]


def test_korean_to_english(gaz):
    assert ids(gaz, "아브디이프카") == ["avdiivka"]
    assert "Avdiivka" in gaz.expand("아브디이프카")
    assert gaz.expand("아브디이프카")[0] == "Avdiivka"


def test_english_to_korean(gaz):
    assert "아브디이프카" in gaz.expand("What happened near Avdiivka?")


@pytest.mark.parametrize(
    "text",
    [
        "아브디이프카 근처에서",
        "아브디이프카에서",
        "아브디이프카의 상황",
        "아브디이프카를",
        "아브디이프카 방향",
    ],
)
def test_korean_particles(gaz, text):
    assert ids(gaz, text) == ["avdiivka"]


@pytest.mark.parametrize("text", ["벨고로드주", "벨고로드", "벨고로드주에서", "벨고로드시는"])
def test_belgorod(gaz, text):
    found = gaz.find(text)
    assert len(found) == 1
    assert found[0].en[0].startswith("Belgorod")


def test_belgorod_oblast_is_longest(gaz):
    assert ids(gaz, "벨고로드주") == ["belgorod_oblast"]
    assert ids(gaz, "shelling in Belgorod Oblast") == ["belgorod_oblast"]
    assert ids(gaz, "shelling in Belgorod City") == ["belgorod"]


def test_possessive(gaz):
    assert ids(gaz, "Putin’s speech") == ["putin"]
    assert ids(gaz, "Putin's speech") == ["putin"]
    assert "푸틴" in gaz.expand("Putin’s speech")


def test_cyrillic(gaz):
    assert "Avdiivka" in gaz.expand("Авдіївка")
    assert ids(gaz, "Бої за Авдіївка, Україна") == ["avdiivka"]
    assert ids(gaz, "Авдеевка") == ["avdiivka"]


def test_case_insensitive(gaz):
    assert ids(gaz, "what about bakhmut") == ["bakhmut"]


def test_longest_match(gaz):
    assert ids(gaz, "the 76th VDV Division attacked") == ["76th_vdv_division"]
    assert ids(gaz, "제76VDV사단이 공격") == ["76th_vdv_division"]
    assert ids(gaz, "VDV units") == ["vdv"]


def test_korean_spacing_is_optional(gaz):
    assert ids(gaz, "바그너그룹") == ids(gaz, "바그너 그룹") == ["wagner_group"]


def test_latin_inside_korean(gaz):
    assert ids(gaz, "HIMARS를 이용한 공격") == ["himars"]


def test_no_false_positives(gaz):
    assert ids(gaz, "이 보고서는 이 사건을 다룬다") == []
    assert ids(gaz, "Lymanske and Lymany and Kalymansky") == []
    assert ids(gaz, "Mir, mirror, admiral") == []
    assert ids(gaz, "an unexpected untold story") == []  # "UN" only as a capitalised acronym
    assert ids(gaz, "the UN said") == ["un"]


def test_order_and_dedup(gaz):
    found = ids(gaz, "From Bakhmut to Soledar and back to 바흐무트")
    assert found == ["bakhmut", "soledar"]
    forms = gaz.expand("Soledar and Bakhmut")
    assert len(forms) == len(set(forms))
    assert forms.index("Soledar") < forms.index("Bakhmut")


def test_forms_and_len(gaz):
    assert gaz.forms("avdiivka")[0] == "Avdiivka"
    assert len(gaz) == len(_raw())
    with pytest.raises(KeyError):
        gaz.forms("no_such_id")


def test_empty_and_short(gaz):
    assert gaz.find("") == []
    assert gaz.find("a") == []
    assert gaz.expand("") == []


# --- corpus coverage --------------------------------------------------------------------------


@cache
def _corpus_text() -> str:
    parts = []
    for path in sorted(CORPUS.glob("isw-html/*.html")):
        text = path.read_text("utf-8", "ignore")
        text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S)
        parts.append(html.unescape(re.sub(r"<[^>]+>", " ", text)))
    parts += [p.read_text("utf-8", "ignore") for p in sorted(CORPUS.glob("markdown/*.md"))]
    return re.sub(r"\s+", " ", " ".join(parts)).replace("’", "'")


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.casefold())


@cache
def _corpus_index() -> tuple[list[str], dict[str, list[int]]]:
    tokens = _tokens(_corpus_text())
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        positions.setdefault(token, []).append(i)
    return tokens, positions


def _in_corpus(form: str) -> bool:
    """Whether `form` occurs in the corpus as a whole-word phrase (case-insensitive)."""
    tokens, positions = _corpus_index()
    wanted = _tokens(form.replace("’", "'"))
    n = len(wanted)
    return any(tokens[i : i + n] == wanted for i in positions.get(wanted[0], ()))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no ISW corpus")
def test_isw_spelling_in_corpus():
    """Every entry's first English form (ISW's spelling) occurs in the corpus, or is listed."""
    raw = _raw()
    known = {item["id"] for item in raw}
    assert NOT_IN_CORPUS <= known, NOT_IN_CORPUS - known
    missing, stale = [], []
    for item in raw:
        present = _in_corpus(item["en"][0])
        if not present and item["id"] not in NOT_IN_CORPUS:
            missing.append(item["id"])
        if present and item["id"] in NOT_IN_CORPUS:
            stale.append(item["id"])
    assert not missing, missing
    assert not stale, stale


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no ISW corpus")
def test_frontline_towns_covered(gaz):
    """>= 90% of the towns most often named after "near"/"in" in the corpus are entries."""
    corpus = _corpus_text()
    counts: dict[str, int] = {}
    for m in re.finditer(r"\b(?:near|toward|in|of) ([A-Z][a-z']+(?: [A-Z][a-z]+)?)", corpus):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    towns = [
        name
        for name, n in sorted(counts.items(), key=lambda kv: -kv[1])
        if n >= 20 and _looks_like_town(name)
    ]
    assert len(towns) >= 40, towns
    uncovered = [t for t in towns if not gaz.find(t)]
    assert len(uncovered) <= 0.1 * len(towns), uncovered


_NOT_TOWNS = re.compile(
    r"^(?:Russia|Ukrain|Effort|Defense|War|Western|Eastern|Southern|Northern|Moscow|Kremlin|"
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Intelligence|Military|The|Ukrainian|Donbas|Belarus|Syria|Transnistria|Georgia|Kazakhstan|"
    r"Europe|America|General|Armed|Ministry|Main|Chief|Head|Mobilization|Order|Forces|Some|"
    r"St$|Telegram|Twitter|Crimea|Chechnya|Dagestan|Central|Southeastern|Northeastern|President|"
    r"Deputy|Kherson Oblast|[A-Z][a-z]+ Oblast|[A-Z][a-z]+ Direction|[A-Z][a-z]+ Grouping)"
)


def _looks_like_town(name: str) -> bool:
    return _NOT_TOWNS.match(name) is None


# --- glossary ---------------------------------------------------------------------------------


def test_glossary_is_valid_and_does_not_shadow_names():
    names = {f.casefold() for e in _raw() for k in ("en", "ko", "uk", "ru") for f in e.get(k, [])}
    seen: set[str] = set()
    for item in _raw(GLOSSARY):
        entry = GazetteerEntry.model_validate(item)
        assert entry.type == "term" and entry.en and entry.ko, entry.id
        assert entry.uk and entry.ru, entry.id  # every term in Ukrainian and Russian too
        for form in [*entry.uk, *entry.ru]:
            assert not re.search(r"[A-Za-z]", form), (entry.id, form)  # no Latin look-alikes
        for form in entry.forms():
            key = form.casefold()
            assert key not in names, f"{form} is already a name"
            assert key not in seen, f"{form} twice in the glossary"
            seen.add(key)


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("헤르손에서 러시아군 철수", "withdrawal"),
        ("부분 동원령 발표", "mobilization"),
        ("크렘린이 협상에 대해 뭐라고 했어?", "negotiations"),
        ("원전 주변 포격", "nuclear power plant"),
        ("점령지에서 러시아 여권 발급", "passports"),
        ("집단 매장지가 발견됐어?", "mass grave"),
        ("드니프로강 부교를 공격했나?", "pontoon bridge"),
        ("헤르손 파르티잔 활동", "partisans"),
        ("러시아의 더티밤 주장", "dirty bomb"),
        ("크림반도 탄약고 폭발", "ammunition depot"),
        ("위장 작전 가능성", "false flag"),
        ("카호우카 댐 파괴 이후 식수 공급", "water supply"),
        ("자포리자 원전 원자로 상태", "reactor"),
        ("징집 기피와 국외 탈출", "draft evasion"),
    ],
)
def test_glossary_expands_korean_words_to_english(question, english):
    assert english in Gazetteer.load().expand(question)


def test_glossary_leaves_compounds_that_only_start_alike(gaz):
    # "핵심 요점" (key takeaways) must not read as "핵" (nuclear).
    assert "nuclear" not in Gazetteer.load().expand("2024년 1월 26일 핵심 요점")


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("러시아군이 저지른 범죄", "interdiction"),  # 저지르다 (commit), not 저지 (stop)
        ("대대적인 공세", "battalion"),  # 대대적 (large-scale), not 대대 (battalion)
        ("협상에 회의적인 시각", "meeting"),  # 회의적 (sceptical), not 회의 (meeting)
    ],
)
def test_glossary_leaves_words_that_only_look_alike(question, english):
    assert english not in Gazetteer.load().expand(question)


@pytest.mark.parametrize(
    ("question", "english"),
    [
        # Ukrainian and Russian words, in the cases a question puts them in.
        ("Коли командування наказало захисникам «Азовсталі» здатися?", "surrender"),
        ("Обстріли Харкова", "shelling"),
        ("Масовані обстріли енергетики", "energy"),
        ("Росія оголосила мобілізацію", "announced"),
        ("Наступ на Вугледар", "offensive"),
        ("наступление на Угледар", "offensive"),
        ("Какие потери понесла армия под Бахмутом?", "losses"),
        ("Когда Россия отступила из Херсона?", "withdrawal"),
        ("Чи звільнили Херсон?", "liberated"),
        ("Що казав Кремль про переговори?", "negotiations"),
        ("Что Кремль говорил о переговорах?", "negotiations"),
        ("обмін полоненими", "prisoner exchange"),
        ("обмен пленными", "prisoner exchange"),
        ("удари по нафтопереробних заводах", "oil refinery"),
        ("удары по нефтеперерабатывающим заводам", "oil refinery"),
        ("ухилянти від мобілізації", "draft evasion"),
        ("прихованої мобілізації", "covert mobilization"),
        ("з понтонним мостом", "pontoon bridge"),
        ("атаки дронів на Москву", "drone attack"),
        ("атаки беспилотников", "drone attack"),
    ],
)
def test_glossary_expands_ukrainian_and_russian_words_to_english(question, english):
    assert english in _names_and_glossary().expand(question)


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("особовий склад бригади", "ammunition depot"),  # склад (staff), not склад (depot)
        ("часть вопросов", "units"),  # часть (a part), not a military unit
    ],
)
def test_glossary_leaves_ukrainian_and_russian_words_that_only_look_alike(question, english):
    assert english not in _names_and_glossary().expand(question)


@cache
def _names_and_glossary() -> Gazetteer:
    return Gazetteer.load()


# --- Ukrainian and Russian inflection ----------------------------------------------------------

# Every case of a few places and people: nominative, genitive, dative, accusative,
# instrumental, locative (and the Ukrainian vocative where it differs).
INFLECTED = [
    ("avdiivka", "Авдіївка Авдіївки Авдіївці Авдіївку Авдіївкою Авдіївко"),
    ("avdiivka", "Авдеевка Авдеевки Авдеевке Авдеевку Авдеевкой Авдеевкою"),
    ("bakhmut", "Бахмут Бахмута Бахмуту Бахмутом Бахмуті"),
    ("bakhmut", "Артемовск Артемовска Артемовску Артемовском Артемовске"),
    ("kherson", "Херсон Херсона Херсону Херсоном Херсоні Херсоне"),
    ("kyiv", "Київ Києва Києву Києвом Києві Киев Киева Киеву Киевом Киеве"),
    ("kharkiv", "Харків Харкова Харкову Харковом Харкові Харьков Харькова Харькову Харьковом"),
    ("chasiv_yar", "Часів Яр|Часового Яру|Часовому Яру|Часовим Яром|Часів Яром|Часов Яр"),
    ("zelensky", "Зеленський Зеленського Зеленському Зеленським Зеленський Зеленский Зеленского"),
    ("zelensky", "Зеленскому Зеленским Зеленском"),
    ("prigozhin", "Пригожин Пригожина Пригожину Пригожиним Пригожині Пригожине"),
    ("putin", "Путін Путіна Путіну Путіним Путіні Путин Путина Путину Путиным Путине"),
    ("surovikin", "Суровікін Суровікіна Суровікіну Суровікіним Суровикин Суровикина Суровикиным"),
    ("shoigu", "Шойгу"),
]


@pytest.mark.parametrize(
    ("entry", "form"),
    [
        (entry, form)
        for entry, forms in INFLECTED
        for form in (forms.split("|") if "|" in forms else forms.split())
    ],
)
def test_ukrainian_and_russian_names_in_every_case(gaz, entry, form):
    assert ids(gaz, f"що там {form}?") == [entry]


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("Що сталося біля Авдіївки?", "avdiivka"),
        ("Что произошло с Крымским мостом?", "kerch_strait_bridge"),
        ("вибух на Кримському мосту", "kerch_strait_bridge"),
        ("Коли потопили крейсер «Москва»?", "moskva_cruiser"),  # across quotes
        ("захисникам «Азовсталі»", "azovstal"),
        ("на Покровському напрямку", "pokrovsk"),  # a place by its adjective
        ("на бахмутском направлении", "bakhmut"),
        ("Куп’янський напрямок", "kupyansk"),
        ("іранських дронів", "iran"),
        ("обстріли на Херсонщині", "kherson_oblast"),  # the region's own name
        ("на Донетчине", "donetsk_oblast"),
        ("у Херсонській області", "kherson_oblast"),
    ],
)
def test_ukrainian_and_russian_names_inflected_in_questions(gaz, text, entry):
    assert entry in ids(gaz, text)


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("українську дитину", "ukrainsk"),  # the adjective "Ukrainian", not the town
        ("российской армии", "ukrainsk"),
        ("сума грошей", "sumy"),  # a sum of money, not Sumy
        ("Бахмутський напрямок", "bakhmutske"),  # Bakhmut's direction, not the village
        ("на Покровському напрямку", "pokrovske"),
    ],
)
def test_ukrainian_and_russian_words_that_only_share_a_lemma(gaz, text, entry):
    assert entry not in ids(gaz, text)


def test_a_village_named_by_an_adjective_matches_as_written(gaz):
    assert ids(gaz, "Покровське") == ["pokrovske"]
    assert ids(gaz, "Бахмутське") == ["bakhmutske"]
