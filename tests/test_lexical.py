"""Lexical (BM25) search over real ISW passages plus English/Korean seed sentences."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval.lexical import LexicalIndex
from retrieval.tokenize import Tokenizer
from tests.conftest import CORPUS as SHARED_CORPUS

CORPUS = SHARED_CORPUS / "isw-html"
# 13 passages (two mention Avdiivka) + the first 7 of another report: 20 real passages.
SLICE = [("2022-04-19_kma-alarm-ml.html", 13), ("2022-10-31_kma-alarm-ml.html", 7)]

SEEDS = {
    "en-chips": "Russia reportedly imported $1.7 billion worth of advanced microchips and "
    "semiconductors in 2023, primarily from the West, skirting Western sanctions intended to "
    "deprive Russia of such technology.",
    "en-il76": "The circumstances of the January 24 crash of a Russian Il-76 military transport "
    "aircraft in Belgorod Oblast remain unclear.",
    "en-234": "Russian opposition media reported on January 26 that Viktor Filonov, a Russian "
    "soldier in the 234th Airborne Regiment (76th VDV Division) serving in Ukraine, adopted a "
    "Ukrainian child from occupied Donetsk Oblast.",
    "ko-avdiivka": "러시아군은 전역에서 계속되는 위치적 교전 속에서 아브디이프카 근처로 진격했습니다.",
    "ko-il76": "벨고로드주에서 1월 24일 러시아 Il-76 군용 수송기가 추락한 상황은 여전히 불분명합니다.",
    "ko-chips": "러시아는 2023년에 주로 서방에서 17억 달러 상당의 첨단 마이크로칩과 반도체를 "
    "수입하여 러시아에서 이러한 기술을 박탈하려는 서방의 제재를 우회했습니다.",
}

QUERIES = [
    "Il-76",
    "il 76",
    "$1.7 billion",
    "234th Airborne Regiment",
    "microchip",
    "아브디이프카 근처",
    "벨고로드",
    "마이크로칩 수입",
    ["Avdiivka", "아브디이프카"],
    "Russian forces Kakhovka dam evacuation",
    "Ukrainian General Staff reported",
]


def _passages() -> list[tuple[str, str]]:
    from selectolax.lexbor import LexborHTMLParser

    out: list[tuple[str, str]] = []
    for name, count in SLICE:
        path = CORPUS / name
        if not path.exists():
            pytest.skip(f"corpus file {path} not available")
        tree = LexborHTMLParser(path.read_text(encoding="utf-8"))
        texts = [p.text().strip() for p in tree.css("p")]
        texts = [t for t in texts if len(t) > 200][:count]
        out += [(f"{name[:10]}#{i}", t) for i, t in enumerate(texts)]
    return out


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def docs() -> list[tuple[str, str]]:
    real = _passages()
    assert len(real) == 20
    return real + list(SEEDS.items())


@pytest.fixture(scope="module")
def index(tokenizer, docs) -> LexicalIndex:
    idx = LexicalIndex(tokenizer)
    idx.build([d for d, _ in docs], [t for _, t in docs])
    return idx


def _ids(results: list[tuple[str, float]]) -> list[str]:
    return [doc_id for doc_id, _ in results]


# ---------------------------------------------------------------- tokenizer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Il-76", ["il-76", "il76", "il", "76"]),
        ("F-16", ["f-16", "f16", "f", "16"]),
        ("$1.7", ["1.7"]),
        ("$1.7 billion", ["1.7", "billion"]),
        ("234th", ["234th", "234"]),
        ("5 billion euros", ["5", "billion", "euro"]),
        ("microchips", ["microchip"]),
        ("Putin’s", ["putin"]),
        ("Putin's decree", ["putin", "decre"]),
        ("1,000 troops", ["1000", "troop"]),
        ("U.S. aid", ["u.s", "aid"]),
        ("US aid", ["u.s", "aid"]),
        ("Ｆ－１６", ["f-16", "f16", "f", "16"]),  # full-width forms
        ("2022–2023", ["2022", "2023"]),  # an en dash separates
        ("the of and", []),
    ],
)
def test_tokenizer_latin_rules(tokenizer, text, expected):
    assert tokenizer.tokens(text) == expected


def test_tokenizer_cyrillic(tokenizer):
    assert tokenizer.tokens("Путин заявил") == ["путин", "заявить"]
    assert tokenizer.tokens("Україна і Київ") == ["україна", "київ"]  # і: stopword


@pytest.mark.parametrize(
    ("inflected", "lemma"),
    [
        ("біля Авдіївки", "авдіївка"),
        ("в Авдіївці", "авдіївка"),
        ("за Авдіївку", "авдіївка"),
        ("під Бахмутом", "бахмут"),
        ("Крымским мостом", "мост"),
        ("возле Авдеевки", "авдеевка"),
        ("о мобилизации", "мобилизация"),
        ("про мобілізацію", "мобілізація"),
        ("обстрілами", "обстріл"),
        ("обстрелов", "обстрел"),
    ],
)
def test_tokenizer_ukrainian_and_russian_lemmas(tokenizer, inflected, lemma):
    """Inflected words index as their lemma, so any case of a word finds any other."""
    assert lemma in tokenizer.tokens(inflected)


def test_tokenizer_cyrillic_function_words_dropped(tokenizer):
    assert tokenizer.tokens("Що з Бахмутом?") == ["бахмут"]
    assert tokenizer.tokens("Что с Бахмутом?") == ["бахмут"]


def test_tokenizer_korean_content_morphemes(tokenizer):
    assert tokenizer.tokens("아브디이프카 근처에서") == ["아브디이프카", "근처"]
    assert "벨고로드" in tokenizer.tokens("벨고로드주")
    assert "벨고로드" in tokenizer.tokens("벨고로드주에서")
    assert "도네츠크" in tokenizer.tokens("도네츠크주의 바흐무트")  # particle glued by Kiwi
    assert "러시아" in tokenizer.tokens("러시아군은")
    assert "우크라이나군" in tokenizer.tokens("우크라이나군이")
    chips = tokenizer.tokens("마이크로칩과 반도체를 수입하여")
    assert {"마이크로칩", "반도체", "수입"} <= set(chips)
    assert not {"과", "를", "하", "여"} & set(chips)  # particles, suffixes, endings dropped


def test_tokenizer_mixed_script(tokenizer):
    toks = tokenizer.tokens("벨고로드주에서 러시아 Il-76 수송기가 F-16을 234th")
    assert {"벨고로드", "러시아", "il-76", "il", "76", "수송기", "f-16", "234th", "234"} <= set(
        toks
    )


def test_tokenizer_batch_equals_single(tokenizer, docs):
    texts = [t for _, t in docs]
    assert tokenizer.tokens_batch(texts) == [tokenizer.tokens(t) for t in texts]


@pytest.mark.parametrize("text", ["", "   ", "???", "🙂🚀", "—", "\u200b\u00ad"])
def test_tokenizer_odd_input(tokenizer, text):
    assert tokenizer.tokens(text) == []


# ------------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("$1.7 billion", "en-chips"),
        ("234th Airborne Regiment", "en-234"),
        ("microchips", "en-chips"),
        ("microchip", "en-chips"),
        ("아브디이프카", "ko-avdiivka"),
        ("아브디이프카 근처", "ko-avdiivka"),
        ("마이크로칩 수입", "ko-chips"),
    ],
)
def test_ranks_right_passage_first(index, query, expected):
    assert _ids(index.search(query, 5))[0] == expected


@pytest.mark.parametrize("query", ["Il-76", "il 76", "IL-76", "Il76"])
def test_identifier_finds_both_languages(index, query):
    # The English sentence and its Korean translation both contain "Il-76".
    assert set(_ids(index.search(query, 5))[:2]) == {"en-il76", "ko-il76"}


def test_korean_place_name_without_suffix(index):
    assert _ids(index.search("벨고로드", 5))[0] == "ko-il76"
    assert _ids(index.search("벨고로드주", 5))[0] == "ko-il76"


def test_list_query_is_or_across_languages(index, docs):
    hits = _ids(index.search(["Avdiivka", "아브디이프카"], 10))
    english = {d for d, t in docs if "Avdiivka" in t}
    assert english and english <= set(hits)
    assert "ko-avdiivka" in hits
    # Either alone finds only its own language.
    assert _ids(index.search("아브디이프카", 10)) == ["ko-avdiivka"]
    assert set(_ids(index.search("Avdiivka", 10))) == english


def test_scores_sorted_and_limit(index):
    results = index.search("Russian forces Ukrainian", 7)
    assert len(results) == 7
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(s, float) and s > 0 for s in scores)
    assert index.search("Russian forces", 0) == []


def test_allowed_filters_before_limit(index):
    assert _ids(index.search("Il-76", 1, allowed=lambda d: d != "en-il76")) == ["ko-il76"]
    assert _ids(index.search("Il-76", 1, allowed=lambda d: d != "ko-il76")) == ["en-il76"]
    only_2022_10 = index.search("Russian", 50, allowed=lambda d: d.startswith("2022-10-31"))
    assert only_2022_10 and all(d.startswith("2022-10-31") for d in _ids(only_2022_10))
    assert index.search("Il-76", 5, allowed=lambda d: False) == []


@pytest.mark.parametrize(
    "query",
    ["", "   ", "???", "🙂🚀🔥", [], [""], ["???", "🙂"], "zzzqqqxxy", "ㅋㅋㅋ", "이다 하다"],
)
def test_empty_or_unmatched_query(index, query):
    assert index.search(query, 10) == []


def test_huge_query(index):
    big = ("Il-76 crash Belgorod 벨고로드 추락 " * 400)[:10_000]
    results = index.search(big, 3)
    assert {"en-il76", "ko-il76"} <= set(_ids(results))
    junk = "".join(chr(0xAC00 + (i * 7919) % 11172) for i in range(10_000))  # random syllables
    assert isinstance(index.search(junk, 3), list)


def test_empty_index(tokenizer):
    idx = LexicalIndex(tokenizer)
    assert len(idx) == 0
    assert idx.search("Il-76", 5) == []
    idx.build([], [])
    assert idx.search("Il-76", 5) == []


# --------------------------------------------------- incremental and saved


def _all_results(idx: LexicalIndex) -> list[list[tuple[str, float]]]:
    return [idx.search(q, 10) for q in QUERIES]


def test_add_equals_build(tokenizer, docs, index):
    idx = LexicalIndex(tokenizer)
    half = len(docs) // 2
    idx.build([d for d, _ in docs[:half]], [t for _, t in docs[:half]])
    assert idx.search("Il-76", 5) == []  # seeds are in the second half
    idx.add([d for d, _ in docs[half:]], [t for _, t in docs[half:]])
    assert len(idx) == len(docs)
    assert _all_results(idx) == _all_results(index)


def test_remove_and_readd(tokenizer, docs, index):
    idx = LexicalIndex(tokenizer)
    idx.build([d for d, _ in docs], [t for _, t in docs])
    idx.add(["extra"], ["Another Il-76 went down near Belgorod; 벨고로드 Il-76 추락."])
    assert "extra" in _ids(idx.search("Il-76", 5))
    idx.remove(["extra", "no-such-id"])
    assert len(idx) == len(docs)
    assert _all_results(idx) == _all_results(index)

    idx.remove(["en-il76", "ko-il76"])
    assert _ids(idx.search("Il-76", 5)) == ["en-234"]  # only its "76th VDV Division" is left
    assert "en-il76" not in idx
    idx.add(["en-il76"], [SEEDS["en-il76"]])
    assert _ids(idx.search("Il-76", 5)) == ["en-il76", "en-234"]


def test_add_replaces_existing_id(tokenizer):
    idx = LexicalIndex(tokenizer)
    idx.build(["a", "b"], ["Bakhmut fighting continues.", "Kherson evacuation."])
    idx.add(["a"], ["Avdiivka fighting continues."])
    assert len(idx) == 2
    assert idx.search("Bakhmut", 5) == []
    assert _ids(idx.search("Avdiivka", 5)) == ["a"]


def test_save_load_round_trip(tokenizer, index, tmp_path):
    path = tmp_path / "sub" / "lexical.npz"
    index.save(path)
    loaded = LexicalIndex.load(path, tokenizer)
    assert len(loaded) == len(index)
    assert _all_results(loaded) == _all_results(index)
    # A loaded index stays incremental.
    loaded.add(["extra"], ["An Il-76 transport aircraft."])
    loaded.remove(["extra"])
    assert _all_results(loaded) == _all_results(index)


def test_save_after_remove_compacts_and_round_trips(tokenizer, docs, tmp_path):
    idx = LexicalIndex(tokenizer)
    idx.build([d for d, _ in docs], [t for _, t in docs])
    idx.remove([d for d, _ in docs if d.startswith("2022-04-19")])
    idx.save(tmp_path / "lex.npz")
    loaded = LexicalIndex.load(tmp_path / "lex.npz", tokenizer)
    assert _all_results(loaded) == _all_results(idx)
    assert loaded.search("Avdiivka", 5) == []


def test_load_rejects_other_tokenizer_version(tokenizer, index, tmp_path, monkeypatch):
    index.save(tmp_path / "lex.npz")
    monkeypatch.setattr(Tokenizer, "version", Tokenizer.version + 1)
    with pytest.raises(ValueError, match="rebuild"):
        LexicalIndex.load(tmp_path / "lex.npz", tokenizer)


@pytest.mark.parametrize("few_ids", [1 / 64, 1.0], ids=["scan", "binary-search"])
def test_ties_go_by_id_through_adds_removes_copies_and_saves(
    tokenizer, tmp_path, monkeypatch, few_ids
):
    """The id order behind the tie-break is kept up to date by add/remove (and saved as the
    row order), not re-sorted: every step must still rank equal scores by id. Ids are found
    by a scan or a binary search in that order, depending on how many are looked up."""
    import random

    from retrieval import lexical

    monkeypatch.setattr(lexical, "_FEW_IDS", few_ids)
    rng = random.Random(7)
    text = "Russian forces attacked near Bakhmut."

    def check(idx: LexicalIndex, want: set[str]) -> None:
        assert len(idx) == len(want)
        assert _ids(idx.search("Bakhmut", 1000)) == sorted(want)
        assert _ids(idx.search("Bakhmut", 3)) == sorted(want)[:3]
        assert all(doc in idx for doc in want)

    ids = [f"r{rng.randrange(10**6):06d}:{i}" for i in range(40)]
    idx = LexicalIndex(tokenizer)
    idx.build(ids[:20], [text] * 20)
    held = set(ids[:20])
    check(idx, held)
    for step in range(12):
        if step % 4 == 3:
            idx.save(tmp_path / "lex.npz")
            idx = LexicalIndex.load(tmp_path / "lex.npz", tokenizer)
        elif step % 4 == 1:
            before = idx
            idx = idx.copy()
            check(before, held)
        gone = rng.sample(sorted(held), 3)
        idx.remove([*gone, "no-such-id"])
        held -= set(gone)
        check(idx, held)
        new = rng.sample(ids, 5)  # some held already: replaced, moved to the end
        idx.add(new, [text] * 5)
        held |= set(new)
        check(idx, held)


def test_an_id_given_twice_in_one_add_keeps_its_last_text(tokenizer):
    idx = LexicalIndex(tokenizer)
    idx.add(["a", "b", "a"], ["Bakhmut.", "Kherson.", "Avdiivka."])
    assert len(idx) == 2
    assert idx.search("Bakhmut", 5) == []
    assert _ids(idx.search("Avdiivka", 5)) == ["a"]


def _meta_blob(meta: dict) -> np.ndarray:
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def test_load_refuses_the_old_format_and_damaged_files(tokenizer, index, tmp_path):
    """A file of format 1 (row-major arrays) or one whose arrays disagree is refused (the
    snapshot then rebuilds) rather than misread or failing at the first search. Members that
    numpy wrote itself (unaligned, or compressed) are read all the same."""
    path = tmp_path / "lex.npz"
    index.save(path)
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(arrays["meta"].tobytes())

    for write in (np.savez, np.savez_compressed):
        write(path, **arrays)
        assert _all_results(LexicalIndex.load(path, tokenizer)) == _all_results(index)

    damaged = {
        "format 1": {"meta": _meta_blob({**meta, "format": 1})},
        "short col_ptr": {"col_ptr": arrays["col_ptr"][:-1]},
        "row out of range": {"col_rows": np.where(arrays["col_rows"] == 0, meta["docs"], 0)},
        "negative row": {"col_rows": -1 - arrays["col_rows"]},
        "lengths": {"lengths": arrays["lengths"] + 1},
        "id offsets": {"ids_offsets": arrays["ids_offsets"][::-1]},
        "missing member": {"vocab_text": None},
    }
    for what, change in damaged.items():
        broken = {k: v for k, v in {**arrays, **change}.items() if v is not None}
        np.savez(path, **broken)
        with pytest.raises(ValueError, match="format|rebuild"):
            LexicalIndex.load(path, tokenizer)
            pytest.fail(what)
    for blob in (b"", b"not a zip file", b"PK\x03\x04" + bytes(100)):
        path.write_bytes(blob)
        with pytest.raises(ValueError):
            LexicalIndex.load(path, tokenizer)


def test_saved_arrays_are_mapped_aligned_and_read_only(tokenizer, index, tmp_path):
    """`load` maps the file: nothing is copied or rebuilt, and nothing can write into it."""
    index.save(tmp_path / "lex.npz")
    base = LexicalIndex.load(tmp_path / "lex.npz", tokenizer)._state.base
    for array in (base.col_ptr, base.col_rows, base.col_counts, base.lengths, base.ids.offsets):
        assert not array.flags.writeable
        assert array.ctypes.data % 64 == 0
    # Saving over the file a loaded index maps leaves that index as it was.
    loaded = LexicalIndex.load(tmp_path / "lex.npz", tokenizer)
    other = LexicalIndex(tokenizer)
    other.build(["x"], ["Kherson evacuation."])
    other.save(tmp_path / "lex.npz")
    assert _all_results(loaded) == _all_results(index)


WORDS = [f"w{i}" for i in range(40)] + ["Bakhmut", "Avdiivka", "Il-76", "234th", "Kherson"]
RANDOM_QUERIES: list[str | list[str]] = [
    "w1",
    "w2 w3",
    "w4 w5 w6 w7",
    "Il-76 Bakhmut",
    ["w8 w9", "Avdiivka"],
    "w10 w11 w12 w13 w14 w15 w16 w17 w18 w19",
    "234th w20 Kherson",
]
RANDOM_CONCEPTS = [
    ("w1 w2", [["w3 w4", "w5"], ["Bakhmut"]]),
    ("w6", [["w6", "w7 w8 w9"], ["Il-76", "w10"]]),
    ("", [["w11 w12 w13"]]),
]


def _every_result(idx: LexicalIndex) -> list[list[tuple[str, float]]]:
    out = [idx.search(q, limit) for q in RANDOM_QUERIES for limit in (3, 50)]
    out += [idx.search(q, 4, lambda d: d[-1] in "02468") for q in RANDOM_QUERIES]
    out += [idx.search_concepts(t, c, 20) for t, c in RANDOM_CONCEPTS]
    return out


@pytest.mark.parametrize(
    ("share", "min_rows"),
    [(1.0, 10**9), (0.0, 0), (0.25, 4)],
    ids=["never-compacted", "always-compacted", "compacted-at-a-threshold"],
)
def test_random_changes_rank_and_score_as_a_fresh_build(
    tokenizer, tmp_path, monkeypatch, share, min_rows
):
    """Any sequence of adds (new, replaced, repeated ids), removes, copies and save/load ranks
    exactly as a fresh build of the passages held: same ids, same order (equal scores by id),
    the same scores bit for bit. An index copied earlier keeps answering as it did."""
    import random

    from retrieval import lexical

    monkeypatch.setattr(lexical, "_COMPACT_SHARE", share)
    monkeypatch.setattr(lexical, "_COMPACT_MIN_ROWS", min_rows)
    rng = random.Random(f"{share}-{min_rows}")
    pool = [f"r{rng.randrange(10**6):06d}:{i}" for i in range(160)]

    def text() -> str:
        return " ".join(rng.choices(WORDS, k=rng.randint(0, 14)))

    idx = LexicalIndex(tokenizer)
    held: dict[str, str] = {}
    earlier: list[tuple[LexicalIndex, list]] = []
    for step in range(120):
        roll = rng.random()
        if step == 0 or roll < 0.45:
            ids = rng.sample(pool, rng.randint(1, 9))
            texts = [text() for _ in ids]
            if rng.random() < 0.3:  # the same text under several ids: equal scores
                texts = [texts[0]] * len(ids)
            if rng.random() < 0.2:  # an id twice in one call: its last text wins
                ids, texts = [*ids, ids[0]], [*texts, text()]
            idx.add(ids, texts)
            held.update(zip(ids, texts, strict=True))
        elif roll < 0.8:
            gone = rng.sample(pool, rng.randint(1, 9))
            idx.remove([*gone, "no-such-id"])
            for doc_id in gone:
                held.pop(doc_id, None)
        elif roll < 0.92:
            earlier.append((idx, _every_result(idx)))
            idx = idx.copy()
        else:
            idx.save(tmp_path / "lex.npz")
            idx = LexicalIndex.load(tmp_path / "lex.npz", tokenizer)
        fresh = LexicalIndex(tokenizer)
        fresh.build(list(held), list(held.values()))
        assert len(idx) == len(held)
        assert all(doc_id in idx for doc_id in held)
        assert _every_result(idx) == _every_result(fresh), f"step {step}"
    assert any(results for results in _every_result(idx))
    for before, results in earlier:
        assert _every_result(before) == results


def test_a_file_saved_before_compaction_loads_as_a_fresh_build(tokenizer, docs, tmp_path):
    """Saving an index that has a tail and dead rows writes them merged; the saved index then
    holds the merged state (same results), while copies still sharing the old one are left
    as they are, and the loaded file keeps taking changes."""
    ids, texts = [d for d, _ in docs], [t for _, t in docs]
    idx = LexicalIndex(tokenizer)
    idx.build(ids, texts)
    before = idx.copy()
    before_results = _all_results(before)
    idx.remove(ids[:4])
    idx.add(["extra-1", "extra-2", ids[5]], ["Il-76 near Belgorod.", "Avdiivka.", SEEDS["en-il76"]])
    assert not idx._state.compact
    sharing = idx.copy()
    expected = _all_results(idx)
    idx.save(tmp_path / "lex.npz")
    assert idx._state.compact
    assert not sharing._state.compact
    assert _all_results(idx) == _all_results(sharing) == expected
    assert _all_results(before) == before_results

    final = {**dict(zip(ids[4:], texts[4:], strict=True))}
    final.update({"extra-1": "Il-76 near Belgorod.", "extra-2": "Avdiivka."})
    final[ids[5]] = SEEDS["en-il76"]
    fresh = LexicalIndex(tokenizer)
    fresh.build(list(final), list(final.values()))
    loaded = LexicalIndex.load(tmp_path / "lex.npz", tokenizer)
    assert len(loaded) == len(final)
    assert _all_results(loaded) == _all_results(fresh) == expected

    loaded.remove(["extra-1"])
    loaded.add(["extra-3"], ["Il-76 transport aircraft."])
    del final["extra-1"]
    final["extra-3"] = "Il-76 transport aircraft."
    fresh.build(list(final), list(final.values()))
    assert _all_results(loaded) == _all_results(fresh)


def test_row_major_view_lists_each_passages_term_counts(tokenizer):
    """The row-major arrays of format 1, rebuilt on demand (tests/test_snapshot.py reads
    them), whatever the state: compacted or with a tail and dead rows."""
    idx = LexicalIndex(tokenizer)
    idx.build(["b", "a"], ["Bakhmut Bakhmut fighting.", "Kherson."])
    idx.add(["c"], ["Avdiivka fighting."])
    idx.remove(["b"])
    terms = {i: t for t, i in idx._vocab.items()}
    rows = {
        doc_id: {
            terms[int(t)]: int(c)
            for t, c in zip(
                idx._terms[idx._ptr[r] : idx._ptr[r + 1]],
                idx._counts[idx._ptr[r] : idx._ptr[r + 1]],
                strict=True,
            )
        }
        for r, doc_id in enumerate(idx._ids)
    }
    assert rows == {"a": {"kherson": 1}, "c": {"avdiivka": 1, "fight": 1}}


def test_partitioned_index_counts_term_rarity_within_each_language(tokenizer):
    """A word every Korean passage has is common, however rare Korean passages are overall:
    it must not outrank the English passage that matches the translated word."""
    from retrieval.lexical import PartitionedLexicalIndex

    korean = [f"러시아 국방부는 {i}번째 발표를 했습니다." for i in range(2)]
    english = [f"Ukrainian forces repelled assault number {i} near the river." for i in range(34)]
    english += [f"Occupation authorities issued passports in town {i}." for i in range(6)]
    ids = [f"ko{i}" for i in range(len(korean))] + [f"en{i}" for i in range(len(english))]
    texts = korean + english
    langs = ["ko"] * len(korean) + ["en"] * len(english)
    query = ["러시아 여권", "passports"]

    plain = LexicalIndex(tokenizer)
    plain.build(ids, texts)
    assert plain.search(query, 3)[0][0].startswith("ko")  # the bias being fixed

    parts = PartitionedLexicalIndex(tokenizer)
    parts.build(ids, texts, langs)
    ranked = parts.search(query, 3)
    assert ranked[0][0] in {f"en{i}" for i in range(34, 40)}
    assert len(parts) == len(ids)
    assert [doc for doc, _ in parts.search(query, 50, lambda d: d.startswith("ko"))] == [
        f"ko{i}" for i in range(2)
    ]


def test_partitioned_index_rejects_mismatched_lengths(tokenizer):
    from retrieval.lexical import PartitionedLexicalIndex

    with pytest.raises(ValueError):
        PartitionedLexicalIndex(tokenizer).build(["a", "b"], ["x", "y"], ["en"])


def _scores_of(results: list[tuple[str, float]]) -> dict[str, float]:
    return dict(results)


@pytest.fixture(scope="module")
def plants(tokenizer) -> LexicalIndex:
    idx = LexicalIndex(tokenizer)
    idx.build(
        ["znpp", "chernobyl", "both", "other1", "other2"],
        [
            "Shelling near the Zaporizhzhia Nuclear Power Plant (NPP); the NPP lost power.",
            "Russian forces secured the Chernobyl Exclusion Zone.",
            "Staff of the nuclear power plant said the NPP was shelled.",
            "Russian forces advanced near Bakhmut.",
            "The Kremlin commented on negotiations.",
        ],
    )
    return idx


def test_a_concept_counts_once_as_its_best_form(plants):
    npp = _scores_of(plants.search_concepts("", [["NPP", "nuclear power plant"]], 10))
    short = _scores_of(plants.search_concepts("", [["NPP"]], 10))
    long = _scores_of(plants.search_concepts("", [["nuclear power plant"]], 10))
    for doc in ("znpp", "both"):
        assert npp[doc] == pytest.approx(max(short[doc], long[doc]))
    # A plain OR over the forms adds them up instead.
    assert _scores_of(plants.search(["NPP nuclear power plant"], 10))["both"] > npp["both"]


def test_a_form_counts_only_when_a_passage_contains_all_of_it(plants):
    found = plants.search_concepts("", [["Chornobyl Nuclear Power Plant", "Chernobyl"]], 10)
    assert _ids(found) == ["chernobyl"]


def test_the_texts_own_words_count_once_when_a_concept_covers_them(plants):
    concept = [["Chernobyl", "Chornobyl", "체르노빌"]]
    alone = _scores_of(plants.search_concepts("", concept, 10))
    with_text = _scores_of(plants.search_concepts("Chernobyl", concept, 10))
    assert with_text == alone
    # Words no concept covers still count, as in `search`.
    more = _scores_of(plants.search_concepts("Chernobyl exclusion zone", concept, 10))
    assert more["chernobyl"] > alone["chernobyl"]
