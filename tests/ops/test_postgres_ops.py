"""`doctor` and `backup` when DATABASE_URL names PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.ops import doctor
from bot.ops.backup import main as backup_main
from bot.store import postgres
from bot.store.quota import QuotaStore
from tests.conftest import TEST_KEY, TEST_TOKEN, fresh_postgres_database
from tests.support.doctor import by_name, closed_port, env_for, run_doctor

ROOT = Path(__file__).resolve().parents[2]


def with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


async def test_doctor_checks_the_connection_the_version_and_the_schema(tmp_path, models_api, postgres_url):  # noqa: F811
    db = await postgres.connect(postgres_url)
    await postgres.ProcessLiveness(db, "boot-doctor", shards="2,3").start(0.0)
    try:
        checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=postgres_url))
    finally:
        await db.close()
    database = by_name(checks, "database")
    assert database.status == doctor.PASS and "PostgreSQL 1" in database.detail, text
    schema = by_name(checks, "database schema")
    assert schema.status == doctor.PASS and "current" in schema.detail
    assert any("shards 2,3" in note for note in schema.notes), schema.notes
    assert by_name(checks, "database folder").status == doctor.PASS  # the commit journal still lives there
    assert not any(c.name == "database file" for c in checks)


async def test_doctor_warns_when_the_processes_disagree_on_settings_they_must_share(tmp_path, models_api, postgres_url):  # noqa: F811
    now = time.time()
    db = await postgres.connect(postgres_url)
    try:
        for owner, shards, limit in (("boot-a", "0,1", "3000"), ("boot-b", "2,3", "unset"), ("boot-c", "4,5", "3000")):
            settings = f"SHARD_COUNT=6; QUOTA_DEFAULT_LIMIT=10; QUOTA_DEFAULT_PERIOD=day; GLOBAL_DAILY_IMAGE_LIMIT={limit}; GLOBAL_SPEND_LIMIT_USD=unset"
            await postgres.ProcessLiveness(db, owner, shards=shards, shared_settings=settings).start(now)
        checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=postgres_url))
        shared = by_name(checks, "shared settings")
        assert shared.status == doctor.WARN, text
        assert "GLOBAL_DAILY_IMAGE_LIMIT: 3000 on " in shared.detail and "(shards 0,1) and " in shared.detail, shared.detail
        assert "unset on " in shared.detail and "(shards 2,3)" in shared.detail, shared.detail
        assert "QUOTA_DEFAULT_LIMIT" not in shared.detail and "SHARD_COUNT" not in shared.detail

        # Agreeing processes (B gone), or only a crashed one's old row left differing: no warning.
        await db.execute("DELETE FROM processes WHERE owner = 'boot-b'")
        checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=postgres_url))
        assert not any(c.name == "shared settings" for c in checks), text
        await postgres.ProcessLiveness(db, "boot-old", shards="2,3", shared_settings="GLOBAL_DAILY_IMAGE_LIMIT=5").start(
            now - postgres.DEAD_AFTER_SECONDS - 60
        )
        checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=postgres_url))
        assert not any(c.name == "shared settings" for c in checks), text
    finally:
        await db.close()


async def test_doctor_fails_in_one_line_when_postgresql_is_unreachable(tmp_path, models_api):  # noqa: F811
    url = f"postgresql://retouch:pw-not-shown-123@127.0.0.1:{closed_port()}/retouch"
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=url))
    database = by_name(checks, "database")
    assert database.status == doctor.FAIL and "cannot connect to PostgreSQL" in database.detail
    assert by_name(checks, "database schema").status == doctor.SKIP
    assert "pw-not-shown-123" not in text


async def test_doctor_refuses_a_schema_newer_than_the_code(tmp_path, models_api, postgres_url):  # noqa: F811
    db = await postgres.connect(postgres_url)
    try:
        await db.execute("UPDATE schema_version SET version = version + 5")
    finally:
        await db.close()
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=postgres_url))
    schema = by_name(checks, "database schema")
    assert schema.status == doctor.FAIL and "newer than this Retouch" in schema.detail


async def test_doctor_on_an_empty_database_says_migrations_will_run(tmp_path, models_api, empty_postgres_url):  # noqa: F811
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=empty_postgres_url))
    schema = by_name(checks, "database schema")
    assert schema.status == doctor.PASS and "will be applied at the first start" in schema.detail


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs PostgreSQL's client tools (CI installs them)")
async def test_backup_writes_a_pg_dump_that_restores(tmp_path, postgres_url, postgres_server):
    db = await postgres.connect(postgres_url)
    try:
        store = QuotaStore(db, owner="o", default_limit=10, default_period="day")
        await store.set_user_limit(1, 2, 7, "week")
        reservation = await store.reserve(1, 2, [], 3, model="m", cost_usd=0.2)
        await store.commit(reservation.id, 2, cost_usd=0.1)  # type: ignore[arg-type]
    finally:
        await db.close()
    dump = tmp_path / "backups" / "retouch.dump"
    env = {"DATABASE_URL": postgres_url}
    code = await asyncio.to_thread(backup_main, str(dump), env, None)
    assert code == 0 and dump.is_file() and dump.stat().st_size > 0
    assert await asyncio.to_thread(backup_main, str(dump), env, None) == 1, "never overwritten"

    async with fresh_postgres_database(postgres_server, None) as restored:
        done = await asyncio.to_thread(
            subprocess.run, ["pg_restore", "--no-owner", f"--dbname={restored}", str(dump)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        db = await postgres.connect(restored)
        try:
            assert (await postgres.schema_status(db)).up_to_date
            store = QuotaStore(db, owner="o2", default_limit=10, default_period="day")
            usage = await store.usage_for(1, 2)
            assert (usage.limit, usage.used, usage.images) == (7, 2, 2)
        finally:
            await db.close()


def test_backup_without_pg_dump_says_how_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.update(PATH=str(tmp_path), PYTHONPATH=str(ROOT), DATABASE_URL="postgresql://retouch:hush-hush-42@db/retouch",
               DISCORD_TOKEN=TEST_TOKEN, IMAGE_API_KEY=TEST_KEY)
    done = subprocess.run([sys.executable, "-m", "bot", "backup", "x.dump"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pg_dump is not installed here" in lines[0] and "pg_restore" in lines[0]
    assert "hush-hush-42" not in done.stderr


async def test_the_health_probe_writes_to_postgresql(postgres_url):
    from bot.ops.health import PROBE_KEY, database_writable

    db = await postgres.connect(postgres_url)
    try:
        assert await database_writable(db) is True
        assert (await db.fetchone("SELECT value FROM meta WHERE key = ?", (PROBE_KEY,))) is not None
        await db.execute("ALTER DATABASE " + postgres_url.rsplit("/", 1)[1] + " SET default_transaction_read_only = on")
        await db.pool.expire_connections()  # new connections read the setting
        assert await database_writable(db, timeout=5) is False
    finally:
        await db.close()
