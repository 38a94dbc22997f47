"""What a member reads when Discord could not run a command as asked (no Discord types)."""

from __future__ import annotations

from bot.text.edit_status import unexpected_error
from bot.text.i18n import N_, lazy_texts, num, t

_TEXTS = {
    "SERVERS_ONLY": N_("Retouch works in servers: run this command in a server channel."),
    "NOT_HERE": N_("You can't use this command here."),
    "COMMAND_GONE": N_(
        "That command isn't available any more; Discord may still be updating its command list. Try again in a minute."
    ),
}
__getattr__ = lazy_texts(_TEXTS)


def slow_down(retry_after_seconds: float) -> str:
    return t("Slow down a little: try again in %(seconds)s s.", seconds=num(round(retry_after_seconds)))


def not_understood(value: object) -> str:
    return t("I couldn't understand the value %(value)s for that option. Pick one from the list.", value=repr(value))


def bug(error_id: str) -> str:
    """An error nobody expected: the member gets an id the owner can find in the log."""
    return unexpected_error(error_id)
