"""Strikes, pauses and the safety level in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store.strikes import StrikeStore
from tests.store.conftest import GUILD, OTHER_USER, USER


def strike(store: StrikeStore, user: int = USER, **kw):  # type: ignore[no-untyped-def]
    return store.strike(GUILD, user, source=kw.pop("source", "moderation"), categories=kw.pop("categories", ("hate",)),
                        strikes=kw.pop("strikes", 3), pause_hours=kw.pop("pause_hours", 24))


async def test_level_per_server(db, clock):
    store = StrikeStore(db, clock=clock)
    assert await store.level(GUILD) is None and not await store.level_anywhere()
    await store.set_level(GUILD, "images")
    assert await store.level(GUILD) == "images" and await store.level_anywhere()
    await store.set_level(GUILD, "off")
    assert (await store.standing(GUILD, USER)).level == "off" and not await store.level_anywhere()


async def test_three_strikes_in_24_hours_pause_once_and_the_pause_ends(db, clock):
    store = StrikeStore(db, clock=clock)
    assert (await strike(store)).strikes == 1
    clock.advance(hours=23)
    assert (await strike(store)).strikes == 2
    clock.advance(hours=2)  # the first strike is now older than 24 h
    result = await strike(store)
    assert result.strikes == 2 and result.paused_until is None
    result = await strike(store, categories=())
    assert result.paused_until == clock.now + timedelta(hours=24)
    assert (await store.standing(GUILD, USER)).paused_until == result.paused_until
    assert (await store.standing(GUILD, OTHER_USER)).paused_until is None
    # A strike while paused (an edit already running) does not pause again.
    clock.advance(hours=1)
    assert (await strike(store)).paused_until is None
    clock.advance(hours=23, seconds=1)
    member = await store.member(GUILD, USER)
    assert member.paused_until is None and member.total_strikes == 5
    assert member.strikes == 1, "only the strike made during the pause counts toward the next one"


async def test_concurrent_strikes_pause_a_member_once(db, clock):
    store = StrikeStore(db, clock=clock)
    await strike(store)
    await strike(store)
    results = await asyncio.gather(*(strike(store) for _ in range(4)))
    assert sum(r.paused_until is not None for r in results) == 1


async def test_pause_by_hand_resume_and_report(db, clock):
    store = StrikeStore(db, clock=clock)
    start = clock.now
    until = await store.pause(GUILD, USER, hours=2, by=999)
    member = await store.member(GUILD, USER)
    assert member.paused_until == until and member.paused_by == 999
    await strike(store, user=OTHER_USER)
    await strike(store, user=OTHER_USER)
    assert await store.resume(GUILD, OTHER_USER, by=999) is False
    assert (await store.member(GUILD, OTHER_USER)).strikes == 0, "resume forgives the strikes so far"
    report = await store.report(GUILD, start, start.replace(year=start.year + 1))
    assert (report.strikes, report.members, report.top) == (2, 1, ((OTHER_USER, 2),))
    assert [u for u, _ in report.paused] == [USER]
    assert await store.resume(GUILD, USER, by=999) is True
    assert (await store.standing(GUILD, USER)).paused_until is None
    assert (await store.report(GUILD, start, start.replace(year=start.year + 1))).paused == ()
