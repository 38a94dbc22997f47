"""Errors a member can act on, and the one place that turns any exception into a message."""

from __future__ import annotations

from collections.abc import Callable

from bot.text import edit_status


class UserFacingError(Exception):
    """An error whose text is written for the member, safe to show, and says what to do.

    `reason_code` names the kind of refusal for logs and the audit channel ("quota",
    "blocked_word", "model_not_allowed", ...).

    `message` is the text, or what writes it (`lambda: texts.blocked_word(word)`): then
    `user_message` writes it again in the language of whoever reads it (the member, the
    audit channel, the English log), while `message` keeps it as first written."""

    def __init__(self, message: str | Callable[[], str], *, reason_code: str = "invalid_request") -> None:
        self._write = message if callable(message) else None
        text = message() if callable(message) else message
        super().__init__(text)
        self.message = text
        self.reason_code = reason_code

    @property
    def user_message(self) -> str:
        return self._write() if self._write is not None else self.message


class ShuttingDown(UserFacingError):
    def __init__(self) -> None:
        super().__init__(lambda: edit_status.SHUTTING_DOWN, reason_code="shutting_down")


def user_message_for(exc: BaseException) -> str | None:
    """The member-facing text for a known error, or None for a bug (logged with an id)."""
    from bot.images.errors import DeliveryError, ImageRejected

    if isinstance(exc, ImageRejected):
        return exc.message
    if isinstance(exc, DeliveryError):
        return edit_status.not_sent(exc.message)
    message = getattr(exc, "user_message", None)
    if isinstance(message, str) and message:
        return message
    return None
