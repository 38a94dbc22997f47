"""How money caps and cost estimates read to members and moderators (no Discord types)."""

from __future__ import annotations

from bot.store.models import QuotaExceeded, SpendCap, SpendCapReached, SpendStatus
from bot.text.edit_summary import period_word, plural
from bot.text.i18n import N_, lazy_texts, money, t, tn
from bot.text.quota_messages import per_period, refusal_text, resets_text

_CAP_NAMES = {"server": N_("This server's spending budget"), "global": N_("Retouch's bot-wide spending cap")}
__getattr__ = lazy_texts({
    "PER": lambda: {p: per_period(p) for p in ("day", "week", "month")},
    "CAP_NAMES": lambda: {scope: t(name) for scope, name in _CAP_NAMES.items()},
})


def usd(amount: float) -> str:
    return money(amount)


def _cap_name(cap: SpendCap) -> str:
    name = _CAP_NAMES.get(cap.scope)
    return t(name) if name else t("A spending cap")


def spend_refusal_text(refusal: SpendCapReached) -> str:
    cap = refusal.cap
    name = _cap_name(cap)
    if refusal.cost_usd is None:
        return t(
            "%(cap)s (%(budget)s) can't be checked for this model: it has no price. "
            "Pick another model with the `model` option, or ask the bot owner to set its price (IMAGE_PRICES_JSON or UNPRICED_IMAGE_USD).",
            cap=name, budget=budget_text(cap.limit_usd, cap.period),
        )
    if cap.scope == "server":
        who = t("a moderator can raise it with `/quota budget`")
    else:
        who = t("it is set by the bot owner")
    return t(
        "%(cap)s would be exceeded: this edit is estimated at %(cost)s and %(left)s of %(limit)s is left %(period)s. "
        "Ask for fewer images (`n`), a smaller `size` or a lower `quality`, or wait until it resets %(when)s (%(who)s).",
        cap=name, cost=usd(refusal.cost_usd), left=usd(cap.remaining_usd), limit=usd(cap.limit_usd),
        period=period_word(cap.period), when=resets_text(cap.resets_at), who=who,
    )


def cap_line(cap: SpendCap) -> str:
    return t(
        "%(cap)s: %(spent)s of %(limit)s used %(period)s · %(left)s left · resets %(when)s",
        cap=_cap_name(cap), spent=usd(cap.spent_usd), limit=usd(cap.limit_usd), period=period_word(cap.period),
        left=usd(cap.remaining_usd), when=resets_text(cap.resets_at),
    )


def spend_lines(status: SpendStatus) -> list[str]:
    """Spend against the caps, for /quota report and /settings show."""
    lines = []
    if status.server is not None:
        lines.append(cap_line(status.server))
    else:
        lines.append(t(
            "No server budget (`/quota budget amount:<USD>` sets one) · est. spend %(period)s: %(spent)s",
            period=period_word(status.server_period), spent=usd(status.server_spent_usd),
        ))
    if status.global_ is not None:
        lines.append(cap_line(status.global_))
    return lines


def budget_text(limit_usd: float, period: str) -> str:
    return t("%(amount)s %(per_period)s", amount=usd(limit_usd), per_period=per_period(period))


def confirmation_title(cost_usd: float) -> str:
    return t("This edit is estimated at %(cost)s", cost=usd(cost_usd))


def confirmation_lines(
    *, cost_usd: float, threshold_usd: float, model: str, size: str | None, quality: str | None, n: int, timeout_minutes: int
) -> list[str]:
    return [
        t(
            "**%(model)s** · %(size)s · quality %(quality)s · %(images)s",
            model=model, size=size or "auto", quality=quality or "auto", images=plural(n, "image"),
        ),
        t(
            "Estimated cost: **%(cost)s** — the bot owner asks members to confirm edits above %(threshold)s.",
            cost=usd(cost_usd), threshold=usd(threshold_usd),
        ),
        tn(
            "Nothing is reserved or sent until you press **Confirm**. This question expires in %(n)s minute.",
            "Nothing is reserved or sent until you press **Confirm**. This question expires in %(n)s minutes.",
            timeout_minutes,
        ),
        t("Fewer images (`n`), a smaller `size` or a lower `quality` cost less."),
    ]


def not_confirmed(timeout_minutes: int) -> str:
    return tn(
        "No answer within %(n)s minute — cancelled, nothing was reserved.",
        "No answer within %(n)s minutes — cancelled, nothing was reserved.",
        timeout_minutes,
    )


def refusal_message(refusal: QuotaExceeded | SpendCapReached) -> str:
    """Why a reservation was refused: images (quota, daily budget) or money (a cap)."""
    if isinstance(refusal, SpendCapReached):
        return spend_refusal_text(refusal)
    return refusal_text(refusal)
