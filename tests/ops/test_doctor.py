"""`python -m bot doctor` against a local fake Discord and a fake image API (real HTTP)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.ops import doctor
from bot.store.sqlite import load_migrations
from tests.conftest import TEST_KEY, TEST_TOKEN
from tests.support.doctor import MODELS_REPLIES, WRONG_KEY, WRONG_TOKEN, by_name, closed_port, env_for, make_db, run_doctor

ROOT = Path(__file__).resolve().parents[2]


def test_permissions_integer():
    import discord

    expected = discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True, attach_files=True, read_message_history=True
    ).value
    assert doctor.PERMISSIONS_INTEGER == expected == 117760
    assert doctor.invite_link(42) == (
        "https://discord.com/oauth2/authorize?client_id=42&scope=bot+applications.commands&permissions=117760"
    )


async def test_all_pass_against_fakes(fake_discord, models_api, tmp_path):
    db = tmp_path / "data" / "retouch.db"
    await make_db(db)
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url))
    assert all(c.status == doctor.PASS for c in checks), text
    token = by_name(checks, "discord token")
    assert "Retouch" in token.detail and str(fake_discord.app_id) in token.detail
    assert any(doctor.invite_link(fake_discord.app_id) in note for note in token.notes), text
    assert "current" in by_name(checks, "database schema").detail
    assert "gpt-image-2 is offered" in by_name(checks, "image model").detail
    assert ("GET", "/users/@me") in fake_discord.requests
    assert [(r.path, r.headers["Authorization"]) for r in models_api.requests] == [("/v1/models", f"Bearer {TEST_KEY}")]
    assert text.splitlines()[-1].startswith("doctor: ") and "0 failed" in text


async def test_bad_token_fails_with_fix(fake_discord, models_api, tmp_path):
    fake_discord.valid_tokens = {"good"}
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url))
    token = by_name(checks, "discord token")
    assert token.status == doctor.FAIL and "401" in token.detail
    assert "Reset Token" in token.fix
    assert by_name(checks, "image API").status == doctor.PASS  # the other checks still ran
    assert "1 failed" in text


async def test_key_rejected_and_never_echoed(fake_discord, models_api, tmp_path):
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url, IMAGE_API_KEY=WRONG_KEY))
    image = by_name(checks, "image API")
    assert image.status == doctor.FAIL and "key rejected" in image.detail
    assert "IMAGE_API_KEY" in image.fix
    assert "[redacted]" in text  # the fake echoed the key; doctor scrubbed it


async def test_unreachable_base_url(fake_discord, tmp_path):
    env = env_for(tmp_path, f"http://127.0.0.1:{closed_port()}/v1")
    checks, _ = await run_doctor(env)
    image = by_name(checks, "image API")
    assert image.status == doctor.FAIL
    assert "unreachable: check IMAGE_API_BASE_URL" in image.fix


@pytest.mark.parametrize("mode", ["html", "redirect"])
async def test_wrong_base_url(fake_discord, models_api, tmp_path, mode):
    models_api.queue(MODELS_REPLIES[mode], route="models")
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url))
    image = by_name(checks, "image API")
    assert image.status == doctor.FAIL
    assert "wrong base URL" in image.fix


async def test_no_models_endpoint_is_a_warning(fake_discord, models_api, tmp_path):
    models_api.queue(MODELS_REPLIES["no-models"], route="models")
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url))
    image = by_name(checks, "image API")
    assert image.status == doctor.WARN
    assert "no /models endpoint; could not verify the key" in image.detail
    assert not any(c.status == doctor.FAIL for c in checks), text


async def test_provider_outage_and_out_of_credit(fake_discord, models_api, tmp_path):
    models_api.queue(MODELS_REPLIES["error"], route="models")
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url))
    assert by_name(checks, "image API").status == doctor.FAIL
    models_api.queue(MODELS_REPLIES["quota"], route="models")
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url))
    image = by_name(checks, "image API")
    assert image.status == doctor.FAIL and "credit" in image.detail


async def test_a_busy_provider_or_an_odd_listing_is_a_warning_not_a_failure(fake_discord, models_api, tmp_path):
    """Asked once (the bot's client with one attempt): a rate limit is reported, not waited out."""
    models_api.queue(MODELS_REPLIES["busy"], route="models")
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url))
    image = by_name(checks, "image API")
    assert image.status == doctor.WARN and "rate limiting this key right now (HTTP 429)" in image.detail
    assert [r.path for r in models_api.requests] == ["/v1/models"]
    models_api.queue(MODELS_REPLIES["odd-listing"], route="models")
    checks, text = await run_doctor(env_for(tmp_path, models_api.base_url))
    assert by_name(checks, "image API").status == doctor.PASS
    model = by_name(checks, "image model")
    assert model.status == doctor.WARN and "unknown shape" in model.detail
    assert not any(c.status == doctor.FAIL for c in checks), text


