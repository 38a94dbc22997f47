"""The health file the bot writes and `python -m bot health` (the Docker HEALTHCHECK)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiosqlite

from bot.ops.health import (
    HealthReporter,
    check_health,
    database_writable,
    gateway_connected,
    health_state,
)
from tests.conftest import make_settings, running_bot

ROOT = Path(__file__).resolve().parents[2]


def write_state(path: Path, **overrides: object) -> None:
    state = {"ts": time.time(), "gateway_connected": True, "database_writable": True, "pid": os.getpid()}
    state.update(overrides)
    path.write_text(json.dumps(state))


def test_fresh_report_is_healthy(tmp_path):
    path = tmp_path / "health.json"
    write_state(path)
    ok, message = check_health(path)
    assert ok and message.startswith("healthy")


def test_missing_file(tmp_path):
    ok, message = check_health(tmp_path / "health.json")
    assert not ok and "not started or not running" in message


def test_stale_report(tmp_path):
    path = tmp_path / "health.json"
    write_state(path, ts=time.time() - 61)
    ok, message = check_health(path, max_age=60)
    assert not ok and "stale" in message
    write_state(path, ts=time.time() - 59)
    assert check_health(path, max_age=60)[0]


def test_gateway_disconnected(tmp_path):
    path = tmp_path / "health.json"
    write_state(path, gateway_connected=False)
    ok, message = check_health(path)
    assert not ok and "gateway disconnected" in message


def test_database_not_writable(tmp_path):
    path = tmp_path / "health.json"
    write_state(path, database_writable=False)
    ok, message = check_health(path)
    assert not ok and "database not writable" in message


def test_garbage_and_dead_writer(tmp_path):
    path = tmp_path / "health.json"
    path.write_text("{not json")
    ok, message = check_health(path)
    assert not ok and "not valid" in message
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_state(path, pid=dead.pid)
    ok, message = check_health(path)
    assert not ok and f"pid {dead.pid}" in message and "not running" in message


async def test_reporter_writes_atomically_and_removes_on_stop(tmp_path):
    path = tmp_path / "run" / "health.json"
    path.parent.mkdir()
    path.write_text('{"ts": 1}')  # left over from an earlier process
    calls = 0
    connected = True

    async def state() -> dict:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("a failing probe must not stop the reporter")
        return {"gateway_connected": connected, "database_writable": True}

    reporter = HealthReporter(path, interval=0.02)
    task = asyncio.create_task(reporter.run(state))
    try:
        for _ in range(200):
            await asyncio.sleep(0.01)
            if calls >= 4 and path.exists():
                break
        data = json.loads(path.read_text())
        assert set(data) == {"ts", "gateway_connected", "database_writable", "pid", "tasks"}
        assert isinstance(data["tasks"], int) and data["tasks"] >= 2  # at least this test and the reporter
        assert data["pid"] == os.getpid() and abs(data["ts"] - time.time()) < 5
        assert check_health(path)[0]
        connected = False
        calls_now = calls
        for _ in range(200):
            if calls >= calls_now + 2:
                break
            await asyncio.sleep(0.01)
        ok, message = check_health(path)
        assert not ok and "gateway disconnected" in message
        assert sorted(p.name for p in path.parent.iterdir()) == ["health.json"]  # no temp files left
    finally:
        reporter.stop()
        await asyncio.wait_for(task, 5)
    assert not path.exists()

    # Cancelling the task (as the bot's close() does) removes the file too.
    task = asyncio.create_task(HealthReporter(path, interval=0.02).run(state))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if path.exists():
            break
    assert path.exists()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not path.exists()


async def test_reporter_rechecks_quickly_until_healthy(tmp_path):
    path = tmp_path / "health.json"
    connected = False

    async def state() -> dict:
        return {"gateway_connected": connected, "database_writable": True}

    reporter = HealthReporter(path, interval=30, recheck=0.05)
    task = asyncio.create_task(reporter.run(state))
    try:
        for _ in range(100):
            await asyncio.sleep(0.01)
            if path.exists():
                break
        assert not check_health(path)[0]  # starting: not connected yet
        connected = True  # e.g. the gateway's READY arrived
        for _ in range(200):
            await asyncio.sleep(0.01)
            if check_health(path)[0]:
                break
        assert check_health(path)[0], "recovery must show long before the 30 s interval"
        assert reporter.healthy
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_database_writable_probe(tmp_path):
    db_path = tmp_path / "retouch.db"
    async with aiosqlite.connect(db_path, isolation_level=None) as db:
        assert not await database_writable(db)  # no meta table: not a usable bot database
        await db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        assert await database_writable(db)
        # A probe inside another coroutine's open transaction neither commits nor ends it.
        await db.execute("BEGIN IMMEDIATE")
        await db.execute("INSERT INTO meta (key, value) VALUES ('other', 'work')")
        assert await database_writable(db)
        assert db.in_transaction
        await db.execute("ROLLBACK")
        rows = await db.execute_fetchall("SELECT key FROM meta")
        assert [r[0] for r in rows] == ["health_probe"]
    async with aiosqlite.connect(f"{db_path.as_uri()}?mode=ro", uri=True) as ro:
        assert not await database_writable(ro)
    # A connection outside autocommit mode gets its implicit transaction committed.
    async with aiosqlite.connect(db_path) as db:
        assert await database_writable(db)
        assert not db.in_transaction


async def test_gateway_state_of_the_real_bot(fake_discord, tmp_path):
    settings = make_settings(tmp_path)
    async with running_bot(settings, fake_discord) as bot:
        assert gateway_connected(bot)
        state = await health_state(bot, bot.db)
        assert state == {"gateway_connected": True, "database_writable": True}
    assert not gateway_connected(bot)


def run_health(tmp_path: Path, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HEALTH_FILE"}
    env.update(env_overrides, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bot", "health"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)


def test_cli_health_exit_codes(tmp_path):
    unset = run_health(tmp_path)
    assert unset.returncode == 1 and "HEALTH_FILE is not set" in unset.stdout
    path = tmp_path / "health.json"
    missing = run_health(tmp_path, HEALTH_FILE=str(path))
    assert missing.returncode == 1 and "not started or not running" in missing.stdout
    write_state(path)
    # Healthy needs no other setting: the health check must not fail on configuration.
    healthy = run_health(tmp_path, HEALTH_FILE=str(path))
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stdout.startswith("healthy")
    write_state(path, ts=time.time() - 3600)
    stale = run_health(tmp_path, HEALTH_FILE=str(path))
    assert stale.returncode == 1 and len(stale.stdout.strip().splitlines()) == 1
