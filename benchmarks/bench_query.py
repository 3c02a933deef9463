"""Query latency in process (model loaded): real store, a synthetic 200k-chunk store, baseline.

Questions: the `query` of every line of benchmarks/eval/questions.jsonl plus generated variants
(first English / Korean forms of retrieval/data/gazetteer.json entries as /topic terms, question
templates around them, some with a date hint, and keyword pairs) up to --questions (default 600),
Korean and English mixed, shuffled with a fixed seed. Each goes through ReportQA the way the bot
sends it (ask / topic / date -> on_date, falling back to ask when no report / latest), then
bot.formatting.format_answer.

Figures: p50/p95/p99 of total latency (answer + formatting) and a breakdown. The components are
measured by calling them directly with the very inputs the real call passed them (captured by
thin wrappers around embedder.embed_queries, qa.catalog.vectors.search and qa.lexical.search_concepts):
  query embedding  embedder.embed_queries
  vector search    qa.catalog.vectors.search (exact, in-memory matrix of committed vectors)
  lexical search   qa.lexical.search_concepts (BM25, each named thing counted once)
  fusion+assembly  the rest of ask (measured inline: ask time minus the three calls above);
                   its vector look-ups (qa.catalog.vectors.vectors) are shown on their own
  formatting       bot.formatting.format_answer

Then the same against a synthetic store of --synthetic chunks (default 200,000; 0 skips): the
real chunks' embeddings (read from Chroma with include=["embeddings"]) plus small Gaussian noise,
renormalised, under report dates shifted by multiples of 300 days, written straight into a
separate Chroma store through ReportStore.write_report / save_entry (no re-embedding). It is
kept in --synthetic-dir and reused when it matches.

Finally the baseline on the same questions and the same real store: a naive pipeline,
SentenceTransformer(path) with default settings, model.encode("query: " + q) per question, no
caching, Chroma dense query only (retrieval.evaluation.DenseOnlyBaseline), run interleaved with
ours question by question so load swings hit both alike; our p50/p95 are printed as ratios.

The real store: --data-dir, else /tmp/full when it holds reports and no ingest is writing to it,
else /tmp/reportbot_bench_store (built from ../shared/seed + ../shared/corpus if empty; slow).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import _common as c

DEFAULT_FULL = Path("/tmp/full")
DEFAULT_BUILD = Path("/tmp/reportbot_bench_store")
MONTHS = "January February March April May June July August September October November December"

EN_TEMPLATES = {
    "place": "What happened near {x}?",
    "region": "What is the situation in {x}?",
    "river": "Did Russian forces cross the {x}?",
    "person": "What did {x} say?",
    "unit": "Where is the {x} fighting?",
    "organisation": "What did {x} do?",
    "equipment": "Who is sending {x} to Ukraine?",
    "event": "What happened with the {x}?",
}
KO_TEMPLATES = {
    "place": "{x} 근처에서 무슨 일이 있었어?",
    "region": "{x} 상황은 어때?",
    "river": "러시아군이 {x}을 건넜어?",
    "person": "{x}는 뭐라고 했어?",
    "unit": "{x}는 어디서 싸우고 있어?",
    "organisation": "{x}는 무엇을 했어?",
    "equipment": "{x} 지원 소식 알려줘",
    "event": "{x} 관련 소식 알려줘",
}


# ---------------------------------------------------------------- questions


def build_questions(target: int, seed: int) -> list[dict]:
    """[{kind, lang, query, source}] with every eval question plus generated variants."""
    rng = random.Random(seed)
    out = []
    for line in c.QUESTIONS.read_text("utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            out.append({"kind": q["kind"], "lang": q["lang"], "query": q["query"], "src": "eval"})
    gaz = json.loads((c.REPO / "retrieval" / "data" / "gazetteer.json").read_text("utf-8"))
    cats: dict[str, list[dict]] = defaultdict(list)
    for e in gaz:
        en = e["en"][0]
        ko = e["ko"][0] if e.get("ko") else None
        typ = e.get("type", "place")
        cats["topic-en"].append({"kind": "topic", "lang": "en", "query": en})
        cats["ask-en"].append(
            {"kind": "ask", "lang": "en", "query": EN_TEMPLATES.get(typ, "{x}").format(x=en)}
        )
        year = rng.choice([2022, 2023, 2024, 2025])
        month = rng.randrange(1, 13)
        cats["ask-en-dated"].append(
            {
                "kind": "ask",
                "lang": "en",
                "query": f"{en} in {MONTHS.split()[month - 1]} {year}",
            }
        )
        if ko:
            cats["topic-ko"].append({"kind": "topic", "lang": "ko", "query": ko})
            cats["ask-ko"].append(
                {"kind": "ask", "lang": "ko", "query": KO_TEMPLATES.get(typ, "{x}").format(x=ko)}
            )
            cats["ask-ko-dated"].append(
                {"kind": "ask", "lang": "ko", "query": f"{year}년 {month}월 {ko} 상황"}
            )
    with_ko = [e for e in gaz if e.get("ko")]
    for _ in range(len(gaz)):
        a, b = rng.sample(gaz, 2)
        cats["pair-en"].append({"kind": "ask", "lang": "en", "query": f"{a['en'][0]} {b['en'][0]}"})
        a, b = rng.sample(with_ko, 2)
        cats["pair-ko"].append({"kind": "ask", "lang": "ko", "query": f"{a['ko'][0]} {b['ko'][0]}"})
    for rows in cats.values():
        rng.shuffle(rows)
    names = sorted(cats)
    i = 0
    while len(out) < target and any(cats.values()):
        rows = cats[names[i % len(names)]]
        if rows:
            row = rows.pop()
            row["src"] = names[i % len(names)]
            out.append(row)
        i += 1
    rng.shuffle(out)
    return out


# ---------------------------------------------------------------- instrumentation


class Probe:
    """Wraps a bound method: times every call made through it and keeps its arguments, so the
    same call can be repeated directly afterwards."""

    def __init__(self, obj, name: str) -> None:
        self.obj, self.name = obj, name
        self.inner = getattr(obj, name)
        self.calls: list[tuple[tuple, dict, float]] = []
        setattr(obj, name, self)

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.calls.append((args, kwargs, time.perf_counter() - t0))

    def take(self) -> list[tuple[tuple, dict, float]]:
        calls, self.calls = self.calls, []
        return calls

    def direct(self, calls: list[tuple[tuple, dict, float]]) -> float:
        """Repeat the captured calls on the real method; seconds in total."""
        total = 0.0
        for args, kwargs, _ in calls:
            t0 = time.perf_counter()
            self.inner(*args, **kwargs)
            total += time.perf_counter() - t0
        return total

    def remove(self) -> None:
        setattr(self.obj, self.name, self.inner)
        if getattr(self.obj, self.name) is not self.inner:  # instance attribute shadowed a method
            delattr(self.obj, self.name)


def answer(qa, q: dict):
    kind, text = q["kind"], q["query"]
    if kind == "topic":
        return qa.topic(text)
    if kind == "latest":
        return qa.latest(lang=q["lang"])
    if kind == "date":
        ans = qa.on_date(text)
        return ans if ans.results else qa.ask(text)
    return qa.ask(text)


def summarise(rows: list[dict]) -> dict:
    searched = [r for r in rows if r["searched"]]
    out = {
        "questions": len(rows),
        "by_kind": {
            k: sum(1 for r in rows if r["kind"] == k) for k in sorted({r["kind"] for r in rows})
        },
        "by_lang": {
            k: sum(1 for r in rows if r["lang"] == k) for k in sorted({r["lang"] for r in rows})
        },
        "total": c.summary_ms([r["total_s"] for r in rows]),
        "total_ask_path": c.summary_ms([r["total_s"] for r in searched]),
        "total_topic": c.summary_ms([r["total_s"] for r in rows if r["kind"] == "topic"]),
        "total_en": c.summary_ms([r["total_s"] for r in rows if r["lang"] == "en"]),
        "total_ko": c.summary_ms([r["total_s"] for r in rows if r["lang"] == "ko"]),
        "formatting": c.summary_ms([r["format_s"] for r in rows]),
        "fusion_assembly_inline": c.summary_ms([r["rest_s"] for r in searched]),
        "store_vectors_inline": c.summary_ms([r["inline"]["vectors"] for r in searched]),
    }
    for k in ("embed", "dense", "lexical"):
        out[f"{k}_inline"] = c.summary_ms([r["inline"][k] for r in searched])
        direct = [r["direct"][k] for r in searched if "direct" in r]
        if direct:
            out[f"{k}_direct"] = c.summary_ms(direct)
    return out


def measure_pair(qa, baseline, questions: list[dict], warmup: int) -> tuple[dict, dict]:
    """Ours (with components) and the baseline, alternating question by question; the probes
    must be installed (install_probes)."""
    from bot.formatting import format_answer
    from retrieval.evaluation import Question

    def as_question(q: dict) -> Question:
        return Question(id="b", kind="ask", lang=q["lang"], query=q["query"], expect_dates=[])

    for q in questions[:warmup]:
        format_answer(baseline.answer(as_question(q)))
    base_rows, probes_rows = [], []
    for q in questions:
        r = measure_ours_row(qa, q)
        probes_rows.append(r)
        qq = as_question(q)
        t0 = time.perf_counter()
        ans = baseline.answer(qq)
        t1 = time.perf_counter()
        format_answer(ans)
        t2 = time.perf_counter()
        base_rows.append(
            {"kind": q["kind"], "lang": q["lang"], "total_s": t2 - t0, "answer_s": t1 - t0}
        )
    ours = summarise(probes_rows)
    base = {
        "questions": len(base_rows),
        "total": c.summary_ms([r["total_s"] for r in base_rows]),
        "total_ask_path": c.summary_ms(
            [b["total_s"] for b, o in zip(base_rows, probes_rows, strict=True) if o["searched"]]
        ),
        "total_en": c.summary_ms([r["total_s"] for r in base_rows if r["lang"] == "en"]),
        "total_ko": c.summary_ms([r["total_s"] for r in base_rows if r["lang"] == "ko"]),
    }
    return ours, base


_PROBES: dict = {}


def install_probes(qa) -> dict:
    return {
        "embed": Probe(qa.embedder, "embed_queries"),
        "dense": Probe(qa.catalog.vectors, "search"),
        "lexical": Probe(qa.lexical, "search_concepts"),
        "vectors": Probe(qa.catalog.vectors, "vectors"),
    }


def measure_ours_row(qa, q: dict) -> dict:
    from bot.formatting import format_answer

    probes = _PROBES[id(qa)]
    for p in probes.values():
        p.take()
    t0 = time.perf_counter()
    ans = answer(qa, q)
    t1 = time.perf_counter()
    format_answer(ans)
    t2 = time.perf_counter()
    calls = {k: p.take() for k, p in probes.items()}
    inline = {k: sum(x[2] for x in v) for k, v in calls.items()}
    row = {
        "kind": q["kind"],
        "lang": q["lang"],
        "answer_s": t1 - t0,
        "format_s": t2 - t1,
        "total_s": t2 - t0,
        "results": len(ans.results),
        "searched": bool(calls["embed"] or calls["lexical"]),
        "inline": inline,
        "rest_s": (t1 - t0) - inline["embed"] - inline["dense"] - inline["lexical"],
    }
    if row["searched"]:
        row["direct"] = {k: probes[k].direct(calls[k]) for k in ("embed", "dense", "lexical")}
    return row


def run_ours(qa, questions: list[dict], warmup: int) -> dict:
    from bot.formatting import format_answer

    for q in questions[:warmup]:
        format_answer(answer(qa, q))
    _PROBES[id(qa)] = install_probes(qa)
    try:
        return summarise([measure_ours_row(qa, q) for q in questions])
    finally:
        for p in _PROBES.pop(id(qa)).values():
            p.remove()


# ---------------------------------------------------------------- baseline


class NaiveEmbedder:
    """The naive pipeline's query side: SentenceTransformer(path) with default settings and
    model.encode("query: " + q) per question, no batching, no caching."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(path)
        self.name = "naive"
        self.dim = int(self.model.get_sentence_embedding_dimension() or 0)

    def embed_queries(self, texts: list[str]):
        import numpy as np

        return np.stack([self.model.encode("query: " + t) for t in texts])

    def embed_passages(self, texts: list[str], batch_size: int = 32):
        raise NotImplementedError


