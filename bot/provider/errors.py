"""Typed errors of the image provider client, and the key-redaction safety net.

Every failure of `ImageEditClient` is a `ProviderError` subclass. Each carries:
- `str(err)`: a precise message for logs and the bot owner (never contains the API key);
- `user_message`: what a Discord member may be shown (no configuration details);
- `status`, `code`, `param`, `request_id`, `provider_message`, `retry_after`, `attempts`.

Redaction (`bot.redact`): the client registers its API key with `register_secret`; every
message that enters an error, and every log record of the `retouch.provider` logger, is
scrubbed of registered secrets and of anything shaped like a bearer token or an `sk-` key,
because a provider may echo the key back in an error message.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.redact import RedactingFilter, redact, register_secret
from bot.text import provider_errors as provider_texts

__all__ = ["redact", "register_secret"]  # re-exported: the client registers its key here

LOGGER_NAME = "retouch.provider"

logger = logging.getLogger(LOGGER_NAME)
logger.addFilter(RedactingFilter())


class ProviderError(Exception):
    """Base class: the edit failed; nothing usable was returned."""

    default_user_message = provider_texts.GENERIC

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        provider_message: str | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or None
        self.param = param or None
        self.request_id = request_id
        self.provider_message = redact(provider_message) if provider_message else None
        self.retry_after = retry_after
        # Whether the provider certainly did not process (bill) this attempt, so the
        # client may send it again; the client's retry policy reads it.
        self.retryable = retryable
        self.attempts = 1
        self.model: str | None = None  # set by the client: the model the edit asked for
        # Set by the client on an edit's failure: the last attempt's whole request reached
        # the provider, which may bill the work it started (a timeout while it works).
        self.after_upload = False

    @property
    def user_message(self) -> str:
        return provider_texts.fixed(self.default_user_message)

    def __str__(self) -> str:
        extras = [
            f"{name}={value}"
            for name, value in (
                ("status", self.status),
                ("code", self.code),
                ("param", self.param),
                ("request_id", self.request_id),
            )
            if value is not None
        ]
        return f"{self.message} ({', '.join(extras)})" if extras else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class InvalidRequest(ProviderError):
    """Our own validation refused the request; nothing was sent to the provider."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, param=field)
        self.field = field

    @property
    def user_message(self) -> str:
        return self.message


