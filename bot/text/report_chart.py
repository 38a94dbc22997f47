"""The words on /quota report's chart (no Discord types)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime

from bot.reports.chart import ChartLabels
from bot.text.i18n import N_, current, date_text, language, lazy_texts, t

_TITLES = {"day": N_("Usage today"), "week": N_("Usage this week"), "month": N_("Usage this month")}

__getattr__ = lazy_texts({
    "DESCRIPTION": N_("Images and estimated spend per day by model, and the top members"),
})


# The chart's font (matplotlib's DejaVu Sans) has no Chinese or Japanese glyphs: for those
# languages the words drawn on the chart stay English rather than turning into boxes.
_NOT_DRAWABLE = {"ja", "zh_CN"}


def _drawable() -> AbstractContextManager[object]:
    return language(None) if current() in _NOT_DRAWABLE else nullcontext()


def title(period: str, start: datetime, last: datetime) -> str:
    """"Usage this week: Nov 30 – Dec 06, 2026 (UTC)", dates written for the language."""
    with _drawable():
        return _title(period, start, last)


def _title(period: str, start: datetime, last: datetime) -> str:
    if period == "day":
        span = date_text(start, "MMM dd")
    else:
        span = t("%(first)s – %(last)s", first=date_text(start, "MMM dd"), last=date_text(last, "MMM dd"))
    name = t(_TITLES[period]) if period in _TITLES else t("Usage")
    return t("%(title)s: %(span)s, %(year)s (UTC)", title=name, span=span, year=date_text(last, "y"))


def unnamed_member(id_tail: str) -> str:
    """A member Discord did not name, by the end of their id (drawn on the chart)."""
    with _drawable():
        return t("member …%(id_tail)s", id_tail=id_tail)


def labels(days: list[date]) -> ChartLabels:
    """The chart's axis titles and day ticks in the current language."""
    with _drawable():
        return _labels(days)


def _labels(days: list[date]) -> ChartLabels:
    return ChartLabels(
        images_per_day=t("Images per day"),
        spend_per_day=t("Est. spend per day (USD)"),
        day=t("Day (UTC)"),
        top_members=t("Top members"),
        images=t("Images"),
        no_edits=t("No edits yet"),
        day_ticks=[date_text(datetime(d.year, d.month, d.day), "MMM dd") for d in days],
    )
