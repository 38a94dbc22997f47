"""Which rule decides a member's limit, and the moderator operations on rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store.quota import (
    MAX_LIMIT,
    UNLIMITED,
    QuotaExceeded,
    QuotaStore,
    Reservation,
    Rule,
)
from tests.store.conftest import (
    GUILD,
    OTHER_USER,
    USER,
    ManualClock,
    StoreFactory,
    Target,
)

ROLE_A, ROLE_B, ROLE_C = 1001, 1002, 1003


async def limit_of(store: QuotaStore, roles: list[int], user: int = USER) -> tuple[int, str, str, int | None]:
    effective = await store.effective_limit(GUILD, user, roles)
    return effective.limit, effective.period, effective.rule.value, effective.rule_detail


async def test_bot_default_applies_without_rules(store: QuotaStore) -> None:
    assert await limit_of(store, []) == (10, "day", "bot default", None)
    assert (await store.effective_limit(None, USER)).rule is Rule.BOT


async def test_precedence_user_then_best_role_then_server_then_bot(store: QuotaStore) -> None:
    await store.set_guild_default(GUILD, 20, "week")
    assert await limit_of(store, [ROLE_A]) == (20, "week", "server default", None)

    await store.set_role_limit(GUILD, ROLE_A, 5, "day")
    await store.set_role_limit(GUILD, ROLE_B, 50, "month")
    # A role rule beats the server default even when it is lower...
    assert await limit_of(store, [ROLE_A]) == (5, "day", "role", ROLE_A)
    # ...and among the member's roles the best one wins.
    assert await limit_of(store, [ROLE_A, ROLE_B]) == (50, "month", "role", ROLE_B)
    # Roles the member does not hold don't count.
    assert await limit_of(store, [ROLE_C]) == (20, "week", "server default", None)

    await store.set_user_limit(GUILD, USER, 2, "week")
    # A user override beats every role, even a better one.
    assert await limit_of(store, [ROLE_A, ROLE_B]) == (2, "week", "user override", None)
    assert await limit_of(store, [ROLE_A, ROLE_B], user=OTHER_USER) == (50, "month", "role", ROLE_B)


async def test_unlimited_role_beats_every_other_role(store: QuotaStore) -> None:
    await store.set_role_limit(GUILD, ROLE_A, MAX_LIMIT, "day")
    await store.set_role_limit(GUILD, ROLE_B, UNLIMITED, "month")
    assert await limit_of(store, [ROLE_A, ROLE_B]) == (UNLIMITED, "month", "role", ROLE_B)
    usage = await store.usage_for(GUILD, USER, [ROLE_A, ROLE_B])
    assert usage.remaining is None


async def test_blocked_role_loses_to_a_better_role_but_a_blocked_override_blocks(store: QuotaStore) -> None:
    await store.set_role_limit(GUILD, ROLE_A, 0, "day")
    await store.set_role_limit(GUILD, ROLE_B, 3, "day")
    assert await limit_of(store, [ROLE_A, ROLE_B]) == (3, "day", "role", ROLE_B)
    assert await limit_of(store, [ROLE_A]) == (0, "day", "role", ROLE_A)

    await store.set_user_limit(GUILD, USER, 0, "day")
    refusal = await store.reserve(GUILD, USER, [ROLE_B], 1, model="m")
    assert isinstance(refusal, QuotaExceeded)
    assert (refusal.limit, refusal.remaining, refusal.rule) == (0, 0, Rule.USER)


async def test_ties_between_roles_prefer_the_shorter_period_then_the_lower_id(store: QuotaStore) -> None:
    await store.set_role_limit(GUILD, ROLE_C, 10, "month")
    await store.set_role_limit(GUILD, ROLE_B, 10, "day")
    await store.set_role_limit(GUILD, ROLE_A, 10, "day")
    assert await limit_of(store, [ROLE_C, ROLE_B, ROLE_A]) == (10, "day", "role", ROLE_A)


async def test_unlimited_members_reserve_freely(store: QuotaStore) -> None:
    await store.set_user_limit(GUILD, USER, UNLIMITED, "day")
    for _ in range(3):
        assert isinstance(await store.reserve(GUILD, USER, [], 1000, model="m"), Reservation)
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.remaining, usage.rule) == (3000, None, Rule.USER)


async def test_reserve_applies_the_rule_it_reports(store: QuotaStore) -> None:
    await store.set_role_limit(GUILD, ROLE_A, 3, "week")
    reservation = await store.reserve(GUILD, USER, [ROLE_A], 3, model="m")
    assert isinstance(reservation, Reservation)
    assert (reservation.limit, reservation.period) == (3, "week")
    assert (reservation.rule, reservation.rule_detail) == (Rule.ROLE, ROLE_A)
    refusal = await store.reserve(GUILD, USER, [ROLE_A], 1, model="m")
    assert isinstance(refusal, QuotaExceeded)
    assert (refusal.rule, refusal.rule_detail, refusal.rule_text) == (Rule.ROLE, ROLE_A, f"role {ROLE_A}")
    # The same member without the role falls back to the bot default, same usage.
    assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m"), Reservation)


async def test_rule_changes_apply_to_the_next_reservation(store: QuotaStore) -> None:
    assert isinstance(await store.reserve(GUILD, USER, [], 5, model="m"), Reservation)
    await store.set_guild_default(GUILD, 5, "day")
    assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m"), QuotaExceeded)
    assert await store.clear_guild_default(GUILD) is True
    assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m"), Reservation)


async def test_set_without_period_uses_the_server_period(store: QuotaStore) -> None:
    rule = await store.set_user_limit(GUILD, USER, 4)
    assert (rule.limit, rule.period) == (4, "day")  # no server default: the bot default's period
    await store.set_guild_default(GUILD, 30, "month")
    assert (await store.set_role_limit(GUILD, ROLE_A, 8)).period == "month"
    assert (await store.set_guild_default(GUILD, 40)).period == "month"  # kept
    assert (await store.set_user_limit(GUILD, USER, 6)).period == "month"


async def test_setting_again_replaces_the_rule(store: QuotaStore, clock: ManualClock) -> None:
    await store.set_user_limit(GUILD, USER, 4, "day")
    clock.advance(minutes=5)
    rule = await store.set_user_limit(GUILD, USER, 7, "week")
    rules = await store.list_rules(GUILD)
    assert [(u.user_id, u.limit, u.period, u.updated_at) for u in rules.users] == [(USER, 7, "week", clock.now)]
    assert rule.updated_at == clock.now


async def test_clear_reports_whether_there_was_a_rule(store: QuotaStore) -> None:
    assert await store.clear_user_limit(GUILD, USER) is False
    assert await store.clear_role_limit(GUILD, ROLE_A) is False
    assert await store.clear_guild_default(GUILD) is False
    await store.set_user_limit(GUILD, USER, 1, "day")
    await store.set_role_limit(GUILD, ROLE_A, 1, "day")
    await store.set_role_limit(GUILD + 1, ROLE_A, 1, "day")
    assert await store.clear_user_limit(GUILD, USER) is True
    assert await store.clear_role_limit(GUILD, ROLE_A) is True
    assert await store.clear_role_limit(GUILD, ROLE_A) is False
    assert [r.role_id for r in (await store.list_rules(GUILD + 1)).roles] == [ROLE_A]


async def test_list_rules(make_store: StoreFactory, clock: ManualClock) -> None:
    store = make_store(default_limit=25, default_period="week")
    empty = await store.list_rules(GUILD)
    assert (empty.default, empty.roles, empty.users) == (None, (), ())
    assert (empty.bot_default_limit, empty.bot_default_period) == (25, "week")
    await store.set_guild_default(GUILD, 12, "day")
    await store.set_role_limit(GUILD, ROLE_B, UNLIMITED, "day")
    await store.set_role_limit(GUILD, ROLE_A, 0, "month")
    await store.set_user_limit(GUILD, OTHER_USER, 3, "week")
    await store.set_user_limit(GUILD, USER, 9, "day")
    await store.set_user_limit(GUILD + 1, USER, 1, "day")  # another server
    rules = await store.list_rules(GUILD)
    assert rules.guild_id == GUILD
    assert rules.default is not None and (rules.default.limit, rules.default.period) == (12, "day")
    assert [(r.role_id, r.limit, r.period) for r in rules.roles] == [(ROLE_A, 0, "month"), (ROLE_B, UNLIMITED, "day")]
    assert [(u.user_id, u.limit) for u in rules.users] == [(USER, 9), (OTHER_USER, 3)]
    assert rules.default.updated_at == clock.now and clock.now - rules.users[0].updated_at < timedelta(seconds=1)


@pytest.mark.parametrize("limit", [-2, MAX_LIMIT + 1, 1.5, True, "5"])
async def test_impossible_limits_are_refused(store: QuotaStore, limit: object) -> None:
    with pytest.raises(ValueError, match="limit must be an integer"):
        await store.set_user_limit(GUILD, USER, limit, "day")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be an integer"):
        await store.set_guild_default(GUILD, limit, "day")  # type: ignore[arg-type]


async def test_unknown_periods_are_refused(store: QuotaStore) -> None:
    with pytest.raises(ValueError, match="period must be one of day, week, month"):
        await store.set_role_limit(GUILD, ROLE_A, 5, "hour")  # type: ignore[arg-type]
    assert (await store.list_rules(GUILD)).roles == ()


async def test_rules_changed_elsewhere_apply_to_the_next_reservation(
    store: QuotaStore, target: Target
) -> None:
    # The store caches rules; a change made over another connection (or in a
    # sqlite3/psql shell) must still decide the very next reservation.
    assert isinstance(await store.reserve(GUILD, USER, [], 3, model="m"), Reservation)
    target.execute("INSERT INTO user_limits VALUES (?, ?, 3, 'day', 0)", (GUILD, USER))
    refusal = await store.reserve(GUILD, USER, [], 1, model="m")
    assert isinstance(refusal, QuotaExceeded) and (refusal.limit, refusal.rule) == (3, Rule.USER)
    target.execute("UPDATE user_limits SET quota_limit = -1")
    assert isinstance(await store.reserve(GUILD, USER, [], 50, model="m"), Reservation)
    assert (await store.usage_for(GUILD, USER)).remaining is None
    target.execute("DELETE FROM user_limits")
    assert (await store.usage_for(GUILD, USER)).rule is Rule.BOT


async def test_every_rule_change_moves_the_rules_version(store: QuotaStore, target: Target) -> None:
    def version() -> int:
        return target.rows("SELECT version FROM rules_version")[0]["version"]

    seen = [version()]
    for change in (
        store.set_guild_default(GUILD, 5, "day"), store.set_guild_default(GUILD, 6, "day"),
        store.set_role_limit(GUILD, ROLE_A, 5, "day"), store.set_role_limit(GUILD, ROLE_A, 6, "day"),
        store.set_user_limit(GUILD, USER, 5, "day"), store.set_user_limit(GUILD, USER, 6, "day"),
        store.clear_guild_default(GUILD), store.clear_role_limit(GUILD, ROLE_A), store.clear_user_limit(GUILD, USER),
    ):
        await change
        seen.append(version())
    assert seen == sorted(set(seen)) and len(seen) == 10


async def test_many_servers_with_rules_stay_correct(store: QuotaStore) -> None:
    for guild in range(20):
        await store.set_guild_default(guild, guild, "day")
    for guild in range(20):
        effective = await store.effective_limit(guild, USER)
        assert (effective.limit, effective.rule) == (guild, Rule.SERVER)
        result = await store.reserve(guild, USER, [], 1, model="m")
        assert isinstance(result, Reservation if guild >= 1 else QuotaExceeded)
