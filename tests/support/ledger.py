"""What the ledger of a running bot (tests/conftest.py running_bot) holds."""

from __future__ import annotations

from typing import Any

from tests.support.polling import eventually


async def ledger(bot: Any) -> list[tuple]:
    """(status, images_reserved, images_delivered, total_tokens) of every row, oldest first,
    once the bot has settled every edit it accepted: a delivered edit commits a moment after
    Discord has its post, which is when the fake (and the test) sees it."""
    await edits_settled(bot)
    return await ledger_now(bot)


async def edits_settled(bot: Any) -> None:
    """Wait until the bot has settled every edit it accepted (committed or refunded)."""
    await eventually(lambda: bot.edits.in_progress == 0, what="every accepted edit settled")


async def ledger_now(bot: Any) -> list[tuple]:
    """The same rows at once, with edits still in progress (reserved rows among them)."""
    rows = await bot.db.execute_fetchall("SELECT status, images_reserved, images_delivered, total_tokens FROM ledger ORDER BY id")
    return [tuple(r) for r in rows]
