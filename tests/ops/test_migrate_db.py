"""`python -m bot migrate-db --to postgresql://...`: SQLite into an empty PostgreSQL database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.ops.migrate_db import MigrateError, migrate_to_postgres
from bot.store import postgres
from bot.store.sqlite import open_database
from bot.store.meta import MetaStore
from bot.store.quota import QuotaStore, Reservation
from bot.store.results import ResultStore
from bot.store.server_settings import ServerSettingsStore
from bot.store.strikes import StrikeStore
from tests.support.filled_database import GUILD, clock, fill

ROOT = Path(__file__).resolve().parents[2]


async def test_everything_is_copied_verified_and_answers_the_same(tmp_path: Path, empty_postgres_url: str) -> None:
    source = tmp_path / "data" / "retouch.db"
    await fill(source)
    copied = await migrate_to_postgres(source, empty_postgres_url)
    assert copied.counts == {
        "meta": 1, "guild_defaults": 1, "user_limits": 1, "role_limits": 1, "server_settings": 1,
        "blocked_words": 2, "edit_results": 2, "ledger": 5, "guild_budgets": 1, "safety_strikes": 3, "safety_pauses": 1,
        "edit_result_files": 4,
    }

    lite = await open_database(source)
    db = await postgres.connect(empty_postgres_url)
    try:
        stores = [QuotaStore(c, owner="new", default_limit=10, default_period="day", clock=clock) for c in (lite, db)]
        for user in (1, 2, 4, 7):
            a, b = [await s.usage_for(GUILD, user, [42]) for s in stores]
            assert a == b
        assert (await stores[0].spend_status(GUILD)) == (await stores[1].spend_status(GUILD))
        # The day summary, which a bulk copy does not keep: summed once after the copy, the
        # same images per day (PostgreSQL keeps no open count: ledger_open_from instead).
        summary = "SELECT day, SUM(images), MIN(first_id) FROM ledger_days WHERE day < 9999999 GROUP BY day"
        assert [tuple(r) for r in await lite.execute_fetchall(summary)] == [tuple(r) for r in await db.fetchall(summary)]
        # The copied open reservation stays where the sweeps look for open rows.
        open_ids = "SELECT id FROM ledger WHERE status = 'reserved' AND id >= (SELECT first_id FROM ledger_open_from)"
        assert len(await db.fetchall(open_ids)) == 1
        assert (await stores[0].global_usage()) == (await stores[1].global_usage())
        assert (await stores[0].report(GUILD)) == (await stores[1].report(GUILD))
        assert (await stores[0].list_rules(GUILD)) == (await stores[1].list_rules(GUILD))
        assert (await ServerSettingsStore(lite).get(GUILD)) == (await ServerSettingsStore(db).get(GUILD))
        assert await MetaStore(db).get("user_id_salt") == "abc123"
        safety = [StrikeStore(c, clock=clock) for c in (lite, db)]
        assert (await safety[0].member(GUILD, 7)) == (await safety[1].member(GUILD, 7))
        assert (await safety[1].level(GUILD)) == "images" and (await safety[1].member(GUILD, 7)).paused_until is not None
        await safety[1].strike(GUILD, 8, source="provider", strikes=3, pause_hours=24)  # ids continue after the copied ones
        # Kept results are in the database now: any process answers their buttons.
        results = ResultStore(db, tmp_path / "elsewhere", retention=timedelta(days=7), max_bytes=10**6, clock=clock)
        kept, older = await results.get(1), await results.get(2)
        assert kept is not None and kept.prompt == "a boat" and await kept.inputs() == [b"in"] and await kept.mask() == b"mask"
        assert older is not None and await older.inputs() == [b"in2"] and await older.kept_result(0) == b"out"
        # New rows continue after the copied ids; the old process's open row is released
        # at the first start (its owner holds no liveness lock).
        fresh = await stores[1].reserve(GUILD, 5, [], 1, model="m", cost_usd=0.01)
        assert isinstance(fresh, Reservation) and fresh.id == 6
        assert await stores[1].release_abandoned() == 1
    finally:
        await lite.close()
        await db.close()


async def test_a_non_empty_target_is_refused_and_left_alone(tmp_path: Path, empty_postgres_url: str) -> None:
    source = tmp_path / "retouch.db"
    await fill(source)
    await migrate_to_postgres(source, empty_postgres_url)
    with pytest.raises(MigrateError, match="is not empty .*ledger.* nothing was changed"):
        await migrate_to_postgres(source, empty_postgres_url)
    db = await postgres.connect(empty_postgres_url)
    try:
        assert (await db.fetchone("SELECT COUNT(*) FROM ledger"))[0] == 5
    finally:
        await db.close()


def run_cli(tmp_path: Path, *args: str, database: Path | None = None, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DISCORD_", "IMAGE_", "MIGRATE_"))}
    env.update(PYTHONPATH=str(ROOT), **env_vars)
    if database is not None:
        env["DATABASE_PATH"] = str(database)
    return subprocess.run(
        [sys.executable, "-m", "bot", "migrate-db", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


async def test_the_command_copies_and_says_so_and_fails_in_one_line(tmp_path: Path, empty_postgres_url: str) -> None:
    source = tmp_path / "data" / "retouch.db"
    await fill(source)
    done = run_cli(tmp_path, "--to", empty_postgres_url, database=source)
    assert done.returncode == 0, done.stderr
    assert "ledger" in done.stdout and "verified" in done.stdout

    again = run_cli(tmp_path, "--to", empty_postgres_url, database=source)
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "is not empty" in again.stderr

    wrong = run_cli(tmp_path, "--to", "mysql://root:hunter22@db/retouch", database=source)
    assert wrong.returncode == 1 and "must be a PostgreSQL URL" in wrong.stderr and "hunter22" not in wrong.stderr
    missing = run_cli(tmp_path, "--to", empty_postgres_url, "--from", str(tmp_path / "nope.db"))
    assert missing.returncode == 1 and "no SQLite database at" in missing.stderr
    down = run_cli(tmp_path, "--to", "postgresql://retouch:s3cret-pw@127.0.0.1:9/retouch", database=source)
    assert down.returncode == 1 and down.stderr.count("\n") == 1, down.stderr
    assert "cannot connect to PostgreSQL at postgresql://127.0.0.1:9/retouch" in down.stderr and "s3cret-pw" not in down.stderr
    assert json.dumps(down.stderr)  # one plain line


async def test_the_target_comes_from_MIGRATE_DB_TO_so_ps_never_shows_it(tmp_path: Path, empty_postgres_url: str) -> None:
    source = tmp_path / "data" / "retouch.db"
    await fill(source)
    neither = run_cli(tmp_path, database=source)
    assert neither.returncode == 1 and neither.stderr.count("\n") == 1, neither.stderr
    assert "set MIGRATE_DB_TO to the PostgreSQL URL to copy into" in neither.stderr

    done = run_cli(tmp_path, database=source, MIGRATE_DB_TO=empty_postgres_url)
    assert done.returncode == 0, done.stderr
    assert "ledger" in done.stdout and "verified" in done.stdout
    db = await postgres.connect(empty_postgres_url)
    try:
        assert (await db.fetchone("SELECT COUNT(*) FROM ledger"))[0] == 5
    finally:
        await db.close()

    # --to, when given, is the target (here a wrong one: refused, naming --to).
    wrong = run_cli(tmp_path, "--to", "mysql://root@db/retouch", database=source, MIGRATE_DB_TO=empty_postgres_url)
    assert wrong.returncode == 1 and "--to must be a PostgreSQL URL" in wrong.stderr


async def test_a_running_bot_on_the_file_is_refused(tmp_path: Path, empty_postgres_url: str) -> None:
    from bot.ops.instance_lock import InstanceLock

    source = tmp_path / "retouch.db"
    await fill(source)
    lock = InstanceLock(source)
    lock.acquire()  # as the running bot holds it
    try:
        with pytest.raises(MigrateError, match="a Retouch bot is running on .*: stop it first"):
            await migrate_to_postgres(source, empty_postgres_url)
    finally:
        lock.release()
    assert (await migrate_to_postgres(source, empty_postgres_url)).counts["ledger"] == 5
