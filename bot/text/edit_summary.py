"""The text a member reads under their edited images, and in /usage.

Kept free of Discord types so it is easy to test; short lines so it reads on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Protocol, Sequence

from bot.text.i18n import N_, decimal, money, num, t, tn

# TRANSLATORS: a quota period, as in "3 of 10 left today" / "used this week".
_PERIOD_WORDS = {"day": N_("today"), "week": N_("this week"), "month": N_("this month")}


def period_word(period: str) -> str:
    """"today", "this week", "this month" in the current language."""
    word = _PERIOD_WORDS.get(period)
    return t(word) if word else t("this %(period)s", period=period)


class _PeriodWords:
    """`PERIOD_WORDS.get(period, default)` for older callers, in the current language."""

    def get(self, period: str, default: str | None = None) -> str | None:
        return t(_PERIOD_WORDS[period]) if period in _PERIOD_WORDS else default

    def __getitem__(self, period: str) -> str:
        return t(_PERIOD_WORDS[period])


PERIOD_WORDS = _PeriodWords()


class UsageLike(Protocol):
    input_tokens: int | None
    input_image_tokens: int | None
    input_text_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True)
class QuotaLeft:
    limit: int  # -1 unlimited
    used: int
    period: str
    resets_at: datetime


@dataclass(frozen=True)
class EditSummary:
    model: str
    size: str
    images: int
    seconds: float
    usage: UsageLike | None
    cost_usd: float | None
    quota: QuotaLeft | None
    notes: Sequence[str] = field(default_factory=tuple)


def discord_time(moment: datetime, style: str = "R") -> str:
    """A Discord timestamp: every member sees it in their own time zone."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def _n(value: int | None) -> str:
    return num(value) if value is not None else "?"


def token_line(usage: UsageLike | None) -> str:
    if usage is None:
        return t("Tokens: not reported by the provider")
    split = []
    if usage.input_image_tokens is not None:
        split.append(t("%(tokens)s image", tokens=_n(usage.input_image_tokens)))
    if usage.input_text_tokens is not None:
        split.append(t("%(tokens)s text", tokens=_n(usage.input_text_tokens)))
    if split:
        inputs = t("%(tokens)s in (%(split)s)", tokens=_n(usage.input_tokens), split=", ".join(split))
    else:
        inputs = t("%(tokens)s in", tokens=_n(usage.input_tokens))
    return t(
        "Tokens: %(inputs)s · %(output)s out · %(total)s total",
        inputs=inputs, output=_n(usage.output_tokens), total=_n(usage.total_tokens),
    )


def cost_text(cost_usd: float | None) -> str:
    if cost_usd is None:
        return t("unknown (no price set for this model)")
    return money(cost_usd)


def quota_line(quota: QuotaLeft | None) -> str | None:
    if quota is None:
        return None
    if quota.limit < 0:
        return t("Quota: unlimited")
    left = max(quota.limit - quota.used, 0)
    return t(
        "Quota: %(left)s of %(limit)s left %(period)s · resets %(when)s",
        left=num(left), limit=num(quota.limit), period=period_word(quota.period), when=discord_time(quota.resets_at),
    )


# Counted things, each with the language's plural forms (`plural(3, "image")`).
_COUNTED: dict[str, Callable[[int], str]] = {
    "image": lambda n: tn("%(n)s image", "%(n)s images", n),
    "edit": lambda n: tn("%(n)s edit", "%(n)s edits", n),
    "request": lambda n: tn("%(n)s request", "%(n)s requests", n),
    "member": lambda n: tn("%(n)s member", "%(n)s members", n),
    "strike": lambda n: tn("%(n)s strike", "%(n)s strikes", n),
    "safety strike": lambda n: tn("%(n)s safety strike", "%(n)s safety strikes", n),
    "hour": lambda n: tn("%(n)s hour", "%(n)s hours", n),
    "role limit": lambda n: tn("%(n)s role limit", "%(n)s role limits", n),
    "member override": lambda n: tn("%(n)s member override", "%(n)s member overrides", n),
}


def plural(count: int, word: str) -> str:
    """"1 image", "3 images", in the current language for the words above (English for any
    other word: add it to _COUNTED so it can be translated)."""
    counted = _COUNTED.get(word)
    if counted is not None:
        return counted(count)
    return f"{num(count)} {word}{'' if count == 1 else 's'}"


def seconds_text(seconds: float) -> str:
    return t("%(seconds)s s", seconds=decimal(seconds, 1))


def fewer_images_note(returned: int, asked: int) -> str:
    return t(
        "the provider returned %(returned)s of %(asked)s images; only those count against your quota",
        returned=num(returned), asked=num(asked),
    )


def field_left_out_note(name: str) -> str:
    return t("the provider does not accept `%(name)s`, so it was left out", name=name)


def summary_lines(summary: EditSummary) -> list[str]:
    lines = [
        f"**{summary.model}** · {summary.size} · {plural(summary.images, 'image')} · {seconds_text(summary.seconds)}",
        token_line(summary.usage),
        t("Est. cost: %(cost)s", cost=cost_text(summary.cost_usd)),
    ]
    quota = quota_line(summary.quota)
    if quota:
        lines.append(quota)
    lines += [t("Note: %(note)s", note=note) for note in summary.notes]
    return lines
