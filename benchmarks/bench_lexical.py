"""LexicalIndex (retrieval/lexical.py) against another version of itself, in the same run.

Builds one index of N synthetic passages (words sampled from the corpus markdown files, so
term frequencies are Zipf-like as in real text, plus a long tail of made-up place names so the
vocabulary keeps growing with N; about 1% of the passages repeat another's text under another id,
so equal scores, ordered by id, occur), then times, for the OLD implementation (by default
`git show main:retrieval/lexical.py`, loaded as a module) and the NEW one (this checkout):

* save, load, first search after load (the CSC matrix build), 200 searches (plus 20
  `search_concepts`), add of 50 passages + the next search, remove of 50 + the next search,
  copy, save after those changes.

The NEW index is loaded from the file the OLD one saved first (the format is the same), then
saved and reloaded from its own file; every search is compared for identical ids and scores
(ties included). Timings are medians of `--repeat` runs, OLD and NEW interleaved, reported as
ratios new/old: the machine may be shared, so the load average is printed at start and end.

    python benchmarks/bench_lexical.py                 # 200,000 passages, ~3 min
    python benchmarks/bench_lexical.py --docs 20000    # quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from _common import REPO, machine_line, table, write_result

from retrieval import lexical as new_module
from retrieval.tokenize import Tokenizer

MARKDOWN = Path("/work/shared/corpus/markdown")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d+")
SYLLABLES = ["no", "vo", "pok", "ro", "vsk", "ka", "mi", "lo", "hra", "dy", "zar", "ivka", "ne"]


def old_module(path: str | None) -> tuple[ModuleType, str]:
    if path is None:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", "main:retrieval/lexical.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        tmp = Path(tempfile.mkdtemp(prefix="bench_lexical_")) / "old_lexical.py"
        tmp.write_text(source, "utf-8")
        path, label = str(tmp), "git show main:retrieval/lexical.py"
    else:
        label = path
    spec = importlib.util.spec_from_file_location("old_lexical", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, label


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200_000, help="passages in the index")
    parser.add_argument("--queries", type=int, default=200, help="searches timed and compared")
    parser.add_argument("--changed", type=int, default=50, help="passages added, then removed")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--old", help="the OLD lexical.py (default: main's, via git show)")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="words come from here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="bench_lexical", help="results/NAME.json")
    args = parser.parse_args()

    old_mod, old_label = old_module(args.old)
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
    tokenizer = Tokenizer()

    start = time.perf_counter()
    built = old_mod.LexicalIndex(tokenizer)
    built.build(ids, texts)
    build_s = time.perf_counter() - start
    print(f"built {len(built):,} passages with OLD in {build_s:.1f} s (tokenising dominates)")

    rows: list[list[object]] = []
    figures: dict[str, dict[str, float]] = {}
    mismatches: list[str] = []

    def record(name: str, old_s: float, new_s: float) -> None:
        figures[name] = {"old_s": old_s, "new_s": new_s, "ratio": new_s / old_s}
        rows.append([name, old_s * 1000, new_s * 1000, new_s / old_s])
        print(f"  {name}: old {old_s * 1000:.1f} ms, new {new_s * 1000:.1f} ms", flush=True)

    def compare(what: str, old_idx: object, new_idx: object) -> None:
        for q in queries:
            for allowed in (None, lambda d: d[-4] in "02468"):
                a, b = old_idx.search(q, 10, allowed), new_idx.search(q, 10, allowed)  # type: ignore[attr-defined]
                if a != b:
                    mismatches.append(f"{what}: search {q!r}: {a[:3]} != {b[:3]}")
        for text, concept in concepts:
            a = old_idx.search_concepts(text, concept, 10)  # type: ignore[attr-defined]
            b = new_idx.search_concepts(text, concept, 10)  # type: ignore[attr-defined]
            if a != b:
                mismatches.append(f"{what}: concepts {text!r} {concept}: {a[:3]} != {b[:3]}")

    with tempfile.TemporaryDirectory(prefix="bench_lexical_") as tmp:
        old_path, new_path = Path(tmp) / "old.npz", Path(tmp) / "new.npz"
        built.save(old_path)
        del built
        start = time.perf_counter()
        from_old_file = new_module.LexicalIndex.load(old_path, tokenizer)
        from_old_file._refresh()
        print(f"NEW read OLD's file + first search: {time.perf_counter() - start:.2f} s")
        old_idx = old_mod.LexicalIndex.load(old_path, tokenizer)
        compare("NEW from OLD's file", old_idx, from_old_file)
        # Saving an index loaded from the old file reorders its rows by id (the costly case).
        record(
            "save (rows reordered by id)",
            median_time(lambda: old_idx.save(old_path), args.repeat),
            median_time(lambda: from_old_file.save(new_path), args.repeat),
        )
        from_old_file = None  # free it before the next loads
        old_load = median_time(lambda: old_mod.LexicalIndex.load(old_path, tokenizer), args.repeat)
        new_load = median_time(
            lambda: new_module.LexicalIndex.load(new_path, tokenizer), args.repeat
        )
        record("load", old_load, new_load)

        def first_search(module: ModuleType, path: Path) -> Callable[[], object]:
            def run() -> object:
                index = module.LexicalIndex.load(path, tokenizer)
                start = time.perf_counter()
                index._refresh()
                return time.perf_counter() - start

            return run

        old_first = statistics.median(first_search(old_mod, old_path)() for _ in range(args.repeat))
        new_first = statistics.median(
            first_search(new_module, new_path)() for _ in range(args.repeat)
        )
        record("first search (_refresh)", old_first, new_first)
        record("load + first search", old_load + old_first, new_load + new_first)

        old_idx = old_mod.LexicalIndex.load(old_path, tokenizer)
        new_idx = new_module.LexicalIndex.load(new_path, tokenizer)
        old_idx._refresh()
        new_idx._refresh()
        record(
            f"{len(queries)} searches",
            median_time(lambda: [old_idx.search(q, 10) for q in queries], args.repeat),
            median_time(lambda: [new_idx.search(q, 10) for q in queries], args.repeat),
        )
        compare("loaded", old_idx, new_idx)

        # Add then remove: timed once per repeat on a fresh copy, the way the snapshot grows.
        def change(index: object, op: str) -> tuple[float, float]:
            other = index.copy()  # type: ignore[attr-defined]
            start = time.perf_counter()
            if op == "add":
                other.add(added_ids, added_texts)
            else:
                other.remove(corpus_removed)
            mid = time.perf_counter()
            other._refresh()
            return mid - start, time.perf_counter() - mid

        corpus_removed = random.Random(args.seed).sample(ids, args.changed)
        for op in ("add", "remove"):
            old_runs = [change(old_idx, op) for _ in range(args.repeat)]
            new_runs = [change(new_idx, op) for _ in range(args.repeat)]
            record(
                f"{op} {args.changed}",
                statistics.median(r[0] for r in old_runs),
                statistics.median(r[0] for r in new_runs),
            )
            record(
                f"  next search after {op}",
                statistics.median(r[1] for r in old_runs),
                statistics.median(r[1] for r in new_runs),
            )
        record(
            "copy",
            median_time(old_idx.copy, args.repeat),
            median_time(new_idx.copy, args.repeat),
        )
        for index in (old_idx, new_idx):
            index.add(added_ids, added_texts)
            index.remove(corpus_removed)
            index.add(added_ids[:5], added_texts[5:10])  # re-added ids, new texts
        compare("after add/remove", old_idx, new_idx)
        record(
            "save after add/remove",
            median_time(lambda: old_idx.save(old_path), args.repeat),
            median_time(lambda: new_idx.save(new_path), args.repeat),
        )
        reloaded = new_module.LexicalIndex.load(new_path, tokenizer)
        compare("NEW reloaded after add/remove", old_idx, reloaded)

    end_line = machine_line()
    print()
    print(table(rows, ["step", "old ms", "new ms", "new/old"]))
    print(f"\n{args.docs:,} passages; results compared: ", end="")
    print("identical" if not mismatches else f"{len(mismatches)} MISMATCHES")
    for line in mismatches[:20]:
        print("  " + line)
    print(start_line + "\n" + end_line)
    path = write_result(
        args.out,
        {
            "docs": args.docs,
            "old": old_label,
            "figures": figures,
            "mismatches": mismatches,
            "machine_start": start_line,
            "machine_end": end_line,
        },
    )
    print(f"wrote {path}")
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
