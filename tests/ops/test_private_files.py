"""What the bot writes to disk is readable by its own user only: the database (and its
-wal, -shm and lock files), the commit journal, kept results and backups are created 0600,
the folders it makes for them 0700, whatever the umask (here the usual 022)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

from bot.discord_app.retouch_bot import Retouch
from bot.ops.runner import run_bot
from bot.store.connect import journal_path
from tests.conftest import make_settings
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import FakeImageAPI, Reply, make_image

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def until(predicate, what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"{what} did not happen within {timeout} s"
        await asyncio.sleep(0.02)


class WriteLock:
    """Another program holding the database's write lock, so a commit must wait in the journal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.taken = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            db.execute("BEGIN IMMEDIATE")
            self.taken.set()
            self.release.wait(timeout=60)  # bounded even if the test fails first
            db.execute("ROLLBACK")
        finally:
            db.close()

    async def __aenter__(self) -> "WriteLock":
        self.thread.start()
        assert await asyncio.to_thread(self.taken.wait, 10), "could not take the write lock"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await asyncio.to_thread(self.thread.join, 10)


async def test_a_real_start_an_edit_a_journaled_commit_and_a_backup_are_private(tmp_path, fake_discord):
    previous = os.umask(0o022)  # what most systems give a service: files 0644, folders 0755
    try:
        async with FakeImageAPI() as image_api:
            data = tmp_path / "data"
            settings = make_settings(
                tmp_path,
                database_path=data / "retouch.db",
                image_api_base_url=image_api.base_url,
                image_api_key=image_api.api_key,
                database_busy_timeout=0.2,
            )
            bot = Retouch(settings, guild_ready_timeout=0.2)
            running = asyncio.create_task(run_bot(settings, bot=bot))  # as `python -m bot` starts it
            try:
                ready = asyncio.create_task(bot.wait_until_ready())
                done, _ = await asyncio.wait({running, ready}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
                assert ready in done, running.result() if running.done() else "the bot did not become ready"
                member = fake_discord.member("alice")

                # A delivered edit: its inputs and images are kept for the result buttons.
                first = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="a hat")
                assert (await first.wait_result()).files

                # A delivered edit whose commit meets a locked database: it waits in the journal.
                image_api.queue(Reply.images(1, delay=0.3))
                second = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(make_image(32, 32)), prompt="a scarf")
                await until(lambda: len(image_api.edits) == 2, "the second edit reaching the image API")
                journal = journal_path(settings)
                async with WriteLock(settings.database_path):
                    assert (await second.wait_result()).files
                    await until(journal.exists, "the commit journal")
                    journal_mode = mode(journal)

                # A backup while the bot runs, as the owner takes it.
                env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DISCORD_", "IMAGE_"))}
                env.update(PYTHONPATH=str(ROOT), DATABASE_PATH=str(settings.database_path))
                backup = tmp_path / "backups" / "nightly" / "retouch.db"
                done_backup = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-m", "bot", "backup", str(backup)],
                    cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                )
                assert done_backup.returncode == 0, done_backup.stderr
                await until(lambda: not journal.exists(), "the journaled commit landing")
                # While it runs: SQLite removes its -wal and -shm when the last connection closes.
                database = settings.database_path
                running_files = {
                    name: oct(mode(path))
                    for name, path in (("the database", database), ("its -wal", Path(f"{database}-wal")),
                                       ("its -shm", Path(f"{database}-shm")), ("its lock", Path(f"{database}.lock")))
                }
            finally:
                await bot.close()
                await asyncio.wait_for(running, 30)
    finally:
        os.umask(previous)

    results = data / "results"
    kept = sorted(results.iterdir())
    assert kept and kept[0].name == "1"  # (the second's may meet the lock and not be kept)
    assert running_files == dict.fromkeys(running_files, "0o600")
    assert oct(journal_mode) == "0o600"
    files = {
        "the backup": backup,
        **{f"kept {path.parent.name}/{path.name}": path for folder in kept for path in folder.iterdir()},
    }
    assert len(files) >= 2, files  # the backup, and each kept result's input (its images stay on Discord)
    assert {name: oct(mode(path)) for name, path in files.items()} == dict.fromkeys(files, "0o600")
    folders = {"the data folder": data, "results/": results, "backups/": backup.parent.parent, "backups/nightly/": backup.parent,
               **{f"results/{folder.name}/": folder for folder in kept}}
    assert {name: oct(mode(path)) for name, path in folders.items()} == dict.fromkeys(folders, "0o700")
