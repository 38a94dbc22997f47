"""Which quota rule applies to a member: the precedence, in one place.

A user override wins; else the best of the member's role limits; else the
server default; else the bot-wide default from configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.store.models import UNLIMITED, EffectiveLimit, Rule
from bot.store.periods import Period

_PERIOD_RANK = {"day": 0, "week": 1, "month": 2}


def role_preference(role_id: int, limit: int, period: str) -> tuple[bool, int, int, int]:
    """Sort key of a role rule, best last: unlimited first, then the highest
    limit, then the shorter period (10 a day is more than 10 a month), then the
    lowest role id, so the choice never depends on the order roles are listed."""
    return (limit == UNLIMITED, limit, -_PERIOD_RANK[period], -role_id)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One server's rules, as read at one `rules_version` of the database."""

    version: int
    default: tuple[int, Period] | None
    roles: dict[int, tuple[int, Period]]
    users: dict[int, tuple[int, Period]]
    budget: tuple[int, Period] | None = None  # the server's spend cap: (micro-dollars, period)

    def resolve(self, user_id: int, role_ids: Iterable[int], fallback: tuple[int, Period]) -> EffectiveLimit:
        user = self.users.get(user_id)
        if user is not None:
            return EffectiveLimit(user[0], user[1], Rule.USER)
        best: tuple[int, int, Period] | None = None
        if self.roles:
            for role_id in role_ids:
                rule = self.roles.get(role_id)
                if rule is not None and (best is None or role_preference(role_id, *rule) > role_preference(*best)):
                    best = (role_id, *rule)
        if best is not None:
            return EffectiveLimit(best[1], best[2], Rule.ROLE, best[0])
        if self.default is not None:
            return EffectiveLimit(self.default[0], self.default[1], Rule.SERVER)
        return EffectiveLimit(fallback[0], fallback[1], Rule.BOT)
