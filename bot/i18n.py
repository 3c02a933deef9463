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
        "other_dates": "Nothing from those dates answers this; these are the closest matches "
        "from other reports.",
        "no_topic": "No takeaway mentions “{query}”. Check the spelling, try the English name, or "
        "use /latest.",
        "bad_date": "I could not read a date in “{query}”. Try 2024-01-26 or January 26, 2024.",
        "empty_store": "No reports are loaded yet. Run `reportbot ingest PATH` first.",
        "nearest": "There is no report for that date; this is the nearest one ({date}).",
        "no_takeaways": "This report has no Key Takeaways section; here is how it opens.",
        "only_english": "",
        "machine_translation": "(machine translation; ISW's English below)",
        "more": "More",
        "error": "Sorry, something went wrong while answering. Please try again.",
        "rate_limited": "You are asking very fast. Please wait {seconds} seconds.",
        "not_allowed": "This bot is private.",
        "busy": "Many people are asking right now. Please try again in {seconds} seconds.",
        "admin_only": "Sorry, only the bot's administrators can do that.",
        "text_only": "I can only read text. Please type your question.",
        "topic_too_long": "A topic is a name or a short term: at most {words} words and {chars} "
        "characters, e.g. /topic Avdiivka",
        "upload_too_large": "This file is too large ({size} MB); the limit is {limit} MB.",
        "upload_bad_type": "I can only load report files: text files ending in .html, .htm, .md, "
        ".txt, or datasets of many reports (.json, .jsonl, .csv, .tsv).",
        "upload_done": "Loaded {name}: {added} added, {updated} updated, {unchanged} unchanged, "
        "{duplicate} duplicate, {failed} failed.",
        "help_about": "I answer questions about the Institute for the Study of War's daily Russian "
        "Offensive Campaign Assessments with the reports' own Key Takeaways, each with its report "
        "date and source. I never write answers of my own.\n\n"
        "Ask in your language, for example:\n"
        "• What did the Kremlin say about negotiations?\n"
        "• 크렘린이 협상에 대해 뭐라고 했어?\n"
        "• Що сталося біля Авдіївки?\n"
        "• Что произошло с Крымским мостом в октябре 2022?",
        "help_telegram": "/latest [N] — the newest report's takeaways\n"
        "/topic TERM — takeaways that mention a term, newest first\n"
        "/timeline TERM — how often they mention it, week by week, as a chart\n"
        "/date 2024-01-26 — one report's takeaways\n"
        "/subscribe [TERM] — each new report's takeaways as it comes out (only those that "
        "mention TERM)\n"
        "/unsubscribe — stop them\n"
        "/help — this message\n\n"
        "In a group, mention me or reply to one of my messages. In any chat, type my @username "
        "and a term to share a takeaway there.",
        "usage_topic": "Usage: /topic TERM — e.g. /topic Avdiivka",
        "usage_date": "Usage: /date 2024-01-26 (or /date January 26, 2024)",
        "usage_timeline": "Usage: /timeline TERM — e.g. /timeline Avdiivka",
        "cmd_timeline": "How often takeaways mention a term, week by week (a chart)",
        "timeline_button": "📈 Timeline",
        "timeline_title": "{name}: takeaways that mention it, per week",
        "timeline_axis": "takeaways per week",
        "timeline_no_report": "no report in the store that week",
        "timeline_head": "{name}: {total} takeaway(s) mention it ({start} … {end})",
        "timeline_peaks": "Busiest weeks",
        "timeline_week": "week of {week} ({count})",
        "timeline_first": "First mention",
        "timeline_last": "Last mention",
        "inline_none": "No takeaway matches “{query}”",
        "unknown_command": "Unknown command {command}.",
        "expired": "This answer has expired. Please ask again.",
        "back": "Back",
        "stats": "{reports} reports ({oldest} … {newest}), {takeaways} takeaways",
        "subscribed": "Subscribed: when a new report comes out, I will send you its key takeaways "
        "here. /unsubscribe stops this.",
        "subscribed_topic": "Subscribed to “{topic}”: when a new report's key takeaways mention it, "
        "I will send you those takeaways here. /unsubscribe {topic} stops this.",
        "unsubscribed": "Unsubscribed: no more new reports from me.",
        "unsubscribed_topic": "Unsubscribed from “{topic}”.",
        "not_subscribed": "There is no subscription to stop. /subscribe starts one.",
        "not_subscribed_topic": "You do not follow “{topic}”. You follow: {topics}",
        "too_many_topics": "You already follow {count} topics, the most I keep. /unsubscribe one "
        "of them first.",
        "all_reports": "every new report",
        "news": "New report of {date}",
        "news_topic": "New report of {date}: takeaways that mention {topics}",
        "news_more": "… and {count} more: /date {date}",
        "cmd_subscribe": "Each new report's takeaways as it comes out (optionally on a topic)",
        "cmd_unsubscribe": "Stop the new-report messages",
        "cmd_latest": "The newest report's key takeaways",
        "cmd_topic": "Takeaways that mention a term, newest first",
        "cmd_date": "One report's takeaways, e.g. /date 2024-01-26",
        "cmd_stats": "What the bot knows",
        "cmd_help": "How to ask",
        "cmd_quit": "Leave the chat",
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
        "other_dates": "그 기간의 보고서에는 답이 없어, 다른 날짜 보고서에서 가장 가까운 내용을 보여 드립니다.",
        "no_topic": "“{query}”을(를) 언급한 핵심 요점이 없습니다. 철자나 영어 이름을 확인하거나 "
        "/latest 를 써 보세요.",
        "bad_date": "“{query}”에서 날짜를 읽지 못했습니다. 2024-01-26 또는 2024년 1월 26일처럼 "
        "써 주세요.",
        "empty_store": "아직 불러온 보고서가 없습니다. 먼저 `reportbot ingest 경로` 를 실행하세요.",
        "nearest": "그 날짜의 보고서가 없어 가장 가까운 {date} 보고서를 보여 드립니다.",
        "no_takeaways": "이 보고서에는 핵심 요점 항목이 없어 첫 문단을 보여 드립니다.",
        "only_english": "(원문 영어)",
        "machine_translation": "(기계 번역 · 아래는 ISW 영어 원문)",
        "more": "더 보기",
        "error": "죄송합니다. 답하는 중에 문제가 생겼습니다. 다시 시도해 주세요.",
        "rate_limited": "질문이 너무 빠릅니다. {seconds}초 후에 다시 시도해 주세요.",
        "not_allowed": "비공개 봇입니다.",
        "busy": "지금 질문이 많습니다. {seconds}초 후에 다시 시도해 주세요.",
        "admin_only": "죄송합니다. 봇 관리자만 할 수 있습니다.",
        "text_only": "글자로 된 메시지만 읽을 수 있습니다. 질문을 입력해 주세요.",
        "topic_too_long": "주제는 이름이나 짧은 용어로 써 주세요: {words}단어, {chars}자 이내. "
        "예: /topic 아브디이프카",
        "upload_too_large": "파일이 너무 큽니다({size}MB). 최대 {limit}MB까지 받습니다.",
        "upload_bad_type": "보고서 파일만 불러올 수 있습니다: .html, .htm, .md, .txt 텍스트 파일, 또는 "
        "여러 보고서를 담은 데이터셋(.json, .jsonl, .csv, .tsv).",
        "upload_done": "{name} 불러옴: 추가 {added}, 갱신 {updated}, 변경 없음 {unchanged}, "
        "중복 {duplicate}, 실패 {failed}.",
        "help_about": "전쟁연구소(ISW)의 일일 「러시아 공세 캠페인 평가」 보고서에 관한 질문에 보고서의 "
        "핵심 요점 그대로, 보고서 날짜와 출처를 붙여 답합니다. 직접 지어낸 답은 하지 않습니다.\n\n"
        "편한 언어로 물어보세요. 예:\n"
        "• 크렘린이 협상에 대해 뭐라고 했어?\n"
        "• What did the Kremlin say about negotiations?",
        "help_telegram": "/latest [N] — 가장 최근 보고서의 핵심 요점\n"
        "/topic 용어 — 그 용어를 언급한 핵심 요점 (최신순)\n"
        "/timeline 용어 — 그 용어가 언급된 빈도를 주별 그래프로\n"
        "/date 2024-01-26 — 그 날짜 보고서의 핵심 요점 (/date 1월 26일 도 됩니다)\n"
        "/subscribe [용어] — 새 보고서가 나오면 핵심 요점 받기 (용어를 주면 그 용어를 언급한 "
        "요점만)\n"
        "/unsubscribe — 받기 중지\n"
        "/help — 이 도움말\n\n"
        "그룹에서는 저를 @멘션하거나 제 메시지에 답장해 주세요. 어느 대화방에서든 제 @사용자명과 "
        "용어를 입력하면 핵심 요점을 골라 공유할 수 있습니다.",
        "usage_topic": "사용법: /topic 용어 — 예: /topic 아브디이프카",
        "usage_date": "사용법: /date 2024-01-26 또는 /date 2024년 1월 26일",
        "usage_timeline": "사용법: /timeline 용어 — 예: /timeline 아브디이프카",
        "cmd_timeline": "용어를 언급한 핵심 요점 수를 주별 그래프로",
        "timeline_button": "📈 주별 추이",
        "timeline_title": "{name}: 언급한 핵심 요점 수 (주별)",
        "timeline_axis": "주당 핵심 요점 수",
        "timeline_no_report": "그 주의 보고서 없음",
        "timeline_head": "{name}: 핵심 요점 {total}개가 언급 ({start} … {end})",
        "timeline_peaks": "가장 많이 언급된 주",
        "timeline_week": "{week} 주 ({count}개)",
        "timeline_first": "첫 언급",
        "timeline_last": "마지막 언급",
        "inline_none": "“{query}”에 맞는 핵심 요점이 없습니다",
        "unknown_command": "알 수 없는 명령 {command} 입니다.",
        "expired": "이 답변은 만료되었습니다. 다시 질문해 주세요.",
        "back": "이전",
        "stats": "보고서 {reports}건 ({oldest} … {newest}), 핵심 요점 {takeaways}개",
        "subscribed": "구독했습니다. 새 보고서가 나오면 핵심 요점을 여기로 보내 드립니다. "
        "/unsubscribe 로 멈출 수 있습니다.",
        "subscribed_topic": "“{topic}” 구독: 새 보고서의 핵심 요점이 이를 언급하면 그 요점을 보내 "
        "드립니다. /unsubscribe {topic} 로 멈출 수 있습니다.",
        "unsubscribed": "구독을 취소했습니다. 더 이상 새 보고서를 보내지 않습니다.",
        "unsubscribed_topic": "“{topic}” 구독을 취소했습니다.",
        "not_subscribed": "취소할 구독이 없습니다. /subscribe 로 구독할 수 있습니다.",
        "not_subscribed_topic": "“{topic}”은(는) 구독 중이 아닙니다. 구독 중: {topics}",
        "too_many_topics": "이미 주제 {count}개를 구독 중입니다(최대). 먼저 /unsubscribe 로 하나를 "
        "취소해 주세요.",
        "all_reports": "모든 새 보고서",
        "news": "{date} 새 보고서",
        "news_topic": "{date} 새 보고서: {topics} 언급 핵심 요점",
        "news_more": "… 외 {count}개: /date {date}",
        "cmd_subscribe": "새 보고서의 핵심 요점 받기 (주제 지정 가능)",
        "cmd_unsubscribe": "새 보고서 받기 중지",
        "cmd_latest": "가장 최근 보고서의 핵심 요점",
        "cmd_topic": "용어를 언급한 핵심 요점 (최신순)",
        "cmd_date": "그 날짜 보고서의 핵심 요점, 예: /date 2024-01-26",
        "cmd_stats": "불러온 보고서 현황",
        "cmd_help": "사용 방법",
        "cmd_quit": "대화 끝내기",
    },
    "uk": {
        "report_of": "Звіт за {date}",
        "takeaway": "Головний висновок",
        "passage": "Зі звіту",
        "supporting": "Підтвердження",
        "also_reported": "Також у {count} попередніх звітах: {dates}",
        "source": "Джерело",
        "no_match": "Не знайшов висновку, що відповідає на це. Спробуйте інші слова, назву місця, "
        "дату або /latest.",
        "other_dates": "У звітах за ці дати відповіді немає; ось найближчі збіги з інших звітів.",
        "no_topic": "Жоден висновок не згадує «{query}». Перевірте написання або спробуйте "
        "англійську назву.",
        "bad_date": "Не вдалося прочитати дату в «{query}». Спробуйте 2024-01-26 або 26 січня "
        "2024.",
        "empty_store": "Звіти ще не завантажено. Спершу виконайте `reportbot ingest ШЛЯХ`.",
        "nearest": "Звіту за цю дату немає; ось найближчий ({date}).",
        "no_takeaways": "У цьому звіті немає розділу Key Takeaways; ось його початок.",
        "only_english": "(англійською)",
        "machine_translation": "(машинний переклад; нижче англійський оригінал ISW)",
        "more": "Більше",
        "error": "Вибачте, сталася помилка. Спробуйте ще раз.",
        "rate_limited": "Забагато запитів. Зачекайте {seconds} с.",
        "not_allowed": "Це приватний бот.",
        "busy": "Зараз багато запитів. Спробуйте ще раз за {seconds} с.",
        "admin_only": "Вибачте, це можуть робити лише адміністратори бота.",
        "text_only": "Я читаю лише текст. Напишіть, будь ласка, своє запитання.",
        "topic_too_long": "Тема — це назва або короткий термін: не більше {words} слів і {chars} "
        "символів, напр. /topic Авдіївка",
        "upload_too_large": "Файл завеликий ({size} МБ); межа — {limit} МБ.",
        "upload_bad_type": "Я завантажую лише файли звітів: текстові файли .html, .htm, .md, "
        ".txt або набори звітів (.json, .jsonl, .csv, .tsv).",
        "upload_done": "Завантажено {name}: додано {added}, оновлено {updated}, без змін "
        "{unchanged}, дублікатів {duplicate}, помилок {failed}.",
        "help_about": "Я відповідаю на запитання про щоденні звіти Інституту вивчення війни (ISW) "
        "«Russian Offensive Campaign Assessment» їхніми власними головними висновками, з датою "
        "звіту та джерелом. Власних відповідей я не вигадую.\n\n"
        "Питайте своєю мовою, наприклад:\n"
        "• Що сталося біля Авдіївки?\n"
        "• Коли почалася часткова мобілізація в Росії?\n"
        "• Що казав Кремль про переговори минулого тижня?",
        "help_telegram": "/latest [N] — висновки найновішого звіту\n"
        "/topic ТЕРМІН — висновки, що згадують термін, від найновіших\n"
        "/date 2024-01-26 — висновки звіту за дату (або /date 26 січня 2024)\n"
        "/subscribe [ТЕРМІН] — висновки кожного нового звіту, щойно він вийде (лише ті, що "
        "згадують ТЕРМІН)\n"
        "/unsubscribe — припинити\n"
        "/help — ця довідка\n\n"
        "У групі згадайте мене або дайте відповідь на моє повідомлення.",
        "usage_topic": "Використання: /topic ТЕРМІН — напр. /topic Авдіївка",
        "usage_date": "Використання: /date 2024-01-26 (або /date 26 січня 2024)",
        "usage_timeline": "Використання: /timeline ТЕРМІН — напр. /timeline Авдіївка",
        "cmd_timeline": "Як часто висновки згадують термін, по тижнях (графік)",
        "timeline_button": "📈 По тижнях",
        "timeline_title": "{name}: висновки, що згадують це, по тижнях",
        "timeline_axis": "висновків на тиждень",
        "timeline_no_report": "цього тижня звітів немає",
        "timeline_head": "{name}: згадують висновків — {total} ({start} … {end})",
        "timeline_peaks": "Найактивніші тижні",
        "timeline_week": "тиждень з {week} ({count})",
        "timeline_first": "Перша згадка",
        "timeline_last": "Остання згадка",
        "inline_none": "Жоден висновок не відповідає «{query}»",
        "unknown_command": "Невідома команда {command}.",
        "expired": "Ця відповідь застаріла. Запитайте ще раз.",
        "back": "Назад",
        "stats": "Звітів: {reports} ({oldest} … {newest}), висновків: {takeaways}",
        "subscribed": "Підписку оформлено: коли вийде новий звіт, я надішлю сюди його головні "
        "висновки. /unsubscribe — скасувати.",
        "subscribed_topic": "Підписка на «{topic}»: коли головні висновки нового звіту згадають "
        "це, я надішлю їх сюди. /unsubscribe {topic} — скасувати.",
        "unsubscribed": "Підписку скасовано: нових звітів більше не надсилатиму.",
        "unsubscribed_topic": "Підписку на «{topic}» скасовано.",
        "not_subscribed": "Немає підписки, яку можна скасувати. /subscribe — підписатися.",
        "not_subscribed_topic": "Ви не підписані на «{topic}». Ваші підписки: {topics}",
        "too_many_topics": "Ви вже стежите за {count} темами — це максимум. Спершу скасуйте одну "
        "через /unsubscribe.",
        "all_reports": "усі нові звіти",
        "news": "Новий звіт за {date}",
        "news_topic": "Новий звіт за {date}: висновки, що згадують {topics}",
        "news_more": "… і ще {count}: /date {date}",
        "cmd_subscribe": "Висновки кожного нового звіту (можна за темою)",
        "cmd_unsubscribe": "Більше не надсилати нові звіти",
        "cmd_latest": "Висновки найновішого звіту",
        "cmd_topic": "Висновки, що згадують термін",
        "cmd_date": "Висновки звіту за дату, напр. /date 2024-01-26",
        "cmd_stats": "Що знає бот",
        "cmd_help": "Як питати",
        "cmd_quit": "Вийти з чату",
    },
    "ru": {
        "report_of": "Отчёт за {date}",
        "takeaway": "Главный вывод",
        "passage": "Из отчёта",
        "supporting": "Подтверждение",
        "also_reported": "Также в {count} предыдущих отчётах: {dates}",
        "source": "Источник",
        "no_match": "Не нашёл вывода, отвечающего на это. Попробуйте другие слова, название "
        "места, дату или /latest.",
        "other_dates": "В отчётах за эти даты ответа нет; вот ближайшие совпадения из других отчётов.",
        "no_topic": "Ни один вывод не упоминает «{query}». Проверьте написание или попробуйте "
        "английское название.",
        "bad_date": "Не удалось прочитать дату в «{query}». Попробуйте 2024-01-26 или 26 января "
        "2024.",
        "empty_store": "Отчёты ещё не загружены. Сначала выполните `reportbot ingest ПУТЬ`.",
        "nearest": "Отчёта за эту дату нет; вот ближайший ({date}).",
        "no_takeaways": "В этом отчёте нет раздела Key Takeaways; вот его начало.",
        "only_english": "(на английском)",
        "machine_translation": "(машинный перевод; ниже английский оригинал ISW)",
        "more": "Ещё",
        "error": "Извините, произошла ошибка. Попробуйте ещё раз.",
        "rate_limited": "Слишком много запросов. Подождите {seconds} с.",
        "not_allowed": "Это частный бот.",
        "busy": "Сейчас много запросов. Попробуйте ещё раз через {seconds} с.",
        "admin_only": "Извините, это могут делать только администраторы бота.",
        "text_only": "Я читаю только текст. Напишите, пожалуйста, свой вопрос.",
        "topic_too_long": "Тема — это название или короткий термин: не больше {words} слов и "
        "{chars} символов, напр. /topic Авдеевка",
        "upload_too_large": "Файл слишком большой ({size} МБ); предел — {limit} МБ.",
        "upload_bad_type": "Я загружаю только файлы отчётов: текстовые файлы .html, .htm, .md, "
        ".txt или наборы отчётов (.json, .jsonl, .csv, .tsv).",
        "upload_done": "Загружено {name}: добавлено {added}, обновлено {updated}, без изменений "
        "{unchanged}, дубликатов {duplicate}, ошибок {failed}.",
        "help_about": "Я отвечаю на вопросы о ежедневных отчётах Института изучения войны (ISW) "
        "«Russian Offensive Campaign Assessment» их собственными главными выводами, с датой "
        "отчёта и источником. Своих ответов я не сочиняю.\n\n"
        "Спрашивайте на своём языке, например:\n"
        "• Что произошло с Крымским мостом в октябре 2022?\n"
        "• Когда Россия объявила частичную мобилизацию?\n"
        "• Что говорил Кремль о переговорах на прошлой неделе?",
        "help_telegram": "/latest [N] — выводы самого нового отчёта\n"
        "/topic ТЕРМИН — выводы, упоминающие термин, от новых к старым\n"
        "/date 2024-01-26 — выводы отчёта за дату (или /date 26 января 2024)\n"
        "/subscribe [ТЕРМИН] — выводы каждого нового отчёта, как только он выйдет (только "
        "упоминающие ТЕРМИН)\n"
        "/unsubscribe — прекратить\n"
        "/help — эта справка\n\n"
        "В группе упомяните меня или ответьте на моё сообщение.",
        "usage_topic": "Использование: /topic ТЕРМИН — напр. /topic Авдеевка",
        "usage_date": "Использование: /date 2024-01-26 (или /date 26 января 2024)",
        "usage_timeline": "Использование: /timeline ТЕРМИН — напр. /timeline Авдеевка",
        "cmd_timeline": "Как часто выводы упоминают термин, по неделям (график)",
        "timeline_button": "📈 По неделям",
        "timeline_title": "{name}: выводы, упоминающие это, по неделям",
        "timeline_axis": "выводов в неделю",
        "timeline_no_report": "на этой неделе отчётов нет",
        "timeline_head": "{name}: упоминают выводов — {total} ({start} … {end})",
        "timeline_peaks": "Самые активные недели",
        "timeline_week": "неделя с {week} ({count})",
        "timeline_first": "Первое упоминание",
        "timeline_last": "Последнее упоминание",
        "inline_none": "Ни один вывод не соответствует «{query}»",
        "unknown_command": "Неизвестная команда {command}.",
        "expired": "Этот ответ устарел. Спросите ещё раз.",
        "back": "Назад",
        "stats": "Отчётов: {reports} ({oldest} … {newest}), выводов: {takeaways}",
        "subscribed": "Подписка оформлена: когда выйдет новый отчёт, я пришлю сюда его главные "
        "выводы. /unsubscribe — отменить.",
        "subscribed_topic": "Подписка на «{topic}»: когда главные выводы нового отчёта упомянут "
        "это, я пришлю их сюда. /unsubscribe {topic} — отменить.",
        "unsubscribed": "Подписка отменена: новых отчётов больше не пришлю.",
        "unsubscribed_topic": "Подписка на «{topic}» отменена.",
        "not_subscribed": "Нет подписки, которую можно отменить. /subscribe — подписаться.",
        "not_subscribed_topic": "Вы не подписаны на «{topic}». Ваши подписки: {topics}",
        "too_many_topics": "Вы уже следите за {count} темами — это максимум. Сначала отмените "
        "одну через /unsubscribe.",
        "all_reports": "все новые отчёты",
        "news": "Новый отчёт за {date}",
        "news_topic": "Новый отчёт за {date}: выводы, упоминающие {topics}",
        "news_more": "… и ещё {count}: /date {date}",
        "cmd_subscribe": "Выводы каждого нового отчёта (можно по теме)",
        "cmd_unsubscribe": "Больше не присылать новые отчёты",
        "cmd_latest": "Выводы самого нового отчёта",
        "cmd_topic": "Выводы, упоминающие термин",
        "cmd_date": "Выводы отчёта за дату, напр. /date 2024-01-26",
        "cmd_stats": "Что знает бот",
        "cmd_help": "Как спрашивать",
        "cmd_quit": "Выйти из чата",
    },
}

# /help in Telegram: how to ask (what the terminal chat shows too, before its own commands from
# bot/command_table.py), then the Telegram commands, groups and inline mode.
for _words in LABELS.values():
    _words["help"] = _words["help_about"] + "\n\n" + _words["help_telegram"]


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


def english_marker(text_lang: str, reader_lang: str) -> str:
    """ " (원문 영어)" after an English text shown to a Korean, Ukrainian or Russian reader; ""
    otherwise (a text in the reader's language, or in a third one, says nothing wrong)."""
    if text_lang != "en" or reader_lang == "en" or reader_lang not in ("ko", "uk", "ru"):
        return ""
    return " " + label(reader_lang, "only_english")
