"""LexicalIndex (retrieval/lexical.py) against another version of itself, in the same run.

Builds one index of N synthetic passages (words sampled from the corpus markdown files, so
term frequencies are Zipf-like as in real text, plus a long tail of made-up place names so the
vocabulary keeps growing with N; about 1% of the passages repeat another's text under another id,
so equal scores, ordered by id, occur) with the OLD implementation (by default
`git show main:retrieval/lexical.py`, loaded as a module), makes the NEW one (this checkout)
from the same term counts (its saved format differs, so it cannot read OLD's file), then times
both, OLD and NEW interleaved:

* save, load, the first search after a load, load + first search (a cold process's first
  question), 200 searches and 20 `search_concepts` warm;
* a snapshot update the size of one report: copy, remove 26 ids, add 26 passages, and the next
  search; add and remove alone; copy;
* NEW only: `--reloads` such updates in a row (the tail grows until a compaction merges it
  into the base: its median, worst and count), and a compaction at the threshold.

Every search is compared: the same ids in the same order, scores equal to 1e-9 relative (NEW
sums a passage's term weights in term-string order, main in term-id order, so the last bits may
differ; NEW against a fresh build of its own is exact, see tests/test_lexical.py). Timings are
medians of `--repeat` runs, reported with the ratio new/old: the machine may be shared, so the
load average is printed at start and end.

    python benchmarks/bench_lexical.py                 # 200,000 passages, ~4 min
    python benchmarks/bench_lexical.py --docs 20000    # quick look
"""

from __future__ import annotations

import argparse
import functools
import math
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from _common import machine_line, old_module, table, write_result

from retrieval import lexical as new_module
from retrieval.tokenize import Tokenizer

MARKDOWN = Path("/work/shared/corpus/markdown")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d+")
SYLLABLES = ["no", "vo", "pok", "ro", "vsk", "ka", "mi", "lo", "hra", "dy", "zar", "ivka", "ne"]
# Targets of the change that made the index incremental (at 200,000 passages).
FIRST_SEARCH_TARGET_S = 0.050
RELOAD_TARGET_S = 0.030


