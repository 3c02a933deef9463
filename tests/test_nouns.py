"""ReportNouns: each report's proper nouns as codes, updated report by report."""

from __future__ import annotations

from retrieval.nouns import ReportNouns


def test_updates_equal_a_table_made_from_the_final_reports(tmp_path):
    first = ReportNouns.of({"a": ["Avdiivka", "Bakhmut"], "b": ["Kupyansk"], "c": []})
    second = first.updated({"a", "c"}, {"a": ["Kreminna", "Bakhmut", "Bakhmut"], "d": ["Siversk"]})
    final = {"a": ["Bakhmut", "Kreminna"], "b": ["Kupyansk"], "d": ["Siversk"]}
    assert second.to_dict() == final
    assert second == ReportNouns.of(final)
    # The table it was made from still serves the old reports.
    assert first.to_dict() == {"a": ["Avdiivka", "Bakhmut"], "b": ["Kupyansk"], "c": []}
    # A noun only the replaced version held is no longer offered as a name.
    assert second.distinct() == ["Bakhmut", "Kreminna", "Kupyansk", "Siversk"]
    second.save(tmp_path)
    assert ReportNouns.load(tmp_path) == second
    assert ReportNouns.load(tmp_path).distinct() == second.distinct()


def test_an_empty_table_round_trips(tmp_path):
    empty = ReportNouns.empty()
    assert empty.distinct() == [] and len(empty) == 0
    empty.save(tmp_path)
    assert ReportNouns.load(tmp_path).to_dict() == {}
