"""VectorIndex (retrieval/vectors.py) after reload-sized updates equals an index built fresh over
the same final rows: same ids, scores and order (ties included), lookups, centroids, and the
same again after a save and a load."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pytest

from retrieval import vectors as vectors_module
from retrieval.vectors import VectorIndex

DIM = 12
LANGS = ["en", "ko", "en", "uk"]


@dataclass
class Row:
    id: str
    vector: np.ndarray
    date: int
    lang: str


def fresh(rows: list[Row]) -> VectorIndex:
    """What one matrix of these rows gives (the index as it was before parts)."""
    if not rows:
        return VectorIndex.empty()
    return VectorIndex(
        [r.id for r in rows],
        np.stack([r.vector for r in rows]),
        np.asarray([r.date for r in rows], dtype=np.int32),
        [r.lang for r in rows],
    )


class Rows:
    """Random rows. Small integer components make every dot product exact in float32, whatever
    order BLAS sums in, and make equal scores (ties) common."""

    def __init__(self, seed: int, integer: bool = True) -> None:
        self.rng = np.random.default_rng(seed)
        self.pick = random.Random(seed)
        self.integer = integer
        self.serial = 0

    def vector(self) -> np.ndarray:
        if self.integer:
            return self.rng.integers(-2, 3, size=DIM).astype(np.float32)
        v = self.rng.normal(size=DIM).astype(np.float32)
        return v / np.linalg.norm(v)

    def report(self, n: int, report: str | None = None) -> list[Row]:
        self.serial += 1
        rid = report or f"r{self.serial}"
        lang = self.pick.choice(LANGS)
        date = 20220101 + self.pick.randrange(28)
        return [
            Row(f"{rid}:{self.serial}:p{i}:{lang}", self.vector(), date, lang) for i in range(n)
        ]


def add(index: VectorIndex, drop: set[str], rows: list[Row]) -> VectorIndex:
    return index.updated(
        drop,
        [r.id for r in rows],
        np.stack([r.vector for r in rows]) if rows else None,
        np.asarray([r.date for r in rows], dtype=np.int32),
        [r.lang for r in rows],
    )


def assert_same(
    got: VectorIndex, want: VectorIndex, queries: list[np.ndarray], exact: bool
) -> None:
    assert len(got) == len(want)
    assert got.ids == want.ids
    assert got.langs == want.langs
    assert got.dates.tolist() == want.dates.tolist()
    assert np.array_equal(got.matrix, want.matrix)
    probe = [*dict.fromkeys(want.ids[::3]), "missing", want.ids[0] + "x" if len(want) else ""]
    for cid in probe:
        assert (cid in got) == (cid in want)
        assert got.lang(cid) == want.lang(cid)
        a, b = got.get(cid), want.get(cid)
        assert (a is None and b is None) or np.array_equal(a, b)
    assert {k: v.tolist() for k, v in got.vectors(probe).items()} == {
        k: v.tolist() for k, v in want.vectors(probe).items()
    }
    centroids, expected = got.centroids(), want.centroids()
    assert list(centroids) == list(expected)
    for lang in expected:
        assert np.allclose(centroids[lang], expected[lang], rtol=1e-5, atol=1e-6)
    for query in queries:
        for limit in (1, 5, 40, 10_000):
            for dates in (None, (20220105, 20220116), (20300101, 20300102)):
                for allowed in (None, lambda cid: cid.endswith(":en")):
                    a = got.search(query, limit, dates, allowed)
                    b = want.search(query, limit, dates, allowed)
                    if exact:
                        assert a == b
                    else:
                        assert [cid for cid, _ in a] == [cid for cid, _ in b]
                        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-6)


@pytest.mark.parametrize("dict_after", [4_000, 0])
@pytest.mark.parametrize("share", [1 / 8, 0.02, 100.0])
@pytest.mark.parametrize("integer", [True, False])
def test_updates_equal_a_fresh_build_of_the_same_rows(
    monkeypatch, tmp_path, share, integer, dict_after
):
    # 0.02 compacts every few updates, 100 never does: both paths and the merges between.
    monkeypatch.setattr(vectors_module, "COMPACT_SHARE", share)
    # 0: id look-ups go through the dict from the first one, not the binary search.
    monkeypatch.setattr(vectors_module, "_DICT_AFTER", dict_after)
    source = Rows(7, integer)
    rows = [r for _ in range(40) for r in source.report(source.pick.randint(3, 12))]
    index = fresh(rows)
    queries = [source.vector() for _ in range(4)] + [rows[5].vector]
    history: list[tuple[VectorIndex, list[Row]]] = []
    for step in range(60):
        reports = sorted({r.id.split(":")[0] for r in rows})
        drop: set[str] = set()
        added: list[Row] = []
        kind = step % 6
        if kind in (0, 1, 2) and reports:  # a report replaced by a new version
            rid = source.pick.choice(reports)
            drop = {r.id for r in rows if r.id.startswith(rid + ":")}
            added = source.report(source.pick.randint(1, 30), rid)
        elif kind == 3:  # a new report
            added = source.report(source.pick.randint(1, 30))
        elif kind == 4 and reports:  # a report gone, and ids that are not there
            rid = source.pick.choice(reports)
            drop = {r.id for r in rows if r.id.startswith(rid + ":")} | {"nothing:here"}
        elif rows:  # the same ids again with new vectors, and an id repeated without a drop
            old = source.pick.sample(rows, min(3, len(rows)))
            drop = {r.id for r in old[:2]}
            added = [Row(r.id, source.vector(), r.date, r.lang) for r in old]
        history.append((index, list(rows)))
        index = add(index, drop, added)
        rows = [r for r in rows if r.id not in drop] + added
        assert_same(index, fresh(rows), queries, integer)
    # No update changed an index it was made from.
    for old, old_rows in history[::7]:
        assert_same(old, fresh(old_rows), queries[:2], integer)

    index.save(tmp_path / "v")
    loaded = VectorIndex.load(tmp_path / "v")
    assert_same(loaded, fresh(rows), queries, integer)
    assert loaded._sums is not None  # the centroids came from the file, not the matrix
    # Saved again after more changes, from a loaded base with dead rows and appended parts.
    gone, extra = {rows[0].id, rows[-1].id}, source.report(7)
    more = add(loaded, gone, extra)
    rows = [r for r in rows if r.id not in gone] + extra
    more.save(tmp_path / "w")
    assert_same(VectorIndex.load(tmp_path / "w"), fresh(rows), queries, integer)


def test_an_update_shares_the_base_matrix_and_adds_one_part():
    source = Rows(3)
    rows = [r for _ in range(200) for r in source.report(26)]
    index = fresh(rows)
    base = index._parts[0].matrix
    gone = {r.id for r in rows[26 * 50 : 26 * 51]}
    after = add(index, gone, source.report(26))
    assert after._parts[0].matrix is base
    assert [len(p.ids) for p in after._parts] == [len(rows), 26]
    assert index.ids == [r.id for r in rows]  # the old one is untouched
    assert len(after) == len(rows)
    # Many reloads: the appended parts merge like a binary counter (few parts, base shared).
    for _ in range(20):  # 21 x 26 added + 26 dead rows stay under 1/8 of the base
        after = add(after, set(), source.report(26))
    assert after._parts[0].matrix is base
    assert len(after._parts) <= 1 + 5


def test_compaction_keeps_rows_and_lookups():
    source = Rows(5)
    rows = [r for _ in range(20) for r in source.report(10)]
    index = fresh(rows)
    # Dropping more than COMPACT_SHARE of the base compacts into a new base.
    gone = {r.id for r in rows[:60]}
    after = add(index, gone, source.report(4))
    assert len(after._parts) == 1 and after._alive is None
    want = [r for r in rows if r.id not in gone]
    assert after.ids[: len(want)] == [r.id for r in want]
    assert all(after.get(r.id) is not None for r in want)


def test_everything_dropped_then_other_vectors():
    source = Rows(9)
    rows = source.report(5)
    index = fresh(rows)
    empty = add(index, {r.id for r in rows}, [])
    assert len(empty) == 0 and empty.search(rows[0].vector, 3) == [] and empty.centroids() == {}
    wide = Row("w:1:p0:en", np.ones(DIM * 2, dtype=np.float32), 20220101, "en")
    other = add(index, {r.id for r in rows}, [wide])
    assert other.search(np.ones(DIM * 2, dtype=np.float32), 2) == [("w:1:p0:en", DIM * 2.0)]
    grown = add(VectorIndex.empty(), set(), rows)
    assert grown.ids == [r.id for r in rows] and list(grown.centroids()) == [rows[0].lang]
    with pytest.raises(ValueError):
        add(index, set(), [wide])  # another width beside the rows still there


def test_the_files_refuse_what_does_not_line_up(tmp_path):
    source = Rows(11)
    rows = source.report(6)
    index = fresh(rows)
    index.save(tmp_path / "ok")
    assert VectorIndex.load(tmp_path / "ok").ids == index.ids
    (tmp_path / "ok" / "ids.txt").write_text("\n".join(index.ids[:-1]))
    with pytest.raises(ValueError):
        VectorIndex.load(tmp_path / "ok")
    bad = VectorIndex(["a\nb"], np.zeros((1, 2), np.float32), np.zeros(1, np.int32))
    with pytest.raises(ValueError):
        bad.save(tmp_path / "bad")
    VectorIndex.empty().save(tmp_path / "empty")
    assert len(VectorIndex.load(tmp_path / "empty")) == 0
