"""Where a process keeps its commit journal (bot/store/connect.py journal_path): one file per
process, so processes sharing a PostgreSQL database and a data folder never share one."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_settings
from bot.store.connect import journal_path

ENV = {"DISCORD_TOKEN": "t" * 30, "IMAGE_API_KEY": "sk-" + "k" * 30}


def settings(tmp_path: Path, **extra: str):  # type: ignore[no-untyped-def]
    return load_settings({**ENV, "DATABASE_PATH": str(tmp_path / "data" / "retouch.db"), **extra}, env_file=None)


def test_sqlite_keeps_one_journal_beside_its_file(tmp_path: Path) -> None:
    assert journal_path(settings(tmp_path)) == tmp_path / "data" / "retouch.db.pending-commits"
    # SQLite allows one process per file (the instance lock): shards do not change the name.
    sharded = settings(tmp_path, SHARD_COUNT="4", SHARD_IDS="0,1")
    assert journal_path(sharded) == tmp_path / "data" / "retouch.db.pending-commits"


def test_postgresql_names_the_journal_after_the_shards_the_process_runs(tmp_path: Path) -> None:
    url = "postgresql://retouch@db.invalid/retouch"
    first = settings(tmp_path, DATABASE_URL=url, SHARD_COUNT="4", SHARD_IDS="0,1")
    second = settings(tmp_path, DATABASE_URL=url, SHARD_COUNT="4", SHARD_IDS="2,3")
    assert journal_path(first) == tmp_path / "data" / "retouch.db.shards-0-1.pending-commits"
    assert journal_path(second) == tmp_path / "data" / "retouch.db.shards-2-3.pending-commits"
    # One process running every shard: the plain name, as with SQLite.
    assert journal_path(settings(tmp_path, DATABASE_URL=url)) == tmp_path / "data" / "retouch.db.pending-commits"
