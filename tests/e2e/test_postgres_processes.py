"""Two real `python -m bot` processes, two shards each, over one PostgreSQL database.

One fake Discord asks for 4 shards; the test server lives on shard 2, so its events reach
process B (SHARD_IDS=2,3), while direct messages (shard 0) reach process A (SHARD_IDS=0,1).
Both reserve against the same bot-wide daily image limit in the shared database. Then one
process is killed (SIGKILL) mid-edit: the other keeps running, releases the dead one's
reservation once its PostgreSQL liveness lock is free and its beats stopped (the stale
bound is far longer, so nothing else can release it), and never releases its own live
edit. And a live process whose liveness session the server ends mid-edit
(pg_terminate_backend: a restart, an idle timeout, a dropped connection look the same)
takes its lock back, loses no reservation to the other process, and its images count.
"""

from __future__ import annotations

import asyncio
import shutil
import sys

import pytest

from tests.fakes.discord_server import FakeAttachment, FakeDiscord
from tests.fakes.image_api import FakeImageAPI, Reply, make_image
from tests.support.bot_processes import ledger, query, start_process, stop
from tests.support.polling import eventually
from tests.support.process import bot_environment

pytestmark = pytest.mark.timeout(120)


async def settled(url: str) -> list[dict]:
    """The ledger once no row is open: a bot commits an edit once Discord has its post, a
    moment after the fake saw it."""

    async def rows() -> list[dict] | None:
        found = await ledger(url)
        return found if all(r["status"] != "reserved" for r in found) else None

    return await eventually(rows, 10, what="every edit settled in the ledger", interval=0.05)


@pytest.fixture
async def fakes():
    async with FakeDiscord(shard_count=4, guild_shard=2) as discord_fake, FakeImageAPI() as api:
        yield discord_fake, api


async def test_two_processes_share_the_bot_wide_limit_and_never_overspend(fakes, tmp_path, postgres_url):
    discord_fake, api = fakes
    api.set_default(Reply.images(delay=0.3))  # edits overlap: reservations are held concurrently
    limits = {"GLOBAL_DAILY_IMAGE_LIMIT": "6"}
    a = await start_process(tmp_path / "a", discord_fake, api, postgres_url, "0,1", **limits)
    b = await start_process(tmp_path / "b", discord_fake, api, postgres_url, "2,3", **limits)
    try:
        def edit(name: str, *, dm: bool):  # type: ignore[no-untyped-def]
            member = discord_fake.member(name)
            return discord_fake.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="x", dm=dm)

        # One edit through each process first: both really serve (DMs: A, the server: B).
        for name, dm in (("dm-first", True), ("guild-first", False)):
            reply = await (await edit(name, dm=dm)).wait_result()
            assert reply.files, reply.text
        owners = {r["owner"] for r in await ledger(postgres_url)}
        assert len(owners) == 2, "each process committed one edit under its own boot id"

        # Then 12 at once, 6 through each process, for the 4 images left today.
        records = await asyncio.gather(*(edit(f"m{i}", dm=i % 2 == 0) for i in range(12)))
        replies = await asyncio.gather(*(r.wait_result(30) for r in records))
        delivered = [r for r in replies if r.files]
        refused = [r for r in replies if not r.files]
        assert len(delivered) == 4 and len(refused) == 8
        assert all(r.ephemeral and "daily image budget for all servers" in r.text for r in refused), refused[0].text

        rows = await settled(postgres_url)
        assert sum(r["images_delivered"] or 0 for r in rows if r["status"] == "committed") == 6
        assert all(r["status"] == "committed" for r in rows) and len(rows) == 6, rows
        assert {r["guild_id"] == 0 for r in rows} == {True, False}, "DMs and server edits both counted"
    finally:
        err_a, err_b = await stop(a), await stop(b)
    assert a.returncode == 0 and b.returncode == 0, (err_a[-2000:], err_b[-2000:])
    assert "Retouch stopped cleanly" in err_a and "Retouch stopped cleanly" in err_b
    assert "runs with different settings" not in err_a + err_b, "the two agree"


