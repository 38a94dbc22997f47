"""The one place secrets are scrubbed: log records, error messages, doctor output.

Our code never puts the token or the key in a message on purpose; this catches the
accidental cases (a library echoing a header, a provider echoing the key in an error).
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
_secrets: set[str] = set()
# Shapes of credentials worth hiding even when we were never told the exact value.
_CREDENTIAL_SHAPES = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+|\bsk-[A-Za-z0-9_\-]{8,}")


# The user-info part of a URL: from `scheme://` to the last `@` before the path.
_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@")


def url_password(url: str) -> str | None:
    """The password in `scheme://user:password@host/...`, if any (as written)."""
    match = _URL_USERINFO.match(url)
    if match is None:
        return None
    userinfo = match.group(0)[len(match.group(1)):-1]
    _, colon, password = userinfo.partition(":")
    return password if colon and password else None


def without_credentials(url: str) -> str:
    """`url` without any `user:password@`, for messages and logs."""
    return _URL_USERINFO.sub(r"\1", url, count=1)


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
