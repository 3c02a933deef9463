"""ChunkRows: the columnar rows give back exactly the chunks they were made from."""

from __future__ import annotations

import random
from datetime import date

import orjson
import pytest

from retrieval import rows as rows_module
from retrieval.catalog import Catalog
from retrieval.rows import ChunkRows
from retrieval.vectors import VectorIndex
from store.records import Chunk, date_to_int


def _chunk(rid: str, kind: str, position: int, lang: str, text: str, day: date) -> Chunk:
    return Chunk(
        report_id=rid,
        version=f"v-{rid}",
        kind=kind,  # type: ignore[arg-type]
        lang=lang,
        position=position,
        text=text,
        report_date=day,
        title=f"Title {rid}",
        source=f"{rid}.html",
        heading="" if kind == "takeaway" else "Ukrainian Counteroffensives",
    )


CHUNKS = [
    _chunk("a", "takeaway", 1, "en", "Russian forces advanced near Avdiivka.", date(2024, 1, 26)),
    _chunk(
        "a", "takeaway", 1, "ko", "러시아군이 아브디이프카 인근에서 진격했다.", date(2024, 1, 26)
    ),
    _chunk("a", "passage", 3, "en", "Later passage — with “quotes”.", date(2024, 1, 26)),
    _chunk("a", "passage", 2, "en", "", date(2024, 1, 26)),
    _chunk("b", "takeaway", 0, "en", "Kremlin on negotiations.", date(2023, 12, 31)),
]


def _dump(rows: ChunkRows) -> list[dict]:
    return [rows[cid].model_dump() for cid in rows]


def test_rows_give_back_the_chunks_in_order_and_survive_save_and_load(tmp_path):
    rows = ChunkRows.from_chunks(CHUNKS)
    assert list(rows) == [c.id for c in CHUNKS]
    assert _dump(rows) == [c.model_dump() for c in CHUNKS]
    rows.save(tmp_path / "rows")
    loaded = ChunkRows.load(tmp_path / "rows")
    assert _dump(loaded) == [c.model_dump() for c in CHUNKS]
    assert loaded.day(CHUNKS[-1].id) == 20231231
    assert loaded.day("missing") is None
    assert "missing" not in loaded and CHUNKS[0].id in loaded


def test_without_and_plus_keep_row_order_and_replace_a_repeated_id(tmp_path):
    rows = ChunkRows.from_chunks(CHUNKS)
    fewer = rows.without({"a"})
    assert list(fewer) == [CHUNKS[-1].id]
    assert rows.ids_of({"a"}) == [c.id for c in CHUNKS[:4]]
    assert len(rows) == len(CHUNKS)  # the original is left as it was
    changed = CHUNKS[0].model_copy(update={"text": "A new text for the same id."})
    new = _chunk("c", "passage", 0, "uk", "Українські сили відбили атаки.", date(2024, 2, 1))
    grown = fewer.plus([new]).plus(CHUNKS[:2]).plus([changed])
    assert list(grown) == [CHUNKS[-1].id, new.id, CHUNKS[1].id, CHUNKS[0].id]
    assert grown[CHUNKS[0].id].text == "A new text for the same id."
    assert grown[new.id].model_dump() == new.model_dump()
    # Saving compacts the text buffers and the string columns into one of each.
    grown.save(tmp_path / "grown")
    assert _dump(ChunkRows.load(tmp_path / "grown")) == _dump(grown)
    assert ChunkRows.empty().without({"a"}).plus([]) is not None
    ChunkRows.empty().save(tmp_path / "empty")
    assert len(ChunkRows.load(tmp_path / "empty")) == 0


def test_catalog_views_are_made_per_report_as_the_whole_catalog_made_them():
    catalog = Catalog.assemble({}, reversed(CHUNKS), VectorIndex.empty(), [])
    assert list(catalog.takeaways) == ["a", "b"]
    assert list(catalog.passages) == ["a"]
    (view,) = catalog.takeaways["a"]
    assert view.position == 1
    assert view.texts == {"ko": CHUNKS[1].text, "en": CHUNKS[0].text}  # row order
    assert view.chunk_ids == [CHUNKS[1].id, CHUNKS[0].id]
    assert [p.position for p in catalog.passages["a"]] == [2, 3]
    assert catalog.takeaways.get("c") is None and "c" not in catalog.passages
    assert catalog.takeaways["a"] is catalog.takeaways["a"]  # made once


