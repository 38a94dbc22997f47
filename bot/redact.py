"""The one place secrets are scrubbed: log records, error messages, doctor output.

Our code never puts the token or the key in a message on purpose; this catches the
accidental cases (a library echoing a header, a provider echoing the key in an error).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, unquote

REDACTED = "[redacted]"
_secrets: set[str] = set()
# Shapes of credentials worth hiding even when we were never told the exact value.
_CREDENTIAL_SHAPES = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+|\bsk-[A-Za-z0-9_\-]{8,}")


# Where a URL's credentials end: the LAST `@` after `scheme://`. A password may hold
# `@ # ? /` unencoded (people paste them so); a standard parser would stop at the first of
# those and leave the rest of the password in "the host", in every message quoting it.
# The price: an `@` in a path or query (never needed in DATABASE_URL) must be `%40`.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
# Characters a user or password may keep as they are (RFC 3986 userinfo, `%` kept so that
# what is already percent-encoded stays so); `:` only in the password.
_USER_SAFE = "!$&'()*+,;=%-._~"
_PASSWORD_SAFE = _USER_SAFE + ":"


def _userinfo(url: str) -> tuple[str, str, str] | None:
    """(`scheme://`, user info, the rest after its `@`), or None without user info."""
    match = _SCHEME.match(url)
    if match is None:
        return None
    at = url.rfind("@")
    if at < match.end():
        return None
    return match.group(0), url[match.end():at], url[at + 1:]


def url_password(url: str) -> str | None:
    """The password in `scheme://user:password@host/...`, if any (as written)."""
    parts = _userinfo(url)
    if parts is None:
        return None
    _, colon, password = parts[1].partition(":")
    return password if colon and password else None


def password_spellings(url: str) -> list[str]:
    """Every way the password of `url` may be quoted back: as written, percent-decoded
    (what the server checks), and percent-encoded (`with_encoded_credentials`)."""
    password = url_password(url)
    if not password:
        return []
    spellings = [password, unquote(password), quote(password, safe=_PASSWORD_SAFE)]
    return list(dict.fromkeys(s for s in spellings if s))


def without_credentials(url: str) -> str:
    """`url` without any `user:password@` (everything up to its last `@`), for messages and logs."""
    parts = _userinfo(url)
    return url if parts is None else parts[0] + parts[2]


def with_encoded_credentials(url: str) -> str:
    """`url` with its user and password percent-encoded where they need it, so that every
    client (asyncpg, libpq's pg_dump) reads the password whole, `@ # ? /` included."""
    parts = _userinfo(url)
    if parts is None:
        return url
    scheme, userinfo, rest = parts
    user, colon, password = userinfo.partition(":")
    encoded = quote(user, safe=_USER_SAFE) + (colon + quote(password, safe=_PASSWORD_SAFE) if colon else "")
    return f"{scheme}{encoded}@{rest}"


def register_secret(secret: str) -> None:
    """Scrub `secret` from everything `redact` and `RedactingFilter` see, process-wide."""
    if secret and len(secret) >= 4:  # shorter strings would mangle ordinary words
        _secrets.add(secret)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _CREDENTIAL_SHAPES.sub(lambda m: (m.group(1) + REDACTED) if m.group(1) else REDACTED, text)


def _redact_arg(value: Any) -> Any:
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites records so no registered secret reaches a handler (tracebacks included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.msg))
        if isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_arg(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set, so the traceback is scrubbed once here.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
