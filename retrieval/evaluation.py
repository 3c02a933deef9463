"""Recall@1, recall@5 and MRR of the answerer on a question set, beside a naive baseline."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from retrieval.models import Answer, Result
from retrieval.service import ReportQA
from store.embedding import Embedder
from store.vector_store import ReportStore


class Question(BaseModel):
    id: str
    kind: Literal["ask", "topic", "date", "latest"]
    lang: str
    query: str
    expect_dates: list[date]
    date_window_days: int = 0
    expect_terms: list[str] = Field(default_factory=list)
    answer_langs: list[str] = Field(default_factory=lambda: ["en"])

    def relevant(self, result: Result) -> bool:
        near = any(
            abs((result.report_date - d).days) <= self.date_window_days for d in self.expect_dates
        )
        if not near:
            return False
        if self.kind == "topic" and self.expect_terms:
            text = result.text.lower()
            return any(term.lower() in text for term in self.expect_terms)
        return True

    @property
    def group(self) -> str:
        """Korean questions whose answer exists only in English are reported on their own."""
        if self.lang == "ko" and self.answer_langs == ["en"]:
            return "ko→en"
        return self.lang


def load_questions(path: Path) -> list[Question]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Question.model_validate_json(line) for line in lines if line.strip()]


def first_relevant_rank(question: Question, answer: Answer) -> int | None:
    for rank, result in enumerate(answer.results, 1):
        if question.relevant(result):
            return rank
    return None


class Scores(BaseModel):
    n: int = 0
    hits_at_1: int = 0
    hits_at_5: int = 0
    reciprocal: float = 0.0
    # /topic precision: of the results shown for topic questions, how many mention the term.
    shown: int = 0
    mentioning: int = 0

    def add(self, rank: int | None) -> None:
        self.n += 1
        if rank is not None:
            self.hits_at_1 += rank == 1
            self.hits_at_5 += rank <= 5
            self.reciprocal += 1.0 / rank

    def add_shown(self, question: Question, answer: Answer) -> None:
        terms = [t.lower() for t in question.expect_terms]
        for result in answer.results:
            self.shown += 1
            self.mentioning += any(t in result.text.lower() for t in terms)

    def row(self) -> dict[str, float | int]:
        n = max(self.n, 1)
        row: dict[str, float | int] = {
            "n": self.n,
            "recall@1": round(self.hits_at_1 / n, 3),
            "recall@5": round(self.hits_at_5 / n, 3),
            "mrr": round(self.reciprocal / n, 3),
        }
        if self.shown:
            row["shown"] = self.shown
            row["precision"] = round(self.mentioning / self.shown, 3)
        return row


def answer_with(qa: ReportQA, question: Question, limit: int = 5) -> Answer:
    """The same code path the bot takes for each kind of question."""
    if question.kind == "topic":
        # /topic shows ten a page; its precision is over what the reader sees.
        return qa.topic(question.query, limit=max(limit, 10))
    if question.kind == "latest":
        return qa.latest(limit=limit, lang=question.lang)
    if question.kind == "date":
        answer = qa.on_date(question.query, limit=limit)
        return answer if answer.results else qa.ask(question.query, limit=limit)
    return qa.ask(question.query, limit=limit)


class DenseOnlyBaseline:
    """What a typical Telegram RAG bot ships: embed the question, take the nearest chunks, show
    them. Same model and store; no lexical side, no names, no dates, no takeaway mapping."""

    def __init__(self, store: ReportStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self.reports = store.reports()

    def answer(self, question: Question, limit: int = 5) -> Answer:
        vector = self.embedder.embed_queries([question.query])[0]
        hits = self.store.dense_search(vector, limit * 4)
        rows = self.store.chunks.get(
            ids=[cid for cid, _ in hits], include=["documents", "metadatas"]
        )
        by_id = dict(
            zip(
                rows["ids"],
                zip(rows["documents"] or [], rows["metadatas"] or [], strict=True),
                strict=True,
            )
        )
        results: list[Result] = []
        for cid, sim in hits:
            doc, meta = by_id[cid]
            entry = self.reports.get(str(meta["report_id"]))
            if entry is None or entry.version != meta["version"]:
                continue
            results.append(
                Result(
                    report_id=entry.report_id,
                    report_date=entry.report_date,
                    text=doc or "",
                    lang=str(meta["lang"]),
                    kind="takeaway" if meta["kind"] == "takeaway" else "passage",
                    report_title=entry.title,
                    source=entry.source,
                    score=sim,
                )
            )
        return Answer(
            command="ask", query=question.query, lang=question.lang, results=results[:limit]
        )


def evaluate(
    questions: Iterable[Question],
    systems: dict[str, Callable[[Question], Answer]],
    on_miss: Callable[[str, Question, Answer], None] | None = None,
) -> dict[str, dict[str, dict[str, float | int]]]:
    """{system: {group: scores}} with groups "all", each language, "ko→en" and "kind:<kind>"."""
    table: dict[str, dict[str, Scores]] = {name: defaultdict(Scores) for name in systems}
    for question in questions:
        for name, run in systems.items():
            answer = run(question)
            rank = first_relevant_rank(question, answer)
            if rank is None and on_miss is not None:
                on_miss(name, question, answer)
            groups = {"all", question.lang, question.group, f"kind:{question.kind}"}
            for group in groups:
                table[name][group].add(rank)
            if question.kind == "topic" and question.expect_terms:
                table[name]["kind:topic"].add_shown(question, answer)
    return {name: {g: s.row() for g, s in sorted(rows.items())} for name, rows in table.items()}


def format_table(scores: dict[str, dict[str, dict[str, float | int]]]) -> str:
    systems = list(scores)
    groups = sorted({g for rows in scores.values() for g in rows}, key=lambda g: (g != "all", g))
    header = f"{'group':<14}{'n':>5}" + "".join(
        f"  {s[:10] + ' R@1':>14}{'R@5':>7}{'MRR':>7}" for s in systems
    )
    lines = [header, "-" * len(header)]
    for g in groups:
        n = next(rows[g]["n"] for rows in scores.values() if g in rows)
        cells = ""
        for s in systems:
            row = scores[s].get(g, {"recall@1": 0, "recall@5": 0, "mrr": 0})
            cells += f"  {row['recall@1']:>14.3f}{row['recall@5']:>7.3f}{row['mrr']:>7.3f}"
        lines.append(f"{g:<14}{n:>5}{cells}")
    for s in systems:
        topic = scores[s].get("kind:topic", {})
        if "precision" in topic:
            lines.append(
                f"/topic precision, {s}: {topic['precision']:.3f} "
                f"({topic['shown']} results shown; share that mention the term)"
            )
    return "\n".join(lines)


def dump(scores: dict, path: Path) -> None:
    path.write_text(json.dumps(scores, ensure_ascii=False, indent=2), encoding="utf-8")
