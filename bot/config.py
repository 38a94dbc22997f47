"""Settings read from the environment and an optional `.env` file, validated once at start.

Every setting is documented in README.md (Settings). A bad value raises `ConfigError`
whose message is one line naming the variable; the value of a secret is never quoted.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.redact import password_spellings, url_password, with_encoded_credentials, without_credentials

PERIODS = ("day", "week", "month")
SAFETY_LEVELS = ("off", "prompts", "images")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is shown to the operator as is."""


def _text(name: str, raw: str) -> str:
    return raw


def _secret(name: str, raw: str) -> str:
    value = raw.strip()
    if any(ch.isspace() for ch in value):
        raise ConfigError(f"{name} contains spaces or line breaks; paste the value alone, without quotes or a prefix")
    if value.lower().startswith(("bot ", "bearer ")):
        raise ConfigError(f"{name} must be the bare value, without a 'Bot ' or 'Bearer ' prefix")
    return value


def _int_range(lo: int | None = None, hi: int | None = None) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw.strip()!r}") from None
        if lo is not None and value < lo or hi is not None and value > hi:
            bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise ConfigError(f"{name} must be {bounds}, got {value}")
        return value

    return parse


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw.strip()!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw.strip()!r}")
    return value


def _hours(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of hours, got {raw.strip()!r}") from None
    if not 0 < value <= 24 * 365:
        raise ConfigError(f"{name} must be more than 0 and at most 8760 hours (a year), got {raw.strip()!r}")
    return value


def _optional_seconds(name: str, raw: str) -> float | None:
    return _positive_float(name, raw) if raw.strip() else None


def _optional_positive_int(name: str, raw: str) -> int | None:
    return _int_range(1)(name, raw) if raw.strip() else None


def _optional_port(name: str, raw: str) -> int | None:
    return _int_range(0, 65535)(name, raw) if raw.strip() else None


def _host(name: str, raw: str) -> str:
    value = raw.strip().strip("[]")
    if not value or any(ch.isspace() or ch in "/@?#" for ch in value):
        raise ConfigError(f"{name} must be an address to listen on, such as 127.0.0.1 or 0.0.0.0, got {raw.strip()!r}")
    return value


def _word_list(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated words or phrases, each with its spacing tidied."""
    words = tuple(dict.fromkeys(" ".join(part.split()) for part in raw.split(",")))
    return tuple(w for w in words if w)


def _shard_ids(name: str, raw: str) -> tuple[int, ...] | None:
    if not raw.strip():
        return None
    ids = []
    for part in raw.replace(" ", ",").split(","):
        if part:
            ids.append(_int_range(0)(name, part))
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{name} lists a shard twice: {raw.strip()!r}")
    return tuple(sorted(ids))


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw.strip()!r}")


def _choice(options: tuple[str, ...], *, upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)}, got {raw.strip()!r}")
        return value

    return parse


def _url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    shown = without_credentials(value)  # a user:password@ part is never quoted back
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ConfigError(f"{name} is not a valid URL, got {shown!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as https://api.openai.com/v1, got {shown!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not carry a query string or fragment, got {shown!r}")
    return value


def _optional_url(name: str, raw: str) -> str | None:
    return _url(name, raw) if raw.strip() else None


def _optional_secret(name: str, raw: str) -> str | None:
    return _secret(name, raw) if raw.strip() else None


def _database_url(name: str, raw: str) -> str | None:
    """A PostgreSQL URL (postgresql://user:password@host:5432/database), or None: SQLite."""
    # A password with `@ # ? /` in it is read whole (up to the last `@`) and percent-encoded
    # here, so asyncpg and pg_dump read it as written.
    value = with_encoded_credentials(raw.strip())
    if not value:
        return None
    shown = without_credentials(value)  # the password is never quoted back
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ConfigError(f"{name} is not a valid URL, got {shown!r}") from None
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{name} must be a PostgreSQL URL such as postgresql://retouch:password@localhost:5432/retouch "
            f"(leave it empty for the SQLite file at DATABASE_PATH), got {shown!r}"
        )
    if not parts.path.strip("/"):
        raise ConfigError(f"{name} must name the database after the host, e.g. postgresql://retouch@localhost:5432/retouch, got {shown!r}")
    return value


def _optional_snowflake(name: str, raw: str) -> int | None:
    value = raw.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ConfigError(f"{name} must be a numeric Discord ID (enable Developer Mode, right-click, Copy ID), got {value!r}")
    return int(value)


def _snowflakes(name: str, raw: str) -> tuple[int, ...]:
    ids = []
    for part in raw.replace(" ", ",").split(","):
        if part:
            ids.append(_optional_snowflake(name, part))
    return tuple(i for i in ids if i is not None)


def _optional_limit(name: str, raw: str) -> int | None:
    if not raw.strip():
        return None
    return _int_range(0)(name, raw)


def _optional_usd(name: str, raw: str) -> float | None:
    """An amount of US dollars, or None when empty ("no cap", "never ask")."""
    value = raw.strip().lstrip("$")
    if not value:
        return None
    try:
        amount = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be an amount in US dollars such as 25 or 0.50, got {raw.strip()!r}") from None
    if not (math.isfinite(amount) and amount >= 0):
        raise ConfigError(f"{name} must be zero or more US dollars, got {raw.strip()!r}")
    return amount


def _json_table(loader: Callable[[str], object]) -> Callable[[str, str], str | None]:
    """A JSON setting checked at start by the code that will use it, so a typo fails fast."""

    def parse(name: str, raw: str) -> str | None:
        if not raw.strip():
            return None
        try:
            loader(raw)
        except ValueError as exc:
            message = str(exc)
            raise ConfigError(message if message.startswith(name) else f"{name}: {message}") from None
        return raw

    return parse


def _model_table(raw: str) -> object:
    from bot.provider.models import load_model_table

    return load_model_table(raw)


def _price_table(raw: str) -> object:
    from bot.provider.pricing import load_prices

    return load_prices(raw)


def _setting(env: str, parse: Callable[[str, str], Any], default: Any = None, *, required: bool = False) -> Any:
    return field(default=default, metadata={"env": env, "parse": parse, "required": required})


@dataclass(frozen=True)
class Settings:
    discord_token: str = field(default="", repr=False, metadata={"env": "DISCORD_TOKEN", "parse": _secret, "required": True})
    image_api_key: str = field(default="", repr=False, metadata={"env": "IMAGE_API_KEY", "parse": _secret, "required": True})
    image_api_base_url: str = _setting("IMAGE_API_BASE_URL", _url, "https://api.cometapi.com/v1")
    image_model: str = _setting("IMAGE_MODEL", _text, "gpt-image-2")
    database_path: Path = _setting("DATABASE_PATH", lambda n, r: Path(r.strip()), Path("data/retouch.db"))
    image_api_timeout: float = _setting("IMAGE_API_TIMEOUT", _positive_float, 600.0)
    quota_default_limit: int = _setting("QUOTA_DEFAULT_LIMIT", _int_range(-1), 10)
    quota_default_period: str = _setting("QUOTA_DEFAULT_PERIOD", _choice(PERIODS), "day")
    image_api_connect_timeout: float = _setting("IMAGE_API_CONNECT_TIMEOUT", _positive_float, 15.0)
    image_api_max_attempts: int = _setting("IMAGE_API_MAX_ATTEMPTS", _int_range(1, 10), 3)
    image_api_retry_unsafe: bool = _setting("IMAGE_API_RETRY_UNSAFE", _bool, False)
    image_models_json: str | None = _setting("IMAGE_MODELS_JSON", _json_table(_model_table), None)
    image_prices_json: str | None = _setting("IMAGE_PRICES_JSON", _json_table(_price_table), None)
    max_concurrent_edits: int = _setting("MAX_CONCURRENT_EDITS", _int_range(1, 64), 4)
    max_edits_per_member: int = _setting("MAX_EDITS_PER_MEMBER", _int_range(1, 100), 3)
    stream_previews: int = _setting("STREAM_PREVIEWS", _int_range(0, 3), 0)
    global_daily_image_limit: int | None = _setting("GLOBAL_DAILY_IMAGE_LIMIT", _optional_limit, None)
    global_spend_limit_usd: float | None = _setting("GLOBAL_SPEND_LIMIT_USD", _optional_usd, None)
    global_spend_period: str = _setting("GLOBAL_SPEND_PERIOD", _choice(PERIODS), "month")
    confirm_cost_above_usd: float | None = _setting("CONFIRM_COST_ABOVE_USD", _optional_usd, None)
    unpriced_image_usd: float | None = _setting("UNPRICED_IMAGE_USD", _optional_usd, None)
    moderator_role_ids: tuple[int, ...] = _setting("MODERATOR_ROLE_IDS", _snowflakes, ())
    dev_guild_id: int | None = _setting("DEV_GUILD_ID", _optional_snowflake, None)
    allow_dms: bool = _setting("ALLOW_DMS", _bool, False)
    blocked_words: tuple[str, ...] = _setting("BLOCKED_WORDS", _word_list, ())
    store_prompts: bool = _setting("STORE_PROMPTS", _bool, False)
    shutdown_grace_seconds: float = _setting("SHUTDOWN_GRACE_SECONDS", _positive_float, 8.0)
    log_level: str = _setting("LOG_LEVEL", _choice(LOG_LEVELS, upper=True), "INFO")
    health_file: Path | None = _setting("HEALTH_FILE", lambda n, r: Path(r.strip()) if r.strip() else None, None)
    result_retention_days: int = _setting("RESULT_RETENTION_DAYS", _int_range(0, 365), 7)
    result_storage_mb: int = _setting("RESULT_STORAGE_MB", _int_range(0, 1_000_000), 2048)
    shard_count: int | None = _setting("SHARD_COUNT", _optional_positive_int, None)
    shard_ids: tuple[int, ...] | None = _setting("SHARD_IDS", _shard_ids, None)
    database_busy_timeout: float = _setting("DATABASE_BUSY_TIMEOUT", _positive_float, 5.0)
    stale_reservation_seconds: float | None = _setting("STALE_RESERVATION_SECONDS", _optional_seconds, None)
    database_url: str | None = field(default=None, repr=False, metadata={"env": "DATABASE_URL", "parse": _database_url, "required": False})
    # Content safety (bot/edits/safety.py): the moderation endpoint defaults to the image API's.
    safety_check: str = _setting("SAFETY_CHECK", _choice(SAFETY_LEVELS), "off")
    moderation_api_base_url: str | None = _setting("MODERATION_API_BASE_URL", _optional_url, None)
    moderation_api_key: str | None = field(default=None, repr=False, metadata={"env": "MODERATION_API_KEY", "parse": _optional_secret, "required": False})
    moderation_model: str = _setting("MODERATION_MODEL", _text, "omni-moderation-latest")
    moderation_timeout: float = _setting("MODERATION_TIMEOUT", _positive_float, 10.0)
    safety_fail_open: bool = _setting("SAFETY_FAIL_OPEN", _bool, False)
    safety_strikes: int = _setting("SAFETY_STRIKES", _int_range(1, 100), 3)
    safety_pause_hours: float = _setting("SAFETY_PAUSE_HOURS", _hours, 24.0)
    send_end_user_id: bool = _setting("SEND_END_USER_ID", _bool, True)
    # Seeing what the bot does (README, Monitoring).
    metrics_port: int | None = _setting("METRICS_PORT", _optional_port, None)
    metrics_host: str = _setting("METRICS_HOST", _host, "127.0.0.1")
    log_format: str = _setting("LOG_FORMAT", _choice(LOG_FORMATS), "text")

    def __post_init__(self) -> None:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ConfigError("SHARD_IDS needs SHARD_COUNT (the total number of shards across all processes)")
            if any(i >= self.shard_count for i in self.shard_ids):
                raise ConfigError(f"SHARD_IDS must be below SHARD_COUNT ({self.shard_count}): got {', '.join(map(str, self.shard_ids))}")

    @property
    def secrets(self) -> tuple[str, ...]:
        password = url_password(self.image_api_base_url)
        database_passwords = password_spellings(self.database_url or "")
        moderation_passwords = password_spellings(self.moderation_api_base_url or "")
        return tuple(
            s
            for s in (self.discord_token, self.image_api_key, password, *database_passwords,
                      self.moderation_api_key, *moderation_passwords)
            if s
        )

    @property
    def moderation_base_url(self) -> str:
        """MODERATION_API_BASE_URL, else the image API's."""
        return self.moderation_api_base_url or self.image_api_base_url

    @property
    def moderation_key(self) -> str:
        """MODERATION_API_KEY, else the image API's."""
        return self.moderation_api_key or self.image_api_key

    @property
    def reservation_ttl_seconds(self) -> float:
        # PRODUCT.md: a reservation whose edit showed no sign of life for this long was
        # left by a crash or a bug (live edits refresh theirs far more often).
        if self.stale_reservation_seconds is not None:
            return self.stale_reservation_seconds
        return self.image_api_timeout + 60.0


def read_environment(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The process environment layered over `.env` (the environment wins, as docker does)."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    values = read_environment(environ, env_file)
    kwargs: dict[str, Any] = {}
    for f in fields(Settings):
        env, parse, required = f.metadata["env"], f.metadata["parse"], f.metadata["required"]
        raw = values.get(env)
        if raw is None or (raw.strip() == "" and required):
            if required:
                raise ConfigError(f"{env} is not set: add it to .env or the environment (see README, Settings)")
            continue
        if raw.strip() == "" and f.default is not None and parse is not _optional_limit:
            continue  # an empty line in .env means "use the default"
        kwargs[f.name] = parse(env, raw)
    return Settings(**kwargs)


def settings_table() -> list[tuple[str, bool, Any]]:
    """(variable, required, default) for `doctor` and the README."""
    return [(f.metadata["env"], f.metadata["required"], f.default) for f in fields(Settings)]
