"""`python -m bot doctor`: check the settings, the database, Discord and the image API.

One line per check: `PASS`, `WARN` or `FAIL`, what was checked, and for a failure what
to do (`Fix: ...`). `SKIP` marks a check that could not run because an earlier one
failed. Exit 0 when nothing failed (warnings do not fail), 1 otherwise.

It changes nothing: the database is opened read-only, the folder test writes and
deletes a temporary file, and the network checks are GET requests. The Discord token
and the image API key are never printed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping, TextIO

import aiohttp
import yarl

from bot.config import (
    ConfigError,
    Settings,
    load_settings,
    read_environment,
    settings_table,
)
from bot.ops.container import IMAGE_UID, in_container
from bot.provider.client import ImageEditClient
from bot.provider.download_policy import Resolver, host_is_local, system_resolver
from bot.provider.errors import (
    LOGGER_NAME as PROVIDER_LOGGER,
    BadResponse,
    BillingError,
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    WrongBaseURL,
)
from bot.provider.models import ModelTable
from bot.redact import password_spellings, redact, register_secret, url_password, without_credentials  # noqa: F401
from bot.store import shared_settings
from bot.store.shared_settings import OtherProcess

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Retouch doctor (self-hosted Discord image-editing bot)"
MIN_SQLITE = (3, 35, 0)  # RETURNING, used by the quota store
DOCKER_UID = IMAGE_UID  # the image's non-root user (see Dockerfile)

# What the bot needs in a channel: see and read it, answer with images and embeds.
PERMISSIONS = {
    "View Channel": 1 << 10,
    "Send Messages": 1 << 11,
    "Embed Links": 1 << 14,
    "Attach Files": 1 << 15,
    "Read Message History": 1 << 16,
}
PERMISSIONS_INTEGER = sum(PERMISSIONS.values())  # 117760

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"


@dataclass
class Check:
    status: str
    name: str
    detail: str
    fix: str = ""
    notes: list[str] = field(default_factory=list)  # extra lines printed under the check

    def lines(self) -> list[str]:
        first = f"{self.status:<4}  {self.name}: {self.detail}"
        if self.fix:
            first += f". Fix: {self.fix}"
        return [first] + [f"      {note}" for note in self.notes]


def invite_link(client_id: int | str) -> str:
    return (
        f"https://discord.com/oauth2/authorize?client_id={client_id}"
        f"&scope=bot+applications.commands&permissions={PERMISSIONS_INTEGER}"
    )


# ----- settings --------------------------------------------------------------------------


def _named_variable(message: str) -> str | None:
    names = [env for env, _, _ in settings_table()]
    first = message.split(" ", 1)[0]
    if first in names:
        return first
    return next((n for n in names if n in message), None)


def check_settings(
    environ: Mapping[str, str] | None, env_file: Path | None, container: bool | None = None
) -> tuple[Settings | None, set[str], list[Check]]:
    """Every setting parsed with the bot's own rules; all bad ones reported, not only the first.

    Returns the settings (with placeholders for bad required values, so later checks can
    still run), the names of the bad variables, and the check lines.
    """
    checks: list[Check] = []
    try:
        values = dict(read_environment(environ, env_file))
    except Exception as exc:  # noqa: BLE001 - e.g. an unreadable .env
        return None, set(), [Check(FAIL, "settings", f"cannot read the settings: {exc}", "check the .env file")]

    required = {env for env, req, _ in settings_table() if req}
    bad: dict[str, str] = {}
    settings: Settings | None = None
    for _ in range(len(fields(Settings)) + 1):
        try:
            settings = load_settings(values, env_file=None)
            break
        except ConfigError as exc:
            name = _named_variable(str(exc))
            if name is None or name in bad:
                bad[name or "?"] = str(exc)
                break
            bad[name] = str(exc)
            if name in required:
                values[name] = "placeholder"  # parses; the value itself is never used
            else:
                values.pop(name, None)  # fall back to the default and carry on
    if env_file is not None and env_file.is_file():
        source = f"the environment and {env_file.resolve()}"
    elif (in_container(environ) if container is None else container):
        source = "the container's environment, which docker compose fills from .env"
    elif env_file is not None:
        source = f"the environment; there is no {env_file} file in {Path.cwd()}"
    else:
        source = "the environment"
    for name, message in bad.items():
        checks.append(Check(FAIL, f"setting {name}", message.rstrip("."), f"edit {name} in .env (see .env.example), then run doctor again"))
    if not bad:
        checks.append(Check(PASS, "settings", f"all {len(fields(Settings))} settings are valid (read from {source})"))

    if env_file is not None and env_file.is_file():
        try:
            from dotenv import dotenv_values

            known = {env for env, _, _ in settings_table()}
            unknown = sorted(k for k in dotenv_values(env_file) if k not in known)
        except Exception:  # noqa: BLE001
            unknown = []
        if unknown:
            checks.append(
                Check(WARN, "settings", f"{env_file} has names Retouch does not use: {', '.join(unknown)}",
                      "check them for typos against .env.example (they are ignored)")
            )
    return settings, set(bad), checks


def check_runtime() -> Check:
    import discord

    version = tuple(int(p) for p in sqlite3.sqlite_version.split("."))
    detail = f"Python {platform.python_version()}, discord.py {discord.__version__}, SQLite {sqlite3.sqlite_version}"
    if sys.version_info < (3, 11):
        return Check(FAIL, "runtime", detail, "Retouch needs Python 3.11 or newer (or use the Docker image)")
    if version < MIN_SQLITE:
        return Check(FAIL, "runtime", detail, "Retouch needs SQLite 3.35 or newer: use a newer Python build or the Docker image")
    return Check(PASS, "runtime", detail)


# ----- database --------------------------------------------------------------------------


def _ownership_fix(directory: Path, container: bool | None = None) -> str:
    if in_container() if container is None else container:
        return (
            f"the /data volume must belong to uid {DOCKER_UID}: run "
            f"`docker compose run --rm --user root --entrypoint chown retouch -R {DOCKER_UID}:{DOCKER_UID} /data`"
        )
    return f"make {directory} writable by the user running Retouch (uid {os.getuid()}), e.g. `sudo chown -R {os.getuid()} {directory}`, or set DATABASE_PATH elsewhere"


def check_database_folder(db_path: Path, container: bool | None = None) -> Check:
    directory = db_path.parent
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Check(FAIL, "database folder", f"{existing} is a file, so {directory} cannot be created", "set DATABASE_PATH to a path inside a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".retouch-doctor-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return Check(FAIL, "database folder", f"{existing} is not writable ({exc.strerror or exc})", _ownership_fix(existing, container))
    if existing != directory:
        return Check(PASS, "database folder", f"{directory} does not exist yet; it will be created in {existing}, which is writable")
    return Check(PASS, "database folder", f"{directory} is writable")


def _mounted(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if parent == Path(parent.anchor):
            return False
        if parent.exists() and os.path.ismount(parent):
            return True
    return False


def check_database_volume(db_path: Path, container: bool | None = None) -> Check | None:
    """Only in the Retouch image (see bot/ops/container.py): is the database on a volume?"""
    container = in_container() if container is None else container
    if not container:
        return None
    resolved = db_path.resolve()
    if _mounted(resolved.parent):
        return Check(PASS, "database volume", f"{resolved.parent} is a mounted volume: the database survives upgrades")
    return Check(
        WARN, "database volume",
        f"{resolved} is inside the container, not on a volume: it is lost when the container is recreated (every upgrade)",
        "keep DATABASE_PATH=/data/retouch.db and mount a volume on /data (docker-compose.yml does)",
    )


def check_database_file(db_path: Path, container: bool | None = None) -> Check:
    """The file exists (or will be created), is writable, and is a sound SQLite database."""
    if not db_path.exists():
        return Check(PASS, "database file", f"{db_path} does not exist yet; it will be created at the first start")
    if not db_path.is_file():
        return Check(FAIL, "database file", f"{db_path} is not a file", "set DATABASE_PATH to a file path such as /data/retouch.db")
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        if path.exists():
            try:
                with open(path, "r+b"):  # opened for writing, nothing written
                    pass
            except OSError as exc:
                return Check(FAIL, "database file", f"{path} is not writable ({exc.strerror or exc})", _ownership_fix(path.parent, container))
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            result = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return Check(
            FAIL, "database file", f"{db_path} cannot be read as a database ({exc})",
            "DATABASE_PATH must point at Retouch's database: correct it, or restore a backup",
        )
    if [r[0] for r in result] != ["ok"]:
        return Check(
            FAIL, "database file", f"{db_path} is damaged ({result[0][0] if result else 'no answer'})",
            "stop the bot and restore the latest backup (see README, Backups)",
        )
    size = db_path.stat().st_size
    return Check(PASS, "database file", f"{db_path} opens and passes a quick integrity check ({size:,} bytes)")


async def check_schema(db_path: Path) -> Check:
    try:
        from bot.store.sqlite import schema_status

        status = await schema_status(db_path)
    except Exception as exc:  # noqa: BLE001 - MigrationError or a damaged file
        return Check(FAIL, "database schema", f"cannot read the schema version ({type(exc).__name__}: {exc})",
                     "reinstall Retouch (its migrations/ folder is incomplete) or restore a backup")
    names = ", ".join(f"{m.version:03d}_{m.name}" for m in status.pending)
    if status.too_new:
        return Check(
            FAIL, "database schema",
            f"version {status.current} is newer than this Retouch, which knows up to {status.latest}",
            "upgrade Retouch or restore a backup made with this version",
        )
    if not status.exists:
        return Check(PASS, "database schema", f"new database: the {status.latest} migrations will be applied at the first start")
    if status.pending:
        return Check(
            PASS, "database schema",
            f"version {status.current} of {status.latest}: {len(status.pending)} migration(s) will be applied at start ({names}); "
            "take a backup first (python -m bot backup PATH)",
        )
    return Check(PASS, "database schema", f"version {status.current}, current")


async def check_postgres(url: str) -> list[Check]:
    """DATABASE_URL: the server answers, is new enough, and its schema is current; which
    bot processes it knows (several may share it)."""
    from bot.store import postgres
    from bot.store.connect import DatabaseOpenError, open_postgres

    shown = without_credentials(url)
    try:
        db = await asyncio.wait_for(open_postgres(url, min_size=1, max_size=1), TIMEOUT_SECONDS + 2)
    except DatabaseOpenError as exc:
        return [
            Check(FAIL, "database", str(exc), "start PostgreSQL or correct DATABASE_URL (user, password, host, port, database)"),
            Check(SKIP, "database schema", "skipped: PostgreSQL cannot be reached"),
        ]
    except asyncio.TimeoutError:
        return [
            Check(FAIL, "database", f"PostgreSQL at {shown} did not answer within {TIMEOUT_SECONDS:.0f} s", "check DATABASE_URL's host and port and the network"),
            Check(SKIP, "database schema", "skipped: PostgreSQL cannot be reached"),
        ]
    checks: list[Check] = []
    try:
        number, text = await postgres.server_version(db)
        if number < postgres.MIN_SERVER_VERSION:
            checks.append(Check(FAIL, "database", f"PostgreSQL {text} at {shown} is too old (Retouch needs 13 or newer)", "upgrade PostgreSQL"))
        else:
            checks.append(Check(PASS, "database", f"PostgreSQL {text} at {shown} answers"))
        try:
            status = await postgres.schema_status(db)
        except Exception as exc:  # noqa: BLE001
            checks.append(Check(FAIL, "database schema", f"cannot read the schema version ({type(exc).__name__}: {exc})",
                                "check that DATABASE_URL names Retouch's database"))
            return checks
        names = ", ".join(f"postgresql/{m.version:03d}_{m.name}" for m in status.pending)
        if status.too_new:
            checks.append(Check(FAIL, "database schema", f"version {status.current} is newer than this Retouch, which knows up to {status.latest}",
                                "upgrade Retouch (every process sharing the database) or restore a backup made with this version"))
        elif not status.exists:
            checks.append(Check(PASS, "database schema", f"empty database: the {status.latest} PostgreSQL migration(s) will be applied at the first start"))
        elif status.pending:
            checks.append(Check(PASS, "database schema", f"version {status.current} of {status.latest}: {len(status.pending)} migration(s) will be applied at start ({names}); "
                                "take a backup first (pg_dump, see README)"))
        else:
            checks.append(Check(PASS, "database schema", f"version {status.current}, current"))
            rows = await db.fetchall("SELECT owner, host, pid, shards, shared_settings, last_seen FROM processes ORDER BY started_at")
            if rows:
                checks[-1].notes.append("bot processes using it: " + "; ".join(OtherProcess(*row[:5]).name for row in rows))
            # Only processes that beat lately and recorded their settings (a crashed one's
            # row stays until another process's sweep judges it gone).
            live_since = time.time() - postgres.DEAD_AFTER_SECONDS
            disagreement = _settings_disagreement([OtherProcess(*row[:5]) for row in rows if row[4] and row[5] >= live_since])
            if disagreement:
                checks.append(Check(WARN, "shared settings", disagreement,
                                    "give every process the same values (in each one's .env or environment), then restart the ones that differ"))
    finally:
        await db.close()
    return checks


def _settings_disagreement(processes: list[OtherProcess]) -> str:
    """Which settings the processes sharing the database set differently, and who has
    which value; empty when they agree."""
    if len(processes) < 2:
        return ""
    first = processes[0]
    differing: dict[str, None] = {}
    for other in processes[1:]:
        for difference in shared_settings.differences(first.settings, other.settings):
            differing[difference.name] = None
    if not differing:
        return ""
    parts = []
    for name in differing:
        values: dict[str, list[str]] = {}
        for process in processes:
            values.setdefault(shared_settings.parse(process.settings).get(name, shared_settings.UNSET), []).append(process.name)
        parts.append(f"{name}: " + ", ".join(f"{value} on {' and '.join(names)}" for value, names in values.items()))
    return "the bot processes disagree on settings they must share: " + "; ".join(parts)


# ----- network ---------------------------------------------------------------------------


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            message = error.get("message") or error.get("code") or ""
            return str(message)[:200]
        if isinstance(error, str):
            return error[:200]
    return ""


async def check_discord(token: str, session: aiohttp.ClientSession) -> Check:
    import discord.http  # read at call time: tests point it at a local fake

    base = discord.http.Route.BASE
    headers = {"Authorization": f"Bot {token}"}
    try:
        async with session.get(f"{base}/users/@me", headers=headers, allow_redirects=False) as resp:
            status, body = resp.status, await resp.read()
            retry_after = resp.headers.get("Retry-After", "")
        if status == 200:
            user = json.loads(body)
            client_id = user["id"]
            try:
                async with session.get(f"{base}/oauth2/applications/@me", headers=headers, allow_redirects=False) as resp:
                    if resp.status == 200:
                        client_id = (await resp.json(content_type=None)).get("id") or client_id
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                pass  # the bot user's id is the application id for every modern application
    except asyncio.TimeoutError:
        return Check(FAIL, "discord token", f"Discord did not answer within {TIMEOUT_SECONDS:.0f} s",
                     "check this machine's internet connection, then run doctor again")
    except aiohttp.ClientError as exc:
        return Check(FAIL, "discord token", f"cannot reach Discord ({type(exc).__name__}: {exc})",
                     "check this machine's internet connection, DNS and firewall (outgoing HTTPS)")
    except (ValueError, KeyError, TypeError):
        return Check(FAIL, "discord token", "Discord answered with something unexpected", "run doctor again later")
    if status == 200:
        return Check(
            PASS, "discord token", f"accepted: the bot is {user.get('username') or '?'} (id {user['id']})",
            notes=[
                f"invite link: {invite_link(client_id)}",
                f"(permissions {PERMISSIONS_INTEGER} = {', '.join(PERMISSIONS)})",
            ],
        )
    if status == 401:
        return Check(FAIL, "discord token", "rejected by Discord (HTTP 401)",
                     "Developer Portal > your application > Bot > Reset Token, then paste the new token as DISCORD_TOKEN")
    if status == 429:
        return Check(FAIL, "discord token", f"Discord is rate limiting this machine (HTTP 429, retry after {retry_after or '?'} s)",
                     "wait a few minutes and run doctor again; if it persists, the IP may be temporarily blocked by Discord")
    return Check(FAIL, "discord token", f"Discord answered HTTP {status} {_error_message(body)}".rstrip(),
                 "check https://discordstatus.com and run doctor again later")


async def check_image_api_transport(
    base_url: str, resolve: Resolver = system_resolver
) -> list[Check]:
    """Warnings about how IMAGE_API_BASE_URL reaches the provider (none when all is well).

    Plain http:// is fine to this machine or its private network (a self-hosted
    gateway), but to anywhere else the API key and every image travel unencrypted."""
    checks: list[Check] = []
    shown = without_credentials(base_url)
    url = yarl.URL(shown)
    if shown != base_url:
        checks.append(Check(
            WARN, "image API address", "IMAGE_API_BASE_URL contains a user name or password, which Retouch does not send",
            f"remove it (IMAGE_API_BASE_URL={shown}); the API key is the only credential sent",
        ))
    if url.scheme == "http" and url.raw_host:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                local = await host_is_local(url.raw_host, resolve, url.port or 80)
        except TimeoutError:
            local = None
        if not local:
            secure = url.with_scheme("https")
            if url.explicit_port == 80:
                secure = secure.with_port(None)
            where = "is not a local address" if local is False else "could not be resolved to a local address"
            checks.append(Check(
                WARN, "image API address",
                f"IMAGE_API_BASE_URL uses plain http:// to {url.raw_host}, which {where}: "
                "the API key and the images travel unencrypted",
                f"use https:// (IMAGE_API_BASE_URL={secure}) if the provider offers it",
            ))
    return checks


async def check_image_api(settings: Settings, session: aiohttp.ClientSession) -> list[Check]:
    """`GET /models` through the bot's own client (one attempt): the base URL answers, the
    key is accepted, and the provider offers IMAGE_MODEL."""
    # Never shown with a user:password@ part, nor sent with one (the client drops it too).
    base = without_credentials(settings.image_api_base_url)
    url = f"{base}/models"
    name = "image API"
    client = ImageEditClient.from_settings(
        session, settings, models=ModelTable.builtin(),
        timeout=TIMEOUT_SECONDS, connect_timeout=TIMEOUT_SECONDS,
        max_attempts=1,  # report what the provider answered, now
    )
    try:
        with _quiet(PROVIDER_LOGGER):
            models = await client.list_models()
    except ProviderError as error:
        return _image_api_failure(error, settings, base, url)
    checks = [Check(PASS, name, f"{base} reachable and the key accepted ({len(models)} models offered)")]
    if settings.image_model in models:
        checks.append(Check(PASS, "image model", f"{settings.image_model} is offered by the provider"))
    else:
        likely = [m for m in models if any(k in m.lower() for k in ("image", "dall-e", "edit", "flux", "kontext"))]
        suggestion = f" (image models it offers: {', '.join(sorted(likely)[:8])})" if likely else ""
        checks.append(
            Check(WARN, "image model", f"{settings.image_model} is not in the provider's model list{suggestion}",
                  "set IMAGE_MODEL to a model the provider offers, unless you know it accepts this one")
        )
    return checks


def _image_api_failure(error: ProviderError, settings: Settings, base: str, url: str) -> list[Check]:
    """The client's typed error as doctor's line and fix."""
    name = "image API"
    status = error.status
    said = error.provider_message or ""
    wrong_url = f"wrong base URL: IMAGE_API_BASE_URL is usually the API root ending in /v1, e.g. https://api.cometapi.com/v1 (now {base})"
    if status is None:
        if isinstance(error, ProviderTimeout):
            return [Check(FAIL, name, f"{base} did not answer within {TIMEOUT_SECONDS:.0f} s",
                          "unreachable: check IMAGE_API_BASE_URL and this machine's network")]
        if isinstance(error, ProviderUnavailable):
            # "Could not connect to the image API at <host> (<why>)"
            return [Check(FAIL, name, error.message,
                          "unreachable: check IMAGE_API_BASE_URL (e.g. https://api.cometapi.com/v1 or https://api.openai.com/v1) and this machine's network")]
        return [Check(FAIL, name, f"{base} answered with something that is not HTTP ({error.message})", wrong_url)]
    if isinstance(error, BadResponse) and status == 200:
        return [Check(PASS, name, f"{base} reachable and the key accepted"),
                Check(WARN, "image model", f"the provider's /models answer has an unknown shape; could not check {settings.image_model}")]
    if status == 404:
        return [Check(WARN, name, f"provider has no /models endpoint; could not verify the key ({url} answered 404)",
                      "nothing to do if /edit works; if edits fail with 404 too, check IMAGE_API_BASE_URL ends in /v1")]
    if isinstance(error, WrongBaseURL):
        if 300 <= status < 400:
            where = f" to {error.location}" if error.location else ""
            return [Check(FAIL, name, f"{url} redirects (HTTP {status}){where}", wrong_url)]
        if status == 405:
            return [Check(FAIL, name, f"{url} answered HTTP 405 (method not allowed)", wrong_url)]
        return [Check(FAIL, name, f"{url} answered a web page, not the API", wrong_url)]
    if isinstance(error, ProviderAuthError):
        return [Check(FAIL, name, f"key rejected (HTTP {status}{': ' + said if said else ''})",
                      "check IMAGE_API_KEY: copy the key again from the provider's dashboard; it must belong to the provider at IMAGE_API_BASE_URL")]
    if isinstance(error, BillingError):
        return [Check(FAIL, name, f"the key is out of credit (HTTP {status}{': ' + said if said else ''})",
                      "add credit or raise the limit in the provider's billing settings")]
    if isinstance(error, RateLimited):
        return [Check(WARN, name, f"the provider is rate limiting this key right now (HTTP {status}); the key itself was accepted",
                      "run doctor again in a minute")]
    if status >= 500 and isinstance(error, ProviderUnavailable):
        return [Check(FAIL, name, f"{base} answered HTTP {status}: the provider is having problems",
                      "check the provider's status page and run doctor again later")]
    return [Check(FAIL, name, f"{url} answered HTTP {status}{': ' + said if said else ''}", "check IMAGE_API_BASE_URL and IMAGE_API_KEY")]


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Doctor prints one line per check; the client's own log line about the same failure
    would only repeat it on stderr."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


# ----- all together ----------------------------------------------------------------------


async def diagnose(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    *,
    container: bool | None = None,
) -> list[Check]:
    container = in_container(environ) if container is None else container
    checks: list[Check] = [check_runtime()]
    settings, bad, setting_checks = check_settings(environ, env_file, container)
    checks += setting_checks
    if settings is None:
        return checks

    db_path = settings.database_path.absolute()
    folder = check_database_folder(db_path, container)
    checks.append(folder)
    volume = check_database_volume(db_path, container)
    if volume is not None:
        checks.append(volume)
    if settings.database_url:
        # PostgreSQL holds the data (kept results too); DATABASE_PATH's folder keeps the
        # commit journal, so it must still be writable.
        checks += await check_postgres(settings.database_url)
    else:
        file_check = check_database_file(db_path, container)
        checks.append(file_check)
        if file_check.status == FAIL:
            checks.append(Check(SKIP, "database schema", "skipped: the database file cannot be used"))
        else:
            checks.append(await check_schema(db_path))

    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT}) as session:
        async def skipped(name: str, var: str) -> Check:
            return Check(SKIP, name, f"skipped: {var} is not valid")

        discord_task = (
            skipped("discord token", "DISCORD_TOKEN") if "DISCORD_TOKEN" in bad else check_discord(settings.discord_token, session)
        )

        async def image_checks() -> list[Check]:
            if "IMAGE_API_KEY" in bad or "IMAGE_API_BASE_URL" in bad:
                return [Check(SKIP, "image API", "skipped: IMAGE_API_KEY or IMAGE_API_BASE_URL is not valid")]
            transport = await check_image_api_transport(settings.image_api_base_url)
            return transport + await check_image_api(settings, session)

        discord_check, image = await asyncio.gather(discord_task, image_checks())
        from bot.ops.moderation_check import check_moderation  # imports this module

        moderation = await check_moderation(settings, bad, session)
    checks.append(discord_check)
    checks += image + moderation
    return checks


def render(checks: list[Check], secrets: list[str]) -> list[str]:
    lines = [line for check in checks for line in check.lines()]
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    passed = sum(c.status == PASS for c in checks)
    skipped = sum(c.status == SKIP for c in checks)
    summary = f"doctor: {passed} passed, {warned} warning(s), {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    summary += " — all good" if not failed else " — fix the FAIL lines above, then run doctor again"
    lines.append(summary)
    # Last line of defence: nothing above quotes a secret, but an echoed error body might.
    for secret in secrets:
        register_secret(secret)
    return [redact(line) for line in lines]


def main(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"), out: TextIO | None = None) -> int:
    out = out or sys.stdout
    checks = asyncio.run(diagnose(environ, env_file))
    try:
        raw = read_environment(environ, env_file)
    except Exception:  # noqa: BLE001
        raw = {}
    secrets = [raw.get(name, "").strip() for name in ("DISCORD_TOKEN", "IMAGE_API_KEY", "MODERATION_API_KEY")]
    secrets.append(url_password(raw.get("IMAGE_API_BASE_URL", "").strip()) or "")
    secrets += password_spellings(raw.get("DATABASE_URL", "").strip())
    secrets += password_spellings(raw.get("MODERATION_API_BASE_URL", "").strip())
    for line in render(checks, [s for s in secrets if s]):
        print(line, file=out, flush=True)
    return 1 if any(c.status in (FAIL, SKIP) for c in checks) else 0
