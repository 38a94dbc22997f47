"""A DATABASE_URL password with `# ? / @` in it: read whole, never shown.

A standard URL parser stops the user info at the first `/`, `?` or `#`, so such a password
used to be quoted back as part of "the host" in every message naming the database. Each
test uses a password of its own: a password scrubbed by an earlier test (the process-wide
secrets list) would hide a message that quotes it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.ops import doctor
from bot.ops.runner import StartupError, run_bot
from bot.store.connect import describe
from tests.conftest import TEST_KEY, TEST_TOKEN
from tests.support.doctor import by_name, closed_port, env_for, run_doctor
from tests.support.filled_database import fill
from tests.pg_cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]


def pieces(password: str) -> list[str]:
    """The password and each stretch of it between its URL characters: a message quoting
    any of them leaked part of it (the stretches are made to appear nowhere else)."""
    parts = [password]
    for sep in "#?/@":
        parts = [p for part in parts for p in part.split(sep)]
    return [password, *(p for p in parts if len(p) >= 4)]


def assert_hidden(password: str, text: str) -> None:
    for piece in pieces(password):
        assert piece not in text, f"{piece!r} of the password is shown:\n{text}"


def test_the_settings_read_the_password_whole_and_describe_the_database_without_it(tmp_path):
    password = "Set7Qv#Hx4Kp?Jw8Lz/Bn2Rt@Yc5Md"
    url = f"postgresql://retouch:{password}@db.internal:5432/retouch"
    env_file = tmp_path / ".env"  # as the owner pastes it into .env
    env_file.write_text(f"DISCORD_TOKEN={TEST_TOKEN}\nIMAGE_API_KEY={TEST_KEY}\nDATABASE_URL={url}\n")
    settings = load_settings({}, env_file=env_file)
    # What asyncpg and pg_dump get: the password percent-encoded, the host and database intact.
    assert settings.database_url == "postgresql://retouch:Set7Qv%23Hx4Kp%3FJw8Lz%2FBn2Rt%40Yc5Md@db.internal:5432/retouch"
    assert describe(settings) == "postgresql://db.internal:5432/retouch"
    assert_hidden(password, repr(settings))
    assert password in settings.secrets  # scrubbed from every log line from the start
    assert "Set7Qv%23Hx4Kp%3FJw8Lz%2FBn2Rt%40Yc5Md" in settings.secrets


async def test_doctor_never_shows_it_when_postgresql_is_unreachable(tmp_path, models_api):  # noqa: F811
    password = "Doc4Gk#Tz7Wq?Vb3Nx/Hf6Lp@Rm9Cs"
    port = closed_port()
    url = f"postgresql://retouch:{password}@127.0.0.1:{port}/retouch"
    env = env_for(tmp_path, models_api.base_url, DATABASE_URL=url)

    checks, text = await run_doctor(env)  # no secret registered: the messages themselves
    database = by_name(checks, "database")
    assert database.status == doctor.FAIL
    assert f"cannot connect to PostgreSQL at postgresql://127.0.0.1:{port}/retouch" in database.detail
    assert_hidden(password, text)

    out = io.StringIO()
    assert await asyncio.to_thread(doctor.main, env, None, out) == 1  # the command as the owner runs it
    assert f"postgresql://127.0.0.1:{port}/retouch" in out.getvalue()
    assert_hidden(password, out.getvalue())


async def test_the_start_error_of_an_unreachable_database_never_shows_it(tmp_path, fake_discord, caplog):
    caplog.set_level(logging.DEBUG)
    password = "Sta2Jd#Pk5Xw?Qr8Zm/Ct4Gv@Ln7Hb"
    port = closed_port()
    url = f"postgresql://retouch:{password}@127.0.0.1:{port}/retouch"
    settings = load_settings(
        {"DISCORD_TOKEN": TEST_TOKEN, "IMAGE_API_KEY": TEST_KEY, "DATABASE_URL": url, "DATABASE_PATH": str(tmp_path / "retouch.db")},
        env_file=None,
    )
    with pytest.raises(StartupError) as failed:
        await run_bot(settings)
    message = str(failed.value)
    assert message.startswith(f"cannot connect to PostgreSQL at postgresql://127.0.0.1:{port}/retouch ("), message
    assert "\n" not in message
    assert_hidden(password, message)
    assert_hidden(password, caplog.text)


def run_bot_command(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DISCORD_", "IMAGE_", "MIGRATE_"))}
    env.update(PYTHONPATH=str(ROOT), **env_vars)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


async def test_migrate_db_never_shows_it_when_postgresql_is_unreachable(tmp_path):
    source = tmp_path / "data" / "retouch.db"
    await fill(source)
    password = "Mig6Rw#Yt3Bk?Fs9Jq/Wn5Dx@Kc2Pv"
    port = closed_port()
    down = run_bot_command(
        tmp_path, "migrate-db", DATABASE_PATH=str(source), MIGRATE_DB_TO=f"postgresql://retouch:{password}@127.0.0.1:{port}/retouch"
    )
    assert down.returncode == 1 and down.stderr.count("\n") == 1, down.stderr
    assert f"cannot connect to PostgreSQL at postgresql://127.0.0.1:{port}/retouch" in down.stderr
    assert_hidden(password, down.stdout + down.stderr)


@pytest.fixture
def password_server():
    """A PostgreSQL that checks passwords over TCP (the shared test server trusts anyone)."""
    password = "Srv8Mh#Qd2Lx?Zk6Wt/Bp4Nj@Gy7Rf"
    cluster = Cluster(password=password)  # in a folder of its own the `postgres` user can reach
    try:
        cluster.start()
        yield cluster, password
    finally:
        cluster.stop()


async def test_a_password_with_url_characters_connects_for_every_command(tmp_path, password_server, models_api):  # noqa: F811
    cluster, password = password_server
    shown = f"postgresql://127.0.0.1:{cluster.port}/retouch"
    url = f"postgresql://retouch:{password}@127.0.0.1:{cluster.port}/retouch"  # pasted as it is
    source = tmp_path / "data" / "retouch.db"
    await fill(source)

    moved = run_bot_command(tmp_path, "migrate-db", DATABASE_PATH=str(source), MIGRATE_DB_TO=url)
    assert moved.returncode == 0, moved.stderr
    assert f"into {shown} and verified it" in moved.stdout
    assert_hidden(password, moved.stdout + moved.stderr)

    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=url))
    assert by_name(checks, "database").status == doctor.PASS, text
    assert f"at {shown} answers" in text and by_name(checks, "database schema").status == doctor.PASS, text
    assert_hidden(password, text)

    dump = tmp_path / "backups" / "retouch.dump"
    backed_up = run_bot_command(tmp_path, "backup", str(dump), DATABASE_URL=url)
    assert backed_up.returncode == 0, backed_up.stderr
    assert dump.stat().st_size > 0
    assert_hidden(password, backed_up.stdout + backed_up.stderr)

    wrong_password = password.replace("Gy7Rf", "Tu3Ea")
    wrong = url.replace(password, wrong_password)
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_URL=wrong))
    assert by_name(checks, "database").status == doctor.FAIL
    assert "refused the user name or password" in by_name(checks, "database").detail
    assert_hidden(wrong_password, text)
