"""The precedence of quota rules, without a database."""

from bot.store.models import UNLIMITED, Rule
from bot.store.limit_precedence import RuleSet

FALLBACK = (10, "day")


def rules(default=None, roles=None, users=None) -> RuleSet:  # type: ignore[no-untyped-def]
    return RuleSet(version=1, default=default, roles=roles or {}, users=users or {})


def test_fallback_then_server_default() -> None:
    assert rules().resolve(1, [5], FALLBACK).rule is Rule.BOT
    assert rules(default=(3, "week")).resolve(1, [5], FALLBACK).limit == 3


def test_best_role() -> None:
    roles = {10: (5, "day"), 11: (50, "month"), 12: (0, "day"), 13: (50, "week"), 14: (50, "week")}
    chosen = rules(default=(100, "day"), roles=roles).resolve(1, [12, 10, 14, 11, 13], FALLBACK)
    # Highest limit; among equals the shorter period; among equals the lower id.
    assert (chosen.limit, chosen.period, chosen.rule, chosen.rule_detail) == (50, "week", Rule.ROLE, 13)
    assert rules(roles={1: (9, "day"), 2: (UNLIMITED, "month")}).resolve(1, [1, 2], FALLBACK).limit == UNLIMITED
    assert rules(roles={1: (0, "day")}).resolve(1, [1, 2], FALLBACK).limit == 0
    assert rules(roles={1: (0, "day")}).resolve(1, [], FALLBACK).rule is Rule.BOT


def test_user_override_beats_everything() -> None:
    chosen = rules(default=(5, "day"), roles={1: (UNLIMITED, "day")}, users={7: (0, "week")}).resolve(7, [1], FALLBACK)
    assert (chosen.limit, chosen.period, chosen.rule, chosen.rule_detail) == (0, "week", Rule.USER, None)
