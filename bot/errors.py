"""Errors a member can act on, and the one place that turns any exception into a message."""

from __future__ import annotations

from bot.text import edit_status


class UserFacingError(Exception):
    """An error whose text is written for the member, safe to show, and says what to do.

    `reason_code` names the kind of refusal for logs and the audit channel ("quota",
    "blocked_word", "model_not_allowed", ...)."""

    def __init__(self, message: str, *, reason_code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.reason_code = reason_code

    @property
    def user_message(self) -> str:
        return self.message


class ShuttingDown(UserFacingError):
    def __init__(self) -> None:
        super().__init__(edit_status.SHUTTING_DOWN, reason_code="shutting_down")


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
