"""Korean forum reposts of a report.

Typical layout: forum chrome, a title line ("[ISW] 러시아 공세 캠페인 평가, 2024년 1월 26일"),
more chrome, then `[요약]` (a Korean summary: "핵심 요점:" bullets, "카테고리:", "주요 국가:",
"향후 전망:") and `[원문]` (the English report, itself a plain-text paste).
Korean bullet i translates English takeaway i.
"""

from __future__ import annotations

import re

from store.korean import HANGUL_SYLLABLE
from store.models import Report, SourceFormat, SourceHints
from store.parsers import text as tx
from store.parsers.blocks import Section, assemble
from store.parsers.dates import EN_DATE, KO_DATE, any_full_date
from store.parsers.lines import join_lines
from store.parsers.report import body_evidence, make_report
from store.parsers.report_date import choose_report_date
from store.parsers.signals import require_assessment

_SECTION_MARK = r"^[\s\[【<(■□▶#*]*{}(?:\s*\([^)]*\))?[\s\]】>)*:：]*$"
_SUMMARY = re.compile(_SECTION_MARK.format("요약"))
_ORIGINAL = re.compile(_SECTION_MARK.format("원문"))
_TAKEAWAYS_HEAD = re.compile(r"^(?:핵심|주요)\s*(?:요점|내용|요약|사항)\s*[:：]?$")
_META_LINE = re.compile(
    r"^(카테고리|분류|주요\s*국가|관련\s*국가|향후\s*전망|전망)\s*[:：]\s*(.*)$"
)
_META_KEYS = {"카테고리": "categories", "분류": "categories", "주요국가": "countries"}
_META_KEYS |= {"관련국가": "countries", "향후전망": "outlook", "전망": "outlook"}
# Board chrome of Korean forum software (XE / Rhymix and the like); only short lines are chrome.
_MAX_CHROME = 80
_FORUM_NOISE = re.compile(
    r"^(?:메뉴\s*건너뛰기|본문\s*바로가기|단축키|prev|next|esc|크게|작게|위로|아래로|댓글|인쇄|목록"
    r"|추천|조회|스크랩|신고|첨부|공유|로그인|회원가입|이전\s*문서|다음\s*문서|by\s+\S+.*posted"
    r"|posted\b|작성자|글쓴이|등록일|\?$)",
    re.IGNORECASE,
)
_MIN_KO_PARAGRAPH = 20  # shorter stray Korean lines are board names and buttons, not text


def looks_like_korean_repost(text: str) -> bool:
    return len(HANGUL_SYLLABLE.findall(text[:200_000])) >= 30


def parse_korean_repost(text: str, source: str, hints: SourceHints | None = None) -> Report:
    hints = hints or SourceHints()
    lines = [tx.normalize_space(line) for line in text.splitlines()]
    title_index, title = _title(lines)
    summary_at = _find(lines, _SUMMARY, title_index + 1)
    original_at = _find(lines, _ORIGINAL, (title_index if summary_at is None else summary_at) + 1)
    ko_start = summary_at + 1 if summary_at is not None else title_index + 1
    if original_at is not None:
        ko_end, en_start = original_at, original_at + 1
    else:
        ko_end = en_start = _english_start(lines, ko_start)

    ko_bullets, metadata, ko_paragraphs = _summary(lines[ko_start:ko_end])
    english = assemble(join_lines(lines[en_start:]), allow_unlabeled_takeaways=True)
    titles = [t for t in (title, *english.titles) if t]
    summary_head = any(_TAKEAWAYS_HEAD.match(line) for line in lines[ko_start:ko_end])
    require_assessment(titles, english.labeled or summary_head, "\n".join(lines[en_start:]))
    english_text = "\n".join(lines[en_start:])
    evidence = body_evidence(
        english,
        hints,
        titles=titles,
        text=english_text,
        bodies=[english_text, "\n".join(lines[ko_start:ko_end])],
        year_hints=[any_full_date(text)],
    )
    evidence.mentions += ko_bullets
    dated = choose_report_date(evidence)
    sections = [(Section(p, None), "ko") for p in ko_paragraphs]
    if metadata.get("outlook"):
        sections.append((Section(metadata["outlook"], "향후 전망"), "ko"))
    sections += [(s, "en") for s in english.sections]
    return make_report(
        title=title or (english.titles[0] if english.titles else ""),
        dated=dated,
        source=source,
        source_format=SourceFormat.KOREAN_REPOST,
        urls=hints.urls,
        authors=english.authors,
        takeaways=_pair(english.takeaways, ko_bullets),
        sections=sections,
        metadata={**metadata, "subtitle": english.subtitle},
    )


