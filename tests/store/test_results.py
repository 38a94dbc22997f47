"""Kept results within their bound: accounted at save (oldest evicted first, or not kept),
a sweep that spares a save in flight, no keeping when the disk is nearly full, and older
results (images kept on disk) still read until they expire."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store.backend import Database, SqliteDatabase
from bot.store.results import DISK_FULL, TOO_LARGE, Kept, ResultFiles, ResultStore
from bot.store.sqlite import migrate, open_database
from tests.fakes.image_api import make_image
from tests.store.conftest import GUILD, ManualClock, Target
from tests.support.polling import eventually
from tests.support.sqlite_lock import WriteLock

INPUT = make_image(128, 128, fill="noise", seed=1)  # ~49 KB of PNG
MASK = make_image(128, 128, color=(0, 0, 0))


def made(edit_id: int, *inputs: bytes, mask: bytes | None = None) -> ResultFiles:
    return ResultFiles(
        edit_id, GUILD, 5, 7, f"prompt {edit_id}", {"model": "gpt-image-2", "n": 2}, list(inputs or [INPUT]), mask, ["edit-1.png", "edit-2.png"]
    )


def results_in(db: Database, target: Target, clock: ManualClock, **options: object) -> ResultStore:
    settings: dict[str, object] = {"retention": timedelta(days=7), "max_bytes": 10 * 2**20, "clock": clock}
    settings.update(options)
    return ResultStore(db, target.path.parent / "results", **settings)  # type: ignore[arg-type]


async def test_a_saved_result_reads_back_on_a_new_connection(db: Database, target: Target, clock: ManualClock) -> None:
    kept = await results_in(db, target, clock).save(made(1, INPUT, mask=MASK))
    assert kept == Kept(len(INPUT) + len(MASK))
    other = await target.connect()  # another process
    try:
        stored = await results_in(other, target, clock).get(1)
        assert stored is not None and stored.prompt == "prompt 1" and stored.options == {"model": "gpt-image-2", "n": 2}
        assert await stored.inputs() == [INPUT] and await stored.mask() == MASK
        assert stored.result_names == ["edit-1.png", "edit-2.png"] and await stored.kept_result(1) is None, "the images stay on Discord"
    finally:
        await other.close()


async def test_a_bound_smaller_than_two_results_evicts_the_oldest_when_saving(db: Database, target: Target, clock: ManualClock) -> None:
    store = results_in(db, target, clock, max_bytes=len(INPUT) * 3 // 2)
    await store.save(made(1))
    clock.advance(seconds=1)
    assert await store.save(made(2)) == Kept(len(INPUT))
    assert await store.usage() == (1, len(INPUT)), "never over the bound, without a sweep"
    assert await store.get(1) is None and await store.get(2) is not None
    if not target.postgres:
        assert sorted(p.name for p in (target.path.parent / "results").iterdir()) == ["2"]


async def test_a_result_larger_than_the_whole_bound_keeps_only_its_row_saying_why(db: Database, target: Target, clock: ManualClock) -> None:
    store = results_in(db, target, clock, max_bytes=len(INPUT) * 3 // 2)
    await store.save(made(1))
    assert await store.save(made(2, INPUT, INPUT)) == Kept(0, TOO_LARGE)
    assert await store.usage() == (2, len(INPUT)), "the kept one stays"
    stored = await store.get(2)
    assert stored is not None and stored.unkept == TOO_LARGE and stored.input_names == []


@pytest.mark.sqlite_only(reason="only the SQLite store keeps files on the bot's disk")
async def test_a_nearly_full_disk_stops_keeping_and_says_why(db: Database, target: Target, clock: ManualClock) -> None:
    root = target.path.parent
    free = shutil.disk_usage(root).free
    full = results_in(db, target, clock, min_free_disk=free + 2**40)  # the threshold above what is really free
    assert await full.save(made(1)) == Kept(0, DISK_FULL)
    stored = await full.get(1)
    assert stored is not None and stored.unkept == DISK_FULL
    assert not (root / "results" / "1").exists(), "nothing written"
    roomy = results_in(db, target, clock, min_free_disk=0)
    assert await roomy.save(made(2)) == Kept(len(INPUT))


@pytest.mark.sqlite_only(reason="the race is between folders on disk and rows (PostgreSQL saves both in one transaction)")
async def test_a_sweep_racing_a_save_leaves_the_saves_files_alone(db: Database, target: Target, clock: ManualClock) -> None:
    root = target.path.parent / "results"
    debris = root / "99"
    debris.mkdir(parents=True)
    (debris / "input-1.png").write_bytes(b"left by a crash")
    long_ago = time.time() - 3600
    os.utime(debris, (long_ago, long_ago))
    saver = results_in(db, target, clock)
    # Another program holds the write lock: the save writes its files, then waits for its row.
    async with WriteLock(target.path):
        saving = asyncio.create_task(saver.save(made(1)))
        await eventually(lambda: (root / "1" / "input-1.png").is_file(), what="the save's files on disk")
        assert not saving.done()
        # A sweep on its own connection (as another process would run one) meets the folder
        # that has no row yet.
        sweeper_db = await target.connect()
        try:
            assert await results_in(sweeper_db, target, clock).cleanup() == 0
        finally:
            await sweeper_db.close()
        assert (root / "1" / "input-1.png").is_file(), "a folder younger than the grace is not debris"
        assert not debris.exists(), "old debris still goes"
    assert await asyncio.wait_for(saving, 10) == Kept(len(INPUT))
    stored = await saver.get(1)
    assert stored is not None and await stored.inputs() == [INPUT]


async def test_the_sweep_removes_expired_results_and_what_is_over_a_lowered_bound(db: Database, target: Target, clock: ManualClock) -> None:
    await results_in(db, target, clock).save(made(1))
    clock.advance(days=3)
    for edit_id in (2, 3):
        await results_in(db, target, clock).save(made(edit_id))
        clock.advance(seconds=1)
    clock.advance(days=4)  # 1 expired, 2 and 3 not
    lowered = results_in(db, target, clock, max_bytes=len(INPUT))
    assert await lowered.cleanup() == 2
    assert await lowered.usage() == (1, len(INPUT)) and await lowered.get(3) is not None


@pytest.mark.sqlite_only(reason="results kept before schema version 10 are folders next to the SQLite file")
async def test_an_older_result_with_its_images_on_disk_is_still_read_until_it_expires(target: Target, clock: ManualClock) -> None:
    conn = await open_database(target.path)
    try:
        await migrate(conn, target=9)
        now = clock().timestamp()
        await conn.execute_fetchall(
            "INSERT INTO edit_results (id, guild_id, channel_id, requester_id, prompt, options, inputs, has_mask, results, "
            "bytes, created_at, expires_at) VALUES (1, ?, 5, 7, 'old', '{}', 1, 0, ?, ?, ?, ?)",
            (GUILD, json.dumps(["edit-1.png"]), len(INPUT) + 3, now, now + 86400),
        )
        folder = target.path.parent / "results" / "1"
        folder.mkdir(parents=True)
        (folder / "input-1.png").write_bytes(INPUT)
        (folder / "edit-1.png").write_bytes(b"out")
        await migrate(conn)
        store = ResultStore(SqliteDatabase(conn, target.path), folder.parent, retention=timedelta(days=7), max_bytes=2**20, clock=clock)
        stored = await store.get(1)
        assert stored is not None and stored.results_kept and await stored.kept_result(0) == b"out"
        assert await stored.inputs() == [INPUT]
        clock.advance(days=1)
        assert await store.get(1) is None and await store.cleanup() == 1
        assert not folder.exists()
    finally:
        await conn.close()


@pytest.mark.postgres_only(reason="PostgreSQL keeps files in the database; older ones were on the making process's disk")
async def test_results_kept_on_disk_before_postgresql_kept_them_move_in_at_start(db: Database, target: Target, clock: ManualClock) -> None:
    now = clock().timestamp()
    target.execute(
        "INSERT INTO edit_results (id, guild_id, channel_id, requester_id, prompt, options, inputs, has_mask, results, "
        "bytes, created_at, expires_at) VALUES (1, ?, 5, 7, 'old', '{}', 1, 0, ?, ?, ?, ?)",
        (GUILD, json.dumps(["edit-1.png"]), len(INPUT) + 3, now, now + 86400),
    )
    folder: Path = target.path.parent / "results" / "1"
    folder.mkdir(parents=True)
    (folder / "input-1.png").write_bytes(INPUT)
    (folder / "edit-1.png").write_bytes(b"out")
    store = results_in(db, target, clock)
    assert await store.get(1) is None, "not readable by other processes yet"
    assert await store.adopt_local_files() == 1
    assert not folder.exists()
    other = await target.connect()
    try:
        stored = await results_in(other, target, clock).get(1)
        assert stored is not None and await stored.inputs() == [INPUT] and await stored.kept_result(0) == b"out"
    finally:
        await other.close()


@pytest.mark.postgres_only(reason="several processes share one bound only through PostgreSQL")
async def test_two_processes_saving_at_once_never_pass_the_shared_bound(db: Database, target: Target, clock: ManualClock) -> None:
    bound = len(INPUT) * 5 // 2  # two results fit, never three
    other = await target.connect()  # another process, with its own pool
    try:
        stores = [results_in(conn, target, clock, max_bytes=bound) for conn in (db, other)]
        seen: list[int] = []

        async def save(edit_id: int) -> None:
            await stores[edit_id % 2].save(made(edit_id))
            seen.append((await stores[0].usage())[1])

        await asyncio.gather(*(save(edit_id) for edit_id in range(1, 21)))
        count, size = await stores[1].usage()
    finally:
        await other.close()
    assert max(seen) <= bound and size <= bound and count == 2, (seen, count, size)
