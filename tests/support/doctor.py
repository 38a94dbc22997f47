"""Running `python -m bot doctor`'s checks in-process against the fakes, for the ops tests."""

from __future__ import annotations

import socket
from pathlib import Path

from bot.ops import doctor
from bot.store.sqlite import migrate, open_database
from tests.conftest import TEST_KEY, TEST_TOKEN
from tests.fakes.image_api import Reply

WRONG_KEY = "sk-wrong-key-9876543210zyxwvu"
WRONG_TOKEN = "wrong-discord-token-ABCDEFGHIJ"


# How a provider's `GET /models` can go wrong, as the shared fake answers it.
MODELS_REPLIES = {
    "html": Reply.raw("<!doctype html><html><body>Welcome to our API portal</body></html>", content_type="text/html"),
    "redirect": Reply.redirect("/login", status=302),
    "no-models": Reply.error(404, "Invalid URL (GET /v1/models)"),
    "error": Reply.error(503, "upstream unavailable"),
    "quota": Reply.error(429, "You exceeded your current quota", code="insufficient_quota"),
    "busy": Reply.error(429, "Rate limit reached for requests", code="rate_limit_exceeded"),
    "odd-listing": Reply.raw('{"models": ["gpt-image-2"]}'),
}


def env_for(tmp_path: Path, base_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "DISCORD_TOKEN": TEST_TOKEN,
        "IMAGE_API_KEY": TEST_KEY,
        "IMAGE_API_BASE_URL": base_url,
        "DATABASE_PATH": str(tmp_path / "data" / "retouch.db"),
    }
    env.update(overrides)
    return env


async def run_doctor(env: dict[str, str]) -> tuple[list[doctor.Check], str]:
    checks = await doctor.diagnose(env, env_file=None, container=False)
    secrets = [env.get("DISCORD_TOKEN", ""), env.get("IMAGE_API_KEY", "")]
    text = "\n".join(doctor.render(checks, [s for s in secrets if s]))
    for secret in (TEST_TOKEN, TEST_KEY, WRONG_KEY, WRONG_TOKEN):
        assert secret not in text, f"doctor printed a secret:\n{text}"
    return checks, text


def by_name(checks: list[doctor.Check], name: str) -> doctor.Check:
    matches = [c for c in checks if c.name == name]
    assert matches, f"no {name!r} check in {[c.name for c in checks]}"
    return matches[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def make_db(path: Path, target: int | None = None) -> None:
    conn = await open_database(path)
    try:
        await migrate(conn, target=target)
    finally:
        await conn.close()