def _title(lines: list[str]) -> tuple[int, str]:
    """(index, text) of the repost's title line, or (-1, "") if there is none."""
    for i, line in enumerate(lines[:60]):
        ko_title = "평가" in line and KO_DATE.search(line)
        en_title = tx.TITLE_LIKE.search(line) and EN_DATE.search(line)
        if "[ISW]" in line.upper() or ko_title or en_title:
            return i, line
    return -1, ""


def _find(lines: list[str], pattern: re.Pattern[str], start: int) -> int | None:
    return next((i for i in range(start, len(lines)) if pattern.match(lines[i])), None)


def _english_start(lines: list[str], start: int) -> int:
    """Without an [원문] marker the English original, if any, starts at its title or its
    "Key Takeaways" heading."""
    for i in range(start, len(lines)):
        line = lines[i]
        if not HANGUL_SYLLABLE.search(line) and (
            tx.is_key_takeaways(line) or tx.TITLE_LIKE.search(line) or line == "ISW Logo"
        ):
            return i
    return len(lines)


def _summary(lines: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """The Korean summary -> (takeaway bullets, metadata, other paragraphs)."""
    # Bullets and metadata values as their lines, joined at the end: growing one string line by
    # line is quadratic in a long run of wrapped lines.
    bullets: list[list[str]] = []
    metadata: dict[str, list[str]] = {}
    paragraphs: list[str] = []
    current: str | None = None  # "bullet", a metadata key, or None: what a line continues
    blank_before = True
    for line in lines:
        if not line:
            blank_before = True
            continue
        was_blank, blank_before = blank_before, False
        if (len(line) < _MAX_CHROME and _FORUM_NOISE.match(line)) or tx.is_noise(line):
            continue
        if _TAKEAWAYS_HEAD.match(line):
            current = None
            continue
        if meta := _META_LINE.match(line):
            current = _META_KEYS.get(re.sub(r"\s+", "", meta.group(1)), "outlook")
            metadata[current] = [meta.group(2).strip()]
            continue
        is_bullet, rest = tx.strip_bullet(line)
        rest = rest.strip()
        if current in metadata and metadata[current] == [""]:
            # "향후 전망:" may put its text (even as a bullet) on the next line.
            metadata[current] = [rest]
        elif is_bullet and not metadata:
            bullets.append([rest])
            current = "bullet"
        elif current == "bullet" and not was_blank:
            bullets[-1].append(line)  # a wrapped bullet
        elif current in metadata and not was_blank:
            metadata[current].append(line)
        elif len(rest) >= _MIN_KO_PARAGRAPH:
            paragraphs.append(rest)
            current = None
    joined = [" ".join(parts) for parts in bullets]
    values = {key: " ".join(parts) for key, parts in metadata.items()}
    return [tx.clean_text(b) for b in joined if b], values, paragraphs


def _pair(english: list[str], korean: list[str]) -> list[dict[str, str]]:
    """Bullet i of the summary translates takeaway i of the original, but only trust that when
    the counts match; otherwise keep both lists, unpaired, rather than mis-pair them."""
    if english and len(english) == len(korean):
        return [{"en": en, "ko": ko} for en, ko in zip(english, korean, strict=True)]
    return [{"en": en} for en in english] + [{"ko": ko} for ko in korean]