def different_settings(output: str) -> list[str]:
    return [line for line in output.splitlines() if "runs with different settings" in line]


async def test_processes_started_with_different_daily_limits_both_say_so_in_their_logs(fakes, tmp_path, postgres_url):
    discord_fake, api = fakes
    # One shard each: a second shard would only add discord.py's 5 s between identifies.
    a = await start_process(tmp_path / "a", discord_fake, api, postgres_url, "0", GLOBAL_DAILY_IMAGE_LIMIT="6")
    assert different_settings(a.output()) == [], "alone so far"
    b = await start_process(tmp_path / "b", discord_fake, api, postgres_url, "2")  # its .env forgot the limit
    try:
        # B at its start; A, already running, at its next beat (every 4 s).
        await eventually(lambda: different_settings(a.output()), 15, what="A's log naming B")
    finally:
        err_a, err_b = await asyncio.gather(stop(a), stop(b))
    [warning] = different_settings(err_b)
    assert f"pid {a.pid} (shards 0)" in warning and "GLOBAL_DAILY_IMAGE_LIMIT 6 there, unset here" in warning, warning
    assert "WARNING" in warning and "QUOTA_DEFAULT_LIMIT" not in warning
    [warning] = different_settings(err_a)  # once, not at every beat
    assert f"pid {b.pid} (shards 2)" in warning and "GLOBAL_DAILY_IMAGE_LIMIT unset there, 6 here" in warning, warning


async def test_a_killed_process_reservation_is_released_through_its_lock_and_the_survivors_live_edit_is_not(
    fakes, tmp_path, postgres_url
):
    discord_fake, api = fakes
    # A stale bound far longer than the release takes: the dead process's row can only be
    # released because nobody holds its PostgreSQL liveness lock any more and its last
    # beat is older than DEAD_AFTER_SECONDS (20 s; the keepers sweep every 4 s).
    stale = {"STALE_RESERVATION_SECONDS": "60"}
    a = await start_process(tmp_path / "a", discord_fake, api, postgres_url, "0,1", **stale)
    b = await start_process(tmp_path / "b", discord_fake, api, postgres_url, "2,3", **stale)
    try:
        # B's edit stays at the provider until the test lets it finish; A's never returns.
        survivor_at_provider = api.expect(Reply.images(gate="survivor"))
        dead_at_provider = api.expect(Reply.hang())
        survivor = await discord_fake.invoke(
            "edit", by=discord_fake.member("bea"), image=FakeAttachment.image(make_image(32, 32)), prompt="slow", n=2
        )
        await asyncio.wait_for(survivor_at_provider.answered.wait(), 15)
        await discord_fake.invoke(
            "edit", by=discord_fake.member("abe"), image=FakeAttachment.image(make_image(32, 32)), prompt="x", n=3, dm=True
        )
        await asyncio.wait_for(dead_at_provider.answered.wait(), 15)
        rows = await ledger(postgres_url)
        assert [(r["guild_id"] == 0, r["status"], r["images_reserved"]) for r in rows] == [(False, "reserved", 2), (True, "reserved", 3)]
        a_owner, b_owner = rows[1]["owner"], rows[0]["owner"]

        a.kill()  # no chance to clean up
        await asyncio.wait_for(a.wait(), 10)

        async def released() -> list[dict] | None:
            rows = await ledger(postgres_url)
            return rows if rows[1]["status"] != "reserved" else None

        rows = await eventually(released, 40, what="the dead process's reservation released", interval=0.1)
        assert (rows[1]["status"], rows[1]["refund_reason"], rows[1]["owner"]) == ("refunded", "abandoned", a_owner)
        # The survivor is still at the provider: its live row was not touched.
        assert (rows[0]["status"], rows[0]["refund_reason"], rows[0]["owner"]) == ("reserved", None, b_owner)

        api.open_gate("survivor")
        reply = await survivor.wait_result(20)
        assert reply.files and len(reply.files) == 2
        rows = await settled(postgres_url)
        assert (rows[0]["status"], rows[0]["images_delivered"], rows[0]["refund_reason"]) == ("committed", 2, None)

        # B keeps serving.
        again = await discord_fake.invoke("edit", by=discord_fake.member("cy"), image=FakeAttachment.image(make_image(32, 32)), prompt="x")
        assert (await again.wait_result()).files
    finally:
        if a.returncode is None:
            a.kill()
            await a.wait()
        err_b = await stop(b)
    assert b.returncode == 0, err_b[-2000:]
    assert "refunded 1 reservation(s) of a bot process that stopped running" in err_b
    assert "no sign of life" not in err_b