async def test_unknown_model_is_a_warning(fake_discord, models_api, tmp_path):
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url, IMAGE_MODEL="gpt-image-9"))
    model = by_name(checks, "image model")
    assert model.status == doctor.WARN
    assert "gpt-image-9 is not in the provider's model list" in model.detail
    assert "gpt-image-2" in model.detail  # suggests what the provider does offer


async def test_newer_database_schema_fails(fake_discord, models_api, tmp_path):
    db = tmp_path / "data" / "retouch.db"
    await make_db(db)
    latest = len(load_migrations())
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {latest + 2}")
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url))
    schema = by_name(checks, "database schema")
    assert schema.status == doctor.FAIL
    assert f"version {latest + 2} is newer" in schema.detail
    assert schema.fix.startswith("upgrade Retouch or restore a backup")


async def test_pending_migrations_pass_with_a_note(fake_discord, models_api, tmp_path):
    db = tmp_path / "data" / "retouch.db"
    await make_db(db, target=1)
    before = db.read_bytes()
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url))
    schema = by_name(checks, "database schema")
    assert schema.status == doctor.PASS
    assert "will be applied at start" in schema.detail
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1  # doctor changed nothing
    assert db.read_bytes() == before


async def test_unwritable_database_folder(fake_discord, models_api, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_PATH=str(blocker / "retouch.db")))
    assert by_name(checks, "database folder").status == doctor.FAIL

    if os.geteuid() != 0:  # root can write anywhere, so permissions only bite others
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        try:
            checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url, DATABASE_PATH=str(locked / "retouch.db")))
            folder = by_name(checks, "database folder")
            assert folder.status == doctor.FAIL and "not writable" in folder.detail and "chown" in folder.fix
        finally:
            locked.chmod(0o700)


async def test_not_a_database(fake_discord, models_api, tmp_path):
    db = tmp_path / "data" / "retouch.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not SQLite" * 100)
    checks, _ = await run_doctor(env_for(tmp_path, models_api.base_url))
    assert by_name(checks, "database file").status == doctor.FAIL
    assert by_name(checks, "database schema").status == doctor.SKIP


async def test_every_bad_setting_is_reported_and_the_rest_still_run(fake_discord, models_api, tmp_path):
    env = env_for(tmp_path, models_api.base_url, QUOTA_DEFAULT_PERIOD="fortnight", MAX_CONCURRENT_EDITS="lots")
    del env["IMAGE_API_KEY"]
    checks, text = await run_doctor(env)
    failed = {c.name for c in checks if c.status == doctor.FAIL}
    assert {"setting IMAGE_API_KEY", "setting QUOTA_DEFAULT_PERIOD", "setting MAX_CONCURRENT_EDITS"} <= failed, text
    assert by_name(checks, "discord token").status == doctor.PASS
    assert by_name(checks, "image API").status == doctor.SKIP
    assert by_name(checks, "database folder").status == doctor.PASS


async def test_container_database_off_the_volume_warns(tmp_path):
    check = doctor.check_database_volume(tmp_path / "retouch.db", container=True)
    assert check is not None and check.status == doctor.WARN and "/data" in check.fix
    assert doctor.check_database_volume(tmp_path / "retouch.db", container=False) is None


