"""The README is the front door: it must stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import settings_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_settings_table():
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    names = {name for name, _, _ in settings_table()}
    assert names == rows, f"missing from README: {names - rows}; not settings: {rows - names}"


def test_the_first_two_commands_run_the_bot_then_the_tests():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert blocks[0].strip() == "pip install -r requirements.lock && python -m bot"
    assert blocks[1].strip() == "pip install -r requirements-dev.lock && python -m pytest"
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "\n" + blocks[1].strip() + "\n" in ci, ".ci/run must call exactly the README's test command"