async def test_a_result_made_on_one_process_is_re_rolled_and_edited_again_on_another_after_its_folder_is_gone(
    fakes, tmp_path, postgres_url
):
    discord_fake, api = fakes
    a = await start_process(tmp_path / "a", discord_fake, api, postgres_url, "0,1")
    b = await start_process(tmp_path / "b", discord_fake, api, postgres_url, "2,3")
    c = None
    try:
        source = make_image(64, 48, fill="noise", seed=12)
        made = await discord_fake.invoke(
            "edit", by=discord_fake.member("ada"), image=FakeAttachment.image(source), prompt="make it night", n=2
        )
        reply = await made.wait_result()
        assert len(reply.files) == 2, reply.text
        ids = [c["custom_id"] for row in reply.components for c in row.get("components", [])]
        again, reroll = next(i for i in ids if ":again:" in i), next(i for i in ids if ":reroll:" in i)
        # The process that made it stops and its data folder goes (a move to a new host);
        # the server's shards are now served by a process that never saw the result.
        err_b = await stop(b)
        assert b.returncode == 0, err_b[-2000:]
        shutil.rmtree(tmp_path / "b")
        c = await start_process(tmp_path / "c", discord_fake, api, postgres_url, "2,3")

        bea = discord_fake.member("bea")
        rerolled = await (await discord_fake.click(reply, reroll, by=bea)).wait_result()
        assert len(rerolled.files) == 2 and not rerolled.ephemeral, rerolled.text
        sent = api.edits[-1]
        assert sent.fields["prompt"] == ["make it night"] and sent.fields["n"] == ["2"]
        assert [p.data for p in sent.files] == [source], "the same input, from the database"

        click = await discord_fake.click(reply, again, by=bea)
        await click.wait_modal()
        submit = await discord_fake.submit_modal(click, values={"prompt": "now green", "which": ["1"]}, by=bea)
        edited = await submit.wait_result()
        assert edited.files and not edited.ephemeral, edited.text
        assert api.edits[-1].files[0].data == reply.files[1].data, "the second image, read back from the message"
        assert api.edits[-1].fields["prompt"] == ["now green"]

        rows = await settled(postgres_url)
        assert [(r["status"], r["images_delivered"]) for r in rows] == [("committed", 2), ("committed", 2), ("committed", 1)]
        assert not (tmp_path / "c" / "results").exists(), "nothing kept on the process's disk"
    finally:
        err_a = await stop(a)
        err_c = await stop(c) if c is not None else ""
    assert a.returncode == 0 and (c is None or c.returncode == 0), (err_a[-2000:], err_c[-2000:])


# The backend holding a process's liveness lock (a bigint advisory key is listed as
# classid = its high 32 bits, objid = its low 32 bits).
LOCK_HOLDER = """
SELECT pid FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND objsubid = 1
   AND ((classid::bigint << 32) | objid::bigint) = retouch_owner_key($1)
"""


