"""ChunkRows: the columnar rows give back exactly the chunks they were made from."""

from __future__ import annotations

from datetime import date

from retrieval.catalog import Catalog
from retrieval.rows import ChunkRows
from retrieval.vectors import VectorIndex
from store.records import Chunk


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
