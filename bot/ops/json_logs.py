"""`LOG_FORMAT=json`: one JSON object per line, for log shippers (Loki, Elasticsearch, ...).

    {"time": "2026-12-05T01:02:03.456000+00:00", "level": "INFO", "logger": "retouch.edit",
     "message": "...", "edit_id": 12, "exception": "Traceback ..."}

`edit_id` is there when the line was logged by an edit (bot/log_context.py), `exception`
when there was one. The handler's RedactingFilter scrubs the message, its arguments and
the traceback before this formatter sees the record, exactly as for the text format; the
formatter redacts again what python-json-logger renders itself (it formats exceptions
from `exc_info`, not from the filter's scrubbed `exc_text`), and writes nothing else of
the record (no `extra=` fields a library might attach).
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from bot.log_context import edit_id_in_logs
from bot.redact import redact

FIELDS = ("time", "level", "logger", "message", "edit_id", "exception")


class EditIdFilter(logging.Filter):
    """Stamps each record with the id of the edit whose task logged it (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "edit_id", None) is None:
            record.edit_id = edit_id_in_logs.get()
        return True


class RetouchJsonFormatter(JsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception", "stack_info": "stack"},
            timestamp="time",
        )

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def,override]
        return redact(str(super().formatException(ei)))

    def formatStack(self, stack_info: str) -> str:  # type: ignore[override]
        return redact(str(super().formatStack(stack_info)))

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        kept = {key: log_data[key] for key in FIELDS if log_data.get(key) is not None}
        if log_data.get("stack") is not None:
            kept["stack"] = log_data["stack"]
        log_data.clear()
        log_data.update(kept)
