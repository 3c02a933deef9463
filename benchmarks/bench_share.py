"""Inline answers and timeline charts: how long they take, beside the /topic answer they share
their search with, in the same run.

Inline (in process): for --queries inline queries, what the bot does once a query has settled
(bot.inline.inline_answer: /latest for an empty query, /topic's search for a name, the question
path for a question; then bot.telegram_format.inline_results) with the answer cache bypassed,
so every query searches. Queries: gazetteer names (places, people, units; their first Korean or
English form, half each), 5 % empty, 10 % questions of benchmarks/eval/questions.jsonl.
Baseline: the /topic answer for the same names (ReportQA.topic + render_answer), interleaved.
Also timed: a cache hit (bot.inline.ResultCache.get).

Inline (end to end): the real Application (bot.telegram_app.build_application, real handlers)
polling bot/fake_bot_api.py in the same process and event loop, as the e2e tests run it, with
inline_debounce=0: an inline_query update pushed -> the server received answerInlineQuery.
(In production the debounce adds its 0.3 s on purpose: it waits for the reader to stop typing.)

Timeline (end to end): "/timeline TERM" pushed -> the server received sendPhoto (ReportQA.timeline,
the matplotlib render, the multipart upload), for --charts terms (the most mentioned names),
after one cold chart (matplotlib's import and font registration, reported apart). Baseline:
"/topic TERM" pushed -> sendMessage, same terms, interleaved. Breakdown: qa.timeline and the
render alone, in process.

Store: --data-dir (a `reportbot --data-dir` store, read only). Results: a table on stdout and
benchmarks/results/bench_share.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path

import _common as common

TOKEN = "123456789:AAE-fake_token-for-the-share-benchmark-0123"


def gazetteer_names(qa, rng: random.Random) -> list[str]:
    names = []
    for entry in qa.gazetteer.entries:
        if entry.type not in ("place", "person", "unit", "region", "organisation"):
            continue
        forms = entry.ko if entry.ko and rng.random() < 0.5 else entry.en
        names.append(forms[0])
    rng.shuffle(names)
    return names


def eval_questions() -> list[str]:
    lines = common.QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


def inline_queries(qa, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names, questions = gazetteer_names(qa, rng), eval_questions()
    out = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.05:
            out.append("")
        elif roll < 0.15:
            out.append(rng.choice(questions))
        else:
            out.append(names[i % len(names)])
    return out


def time_in_process(qa, settings, queries: list[str]) -> dict:
    """Each query as inline mode answers it (search + inline results), and, interleaved, the
    chat answer of the same search as the baseline: /topic for a term /topic finds, the
    question's answer for the rest (the empty query's /latest has no separate baseline)."""
    from bot.inline import ResultCache, cache_key, inline_answer
    from bot.telegram_format import inline_results, render_answer

    inline: dict[str, list[float]] = {"all": [], "topic": [], "ask": [], "latest": []}
    baseline: dict[str, list[float]] = {"topic": [], "ask": []}
    hits = []
    cache = ResultCache(300, time.monotonic)
    for query in queries:
        start = time.perf_counter()
        answer = inline_answer(qa, query, None, settings.inline_results)
        results = inline_results(answer)
        took = time.perf_counter() - start
        path = answer.command if answer.command in ("topic", "latest") else "ask"
        inline["all"].append(took)
        inline[path].append(took)
        cache.put(cache_key(query, None), results, answer.lang)
        start = time.perf_counter()
        cache.get(cache_key(query, None))
        hits.append(time.perf_counter() - start)
        if path == "topic":
            start = time.perf_counter()
            render_answer(qa.topic(query))
            baseline["topic"].append(time.perf_counter() - start)
        elif path == "ask":
            start = time.perf_counter()
            render_answer(qa.ask(query))
            baseline["ask"].append(time.perf_counter() - start)
    out = {f"inline_{k}": common.summary_ms(v) for k, v in inline.items()}
    out.update({f"{k}_baseline": common.summary_ms(v) for k, v in baseline.items()})
    out["cache_hit"] = common.summary_ms(hits)
    return out


async def time_end_to_end(qa, settings, queries: list[str], terms: list[str]) -> dict:
    from pydantic import SecretStr

    from bot.fake_bot_api import FakeBotApi
    from bot.telegram_app import ALLOWED_UPDATES, build_application

    api = FakeBotApi(TOKEN, username="isw_bench_bot")
    await api.start()
    settings = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_api_base_url": api.base_url,
            "rate_limit_per_minute": 0,
            "global_rate_limit_per_minute": 0,
            "telegram_messages_per_second": 0,
            "inline_debounce": 0.0,
            "inline_cache_time": 0,  # every query searches
        }
    )
    app = build_application(settings, qa)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    user = iter(range(900_000, 10**7))
    try:
        inline = []
        for query in queries:
            pushed = time.perf_counter()
            query_id = api.push_inline_query(next(user), query)
            await api.wait_for(
                "answerInlineQuery", lambda p, q=query_id: p["inline_query_id"] == q, timeout=30
            )
            inline.append(time.perf_counter() - pushed)

        async def command(text: str, method: str) -> float:
            chat = next(user)
            pushed = time.perf_counter()
            api.push_text(chat, text)
            await api.wait_for(method, lambda p: p["chat_id"] == chat, timeout=60)
            return time.perf_counter() - pushed

        cold = await command(f"/timeline {terms[0]}", "sendPhoto")
        charts, topics, sizes = [], [], []
        for term in terms:
            topics.append(await command(f"/topic {term}", "sendMessage"))
            charts.append(await command(f"/timeline {term}", "sendPhoto"))
            sizes.append(len(api.calls_of("sendPhoto")[-1].params["photo"]))
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await api.stop()
    return {
        "inline_e2e": common.summary_ms(inline),
        "timeline_cold_ms": round(cold * 1000, 1),
        "timeline_e2e": common.summary_ms(charts),
        "topic_e2e_baseline": common.summary_ms(topics),
        "png_bytes_median": sorted(sizes)[len(sizes) // 2],
    }


def time_chart_parts(qa, terms: list[str]) -> dict:
    from bot.timeline_chart import render_timeline

    build, render = [], []
    for term in terms:
        start = time.perf_counter()
        timeline = qa.timeline(term)
        build.append(time.perf_counter() - start)
        start = time.perf_counter()
        render_timeline(timeline)
        render.append(time.perf_counter() - start)
    return {"qa_timeline": common.summary_ms(build), "render": common.summary_ms(render)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a reportbot store")
    parser.add_argument("--queries", type=int, default=500, help="inline queries timed")
    parser.add_argument("--e2e-queries", type=int, default=200, help="of them, end to end")
    parser.add_argument("--charts", type=int, default=20, help="timeline charts timed")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--out", default="bench_share")
    args = parser.parse_args()
    common.quiet_logs()

    from bot.settings import Settings
    from bot.wiring import build_qa, load_embedder, open_store

    before = common.machine()
    settings = Settings(_env_file=None, data_dir=args.data_dir)
    qa = build_qa(settings, open_store(settings), load_embedder(settings))
    stats = qa.stats()
    queries = inline_queries(qa, args.queries, args.seed)
    for query in queries[:20]:  # warm-up: first calls load lazy models
        qa.ask(query or "Avdiivka")
    in_process = time_in_process(qa, settings, queries)
    totals = {n: qa.timeline(n).total for n in gazetteer_names(qa, random.Random(args.seed))}
    terms = sorted((n for n in totals if totals[n]), key=lambda n: -totals[n])[: args.charts]
    end_to_end = asyncio.run(time_end_to_end(qa, settings, queries[: args.e2e_queries], terms))
    parts = time_chart_parts(qa, terms)
    data = {
        "machine_start": before,
        "machine_end": common.machine(),
        "store": {
            "reports": stats.reports,
            "takeaways": stats.takeaways,
            "dir": str(args.data_dir),
        },
        "terms": terms,
        **in_process,
        **end_to_end,
        **parts,
    }

    def row(what: str, key: str, target: str = "") -> list:
        fig = data[key]
        return [what, fig["n"], fig["p50_ms"], fig["p95_ms"], target]

    cold = data["timeline_cold_ms"]
    rows = [
        row("inline answer, in process, all", "inline_all", "≤ 100 ms p95"),
        row("  a name /topic finds", "inline_topic"),
        row("    baseline: the /topic answer", "topic_baseline"),
        row("  a question (or a name nothing mentions)", "inline_ask"),
        row("    baseline: the chat answer", "ask_baseline"),
        row("  empty query (/latest)", "inline_latest"),
        row("  cache hit", "cache_hit"),
        row("inline update -> answerInlineQuery (debounce 0)", "inline_e2e"),
        row("/timeline -> sendPhoto (render + send)", "timeline_e2e", "≤ 1000 ms"),
        ["  first chart of the process (cold)", 1, cold, cold, ""],
        row("  baseline: /topic -> sendMessage", "topic_e2e_baseline"),
        row("  qa.timeline", "qa_timeline"),
        row("  render (matplotlib)", "render"),
    ]
    print(common.machine_line(before))
    print(f"store: {stats.reports} reports, {stats.takeaways} takeaways ({args.data_dir})")
    print(common.table(rows, ["what", "n", "p50 ms", "p95 ms", "target"]))

    def ratio(a: str, b: str) -> str:
        return f"{data[a]['p95_ms'] / data[b]['p95_ms']:.2f}x"

    print(
        f"p95 ratios: inline topic path {ratio('inline_topic', 'topic_baseline')} the /topic "
        f"answer; inline question path {ratio('inline_ask', 'ask_baseline')} the chat answer; "
        f"chart {ratio('timeline_e2e', 'topic_e2e_baseline')} a /topic reply"
    )
    print(f"wrote {common.write_result(args.out, data)}")


if __name__ == "__main__":
    main()
