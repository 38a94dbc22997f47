"""The domain packages hand the text layer values; Discord markup (mentions, channel links,
timestamps) is written only in bot/text and the Discord side."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKUP = re.compile(r"<t:|<@|<#|<:\w+:")


@pytest.mark.parametrize("package", ["edits", "store", "images", "provider"])
def test_no_discord_markup_outside_the_text_layer(package: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "bot" / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MARKUP.search(line)
    ]
    assert found == []
