"""A topic's timeline as a PNG: takeaways per week that mention the term, across the period the
store covers, titled with the term's name in the reader's language (retrieval's
`ReportQA.timeline` counts; this only draws).

matplotlib's object API on the Agg canvas: no display, no pyplot state, safe to run in a worker
thread. Korean needs a font with Hangul: the NanumGothic that the `koreanize-matplotlib` package
ships (found without importing that package, which would change matplotlib's global settings),
else a Nanum or Noto CJK font installed on the system. DejaVu Sans (matplotlib's own) comes
first and covers Latin and Cyrillic; matplotlib falls back to the next family for each glyph the
first lacks. With no Hangul font at all, a Korean chart is drawn in English instead of boxes.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import label
from retrieval.models import Timeline
from store.korean import has_hangul

if TYPE_CHECKING:
    from retrieval.service import ReportQA

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 4.2, 100  # 1000 × 420 px
BAR_COLOUR = "#b03a2e"
PEAK_COLOUR = "#1f4e79"
EMPTY_COLOUR = "#c8c8c8"
BAR_DAYS = 6  # a week's bar; a day's gap between two weeks
LABEL_DAYS = 70  # a peak's date label is about this wide on a four-year axis
BASE_FAMILY = "DejaVu Sans"
SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
SYSTEM_FONT_NAMES = ("NanumGothic.ttf", "NotoSansCJK-Regular.ttc", "NotoSansKR-Regular.otf")

_fonts_lock = threading.Lock()
_families: list[str] | None = None


@dataclass
class TimelineChart:
    timeline: Timeline
    png: bytes | None  # None when nothing mentions the term (the caption says so)


def chart_for(qa: ReportQA, term: str, lang: str | None) -> TimelineChart:
    """The timeline of `term` (in `lang`, else the term's language) and its chart."""
    timeline = qa.timeline(term, lang=lang)
    return TimelineChart(timeline, render_timeline(timeline) if timeline.total else None)


def korean_font_files() -> list[Path]:
    """Fonts with Hangul: koreanize-matplotlib's NanumGothic, else the system's."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "fonts" / "NanumGothic.ttf"
        if path.is_file():
            return [path]
    for root in SYSTEM_FONT_DIRS:
        for name in SYSTEM_FONT_NAMES:
            found = sorted(root.rglob(name)) if root.is_dir() else []
            if found:
                return found[:1]
    return []


def font_families() -> list[str]:
    """The families the chart's text is set in, in fallback order (registered once)."""
    global _families
    with _fonts_lock:
        if _families is None:
            from matplotlib import font_manager

            families = [BASE_FAMILY]
            for path in korean_font_files():
                font_manager.fontManager.addfont(str(path))
                families.append(font_manager.FontProperties(fname=str(path)).get_name())
            _families = families
        return list(_families)


def has_hangul_font() -> bool:
    return len(font_families()) > 1


def _box(x: float, height: float) -> list[tuple[float, float]]:
    """A week's bar: BAR_DAYS wide from its Monday `x` (in matplotlib's date numbers)."""
    return [(x, 0.0), (x, height), (x + BAR_DAYS, height), (x + BAR_DAYS, 0.0)]


def render_timeline(timeline: Timeline) -> bytes:
    """The PNG (1000 × 420 px): one bar per week, the busiest weeks marked with their dates,
    weeks without any report in the store marked grey below the axis."""
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    families = font_families()
    lang, name = timeline.lang, timeline.name
    if not has_hangul_font() and (lang == "ko" or has_hangul(name)):
        # Boxes instead of letters help nobody: the English name and labels.
        lang = "en"
        name = next((f for f in timeline.forms if not has_hangul(f)), timeline.term)
    font = FontProperties(family=families)
    small = FontProperties(family=families, size=8)

    # Fixed margins (a constrained layout draws the figure twice), and each series as one
    # collection of rectangles (a bar per week would be ~200 artists to draw).
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    figure.subplots_adjust(left=0.07, right=0.985, top=0.9, bottom=0.16)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    starts = mdates.date2num([w.week for w in timeline.weeks])
    counts = [w.count for w in timeline.weeks]
    top = max(counts, default=0) or 1
    axes.add_collection(
        PolyCollection(
            [_box(x, c) for x, c in zip(starts, counts, strict=True) if c],
            facecolors=BAR_COLOUR,
            linewidths=0,
        )
    )
    empty = [x for x, w in zip(starts, timeline.weeks, strict=True) if not w.reports]
    if empty:
        axes.add_collection(
            PolyCollection(
                [_box(x, -top * 0.04) for x in empty],
                facecolors=EMPTY_COLOUR,
                linewidths=0,
                label=label(lang, "timeline_no_report"),
            )
        )
        # Below the axis, at the right: clear of the bars and of the peaks' dates.
        axes.legend(loc="upper right", bbox_to_anchor=(1.0, -0.07), prop=small, frameon=False)
    if len(starts):
        axes.set_xlim(starts[0] - 7, starts[-1] + 14)
    placed: list[tuple[float, int]] = []  # (x, level) of the peak labels drawn so far
    for peak in sorted(timeline.peaks, key=lambda p: p.week):
        x = mdates.date2num(peak.week) + BAR_DAYS / 2
        # Labels of peaks close together are stacked instead of written over each other.
        level = 1 + max((lv for px, lv in placed if x - px < LABEL_DAYS), default=-1)
        placed.append((x, level))
        axes.annotate(
            peak.week.isoformat(),
            (x, peak.count),
            xytext=(0, 4 + 11 * level),
            textcoords="offset points",
            ha="center",
            color=PEAK_COLOUR,
            fontproperties=small,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
        )
    axes.set_ylim(-top * 0.06, top * 1.25)
    title = FontProperties(family=families, size=13)
    axes.set_title(label(lang, "timeline_title", name=name), fontproperties=title)
    axes.set_ylabel(label(lang, "timeline_axis"), fontproperties=font)
    axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    axes.axhline(0, color="#444444", linewidth=0.6)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