# ---------------------------------------------------------------- stores


def ingest_running(data_dir: Path) -> list[str]:
    """Command lines of other processes that ingest into data_dir (we only read from it)."""
    found = []
    target = str(data_dir.resolve())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == __import__("os").getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (
            " ingest" in cmd
            and (target in cmd or str(data_dir) in cmd)
            or ("reindex" in cmd and str(data_dir) in cmd)
        ):
            found.append(f"{proc.name}: {cmd.strip()}")
    return found


def committed_reports(data_dir: Path) -> int:
    from bot.settings import Settings
    from bot.wiring import open_store

    if not (data_dir / "chroma").exists():
        return 0
    try:
        return len(open_store(Settings(data_dir=data_dir)).reports())
    except Exception:  # noqa: BLE001 - any unreadable store counts as absent
        return 0


def choose_store(arg: Path | None, allow_busy: bool) -> Path:
    if arg is not None:
        chosen = arg
    elif DEFAULT_FULL.exists() and committed_reports(DEFAULT_FULL) > 0:
        chosen = DEFAULT_FULL
    else:
        chosen = DEFAULT_BUILD
    busy = ingest_running(chosen)
    if busy and not allow_busy:
        sys.exit(
            f"an ingest is writing to {chosen} right now:\n  "
            + "\n  ".join(busy)
            + "\nwait for it (figures on a half-built store mean little) or pass --allow-busy"
        )
    return chosen


