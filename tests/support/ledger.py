"""What the ledger of a running bot (tests/conftest.py running_bot) holds."""

from __future__ import annotations

from typing import Any


async def ledger(bot: Any) -> list[tuple]:
    """(status, images_reserved, images_delivered, total_tokens) of every row, oldest first."""
    rows = await bot.db.execute_fetchall("SELECT status, images_reserved, images_delivered, total_tokens FROM ledger ORDER BY id")
    return [tuple(r) for r in rows]