async def test_a_terminated_liveness_session_mid_edit_refunds_nothing_and_the_images_count(fakes, tmp_path, postgres_url):
    discord_fake, api = fakes
    # A sweeps at least twice as often as B would beat without the fix (5 s against 10 s),
    # so A looks while B's lock is free; its stale bound (15 s) still covers B's touches.
    a = await start_process(tmp_path / "a", discord_fake, api, postgres_url, "0,1", STALE_RESERVATION_SECONDS="15")
    b = await start_process(tmp_path / "b", discord_fake, api, postgres_url, "2,3", STALE_RESERVATION_SECONDS="30")
    try:
        at_provider = api.expect(Reply.images(gate="deliver"))
        edit = await discord_fake.invoke(
            "edit", by=discord_fake.member("bea"), image=FakeAttachment.image(make_image(32, 32)), prompt="slow", n=2
        )
        await asyncio.wait_for(at_provider.answered.wait(), 15)
        [row] = await ledger(postgres_url)
        b_owner = row["owner"]

        async def seen(owner_is_b: bool) -> dict[str, float]:
            rows = await query(postgres_url, "SELECT owner, last_seen FROM processes")
            return {r["owner"]: r["last_seen"] for r in rows if (r["owner"] == b_owner) == owner_is_b}

        # Right after one of B's beats, the server ends B's liveness session.
        b_before = await seen(True)
        await eventually(lambda: _changed(seen(True), b_before), 20, what="a beat of B", interval=0.05)
        [holder] = await query(postgres_url, LOCK_HOLDER, b_owner)
        [ended] = await query(postgres_url, "SELECT pg_terminate_backend($1, 10000) AS done", holder["pid"])
        assert ended["done"]
        # A sweeps (beat, touch, release) twice meanwhile: the second beat starts after the
        # first sweep's releases are done.
        a_seen = await seen(False)
        for _ in range(2):
            a_seen = await eventually(lambda: _changed(seen(False), a_seen), 20, what="a sweep of A", interval=0.05)

        async def relocked() -> list[dict]:
            rows = await query(postgres_url, LOCK_HOLDER, b_owner)
            return rows if rows and rows[0]["pid"] != holder["pid"] else []

        await eventually(relocked, 20, what="B holding its liveness lock again", interval=0.1)
        [row] = await ledger(postgres_url)
        assert (row["status"], row["refund_reason"]) == ("reserved", None), "B's live edit was refunded as abandoned"

        api.open_gate("deliver")
        reply = await edit.wait_result(20)
        assert reply.files and len(reply.files) == 2, reply.text

        [row] = await settled(postgres_url)
        assert (row["status"], row["images_delivered"], row["refund_reason"]) == ("committed", 2, None)
    finally:
        err_a, err_b = await stop(a), await stop(b)
    assert a.returncode == 0 and b.returncode == 0, (err_a[-2000:], err_b[-2000:])
    assert "the liveness connection to PostgreSQL failed" in err_b, err_b[-2000:]
    assert "refunded" not in err_a, err_a[-2000:]


async def _changed(current, before: dict[str, float]) -> dict[str, float] | None:  # type: ignore[no-untyped-def]
    now = await current
    return now if now and now != before else None


async def test_an_unreachable_postgresql_at_start_is_one_clear_line(fakes, tmp_path):
    import socket

    discord_fake, api = fakes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = bot_environment(
        tmp_path,
        discord_fake,
        api,
        DATABASE_URL=f"postgresql://retouch:do-not-print-me@127.0.0.1:{port}/retouch",
        DATABASE_PATH=str(tmp_path / "retouch.db"),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    text = err.decode()
    assert proc.returncode == 1, text[-2000:]
    lines = text.strip().splitlines()
    assert "Traceback" not in text and "do-not-print-me" not in text, text[-2000:]
    assert lines[-1] == (
        f"retouch: cannot connect to PostgreSQL at postgresql://127.0.0.1:{port}/retouch "
        f"(ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', {port})); "
        "check DATABASE_URL and that the server is running"
    ), lines[-1]
    assert not (tmp_path / "retouch.db").exists(), "no SQLite file is made when DATABASE_URL is set"
