from __future__ import annotations

from store.chunking import split_passage


def test_short_and_empty_text() -> None:
    assert split_passage("  One sentence.  ") == ["One sentence."]
    assert split_passage("   ") == []


def test_splits_at_sentence_boundaries_within_the_limit() -> None:
    sentences = [f"Russian forces attacked settlement number {i} on March 1." for i in range(60)]
    text = " ".join(sentences)
    pieces = split_passage(text, max_chars=300)
    assert len(pieces) > 1
    assert all(len(p) <= 300 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text  # nothing lost or reordered


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    first = "The U.S. and Frederick W. Kagan said Gen. Valery Gerasimov visited the front " * 3
    text = f"{first.strip()}. Second sentence here. " * 10
    pieces = split_passage(text, max_chars=400)
    for piece in pieces:
        assert not piece.startswith(("S. ", "Kagan", "Valery"))
        assert not piece.endswith(("U.S.", "W.", "Gen."))


def test_overlong_sentence_is_cut_at_spaces() -> None:
    text = " ".join(["word"] * 1000)
    pieces = split_passage(text, max_chars=120)
    assert all(len(p) <= 120 for p in pieces)
    assert " ".join(pieces) == text


def test_korean_sentences() -> None:
    text = "러시아군은 바흐무트 주변에서 공세를 계속했습니다. " * 40
    pieces = split_passage(text, max_chars=200)
    assert len(pieces) > 1
    assert all(len(p) <= 200 and p.endswith("습니다.") for p in pieces)
