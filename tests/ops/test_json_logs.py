"""LOG_FORMAT=json: one JSON object per line, secrets scrubbed as in the text format."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.log_context import edit_id_in_logs
from bot.ops.logs import setup_logging

KEY = "sk-json-log-test-key-0123456789abcdef"
TOKEN = "discord-json-log-token-abcdefghijklmnop"


@pytest.fixture
def root_logging():
    """setup_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(capsys) -> list[dict]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_each_record_is_one_json_object_with_the_contract_fields(capsys, root_logging):
    setup_logging("INFO", [KEY, TOKEN], "json")
    logging.getLogger("retouch.edit").info("edit #%d delivered %s", 7, "2 images")
    logging.getLogger("retouch").debug("not at INFO")
    [record] = lines(capsys)
    assert set(record) == {"time", "level", "logger", "message"}
    assert record["level"] == "INFO" and record["logger"] == "retouch.edit"
    assert record["message"] == "edit #7 delivered 2 images"
    assert record["time"].endswith("+00:00") and record["time"][:2] == "20"


def test_the_key_in_an_exception_message_is_redacted_as_in_text_logs(capsys, root_logging):
    for fmt in ("text", "json"):
        setup_logging("INFO", [KEY, TOKEN], fmt)
        try:
            raise RuntimeError(f"provider said: invalid key {KEY} (token {TOKEN})")
        except RuntimeError:
            logging.getLogger("retouch.provider").exception("call failed with %s", KEY, extra={"api_key": KEY})
        err = capsys.readouterr().err
        assert KEY not in err and TOKEN not in err, fmt
        assert err.count("[redacted]") >= 3, fmt
        if fmt == "json":
            [record] = [json.loads(line) for line in err.splitlines()]
            assert record["message"] == "call failed with [redacted]"
            assert record["exception"].startswith("Traceback") and "RuntimeError: provider said: invalid key [redacted]" in record["exception"]
            assert "api_key" not in record, "extra= fields are not written (they are not scrubbed in text logs either)"


async def test_log_lines_of_an_edit_carry_its_id_and_others_do_not(capsys, root_logging):
    setup_logging("INFO", [], "json")
    log = logging.getLogger("retouch.provider")

    async def edit(edit_id: int) -> None:
        edit_id_in_logs.set(edit_id)
        await asyncio.sleep(0)
        log.info("calling the provider")

    await asyncio.gather(asyncio.create_task(edit(41)), asyncio.create_task(edit(42)))
    log.info("not about an edit")
    records = lines(capsys)
    assert sorted(r.get("edit_id") for r in records[:2]) == [41, 42]
    assert "edit_id" not in records[2]
