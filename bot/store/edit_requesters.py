"""Whose edit is it: the member an edit (a ledger row, whose id is the edit's number) was
made for. The result buttons ask before deleting a result for anyone but a moderator."""

from __future__ import annotations

from bot.store.backend import Database

_REQUESTER_SQL = "SELECT user_id FROM ledger WHERE id = ?"


async def edit_requester(db: Database, edit_id: int) -> int | None:
    """The member edit `edit_id` was made for, or None if there is no such edit."""
    row = await db.fetchone(_REQUESTER_SQL, (edit_id,))
    return row[0] if row else None
