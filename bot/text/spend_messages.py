"""How money caps and cost estimates read to members and moderators (no Discord types)."""

from __future__ import annotations

from bot.store.models import QuotaExceeded, SpendCap, SpendCapReached, SpendStatus
from bot.text.edit_summary import PERIOD_WORDS, cost_text, plural
from bot.text.quota_messages import refusal_text, resets_text

PER = {"day": "per day", "week": "per week", "month": "per month"}
CAP_NAMES = {"server": "This server's spending budget", "global": "Retouch's bot-wide spending cap"}


def usd(amount: float) -> str:
    return cost_text(amount)


def _cap_name(cap: SpendCap) -> str:
    return CAP_NAMES.get(cap.scope, "A spending cap")


def spend_refusal_text(refusal: SpendCapReached) -> str:
    cap = refusal.cap
    word = PERIOD_WORDS.get(cap.period, f"this {cap.period}")
    name = _cap_name(cap)
    if refusal.cost_usd is None:
        return (
            f"{name} ({usd(cap.limit_usd)} {PER.get(cap.period, '')}) can't be checked for this model: it has no price. "
            "Pick another model with the `model` option, or ask the bot owner to set its price (IMAGE_PRICES_JSON or UNPRICED_IMAGE_USD)."
        )
    who = "a moderator can raise it with `/quota budget`" if cap.scope == "server" else "it is set by the bot owner"
    return (
        f"{name} would be exceeded: this edit is estimated at {usd(refusal.cost_usd)} and "
        f"{usd(cap.remaining_usd)} of {usd(cap.limit_usd)} is left {word}. "
        f"Ask for fewer images (`n`), a smaller `size` or a lower `quality`, or wait until it resets {resets_text(cap.resets_at)} ({who})."
    )


def cap_line(cap: SpendCap) -> str:
    word = PERIOD_WORDS.get(cap.period, f"this {cap.period}")
    return (
        f"{_cap_name(cap)}: {usd(cap.spent_usd)} of {usd(cap.limit_usd)} used {word} "
        f"· {usd(cap.remaining_usd)} left · resets {resets_text(cap.resets_at)}"
    )


def spend_lines(status: SpendStatus) -> list[str]:
    """Spend against the caps, for /quota report and /settings show."""
    lines = []
    if status.server is not None:
        lines.append(cap_line(status.server))
    else:
        word = PERIOD_WORDS.get(status.server_period, status.server_period)
        lines.append(f"No server budget (`/quota budget amount:<USD>` sets one) · est. spend {word}: {usd(status.server_spent_usd)}")
    if status.global_ is not None:
        lines.append(cap_line(status.global_))
    return lines


def budget_text(limit_usd: float, period: str) -> str:
    return f"{usd(limit_usd)} {PER.get(period, 'per ' + period)}"


def confirmation_title(cost_usd: float) -> str:
    return f"This edit is estimated at {usd(cost_usd)}"


def confirmation_lines(
    *, cost_usd: float, threshold_usd: float, model: str, size: str | None, quality: str | None, n: int, timeout_minutes: int
) -> list[str]:
    return [
        f"**{model}** · {size or 'auto'} · quality {quality or 'auto'} · {plural(n, 'image')}",
        f"Estimated cost: **{usd(cost_usd)}** — the bot owner asks members to confirm edits above {usd(threshold_usd)}.",
        f"Nothing is reserved or sent until you press **Confirm**. This question expires in {timeout_minutes} minutes.",
        "Fewer images (`n`), a smaller `size` or a lower `quality` cost less.",
    ]


def not_confirmed(timeout_minutes: int) -> str:
    return f"No answer within {timeout_minutes} minutes — cancelled, nothing was reserved."


def refusal_message(refusal: QuotaExceeded | SpendCapReached) -> str:
    """Why a reservation was refused: images (quota, daily budget) or money (a cap)."""
    if isinstance(refusal, SpendCapReached):
        return spend_refusal_text(refusal)
    return refusal_text(refusal)
