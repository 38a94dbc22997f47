"""A SQLite database holding a bit of everything the bot keeps (rules, ledger rows in
every state, budgets, settings, kept results old and new, strikes), for the migrate-db
and secrets tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store.meta import MetaStore
from bot.store.quota import QuotaStore, Reservation
from bot.store.results import ResultFiles, ResultStore
from bot.store.server_settings import BlockedWord, ServerSettingsStore
from bot.store.sqlite import migrate, open_database
from bot.store.strikes import StrikeStore

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
GUILD = 111


def clock() -> datetime:
    return NOW


async def fill(path: Path) -> None:
    """A SQLite database with a bit of everything the bot keeps."""
    conn = await open_database(path)
    await migrate(conn)
    try:
        store = QuotaStore(conn, owner="old", default_limit=10, default_period="day", clock=clock)
        await store.set_guild_default(GUILD, 5, "week")
        await store.set_role_limit(GUILD, 42, 20, "month")
        await store.set_user_limit(GUILD, 7, 0, "day")
        await store.set_budget(GUILD, 12.5, "month")
        for user, cost in ((1, 0.25), (2, 0.5), (3, 0.125)):
            reservation = await store.reserve(GUILD, user, [], 2, model="gpt-image-2", cost_usd=cost)
            assert isinstance(reservation, Reservation)
            await store.commit(reservation.id, 1, input_tokens=10, output_tokens=200, total_tokens=210, cost_usd=cost / 2)
        refunded = await store.reserve(None, 9, [], 1, model="m")
        await store.refund(refunded, "provider error", cost_usd=0.01)  # type: ignore[arg-type]
        await store.reserve(GUILD, 4, [], 3, model="m", cost_usd=0.3)  # left open by the old process
        settings = ServerSettingsStore(conn, clock=clock)
        await settings.set_log_channel(GUILD, 555)
        await settings.set_allowed_models(GUILD, ["gpt-image-2"])
        await settings.set_max_images(GUILD, 3)
        await settings.add_blocked_words(GUILD, [BlockedWord("dragon", "Dragon"), BlockedWord("red panda", "red panda")], added_by=8)
        results = ResultStore(conn, path.parent / "results", retention=timedelta(days=7), max_bytes=10**6, clock=clock)
        await results.save(ResultFiles(1, GUILD, 66, 1, "a boat", {"model": "gpt-image-2"}, [b"in"], b"mask", ["edit-1.png"]))
        # One kept before schema 10: its image is on disk too.
        await conn.execute_fetchall(
            "INSERT INTO edit_results (id, guild_id, channel_id, requester_id, prompt, options, inputs, has_mask, results, "
            "bytes, created_at, expires_at, results_kept) VALUES (2, ?, 66, 1, 'a kite', '{}', 1, 0, '[\"edit-1.png\"]', 6, ?, ?, 1)",
            (GUILD, NOW.timestamp(), NOW.timestamp() + 86400),
        )
        (path.parent / "results" / "2").mkdir()
        (path.parent / "results" / "2" / "input-1.bin").write_bytes(b"in2")
        (path.parent / "results" / "2" / "edit-1.png").write_bytes(b"out")
        await MetaStore(conn).set("user_id_salt", "abc123")
        strikes = StrikeStore(conn, clock=clock)
        await strikes.set_level(GUILD, "images")
        for _ in range(3):
            await strikes.strike(GUILD, 7, source="moderation", categories=("hate",), strikes=3, pause_hours=24)
    finally:
        await conn.close()