# ---- long sequences of changes --------------------------------------------------------------

REPORTS = [f"r{i}" for i in range(8)]


def _random_chunk(rng: random.Random, rid: str | None = None, version: str = "") -> Chunk:
    rid = rid or rng.choice(REPORTS)
    text = rng.choice(["", "plain text", "Авдіївка — “quoted”", "아브디이프카", "x" * 300])
    return _chunk(
        rid,
        rng.choice(["takeaway", "passage"]),
        rng.randrange(6),
        rng.choice(["en", "ko", "uk"]),
        f"{text} {rng.random()}" if text else "",
        date(2024, 1 + rng.randrange(12), 1 + rng.randrange(28)),
    ).model_copy(update={"version": version or f"v{rng.randrange(3)}-{rid}"})


def _same(rows: ChunkRows, chunks: list[Chunk]) -> None:
    """`rows` behaves exactly as rows made at once from `chunks` (in this order)."""
    fresh = ChunkRows.from_chunks(chunks)
    ids = [c.id for c in chunks]
    assert list(rows) == list(fresh) == ids
    assert len(rows) == len(ids) and list(rows.ids) == ids
    assert _dump(rows) == [c.model_dump() for c in chunks]
    for row, c in enumerate(chunks):
        assert rows.ids[row] == rows.id_at(row) == c.id
        assert rows.chunk_at(row).model_dump() == c.model_dump()
        assert rows.text_at(row) == c.text and rows.kind_at(row) == c.kind
        assert rows.day(c.id) == date_to_int(c.report_date) and c.id in rows
    if chunks:
        assert rows.chunk_at(-1).model_dump() == chunks[-1].model_dump()
        assert rows.ids[-1] == chunks[-1].id
    with pytest.raises(IndexError):
        rows.chunk_at(len(chunks))
    reports = {*REPORTS, *(c.report_id for c in chunks)}
    for rid in [*reports, "missing"]:
        assert rows.rows_of(rid) == fresh.rows_of(rid)
        assert rows.ids_of({rid}) == fresh.ids_of({rid})
        assert [rows.ids[i] for i in rows.rows_of(rid)] == [
            c.id for c in chunks if c.report_id == rid
        ]
    for kind in ("takeaway", "passage", "missing"):
        assert rows.report_ids(kind) == fresh.report_ids(kind)
    assert rows.ids_of(reports) == ids
    assert "missing" not in rows and rows.day("missing") is None and rows.get("missing") is None
    assert dict(rows.items()) == dict(fresh.items())


def _snapshot_of(rows: ChunkRows) -> tuple:
    return (
        list(rows),
        _dump(rows),
        {rid: rows.rows_of(rid) for rid in REPORTS},
        [rows.text_at(i) for i in range(len(rows))],
    )


# The thresholds made small so that every path runs: compacting, loaded rows switching from
# binary search to a dict, changed rows copying the older index into their own.
@pytest.mark.parametrize(
    ("compact_min", "dict_after", "copy_after"),
    [
        (4096, 10_000, 10_000),
        (3, 10_000, 10_000),
        (4096, 50, 10_000),
        (4096, 10_000, 5),
        (3, 50, 5),
        (4096, 50, 40),
    ],
)
@pytest.mark.parametrize("seed", range(4))
def test_long_sequences_of_without_and_plus_match_rows_made_at_once(
    tmp_path, monkeypatch, seed, compact_min, dict_after, copy_after
):
    monkeypatch.setattr(rows_module, "_COMPACT_MIN", compact_min)
    monkeypatch.setattr(rows_module, "_DICT_AFTER", dict_after)
    monkeypatch.setattr(rows_module, "_COPY_AFTER", copy_after)
    rng = random.Random(seed)
    model = {c.id: c for c in (_random_chunk(rng) for _ in range(30))}
    rows = ChunkRows.from_chunks(model.values())
    if seed % 2:  # start from loaded rows (ids found by binary search)
        rows.save(tmp_path / "start")
        rows = ChunkRows.load(tmp_path / "start")
    history = [(rows, _snapshot_of(rows))]
    for step in range(40):
        what = rng.random()
        if what < 0.35:
            gone = set(rng.sample(REPORTS, rng.randrange(1, 3)))
            rows = rows.without(gone)
            model = {k: c for k, c in model.items() if c.report_id not in gone}
        elif what < 0.4:
            rows = rows.without(set(REPORTS))  # everything
            model = {}
        else:
            # New chunks, some with ids already here (replaced: the row moves to the end),
            # some repeated within the batch (first place, last value).
            new = [_random_chunk(rng) for _ in range(rng.randrange(1, 8))]
            if model:
                old = rng.choice(list(model.values()))
                new.append(old.model_copy(update={"text": f"replaced {step}"}))
            if len(new) > 2:
                new.append(new[0].model_copy(update={"text": f"repeated {step}"}))
            rows = rows.plus(new)
            for c in {c.id: c for c in new}.values():
                model.pop(c.id, None)
            model.update({c.id: c for c in new})
        if step % 5 == 0:
            history.append((rows, _snapshot_of(rows)))
        if step % 3 == 2:  # rows in between are changed again before any look-up
            _same(rows, list(model.values()))
    # Every earlier rows object is as it was: changes never touch the rows they start from.
    for old, snapshot in history:
        assert _snapshot_of(old) == snapshot
    rows.save(tmp_path / "end")
    _same(ChunkRows.load(tmp_path / "end"), list(model.values()))
    _same(
        ChunkRows.load(tmp_path / "end").without(set(REPORTS)).plus(list(model.values())),
        list(model.values()),
    )


