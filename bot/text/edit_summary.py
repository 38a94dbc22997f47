"""The text a member reads under their edited images, and in /usage.

Kept free of Discord types so it is easy to test; short lines so it reads on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Sequence

PERIOD_WORDS = {"day": "today", "week": "this week", "month": "this month"}


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
    return f"{value:,}" if value is not None else "?"


def token_line(usage: UsageLike | None) -> str:
    if usage is None:
        return "Tokens: not reported by the provider"
    split = []
    if usage.input_image_tokens is not None:
        split.append(f"{_n(usage.input_image_tokens)} image")
    if usage.input_text_tokens is not None:
        split.append(f"{_n(usage.input_text_tokens)} text")
    inputs = f"{_n(usage.input_tokens)} in" + (f" ({', '.join(split)})" if split else "")
    return f"Tokens: {inputs} · {_n(usage.output_tokens)} out · {_n(usage.total_tokens)} total"


def cost_text(cost_usd: float | None) -> str:
    if cost_usd is None:
        return "unknown (no price set for this model)"
    if cost_usd == 0:
        return "$0.00"
    if cost_usd < 0.01:
        return f"${cost_usd:.4f}"
    return f"${cost_usd:.2f}"


def quota_line(quota: QuotaLeft | None) -> str | None:
    if quota is None:
        return None
    if quota.limit < 0:
        return "Quota: unlimited"
    left = max(quota.limit - quota.used, 0)
    word = PERIOD_WORDS.get(quota.period, f"this {quota.period}")
    return f"Quota: {left} of {quota.limit} left {word} · resets {discord_time(quota.resets_at)}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def fewer_images_note(returned: int, asked: int) -> str:
    return f"the provider returned {returned} of {asked} images; only those count against your quota"


def field_left_out_note(name: str) -> str:
    return f"the provider does not accept `{name}`, so it was left out"


def summary_lines(summary: EditSummary) -> list[str]:
    lines = [
        f"**{summary.model}** · {summary.size} · {plural(summary.images, 'image')} · {summary.seconds:.1f} s",
        token_line(summary.usage),
        f"Est. cost: {cost_text(summary.cost_usd)}",
    ]
    quota = quota_line(summary.quota)
    if quota:
        lines.append(quota)
    lines += [f"Note: {note}" for note in summary.notes]
    return lines
