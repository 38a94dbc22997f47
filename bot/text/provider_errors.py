"""What a member reads when the image provider could not make their edit (no Discord
types). bot/provider/errors.py's error types read their `user_message` from here, in the
language of the reply being written."""

from __future__ import annotations

from bot.text.i18n import N_, num, t

GENERIC = N_("The image provider could not complete this edit. Try again later.")
AUTH = N_("The bot could not sign in to the image provider. Please tell the bot owner.")
PAYLOAD_TOO_LARGE = N_("The upload was too large for the image provider. Try a smaller image or fewer images.")
# Members are not told about the owner's billing; the owner reads the error in the logs.
BILLING = N_("The image service is unavailable right now. The bot owner needs to check the provider account.")
UNAVAILABLE = N_("The image provider is unavailable right now. Try again in a few minutes.")
TIMEOUT = N_("The image provider took too long to answer. Try again, perhaps with a smaller size or lower quality.")
BAD_RESPONSE = N_("The image provider sent back something that is not a usable image. Try again.")
WRONG_BASE_URL = N_("The bot is misconfigured (image API address). Please tell the bot owner.")


def fixed(message: str) -> str:
    """One of the sentences above, in the current language."""
    return t(message)


def rejected(provider_message: str | None, *, content_policy: bool) -> str:
    if content_policy:
        said = t("The image provider's safety system blocked this request. Try a different prompt or image.")
    else:
        said = t("The image provider rejected this request.")
    if provider_message:
        # The provider's own words stay as it wrote them.
        said += " " + t("Provider said: %(message)s", message=provider_message)
    return said


def model_not_found(model: str | None) -> str:
    if model:
        return t("The model `%(model)s` is not available from the image provider. Pick another model.", model=model)
    return t("The model is not available from the image provider. Pick another model.")


def rate_limited(retry_after: float | None) -> str:
    if retry_after:
        return t(
            "The image provider is busy right now. Try again in about %(seconds)s seconds.",
            seconds=num(max(1, round(retry_after))),
        )
    return t("The image provider is busy right now. Try again in a minute.")
