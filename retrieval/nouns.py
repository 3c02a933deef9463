"""Each report's English proper nouns, the source of the names a Hangul or Cyrillic question
may sound like (retrieval.transliterate.NameIndex).

Held per report because a replaced or removed report takes its nouns with it, but as codes
into one list of distinct nouns: at 7,750 reports (205,000 synthetic chunks) the per-report
lists held 1.67 million strings over 9,028 distinct nouns; as JSON they were 23 MB of the
snapshot's state and 0.2 s of every start, which reads them here as three small arrays.

Immutable: `updated` returns a new table sharing the unchanged reports' arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import orjson

_FILE = "nouns.npz"
_VALUES = "nouns.json"


class ReportNouns:
    """Report id -> its proper nouns (sorted), as codes into `values`."""

    def __init__(self, values: list[str], codes: dict[str, np.ndarray]) -> None:
        self._values = values
        self._codes = codes  # report id -> int32 codes into _values, in noun order

    @classmethod
    def empty(cls) -> ReportNouns:
        return cls([], {})

    @classmethod
    def of(cls, nouns: Mapping[str, list[str]]) -> ReportNouns:
        return cls.empty().updated(set(), nouns)

    def updated(self, drop: set[str], add: Mapping[str, list[str]]) -> ReportNouns:
        """Without the `drop` reports, with (or replacing) the `add` ones."""
        values = self._values
        index: dict[str, int] | None = None
        codes = {rid: c for rid, c in self._codes.items() if rid not in drop}
        for rid, nouns in add.items():
            if index is None:
                values = list(values)
                index = {v: i for i, v in enumerate(values)}
            row = []
            for noun in sorted(set(nouns)):
                code = index.get(noun)
                if code is None:
                    code = index[noun] = len(values)
                    values.append(noun)
                row.append(code)
            codes[rid] = np.asarray(row, dtype=np.int32)
        return ReportNouns(values, codes)

    def of_report(self, report_id: str) -> list[str]:
        return [self._values[c] for c in self._codes.get(report_id, np.zeros(0)).tolist()]

    def distinct(self) -> list[str]:
        """Every noun some report holds, sorted."""
        if not self._codes:
            return []
        used = np.unique(np.concatenate(list(self._codes.values())))
        return sorted(self._values[c] for c in used.tolist())

    def to_dict(self) -> dict[str, list[str]]:
        return {rid: self.of_report(rid) for rid in sorted(self._codes)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReportNouns) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self._codes)

    # ---- on disk ------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        rids = sorted(self._codes)
        parts = [self._codes[rid] for rid in rids]
        ptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=ptr[1:])
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        (folder / _VALUES).write_bytes(orjson.dumps({"values": self._values, "reports": rids}))
        np.savez(folder / _FILE, codes=flat.astype(np.int32), ptr=ptr)

    @classmethod
    def load(cls, folder: Path) -> ReportNouns:
        names = orjson.loads((folder / _VALUES).read_bytes())
        with np.load(folder / _FILE) as saved:
            flat, ptr = saved["codes"], saved["ptr"]
        rids = names["reports"]
        if len(ptr) != len(rids) + 1:
            raise ValueError("nouns: reports and offsets do not line up")
        bounds = ptr.tolist()
        codes = {rid: flat[bounds[i] : bounds[i + 1]] for i, rid in enumerate(rids)}
        return cls(names["values"], codes)