class Corpus:
    """Passages and queries made from the corpus markdown's words."""

    def __init__(self, folder: Path, seed: int) -> None:
        text = " ".join(p.read_text("utf-8") for p in sorted(folder.glob("*.md")))
        self.words = WORD.findall(text)
        if not self.words:
            raise SystemExit(f"no words in {folder}/*.md")
        self.rng = random.Random(seed)
        self.places = [self._place() for _ in range(100_000)]
        self.serial = 0

    def _place(self) -> str:
        return "".join(self.rng.choices(SYLLABLES, k=self.rng.randint(2, 4))).capitalize()

    def passage(self) -> str:
        n = max(20, min(300, int(self.rng.gauss(100, 40))))
        words = self.rng.choices(self.words, k=n)
        for _ in range(self.rng.randint(0, 3)):
            words.insert(self.rng.randrange(n), self.rng.choice(self.places))
        return " ".join(words)

    def new_id(self) -> str:
        """Shaped like a chunk id (report:version:kind+position:lang), in random order."""
        self.serial += 1
        day = f"2022-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        return f"{self.rng.getrandbits(32):08x}-{day}:{self.serial:012x}:t{self.serial % 40}:en"

    def passages(self, n: int) -> tuple[list[str], list[str]]:
        ids = [self.new_id() for _ in range(n)]
        texts = [self.passage() for _ in range(n)]
        for i in self.rng.sample(range(n), n // 100):  # same text, another id: ties
            texts[i] = texts[self.rng.randrange(n)]
        return ids, texts

    def query(self) -> str | list[str]:
        kind = self.rng.random()
        if kind < 0.15:
            return self.rng.choice(self.places)
        words = " ".join(self.rng.choices(self.words, k=self.rng.randint(1, 4)))
        return [words, self.rng.choice(self.places)] if kind < 0.3 else words


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def new_from_rows(old_index: object, tokenizer: Tokenizer) -> new_module.LexicalIndex:
    """NEW holding OLD's passages, from OLD's row-major term counts (no re-tokenising): the
    path of `build` after tokenising (a tail of every passage, compacted)."""
    ids, vocab = old_index._ids, old_index._vocab  # type: ignore[attr-defined]
    ptr, terms, counts = old_index._ptr, old_index._terms, old_index._counts  # type: ignore[attr-defined]
    pos = np.zeros(len(ids), dtype=np.int64)
    tail = new_module._Tail(list(ids), pos, dict(vocab), ptr, terms, counts)
    index = new_module.LexicalIndex(tokenizer)
    index._state = new_module._compact(new_module._State(new_module._EMPTY_BASE, tail))
    return index


def same_results(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    return [d for d, _ in a] == [d for d, _ in b] and all(
        math.isclose(x, y, rel_tol=1e-9) for (_, x), (_, y) in zip(a, b, strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200_000, help="passages in the index")
    parser.add_argument("--queries", type=int, default=200, help="searches timed and compared")
    parser.add_argument("--changed", type=int, default=26, help="passages removed and added")
    parser.add_argument("--reloads", type=int, default=150, help="NEW: updates in a row")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--old", help="the OLD lexical.py as a file (default: --old-rev's)")
    parser.add_argument("--old-rev", default="main", help="git revision of the OLD lexical.py")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="words come from here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="bench_lexical", help="results/NAME.json")
    args = parser.parse_args()

    old_mod, old_label = old_module("retrieval/lexical.py", args.old, args.old_rev)
    start_line = machine_line()
    print(start_line)
    print(f"OLD: {old_label}\nNEW: {new_module.__file__}")
    corpus = Corpus(args.markdown, args.seed)
    ids, texts = corpus.passages(args.docs)
    queries = [corpus.query() for _ in range(args.queries)]
    concepts = [
        (corpus.rng.choice(corpus.words), [[corpus.rng.choice(corpus.places), " ".join(pair)]])
        for pair in (corpus.rng.choices(corpus.words, k=2) for _ in range(20))
    ]
    added_ids, added_texts = corpus.passages(args.changed)
    reload_batches = [corpus.passages(args.changed) for _ in range(args.reloads)]
    tokenizer = Tokenizer()

    start = time.perf_counter()
    built = old_mod.LexicalIndex(tokenizer)
    built.build(ids, texts)
    build_s = time.perf_counter() - start
    print(f"built {len(built):,} passages with OLD in {build_s:.1f} s (tokenising dominates)")

    rows: list[list[object]] = []
    figures: dict[str, dict[str, float]] = {}
    new_only: dict[str, float] = {}
    counts: set[str] = set()  # keys of new_only that are counts, not seconds
    mismatches: list[str] = []
    compared = [0]

    def record(name: str, old_s: float, new_s: float) -> None:
        figures[name] = {"old_s": old_s, "new_s": new_s, "ratio": new_s / old_s}
        rows.append([name, old_s * 1000, new_s * 1000, new_s / old_s])
        print(f"  {name}: old {old_s * 1000:.1f} ms, new {new_s * 1000:.1f} ms", flush=True)

    def compare(what: str, old_idx: object, new_idx: object) -> None:
        for q in queries:
            for allowed in (None, lambda d: d[-4] in "02468"):
                a, b = old_idx.search(q, 10, allowed), new_idx.search(q, 10, allowed)  # type: ignore[attr-defined]
                compared[0] += 1
                if not same_results(a, b):
                    mismatches.append(f"{what}: search {q!r}: {a[:3]} != {b[:3]}")
        for text, concept in concepts:
            a = old_idx.search_concepts(text, concept, 10)  # type: ignore[attr-defined]
            b = new_idx.search_concepts(text, concept, 10)  # type: ignore[attr-defined]
            compared[0] += 1
            if not same_results(a, b):
                mismatches.append(f"{what}: concepts {text!r} {concept}: {a[:3]} != {b[:3]}")

    with tempfile.TemporaryDirectory(prefix="bench_lexical_") as tmp:
        old_path, new_path = Path(tmp) / "old.npz", Path(tmp) / "new.npz"
        start = time.perf_counter()
        made = new_from_rows(built, tokenizer)
        new_only["NEW made from the term counts (build minus tokenising)"] = (
            time.perf_counter() - start
        )
        compare("NEW made from OLD's counts", built, made)
        record(
            "save",
            median_time(functools.partial(built.save, old_path), args.repeat),
            median_time(functools.partial(made.save, new_path), args.repeat),
        )
        print(f"  file size: old {old_path.stat().st_size:,} B, new {new_path.stat().st_size:,} B")
        del built, made  # free them before the loads
        old_load = median_time(lambda: old_mod.LexicalIndex.load(old_path, tokenizer), args.repeat)
        new_load = median_time(
            lambda: new_module.LexicalIndex.load(new_path, tokenizer), args.repeat
        )
        record("load", old_load, new_load)

        def first_search(module: ModuleType, path: Path) -> float:
            index = module.LexicalIndex.load(path, tokenizer)
            start = time.perf_counter()
            index.search(queries[0], 10)
            return time.perf_counter() - start

        old_first = statistics.median(first_search(old_mod, old_path) for _ in range(args.repeat))
        new_first = statistics.median(
            first_search(new_module, new_path) for _ in range(args.repeat)
        )
        record("first search after load", old_first, new_first)
        record("load + first search", old_load + old_first, new_load + new_first)

        old_idx = old_mod.LexicalIndex.load(old_path, tokenizer)
        new_idx = new_module.LexicalIndex.load(new_path, tokenizer)
        old_idx.search(queries[0], 10)
        new_idx.search(queries[0], 10)
        record(
            f"{len(queries)} searches",
            median_time(lambda: [old_idx.search(q, 10) for q in queries], args.repeat),
            median_time(lambda: [new_idx.search(q, 10) for q in queries], args.repeat),
        )
        record(
            f"{len(concepts)} search_concepts",
            median_time(
                lambda: [old_idx.search_concepts(t, c, 10) for t, c in concepts], args.repeat
            ),
            median_time(
                lambda: [new_idx.search_concepts(t, c, 10) for t, c in concepts], args.repeat
            ),
        )
        compare("loaded", old_idx, new_idx)

        # A snapshot update (IndexSnapshot._apply): copy, remove one report's passages, add its
        # new ones, then the next question. Timed on a fresh copy of the loaded index each run.
        removed = random.Random(args.seed).sample(ids, args.changed)

        def update(index: object, ops: str) -> tuple[float, float]:
            start = time.perf_counter()
            other = index.copy()  # type: ignore[attr-defined]
            if "remove" in ops:
                other.remove(removed)
            if "add" in ops:
                other.add(added_ids, added_texts)
            mid = time.perf_counter()
            other.search(queries[1], 10)
            return mid - start, time.perf_counter() - mid

        for ops, label in (
            ("remove add", f"remove {args.changed} + add {args.changed}"),
            ("add", f"add {args.changed}"),
            ("remove", f"remove {args.changed}"),
        ):
            old_runs = [update(old_idx, ops) for _ in range(args.repeat)]
            new_runs = [update(new_idx, ops) for _ in range(args.repeat)]
            old_change = statistics.median(r[0] for r in old_runs)
            new_change = statistics.median(r[0] for r in new_runs)
            old_next = statistics.median(r[1] for r in old_runs)
            new_next = statistics.median(r[1] for r in new_runs)
            record(f"copy + {label}", old_change, new_change)
            record("  next search", old_next, new_next)
            if ops == "remove add":
                record("  update + next search", old_change + old_next, new_change + new_next)
        record(
            "copy",
            median_time(old_idx.copy, args.repeat),
            median_time(new_idx.copy, args.repeat),
        )

        # NEW only: updates in a row, the tail growing until a compaction merges it.
        held = list(ids)
        rng = random.Random(args.seed + 1)
        chain: list[float] = []
        compactions = 0
        index = new_idx
        for batch_ids, batch_texts in reload_batches:
            gone = [held.pop(rng.randrange(len(held))) for _ in range(args.changed)]
            start = time.perf_counter()
            other = index.copy()
            other.remove(gone)
            other.add(batch_ids, batch_texts)
            other.search(queries[1], 10)
            chain.append(time.perf_counter() - start)
            compactions += other._state.base is not index._state.base
            held += batch_ids
            index = other
        if chain:
            chain_sorted = sorted(chain)
            new_only[f"{len(chain)} updates in a row: median"] = statistics.median(chain)
            new_only[f"{len(chain)} updates in a row: 90th percentile"] = chain_sorted[
                int(0.9 * (len(chain) - 1))
            ]
            new_only[f"{len(chain)} updates in a row: worst"] = chain_sorted[-1]
            new_only[f"{len(chain)} updates in a row: compactions"] = compactions
            state = index._state
            new_only["tail rows + dead rows at the end"] = state.tail.n_rows + state.n_dead
            counts |= {
                f"{len(chain)} updates in a row: compactions",
                "tail rows + dead rows at the end",
            }
            if not state.compact:
                new_only["compaction of that tail and dead rows"] = median_time(
                    lambda: new_module._compact(state), args.repeat
                )
        for old_index in (old_idx,):
            old_index.add(added_ids, added_texts)
            old_index.remove(removed)
            old_index.add(added_ids[:5], added_texts[5:10])  # re-added ids, new texts
        new_idx = new_idx.copy()
        new_idx.add(added_ids, added_texts)
        new_idx.remove(removed)
        new_idx.add(added_ids[:5], added_texts[5:10])
        compare("after add/remove", old_idx, new_idx)
        record(
            "save after add/remove",
            median_time(lambda: old_idx.save(old_path), args.repeat),
            median_time(lambda: new_idx.save(new_path), args.repeat),
        )
        reloaded = new_module.LexicalIndex.load(new_path, tokenizer)
        compare("NEW reloaded after add/remove", old_idx, reloaded)
        compare("NEW after updates in a row", old_from(held, index, old_mod, tokenizer), index)

    end_line = machine_line()
    print()
    print(table(rows, ["step", "old ms", "new ms", "new/old"]))
    print()
    print(
        table(
            [[k, v if k in counts else v * 1000] for k, v in new_only.items()],
            ["NEW only", "ms (or count)"],
        )
    )
    first = figures["first search after load"]["new_s"]
    update_s = figures["  update + next search"]["new_s"]
    print(
        f"\ntargets: first search after load {first * 1000:.1f} ms "
        f"(<= {FIRST_SEARCH_TARGET_S * 1000:.0f}: {'met' if first <= FIRST_SEARCH_TARGET_S else 'NOT met'}); "
        f"update + next search {update_s * 1000:.1f} ms "
        f"(<= {RELOAD_TARGET_S * 1000:.0f}: {'met' if update_s <= RELOAD_TARGET_S else 'NOT met'})"
    )
    print(f"\n{args.docs:,} passages; {compared[0]:,} results compared: ", end="")
    print("same" if not mismatches else f"{len(mismatches)} MISMATCHES")
    for line in mismatches[:20]:
        print("  " + line)
    print(start_line + "\n" + end_line)
    path = write_result(
        args.out,
        {
            "docs": args.docs,
            "changed": args.changed,
            "old": old_label,
            "figures": figures,
            "new_only": new_only,
            "mismatches": mismatches,
            "machine_start": start_line,
            "machine_end": end_line,
        },
    )
    print(f"wrote {path}")
    if mismatches:
        sys.exit(1)


def old_from(
    held: list[str], index: new_module.LexicalIndex, old_mod: ModuleType, tokenizer: Tokenizer
) -> object:
    """OLD holding what NEW holds after the updates in a row (from NEW's term counts)."""
    ids, vocab, ptr, terms, counts = index._csr()
    assert sorted(ids) == sorted(held)
    old_index = old_mod.LexicalIndex(tokenizer)
    old_index._vocab = dict(vocab)
    old_index._set_rows(list(ids), ptr, terms, counts.astype(np.int32))
    old_index._by_id = np.arange(len(ids), dtype=np.int64)  # _csr lists rows in id order
    return old_index


if __name__ == "__main__":
    main()
