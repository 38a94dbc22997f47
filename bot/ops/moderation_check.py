"""doctor's check of the moderation endpoint, run when a safety level is set anywhere
(SAFETY_CHECK, or a server's /settings safety): reachable, the key accepted, the model
known, each failure with its fix.

It sends one moderation request with a fixed harmless text (free at OpenAI, and it
changes nothing): the only way to prove all three at once, since many providers list no
moderation model under /models.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.ops.doctor import FAIL, PASS, SKIP, WARN, Check
from bot.provider.moderation import ModerationClient, ModerationUnavailable

NAME = "moderation API"
PROBE_TEXT = "Retouch doctor: checking that the moderation endpoint works."
MODERATION_SETTINGS = ("MODERATION_API_BASE_URL", "MODERATION_API_KEY", "MODERATION_MODEL", "MODERATION_TIMEOUT", "SAFETY_CHECK")
OPENAI_HINT = (
    "many gateways have no /moderations: set MODERATION_API_BASE_URL=https://api.openai.com/v1 and MODERATION_API_KEY to an "
    "OpenAI key (moderation is free there), or turn the safety check off"
)


def _sqlite_servers(path: Path) -> int:
    if not path.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM server_settings WHERE safety_level IN ('prompts', 'images')").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # no such column yet (migrations pending), or an unusable file (reported above)
        return 0


async def _postgres_servers(url: str) -> int:
    from bot.store.connect import open_postgres

    try:
        db = await open_postgres(url, min_size=1, max_size=1)
    except Exception:  # noqa: BLE001 - reported by the database check
        return 0
    try:
        rows = await db.fetchall("SELECT COUNT(*) FROM server_settings WHERE safety_level IN ('prompts', 'images')")
        return int(rows[0][0])
    except Exception:  # noqa: BLE001 - schema not current yet
        return 0
    finally:
        await db.close()


async def where_checks_run(settings: Settings) -> str | None:
    """Why the endpoint is used ("SAFETY_CHECK=prompts", "2 servers"), or None: it is not."""
    if settings.safety_check != "off":
        return f"SAFETY_CHECK={settings.safety_check}"
    if settings.database_url:
        servers = await _postgres_servers(settings.database_url)
    else:
        servers = _sqlite_servers(settings.database_path.absolute())
    if servers:
        return f"{servers} server{'s' if servers != 1 else ''} chose a level with /settings safety"
    return None


async def check_moderation(settings: Settings, bad: set[str], session: aiohttp.ClientSession) -> list[Check]:
    reason = await where_checks_run(settings)
    if reason is None:
        return []  # nobody checks anything: the endpoint is never called
    invalid = [name for name in (*MODERATION_SETTINGS, "IMAGE_API_KEY", "IMAGE_API_BASE_URL") if name in bad]
    if invalid:
        return [Check(SKIP, NAME, f"skipped: {', '.join(invalid)} is not valid")]
    client = ModerationClient(
        session, base_url=settings.moderation_base_url, api_key=settings.moderation_key,
        model=settings.moderation_model, timeout=settings.moderation_timeout,
    )
    base, model = client.base_url, settings.moderation_model
    try:
        verdict = await client.check(PROBE_TEXT)
    except ModerationUnavailable as exc:
        return [_failure(exc, base, model)]
    return [Check(PASS, NAME, f"{base}/moderations reachable, the key accepted and {verdict.model or model} known (used because {reason})")]


def _failure(exc: ModerationUnavailable, base: str, model: str) -> Check:
    fixes = {
        "timeout": (FAIL, "unreachable or slow: check MODERATION_API_BASE_URL and this machine's network, or raise MODERATION_TIMEOUT"),
        "unreachable": (FAIL, "unreachable: check MODERATION_API_BASE_URL (default: IMAGE_API_BASE_URL), e.g. https://api.openai.com/v1"),
        "auth": (FAIL, "check MODERATION_API_KEY (default: IMAGE_API_KEY): it must be a key of the provider at MODERATION_API_BASE_URL"),
        "model": (FAIL, f"set MODERATION_MODEL to a moderation model this provider offers (OpenAI: omni-moderation-latest; now {model})"),
        "missing": (FAIL, OPENAI_HINT),
        "rate_limited": (WARN, "the key was accepted but is rate limited right now: run doctor again in a minute"),
        "server": (FAIL, "the provider is having problems: check its status page and run doctor again later"),
        "bad_answer": (FAIL, f"check MODERATION_API_BASE_URL ({base}) points at an OpenAI-compatible API; {OPENAI_HINT}"),
    }
    status, fix = fixes.get(exc.kind, (FAIL, "check the MODERATION_* settings"))
    return Check(status, NAME, str(exc), fix)
