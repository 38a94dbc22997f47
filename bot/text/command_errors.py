"""What a member reads when Discord could not run a command as asked (no Discord types)."""

from __future__ import annotations

from bot.text.edit_status import unexpected_error

SERVERS_ONLY = "Retouch works in servers: run this command in a server channel."
NOT_HERE = "You can't use this command here."
COMMAND_GONE = (
    "That command isn't available any more; Discord may still be updating its command list. Try again in a minute."
)


def slow_down(retry_after_seconds: float) -> str:
    return f"Slow down a little: try again in {retry_after_seconds:.0f} s."


def not_understood(value: object) -> str:
    return f"I couldn't understand the value {value!r} for that option. Pick one from the list."


def bug(error_id: str) -> str:
    """An error nobody expected: the member gets an id the owner can find in the log."""
    return unexpected_error(error_id)
