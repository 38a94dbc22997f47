"""`python -m bot backup PATH`: consistent online copies while another process writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.ops.backup import BackupError, backup_database, database_path_from_settings
from bot.ops.instance_lock import InstanceLock

ROOT = Path(__file__).resolve().parents[2]

# A separate process, like the running bot: commits pairs of rows in one transaction
# each, never checkpointing, so recent commits live only in the -wal file.
WRITER = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA wal_autocheckpoint=0")
progress = open(sys.argv[2], "w")
n = 0
while True:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO pairs (batch, payload) VALUES (?, randomblob(700))", (n,))
    conn.execute("INSERT INTO pairs (batch, payload) VALUES (?, randomblob(700))", (n,))
    conn.execute("COMMIT")
    n += 1
    progress.seek(0); progress.write(f"{n:>12}"); progress.flush()
    time.sleep(0.001)
"""


def make_source(path: Path, rows: int = 3000) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE pairs (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, payload BLOB)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO pairs (batch, payload) VALUES (?, randomblob(700))", [(-1 - i // 2,) for i in range(rows)])
    conn.execute("COMMIT")
    conn.execute("PRAGMA user_version = 7")
    conn.close()


def committed(progress: Path) -> int:
    text = progress.read_text().strip()
    return int(text) if text else 0


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_backup_while_a_writer_commits(tmp_path):
    source = tmp_path / "live" / "retouch.db"
    source.parent.mkdir()
    make_source(source)
    progress = tmp_path / "progress"
    progress.write_text("")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(source), str(progress)])
    try:
        wait_for(lambda: committed(progress) >= 50)
        before = committed(progress)
        assert Path(f"{source}-wal").stat().st_size > 0  # recent commits are only in the WAL
        # Small steps with pauses: the copy takes a while and the writer keeps going.
        result = backup_database(source, tmp_path / "backups" / "nested" / "copy.db", pages=8, pause=0.01)
        after = committed(progress)
        assert writer.poll() is None, "the writer died"
    finally:
        writer.kill()
        writer.wait(10)
    assert after > before, "the writer was blocked during the backup"

    copy = result.path
    assert copy == tmp_path / "backups" / "nested" / "copy.db"
    assert result.size == copy.stat().st_size > 0
    assert result.schema_version == 7
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.db"]  # one self-contained file
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        batches = conn.execute("SELECT max(batch) FROM pairs").fetchone()[0]
        # Everything committed before the backup started is in it ...
        assert batches is not None and batches + 1 >= before
        # ... and no transaction is torn: every batch has both of its rows.
        torn = conn.execute("SELECT count(*) FROM (SELECT batch FROM pairs GROUP BY batch HAVING count(*) != 2)").fetchone()[0]
        assert torn == 0
        assert conn.execute("SELECT count(*) FROM pairs WHERE batch >= 0").fetchone()[0] == 2 * (batches + 1)
    finally:
        conn.close()


def test_refuses_to_overwrite(tmp_path):
    source = tmp_path / "retouch.db"
    make_source(source, rows=10)
    existing = tmp_path / "backup.db"
    existing.write_bytes(b"an older backup")
    with pytest.raises(BackupError, match="already exists"):
        backup_database(source, existing)
    assert existing.read_bytes() == b"an older backup"
    with pytest.raises(BackupError, match="database itself"):
        backup_database(source, source)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial left


def test_missing_database_is_one_clear_error(tmp_path):
    with pytest.raises(BackupError, match="no database at .*DATABASE_PATH"):
        backup_database(tmp_path / "nothing.db", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_backup_does_not_need_the_instance_lock(tmp_path):
    source = tmp_path / "retouch.db"
    make_source(source, rows=10)
    lock = InstanceLock(source)
    lock.acquire()  # as the running bot holds it
    try:
        result = backup_database(source, tmp_path / "copy.db")
    finally:
        lock.release()
    assert result.size > 0


def test_database_path_needs_no_other_setting(tmp_path):
    assert database_path_from_settings({"DATABASE_PATH": "/data/retouch.db"}, env_file=None) == Path("/data/retouch.db")
    assert database_path_from_settings({}, env_file=None) == Path("data/retouch.db")


def run_backup(tmp_path: Path, target: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "IMAGE_API_KEY", "DATABASE_PATH")}
    env.update(PYTHONPATH=str(ROOT), DATABASE_PATH=str(database))
    return subprocess.run(
        [sys.executable, "-m", "bot", "backup", target], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_backup_and_refusal(tmp_path):
    database = tmp_path / "data" / "retouch.db"
    database.parent.mkdir()
    make_source(database, rows=20)
    first = run_backup(tmp_path, "backups/one.db", database)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "backup written: backups/one.db" in first.stdout and "bytes" in first.stdout and "integrity ok" in first.stdout
    again = run_backup(tmp_path, "backups/one.db", database)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        "retouch: backup failed: backups/one.db already exists: choose a new file name (backups are never overwritten)"
    ]
    missing = run_backup(tmp_path, "backups/two.db", tmp_path / "elsewhere.db")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr and "DATABASE_PATH" in missing.stderr