def test_a_parent_serving_questions_is_untouched_by_its_children(tmp_path):
    rows = ChunkRows.from_chunks(CHUNKS)
    rows.save(tmp_path / "rows")
    parent = ChunkRows.load(tmp_path / "rows")
    before = _snapshot_of(parent)
    changed = CHUNKS[0].model_copy(update={"text": "changed"})
    child = parent.without({"b"}).plus([changed])
    grandchild = child.plus([CHUNKS[-1]]).without({"a"})
    assert list(child) == [c.id for c in CHUNKS[1:4]] + [changed.id]
    assert child[changed.id].text == "changed" and parent[changed.id].text == CHUNKS[0].text
    assert list(grandchild) == [CHUNKS[-1].id]
    assert _snapshot_of(parent) == before and len(parent) == len(CHUNKS)
    assert parent.day(CHUNKS[-1].id) == 20231231 and child.day(CHUNKS[-1].id) is None


def test_loaded_rows_switch_from_binary_search_to_a_dict_after_many_look_ups(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_module, "_DICT_AFTER", 3)
    ChunkRows.from_chunks(CHUNKS).save(tmp_path / "rows")
    rows = ChunkRows.load(tmp_path / "rows")
    for _ in range(3):
        for c in CHUNKS:
            assert rows[c.id].model_dump() == c.model_dump()
            assert c.id + "x" not in rows and c.id[:-1] not in rows
    assert rows._base.index is not None
    assert 5 not in rows  # not a str: not there (as with a dict)


def test_a_folder_in_the_old_layout_is_refused_not_misread(tmp_path):
    ChunkRows.from_chunks(CHUNKS).save(tmp_path / "rows")
    folder = tmp_path / "rows"
    # The layout before format 3: every id in columns.json, no format key.
    (folder / "columns.json").write_bytes(
        orjson.dumps({"ids": [c.id for c in CHUNKS], "values": {"report_id": ["a", "b"]}})
    )
    with pytest.raises(ValueError):
        ChunkRows.load(folder)


def test_loaded_rows_answer_and_save_without_making_every_id(tmp_path):
    ChunkRows.from_chunks(CHUNKS).save(tmp_path / "rows")
    rows = ChunkRows.load(tmp_path / "rows")
    assert 5 not in rows  # not a str: not there (as with a dict)
    assert rows.ids[1] == CHUNKS[1].id and rows.ids[-1] == CHUNKS[-1].id
    assert rows.ids[1:3] == [c.id for c in CHUNKS[1:3]]
    assert rows.ids_of({"b"}) == [CHUNKS[-1].id]
    new = _chunk("c", "passage", 0, "uk", "Нові рядки.", date(2024, 2, 1))
    changed = rows.without({"b"}).plus([new, CHUNKS[2]])
    changed.save(tmp_path / "changed")
    assert rows._base._list is None  # the ids stayed in the mapped file
    expected = [*CHUNKS[:2], CHUNKS[3], new, CHUNKS[2]]
    _same(changed, expected)
    _same(ChunkRows.load(tmp_path / "changed"), expected)
