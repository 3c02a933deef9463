"""The words around the answers, in the user's language (report text itself is never translated)."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "report_of": "Report of {date}",
        "takeaway": "Key takeaway",
        "passage": "From the report",
        "supporting": "Supporting text",
        "also_reported": "Also in {count} earlier report(s): {dates}",
        "source": "Source",
        "no_match": "I found no takeaway that answers this. Try other words, a place name in "
        "English, a date, or /latest.",
        "no_match_in_dates": "No takeaway in those dates answers this. Try a wider date range or "
        "drop the date.",
        "no_topic": "No takeaway mentions “{query}”. Check the spelling, try the English name, or "
        "use /latest.",
        "bad_date": "I could not read a date in “{query}”. Try 2024-01-26 or January 26, 2024.",
        "empty_store": "No reports are loaded yet. Run `reportbot ingest PATH` first.",
        "nearest": "There is no report for that date; this is the nearest one ({date}).",
        "no_takeaways": "This report has no Key Takeaways section; here is how it opens.",
        "only_english": "",
        "more": "More",
        "error": "Sorry, something went wrong while answering. Please try again.",
        "rate_limited": "You are asking very fast. Please wait {seconds} seconds.",
        "not_allowed": "This bot is private.",
    },
    "ko": {
        "report_of": "{date} 보고서",
        "takeaway": "핵심 요점",
        "passage": "보고서 본문",
        "supporting": "근거 문단",
        "also_reported": "이전 보고서 {count}건에도 같은 내용: {dates}",
        "source": "출처",
        "no_match": "이 질문에 답하는 핵심 요점을 찾지 못했습니다. 다른 단어, 영어 지명, 날짜를 "
        "넣어 보거나 /latest 를 써 보세요.",
        "no_match_in_dates": "그 기간의 보고서에는 답이 없습니다. 기간을 넓히거나 날짜를 빼 보세요.",
        "no_topic": "“{query}”을(를) 언급한 핵심 요점이 없습니다. 철자나 영어 이름을 확인하거나 "
        "/latest 를 써 보세요.",
        "bad_date": "“{query}”에서 날짜를 읽지 못했습니다. 2024-01-26 또는 2024년 1월 26일처럼 "
        "써 주세요.",
        "empty_store": "아직 불러온 보고서가 없습니다. 먼저 `reportbot ingest 경로` 를 실행하세요.",
        "nearest": "그 날짜의 보고서가 없어 가장 가까운 {date} 보고서를 보여 드립니다.",
        "no_takeaways": "이 보고서에는 핵심 요점 항목이 없어 첫 문단을 보여 드립니다.",
        "only_english": "(원문 영어)",
        "more": "더 보기",
        "error": "죄송합니다. 답하는 중에 문제가 생겼습니다. 다시 시도해 주세요.",
        "rate_limited": "질문이 너무 빠릅니다. {seconds}초 후에 다시 시도해 주세요.",
        "not_allowed": "비공개 봇입니다.",
    },
    "uk": {
        "report_of": "Звіт за {date}",
        "takeaway": "Головний висновок",
        "passage": "Зі звіту",
        "supporting": "Підтвердження",
        "also_reported": "Також у {count} попередніх звітах: {dates}",
        "source": "Джерело",
        "no_match": "Не знайшов висновку, що відповідає на це. Спробуйте інші слова, дату або "
        "/latest.",
        "no_match_in_dates": "У звітах за ці дати відповіді немає. Розширте проміжок дат.",
        "no_topic": "Жоден висновок не згадує «{query}». Перевірте написання або спробуйте "
        "англійську назву.",
        "bad_date": "Не вдалося прочитати дату в «{query}». Спробуйте 2024-01-26.",
        "empty_store": "Звіти ще не завантажено.",
        "nearest": "Звіту за цю дату немає; ось найближчий ({date}).",
        "no_takeaways": "У цьому звіті немає розділу Key Takeaways; ось його початок.",
        "only_english": "(англійською)",
        "more": "Більше",
        "error": "Вибачте, сталася помилка. Спробуйте ще раз.",
        "rate_limited": "Забагато запитів. Зачекайте {seconds} с.",
        "not_allowed": "Це приватний бот.",
    },
    "ru": {
        "report_of": "Отчёт за {date}",
        "takeaway": "Главный вывод",
        "passage": "Из отчёта",
        "supporting": "Подтверждение",
        "also_reported": "Также в {count} предыдущих отчётах: {dates}",
        "source": "Источник",
        "no_match": "Не нашёл вывода, отвечающего на это. Попробуйте другие слова, дату или "
        "/latest.",
        "no_match_in_dates": "В отчётах за эти даты ответа нет. Расширьте диапазон дат.",
        "no_topic": "Ни один вывод не упоминает «{query}». Проверьте написание или попробуйте "
        "английское название.",
        "bad_date": "Не удалось прочитать дату в «{query}». Попробуйте 2024-01-26.",
        "empty_store": "Отчёты ещё не загружены.",
        "nearest": "Отчёта за эту дату нет; вот ближайший ({date}).",
        "no_takeaways": "В этом отчёте нет раздела Key Takeaways; вот его начало.",
        "only_english": "(на английском)",
        "more": "Ещё",
        "error": "Извините, произошла ошибка. Попробуйте ещё раз.",
        "rate_limited": "Слишком много запросов. Подождите {seconds} с.",
        "not_allowed": "Это частный бот.",
    },
}


def label(lang: str, key: str, **values: object) -> str:
    """A label in `lang`, falling back to English for languages we have no words for."""
    table = LABELS.get(lang, LABELS["en"])
    return table.get(key, LABELS["en"][key]).format(**values)


def note_text(lang: str, note: str | None, query: str = "") -> str | None:
    """Render an Answer.note ("nearest:2024-01-26", "no_match", ...) for people."""
    if not note:
        return None
    key, _, arg = note.partition(":")
    if key not in LABELS["en"]:
        return note
    return label(lang, key, date=arg, query=query)