def ensure_built(data_dir: Path, embedder) -> None:
    from bot.settings import Settings
    from bot.wiring import open_store
    from store.ingest import ingest

    store = open_store(Settings(data_dir=data_dir))
    if store.reports():
        return
    print(f"{data_dir} is empty: ingesting {c.SEED} and {c.CORPUS} (several minutes)", flush=True)
    print(ingest([c.SEED, c.CORPUS], store, embedder, progress=True).line(), flush=True)


def build_synthetic(real, target: int, synth_dir: Path, noise: float, seed: int, rebuild: bool):
    """A ReportStore of >= target chunks made of noisy copies of the real ones (no embedding)."""
    import numpy as np

    from bot.settings import Settings
    from bot.wiring import open_store
    from store.records import Chunk, ReportEntry

    reports = real.reports()
    n_real = real.chunks.count()
    copies = max(1, math.ceil(target / max(1, n_real)))
    stamp = {
        "source_dir": "?",
        "source_chunks": n_real,
        "source_reports": len(reports),
        "target": target,
        "copies": copies,
        "noise": noise,
        "seed": seed,
        "shift_days": 1500,
    }
    meta_path = synth_dir / "bench_synthetic.json"
    if not rebuild and meta_path.exists():
        old = json.loads(meta_path.read_text())
        store = open_store(Settings(data_dir=synth_dir))
        if {k: old.get(k) for k in stamp if k != "source_dir"} == {
            k: v for k, v in stamp.items() if k != "source_dir"
        }:
            # The recipe decides, not the row count: a benchmark that committed and removed a
            # report (bench_cold_start's reload) leaves Chroma's count a little off, and a
            # count check once deleted a 205,000-chunk store that took 13 minutes to build.
            print(f"reusing synthetic store {synth_dir} ({old['chunks']} chunks)", flush=True)
            return store, old
        store.close()
        sys.exit(
            f"{synth_dir} holds a synthetic store made with other settings ({meta_path}); "
            "pass --rebuild-synthetic to replace it, or another --synthetic-dir"
        )
    if synth_dir.exists() and any(synth_dir.iterdir()) and not rebuild:
        sys.exit(f"{synth_dir} is not empty and holds no {meta_path.name}: refusing to replace it")
    if synth_dir.exists():
        import shutil

        shutil.rmtree(synth_dir)
    t_start = time.perf_counter()
    print(f"reading {n_real} chunks with embeddings from the real store", flush=True)
    ids, docs, metas, embs = [], [], [], []
    for offset in range(0, n_real, 5000):
        rows = real.chunks.get(
            include=["embeddings", "documents", "metadatas"], limit=5000, offset=offset
        )
        for cid, doc, meta, emb in zip(
            rows["ids"], rows["documents"], rows["metadatas"], rows["embeddings"], strict=True
        ):
            entry = reports.get(str(meta["report_id"]))
            if entry is None or entry.version != meta["version"]:
                continue  # uncommitted leftovers
            ids.append(cid)
            docs.append(doc or "")
            metas.append(dict(meta))
            embs.append(np.asarray(emb, dtype=np.float32))
    base = np.vstack(embs)
    by_report: dict[str, list[int]] = defaultdict(list)
    for i, meta in enumerate(metas):
        by_report[str(meta["report_id"])].append(i)
    rng = np.random.default_rng(seed)
    store = open_store(Settings(data_dir=synth_dir))
    written = 0
    # Copy 0 is the real store itself; copy j shifts every date by j * 1500 days (a multiple of
    # 300 beyond the corpus's ~1,450-day span, so no two reports share a date).
    need = math.ceil(target / len(ids))
    for j in range(need):
        shift = timedelta(days=1500 * j)
        vecs = base if j == 0 else base + rng.normal(0.0, noise, base.shape).astype(np.float32)
        vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        chunks, entries = [], []
        for rid, idx in by_report.items():
            old = reports[rid]
            day = old.report_date + shift
            new_rid = rid.rsplit("-", 3)[0] + "-" + day.isoformat() if j else rid
            version = old.version if j == 0 else f"{old.version[:50]}s{j:04d}"
            entries.append(
                old.model_copy(
                    update={"report_id": new_rid, "version": version, "report_date": day}
                )
            )
            for i in idx:
                ch = Chunk.from_row(docs[i], metas[i])
                chunks.append(
                    ch.model_copy(
                        update={"report_id": new_rid, "version": version, "report_date": day}
                    )
                )
        order = [i for idx in by_report.values() for i in idx]
        # One write_report per copy (chunks upserted in Chroma's max batch), then the manifest
        # rows of that copy's reports: the copy becomes visible as a whole.
        first = entries[0]
        store.write_report(first, chunks, vecs[order])
        for entry in entries[1:]:
            store.save_entry(entry)
        assert isinstance(first, ReportEntry)
        written += len(chunks)
        print(
            f"  synthetic copy {j + 1}/{need}: {written} chunks "
            f"({time.perf_counter() - t_start:.0f} s, load {c.loadavg()[0]})",
            flush=True,
        )
    info = {
        **stamp,
        "chunks": store.chunks.count(),
        "reports": len(store.reports()),
        "build_s": round(time.perf_counter() - t_start, 1),
    }
    meta_path.write_text(json.dumps(info, indent=2))
    return store, info