def test_only_the_image_counts_as_the_container(monkeypatch):
    """/.dockerenv and /run/.containerenv mark any container (a CI machine, a dev container
    running a checkout); only the image's own RETOUCH_IN_CONTAINER=1 means the Retouch image."""
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: str(self) in ("/.dockerenv", "/run/.containerenv") or real_exists(self))
    assert Path("/.dockerenv").exists()
    assert not doctor.in_container({})
    assert not doctor.in_container({"RETOUCH_IN_CONTAINER": "0"})
    assert not doctor.in_container({"RETOUCH_IN_CONTAINER": ""})
    assert doctor.in_container({"RETOUCH_IN_CONTAINER": "1"})
    monkeypatch.delenv("RETOUCH_IN_CONTAINER", raising=False)
    assert not doctor.in_container()
    monkeypatch.setenv("RETOUCH_IN_CONTAINER", "1")
    assert doctor.in_container()


async def test_volume_check_only_in_the_image(fake_discord, models_api, tmp_path, monkeypatch):
    monkeypatch.setattr(doctor, "_mounted", lambda path: False)  # wherever tmp_path lives
    checkout = env_for(tmp_path, models_api.base_url)
    checks = await doctor.diagnose(checkout, env_file=None)
    assert "database volume" not in {c.name for c in checks}
    assert "docker compose" not in "\n".join(doctor.render(checks, []))

    image = env_for(tmp_path, models_api.base_url, RETOUCH_IN_CONTAINER="1")
    checks = await doctor.diagnose(image, env_file=None)
    volume = by_name(checks, "database volume")
    assert volume.status == doctor.WARN and "mount a volume on /data" in volume.fix
    assert "the container's environment" in by_name(checks, "settings").detail

    monkeypatch.setattr(doctor, "_mounted", lambda path: True)
    checks = await doctor.diagnose(image, env_file=None)
    assert by_name(checks, "database volume").status == doctor.PASS


async def test_unknown_names_in_env_file_warn(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"DISCORD_TOKEN={TEST_TOKEN}\nIMAGE_API_KEY={TEST_KEY}\nDISCORD_BOT_TOKEN=x\n")
    _, _, checks = doctor.check_settings({}, env_file)
    assert [c.status for c in checks] == [doctor.PASS, doctor.WARN]
    assert "DISCORD_BOT_TOKEN" in checks[1].detail and TEST_TOKEN not in checks[1].detail


# ----- the real CLI in a subprocess ----------------------------------------------------------

SITECUSTOMIZE = """
import os
base = os.environ.get("RETOUCH_TEST_DISCORD_API")
if base:
    import discord.http
    discord.http.Route.BASE = base
"""


async def run_cli(tmp_path: Path, env_file_text: str, discord_api: str) -> tuple[int, str, str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / ".env").write_text(env_file_text)
    env = {k: v for k, v in os.environ.items() if k not in {name for name, _, _ in doctor.settings_table()}}
    env.pop("RETOUCH_IN_CONTAINER", None)  # a checkout, wherever this suite runs
    env.update(PYTHONPATH=f"{site}{os.pathsep}{ROOT}", RETOUCH_TEST_DISCORD_API=discord_api)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", cwd=work, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 45)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_doctor_passes_and_reads_dotenv(fake_discord, models_api, tmp_path):
    env_text = (
        f"DISCORD_TOKEN={TEST_TOKEN}\nIMAGE_API_KEY={TEST_KEY}\n"
        f"IMAGE_API_BASE_URL={models_api.base_url}\nDATABASE_PATH={tmp_path / 'db' / 'retouch.db'}\n"
    )
    code, out, err = await run_cli(tmp_path, env_text, fake_discord.api_base)
    assert code == 0, out + err
    lines = out.strip().splitlines()
    # A checkout gets no container advice, even where this suite runs inside some container.
    assert all(line.startswith(("PASS ", "      ", "doctor: ")) for line in lines), out
    assert f"client_id={fake_discord.app_id}&scope=bot+applications.commands&permissions=117760" in out
    assert str(tmp_path / "work" / ".env") in out
    assert TEST_TOKEN not in out + err and TEST_KEY not in out + err
    assert not (tmp_path / "db").exists(), "doctor must not create the database"


