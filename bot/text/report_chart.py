"""The words on /quota report's chart (no Discord types)."""

from __future__ import annotations

from datetime import datetime

from bot.text.i18n import N_, date_text, lazy_texts, t

_TITLES = {"day": N_("Usage today"), "week": N_("Usage this week"), "month": N_("Usage this month")}

__getattr__ = lazy_texts({
    "DESCRIPTION": N_("Images and estimated spend per day by model, and the top members"),
})


def title(period: str, start: datetime, last: datetime) -> str:
    """"Usage this week: Nov 30 – Dec 06, 2026 (UTC)", dates written for the language."""
    if period == "day":
        span = date_text(start, "MMM dd")
    else:
        span = t("%(first)s – %(last)s", first=date_text(start, "MMM dd"), last=date_text(last, "MMM dd"))
    name = t(_TITLES[period]) if period in _TITLES else t("Usage")
    return t("%(title)s: %(span)s, %(year)s (UTC)", title=name, span=span, year=date_text(last, "y"))


def unnamed_member(id_tail: str) -> str:
    """A member Discord did not name, by the end of their id."""
    return t("member …%(id_tail)s", id_tail=id_tail)
