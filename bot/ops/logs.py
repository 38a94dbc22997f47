"""Logging set up in one place, with the secret scrubber on the handler."""

from __future__ import annotations

import logging
import sys
from typing import Iterable

from bot.redact import RedactingFilter, register_secret


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    for secret in secrets:
        register_secret(secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.addFilter(RedactingFilter())
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