async def test_cli_doctor_fails_with_exit_1(fake_discord, models_api, tmp_path):
    fake_discord.valid_tokens = {"good"}
    env_text = f"DISCORD_TOKEN={WRONG_TOKEN}\nIMAGE_API_KEY={WRONG_KEY}\nIMAGE_API_BASE_URL={models_api.base_url}\n"
    code, out, err = await run_cli(tmp_path, env_text, fake_discord.api_base)
    assert code == 1, out + err
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 2 and all("Fix: " in line for line in fails), out
    assert "Traceback" not in err
    for secret in (WRONG_TOKEN, WRONG_KEY):
        assert secret not in out + err


# ----- how IMAGE_API_BASE_URL reaches the provider -------------------------------------------


class Resolver:
    """Names of our choosing (no DNS server); records what was asked."""

    def __init__(self, **names: list[str]) -> None:
        self.names = {k.replace("_", "."): v for k, v in names.items()}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int):
        import ipaddress

        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self.names[host]]


@pytest.mark.parametrize(
    "base_url, names, shown_host, fix",
    [
        ("http://93.184.215.14/v1", {}, "93.184.215.14", "https://93.184.215.14/v1"),
        ("http://api.example.test:8080/v1", {"api_example_test": ["93.184.215.14"]},
         "api.example.test", "https://api.example.test:8080/v1"),
        ("http://api.example.test:80/v1", {"api_example_test": ["93.184.215.14", "10.0.0.1"]},
         "api.example.test", "https://api.example.test/v1"),
        ("http://nowhere.test/v1", {}, "nowhere.test", "https://nowhere.test/v1"),
    ],
)
async def test_plain_http_to_a_non_local_host_warns(base_url, names, shown_host, fix):
    checks = await doctor.check_image_api_transport(base_url, Resolver(**names))
    assert [c.status for c in checks] == [doctor.WARN]
    line = checks[0].lines()[0]
    assert f"plain http:// to {shown_host}" in line and "unencrypted" in line
    assert f"Fix: use https:// (IMAGE_API_BASE_URL={fix})" in line


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.openai.com/v1",
        "https://api.cometapi.com/v1",
        "http://127.0.0.1:8080/v1",
        "http://10.0.0.5/v1",
        "http://[::1]:8080/v1",
        "http://100.100.1.2:8080/v1",
        "http://gateway.lan:8080/v1",
    ],
)
async def test_https_or_a_local_host_does_not_warn(base_url):
    resolver = Resolver(gateway_lan=["192.168.1.2"])
    assert await doctor.check_image_api_transport(base_url, resolver) == []
    assert resolver.asked == (["gateway.lan"] if "gateway" in base_url else [])  # https: no lookup


async def test_localhost_over_http_does_not_warn():
    # The real resolver: localhost comes from the hosts file, not the network.
    assert await doctor.check_image_api_transport("http://localhost:8080/v1") == []


async def test_doctor_with_a_password_in_the_base_url(fake_discord, models_api, tmp_path):
    password = "hunter2-gateway-password"
    base = models_api.base_url.replace("http://", f"http://retouch:{password}@")
    env = env_for(tmp_path, base)
    checks = await doctor.diagnose(env, env_file=None, container=False)
    text = "\n".join(doctor.render(checks, []))  # not even the last-line scrubber is needed
    assert password not in text, text
    address = by_name(checks, "image API address")
    assert address.status == doctor.WARN and "user name or password" in address.detail
    assert by_name(checks, "image API").status == doctor.PASS  # sent without it, and it worked
    assert all("Authorization" in r.headers and r.headers["Authorization"].startswith("Bearer ")
               for r in models_api.requests)
