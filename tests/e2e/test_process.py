"""`python -m bot` as a real process: SIGTERM mid-edit, and a crash (SIGKILL) mid-edit.

The child is pointed at the fakes by tests/support/process.py, and sees none of the
developer's own settings (a DATABASE_URL in their shell would otherwise be used).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path


from tests.conftest import TEST_KEY, TEST_TOKEN
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply, make_image
from tests.support.polling import eventually
from tests.support.process import ROOT, SITECUSTOMIZE, start_bot, without_settings


def ledger(tmp_path: Path) -> list[tuple]:
    with sqlite3.connect(tmp_path / "retouch.db") as db:
        return db.execute("SELECT status, images_reserved, images_delivered FROM ledger ORDER BY id").fetchall()


async def test_sigterm_mid_edit_refunds_tells_the_member_and_exits_0(fakes, tmp_path, monkeypatch):
    discord_fake, api = fakes
    # A developer's own settings in the shell never reach the child (else: their PostgreSQL, no quota).
    monkeypatch.setenv("DATABASE_URL", "postgresql://developer@127.0.0.1:9/their_own")
    monkeypatch.setenv("QUOTA_DEFAULT_LIMIT", "0")
    working = api.expect(Reply.hang())
    proc = await start_bot(tmp_path, discord_fake, api)
    member = discord_fake.member("alice")
    rec = await discord_fake.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="x", n=2)
    await asyncio.wait_for(working.answered.wait(), 15)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()[-2000:]
    reply = await rec.wait_result()
    assert reply.ephemeral and "refunded" in reply.text
    assert ledger(tmp_path) == [("refunded", 2, 0)]
    text = err.decode()
    assert "Retouch stopped cleanly" in text
    assert TEST_TOKEN not in text and TEST_KEY not in text and api.api_key not in text


async def test_crash_mid_edit_loses_no_quota_after_restart(fakes, tmp_path):
    discord_fake, api = fakes
    # a committed edit first: it must survive the crash
    proc = await start_bot(tmp_path, discord_fake, api)
    member = discord_fake.member("bob")
    done = await discord_fake.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="x")
    await done.wait_result()
    await eventually(lambda: ledger(tmp_path) == [("committed", 1, 1)])  # its commit follows its post
    working = api.expect(Reply.hang())
    rec = await discord_fake.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="y", n=3)
    await asyncio.wait_for(working.answered.wait(), 15)
    assert ledger(tmp_path) == [("committed", 1, 1), ("reserved", 3, None)]
    proc.kill()  # no chance to clean up
    await asyncio.wait_for(proc.wait(), 10)

    proc = await start_bot(tmp_path, discord_fake, api)
    try:
        assert ledger(tmp_path) == [("committed", 1, 1), ("refunded", 3, 0)]
        rec = await discord_fake.invoke("usage", by=member)
        reply = await rec.wait_result()
        assert "Used today: 1" in reply.text and "Remaining: 9" in reply.text
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0


async def test_second_instance_on_the_same_database_refuses_to_start(fakes, tmp_path):
    discord_fake, api = fakes
    proc = await start_bot(tmp_path, discord_fake, api)
    try:
        env = without_settings()
        env.update(DISCORD_TOKEN=TEST_TOKEN, IMAGE_API_KEY=TEST_KEY, DATABASE_PATH=str(tmp_path / "retouch.db"), PYTHONPATH=str(ROOT))
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 1
        lines = err.decode().strip().splitlines()
        assert len(lines) == 1 and "already using" in lines[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)


async def test_unreachable_discord_is_one_clear_line(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = without_settings()
    env.update(
        PYTHONPATH=f"{site}{os.pathsep}{ROOT}",
        TEST_DISCORD_API="http://127.0.0.1:9/api/v10",  # nothing listens there
        TEST_DISCORD_GATEWAY="ws://127.0.0.1:9/gateway",
        DISCORD_TOKEN=TEST_TOKEN,
        IMAGE_API_KEY=TEST_KEY,
        DATABASE_PATH=str(tmp_path / "retouch.db"),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    text = err.decode()
    lines = text.strip().splitlines()
    assert "Traceback" not in text and "voice" not in text, text[-1500:]
    assert [line for line in lines if line.startswith("retouch:")] == [lines[-1]]
    assert "cannot reach Discord" in lines[-1]
    assert TEST_TOKEN not in text


async def test_result_buttons_work_after_the_bot_process_restarts(fakes, tmp_path):
    """A new `python -m bot` process answers the buttons of a result the old one posted."""
    discord_fake, api = fakes
    alice, bob = discord_fake.member("alice"), discord_fake.member("bob")
    proc = await start_bot(tmp_path, discord_fake, api)
    try:
        rec = await discord_fake.invoke("edit", by=alice, image=FakeAttachment.image(make_image(32, 32)), prompt="night", n=2)
        result = await rec.wait_result()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    ids = [c["custom_id"] for row in result.components for c in row["components"]]
    assert [i.split(":")[1] for i in ids] == ["again", "reroll", "delete"]

    proc = await start_bot(tmp_path, discord_fake, api)
    try:
        again = await discord_fake.click(result, ids[1], by=bob)  # Re-roll, by another member
        rerolled = await again.wait_result(timeout=30)
        assert rerolled.files and not rerolled.ephemeral and "Requested by Bob" in rerolled.text
        assert api.edits[-1].fields["prompt"] == ["night"]
        modal_click = await discord_fake.click(result, ids[0], by=alice)  # Edit again
        assert (await modal_click.wait_modal())["title"] == "Edit again"
        await discord_fake.click(result, ids[2], by=alice)  # Delete
        await eventually(lambda: result.deleted)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    await eventually(lambda: ledger(tmp_path)[-1][0] == "committed")
    with sqlite3.connect(tmp_path / "retouch.db") as db:
        assert db.execute("SELECT user_id FROM ledger ORDER BY id").fetchall()[-1] == (bob.id,)