class ProviderRejected(ProviderError):
    """The provider refused the request (400/422, or CometAPI's 500 `invalid_request`)."""

    def __init__(self, message: str, *, content_policy: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.content_policy = content_policy

    @property
    def user_message(self) -> str:
        return provider_texts.rejected(self.provider_message, content_policy=self.content_policy)


class ProviderAuthError(ProviderError):
    default_user_message = provider_texts.AUTH


class ModelNotFound(ProviderError):
    @property
    def user_message(self) -> str:
        return provider_texts.model_not_found(self.model)


class PayloadTooLarge(ProviderError):
    default_user_message = provider_texts.PAYLOAD_TOO_LARGE


class RateLimited(ProviderError):
    @property
    def user_message(self) -> str:
        return provider_texts.rate_limited(self.retry_after)


class BillingError(ProviderError):
    """429 `insufficient_quota`: the owner's provider account is out of credit."""

    # Members are not told about the owner's billing; the owner reads str(err) in logs.
    default_user_message = provider_texts.BILLING


class ProviderUnavailable(ProviderError):
    default_user_message = provider_texts.UNAVAILABLE


class ProviderTimeout(ProviderError):
    default_user_message = provider_texts.TIMEOUT


class BadResponse(ProviderError):
    default_user_message = provider_texts.BAD_RESPONSE


class WrongBaseURL(ProviderError):
    """A redirect or an HTML page where the API should be: the base URL is wrong."""

    default_user_message = provider_texts.WRONG_BASE_URL
    location: str | None = None  # where a redirect pointed (without credentials)


# --- mapping provider answers to error types ------------------------------------------

CONTENT_POLICY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
_SERVER_ERROR_CODES = frozenset({"server_error", "internal_error", "service_unavailable"})
_RETRYABLE_STATUSES = frozenset({408, 502, 503, 504, 520, 521, 522, 523, 524})


def error_fields(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(message, type, code, param) of an OpenAI-style `{"error": {...}}` body."""
    if not isinstance(body, dict):
        return None, None, None, None
    err = body.get("error", body)
    if isinstance(err, str):
        return err, None, None, None
    if not isinstance(err, dict):
        return None, None, None, None

    def text(key: str) -> str | None:
        value = err.get(key)
        return str(value) if value not in (None, "") else None

    return text("message"), text("type"), text("code"), text("param")


def error_from_response(
    status: int | None,
    body: Any,
    *,
    request_id: str | None = None,
    is_html: bool = False,
    base_url: str = "",
    retry_unsafe: bool = False,
    should_retry: bool | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """Map a provider answer to a typed error.

    `status` None means an error inside a 200 body or an SSE stream. `should_retry` is the
    parsed `x-should-retry` header: the server's own verdict overrides ours, except that a
    rejection or a billing error can never succeed by sending the same request again.
    """
    message, etype, code, param = error_fields(body)
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "param": param,
        "request_id": request_id,
        "provider_message": message,
        "retry_after": retry_after,
    }
    said = f": {message}" if message else ""
    where = f"{status}" if status is not None else "error event"

    if is_html and (status is None or status < 400 or status in (404, 405)):
        return WrongBaseURL(
            f"The image API answered {where} with an HTML page, not JSON: "
            f"IMAGE_API_BASE_URL ({base_url}) is probably wrong",
            **kw,
        )

    err: ProviderError
    if code == "insufficient_quota" or etype == "insufficient_quota":
        err = BillingError(
            f"The provider account is out of credit or over its billing limit{said}", **kw
        )
    elif code in CONTENT_POLICY_CODES:
        err = ProviderRejected(
            f"The provider's safety system blocked the request{said}", content_policy=True, **kw
        )
    elif code == "model_not_found":
        err = ModelNotFound(f"The provider does not serve this model{said}", **kw)
    elif status is None or 200 <= status < 300:
        if code == "rate_limit_exceeded":
            err = RateLimited(f"Rate limited by the provider{said}", **kw)
        elif code in _SERVER_ERROR_CODES or etype == "server_error":
            err = ProviderUnavailable(f"The provider failed while editing{said}", **kw)
        else:
            err = ProviderRejected(f"The provider reported an error{said}", **kw)
    elif status in (401, 403):
        err = ProviderAuthError(
            f"The provider refused the API key (HTTP {status}){said}; check IMAGE_API_KEY "
            "and that the account may use this model",
            **kw,
        )
    elif status == 404:
        if param == "model" or (message and "model" in message.lower()):
            err = ModelNotFound(f"The provider does not serve this model{said}", **kw)
        else:
            err = WrongBaseURL(
                f"The image API answered 404 Not Found{said}: IMAGE_API_BASE_URL "
                f"({base_url}) is probably wrong",
                **kw,
            )
    elif status == 405:
        err = WrongBaseURL(
            f"The image API answered 405 Method Not Allowed: IMAGE_API_BASE_URL "
            f"({base_url}) is probably wrong",
            **kw,
        )
    elif status == 413:
        err = PayloadTooLarge(f"The provider refused the upload as too large{said}", **kw)
    elif status == 429:
        err = RateLimited(f"Rate limited by the provider (HTTP 429){said}", **kw)
        err.retryable = True
    elif status == 500 and code == "invalid_request":
        # CometAPI reports some rejections as 500 + invalid_request.
        err = ProviderRejected(f"The provider rejected the request{said}", **kw)
    elif status in _RETRYABLE_STATUSES:
        err = ProviderUnavailable(f"The image provider is unavailable (HTTP {status}){said}", **kw)
        err.retryable = True
    elif status >= 500:
        # The upload may already have been processed and billed.
        err = ProviderUnavailable(f"The image provider failed (HTTP {status}){said}", **kw)
        err.retryable = retry_unsafe
    elif 300 <= status < 400:
        err = WrongBaseURL(
            f"The image API answered with a redirect (HTTP {status}): IMAGE_API_BASE_URL "
            f"({base_url}) is probably wrong",
            **kw,
        )
    else:
        err = ProviderRejected(f"The provider rejected the request (HTTP {status}){said}", **kw)

    never_retry = isinstance(err, (BillingError, ProviderRejected, ProviderAuthError,
                                   ModelNotFound, PayloadTooLarge, WrongBaseURL))
    if should_retry is not None and not never_retry and status is not None:
        err.retryable = should_retry
    return err
