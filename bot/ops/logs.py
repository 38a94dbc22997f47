"""Logging set up in one place, with the secret scrubber on the handler."""

from __future__ import annotations

import logging
import sys
from typing import Iterable

from bot.redact import RedactingFilter, register_secret


def setup_logging(level: str, secrets: Iterable[str] = (), log_format: str = "text") -> None:
    for secret in secrets:
        register_secret(secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if log_format == "json":  # LOG_FORMAT=json (bot/ops/json_logs.py)
        from bot.ops.json_logs import EditIdFilter, RetouchJsonFormatter

        handler.addFilter(EditIdFilter())
        handler.setFormatter(RetouchJsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Retouch has no voice features; discord.py's warning about missing voice libraries
    # would only worry self-hosters.
    logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT be supported" not in record.getMessage())
    # discord.py's HTTP debug lines are noise even at DEBUG unless asked for.
    logging.getLogger("discord.http").setLevel(max(logging.INFO, logging.getLevelName(level)))