# ---------------------------------------------------------------- output


def rows_for(label: str, s: dict) -> list[list[object]]:
    def r(name: str, key: str) -> list[object]:
        m = s.get(key) or {}
        return [f"{label} {name}", m.get("n", 0), m.get("p50_ms"), m.get("p95_ms"), m.get("p99_ms")]

    return [
        r("total (all kinds)", "total"),
        r("total, ask path", "total_ask_path"),
        r("total, topic", "total_topic"),
        r("total, English", "total_en"),
        r("total, Korean", "total_ko"),
        r("  query embedding", "embed_direct"),
        r("  vector search", "dense_direct"),
        r("  lexical search", "lexical_direct"),
        r("  fusion+assembly", "fusion_assembly_inline"),
        r("    of which vector look-ups", "store_vectors_inline"),
        r("  formatting", "formatting"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, help="the real store (see above for the default)")
    ap.add_argument("--questions", type=int, default=600, help="at least this many questions")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--synthetic", type=int, default=200_000, help="chunks; 0 = skip")
    ap.add_argument("--synthetic-dir", type=Path, help="default /tmp/reportbot_bench_synth_N")
    ap.add_argument("--synthetic-questions", type=int, help="default: same as --questions")
    ap.add_argument("--rebuild-synthetic", action="store_true")
    ap.add_argument("--noise", type=float, default=0.01, help="sigma per dimension")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--allow-busy", action="store_true", help="read a store being ingested into")
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile N ask questions with pyinstrument (real, and synthetic if built) "
        "into results/NAME_profile_*.txt",
    )
    ap.add_argument("--out", default="bench_query", help="results/NAME.json")
    args = ap.parse_args()
    c.quiet_logs()
    start_machine = c.machine()
    print(c.machine_line(start_machine), flush=True)

    from bot.settings import Settings
    from bot.wiring import build_qa, load_embedder, open_store
    from retrieval.evaluation import DenseOnlyBaseline
    from store.embedding import resolve_model_path

    data_dir = choose_store(args.data_dir, args.allow_busy)
    settings = Settings(data_dir=data_dir)
    t0 = time.perf_counter()
    embedder = load_embedder(settings)
    model_s = time.perf_counter() - t0
    ensure_built(data_dir, embedder)
    store = open_store(settings)
    t0 = time.perf_counter()
    qa = build_qa(settings, store, embedder)
    qa_s = time.perf_counter() - t0
    stats = qa.stats()
    print(
        f"real store {data_dir}: {stats.reports} reports, {len(qa.catalog.chunks)} chunks "
        f"({stats.oldest} … {stats.newest}); model load {model_s:.1f} s, ReportQA build "
        f"{qa_s:.1f} s",
        flush=True,
    )
    questions = build_questions(args.questions, args.seed)
    mix = defaultdict(int)
    for q in questions:
        mix[f"{q['kind']}/{q['lang']}"] += 1
    print(f"{len(questions)} questions: {dict(sorted(mix.items()))}", flush=True)

    result: dict = {
        "real_store": {
            "data_dir": str(data_dir),
            "reports": stats.reports,
            "chunks": len(qa.catalog.chunks),
            "model_load_s": round(model_s, 2),
            "qa_build_s": round(qa_s, 2),
        },
        "questions": {"n": len(questions), "mix": dict(mix)},
    }

    # ---- real store, ours + baseline interleaved ------------------------------------------
    load_real = [c.loadavg()]
    if args.no_baseline:
        ours = run_ours(qa, questions, args.warmup)
        base = None
    else:
        naive = NaiveEmbedder(resolve_model_path(settings.embedding_model, settings.model_cache))
        baseline = DenseOnlyBaseline(store, naive)
        for q in questions[: args.warmup]:
            answer(qa, q)
        _PROBES[id(qa)] = install_probes(qa)
        try:
            ours, base = measure_pair(qa, baseline, questions, args.warmup)
        finally:
            for p in _PROBES.pop(id(qa)).values():
                p.remove()
    load_real.append(c.loadavg())
    result["real"] = ours
    result["real"]["loadavg_start_end"] = load_real
    result["real"]["peak_rss_mib"] = c.peak_rss_mib()
    if base is not None:
        result["baseline"] = base
        result["ratio_to_baseline"] = {
            "p50_all": round(ours["total"]["p50_ms"] / base["total"]["p50_ms"], 2),
            "p95_all": round(ours["total"]["p95_ms"] / base["total"]["p95_ms"], 2),
            "p50_ask_path": round(
                ours["total_ask_path"]["p50_ms"] / base["total_ask_path"]["p50_ms"], 2
            ),
            "p95_ask_path": round(
                ours["total_ask_path"]["p95_ms"] / base["total_ask_path"]["p95_ms"], 2
            ),
        }
    if args.profile:
        result["real"]["profile"] = profile(qa, questions, args.profile, f"{args.out}_profile_real")

    # ---- synthetic store ----------------------------------------------------------------------
    if args.synthetic:
        synth_dir = args.synthetic_dir or Path(f"/tmp/reportbot_bench_synth_{args.synthetic}")
        sstore, info = build_synthetic(
            store, args.synthetic, synth_dir, args.noise, args.seed, args.rebuild_synthetic
        )
        info["source_dir"] = str(data_dir)
        t0 = time.perf_counter()
        sqa = build_qa(Settings(data_dir=synth_dir), sstore, embedder)
        sqa_s = time.perf_counter() - t0
        print(
            f"synthetic store {synth_dir}: {len(sqa.catalog.reports)} reports, "
            f"{len(sqa.catalog.chunks)} chunks; ReportQA build {sqa_s:.1f} s",
            flush=True,
        )
        sq = questions[: args.synthetic_questions] if args.synthetic_questions else questions
        load_s = [c.loadavg()]
        synth = run_ours(sqa, sq, args.warmup)
        load_s.append(c.loadavg())
        synth["loadavg_start_end"] = load_s
        synth["store"] = {**info, "qa_build_s": round(sqa_s, 2)}
        synth["peak_rss_mib"] = c.peak_rss_mib()
        result["synthetic"] = synth
        if args.profile:
            synth["profile"] = profile(sqa, sq, args.profile, f"{args.out}_profile_synthetic")

    # ---- output -------------------------------------------------------------------------------
    end_machine = c.machine()
    rows = rows_for("real", ours)
    if base is not None:
        rows += [
            [
                "baseline total (all)",
                base["total"]["n"],
                base["total"]["p50_ms"],
                base["total"]["p95_ms"],
                base["total"]["p99_ms"],
            ],
            [
                "baseline total, ask path",
                base["total_ask_path"]["n"],
                base["total_ask_path"]["p50_ms"],
                base["total_ask_path"]["p95_ms"],
                base["total_ask_path"]["p99_ms"],
            ],
        ]
    if "synthetic" in result:
        rows += rows_for("synth", result["synthetic"])
    print()
    print(c.table(rows, ["latency (ms)", "n", "p50", "p95", "p99"]))
    if base is not None:
        r = result["ratio_to_baseline"]
        print(
            f"ours / baseline: p50 {r['p50_all']}x, p95 {r['p95_all']}x (all questions); "
            f"ask path p50 {r['p50_ask_path']}x, p95 {r['p95_ask_path']}x"
        )
    print(f"real store: {result['real_store']}")
    if "synthetic" in result:
        print(f"synthetic store: {result['synthetic']['store']}")
    print(f"peak RSS {c.peak_rss_mib()} MiB")
    print(c.machine_line(start_machine) + " (start)")
    print(c.machine_line(end_machine) + " (end)")
    path = c.write_result(
        args.out,
        {
            "benchmark": "bench_query",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine_start": start_machine,
            "machine_end": end_machine,
            "results": result,
        },
    )
    print(f"wrote {path}")
    return 0


def profile(qa, questions: list[dict], n: int, name: str) -> str:
    """pyinstrument over n ask-path questions; the text report goes to results/NAME.txt."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "pyinstrument not installed (pip install pyinstrument)"
    asks = [q for q in questions if q["kind"] == "ask"][:n]
    prof = Profiler(interval=0.001)
    prof.start()
    for q in asks:
        answer(qa, q)
    prof.stop()
    text = prof.output_text(unicode=True, color=False, show_all=False)
    c.RESULTS.mkdir(parents=True, exist_ok=True)
    path = c.RESULTS / f"{name}.txt"
    path.write_text(text, "utf-8")
    print(f"profile of {len(asks)} ask questions -> {path}", flush=True)
    return str(path.relative_to(c.REPO))


if __name__ == "__main__":
    sys.exit(main())
