"""What a member reads when their picture or mask can't be used (no Discord types).
bot/images/errors.py builds its `ImageRejected` messages from here."""

from __future__ import annotations

from bot.text.i18n import N_, t

# Per subject and reason (bot.images.errors.RejectReason values); {label}: a format name
# such as HEIC, {what}: how large the picture is, {limit}: the largest allowed.
_MASK = {
    "empty": N_("The mask file is empty. Upload it again."),
    "not_an_image": N_(
        "The mask isn't an image Retouch can read. Upload a PNG where transparent (or white) areas mark what to edit."
    ),
    "unsupported_format": N_("%(label)s masks aren't supported here. Upload the mask as a PNG."),
    "corrupt": N_("The mask file is damaged or incomplete. Re-save it as a PNG and try again."),
    "too_many_pixels": N_(
        "The mask %(what)s to process safely (the limit is %(limit)s). Make it the same size as the image."
    ),
}
_IMAGE = {
    "empty": N_("That file is empty. Upload the image again."),
    "not_an_image": N_("That file isn't an image Retouch can read (PNG, JPEG, WebP, GIF, BMP or TIFF)."),
    "unsupported_format": N_(
        "%(label)s images aren't supported here. Export it as JPEG or PNG (on iPhone: "
        "Settings → Camera → Formats → Most Compatible) and try again."
    ),
    "corrupt": N_(
        "That image is damaged or incomplete, so Retouch can't read it. Re-save or re-upload it and try again."
    ),
    "too_many_pixels": N_("That image %(what)s to process safely (the limit is %(limit)s). Scale it down and try again."),
}


def has_message(subject: str, reason: str) -> bool:
    return reason in (_MASK if subject == "mask" else _IMAGE)


def rejected(subject: str, reason: str, **values: str) -> str:
    return t((_MASK if subject == "mask" else _IMAGE)[reason], **values)


def too_many_pixels_what(dims: str | None, megapixels: str) -> str:
    """How a picture is too large, as in "That image is 9000×9000 pixels (81 MP), too large"."""
    if dims is None:
        return t("has too many pixels")
    return t("is %(dims)s pixels (%(megapixels)s), too large", dims=dims, megapixels=megapixels)


def file_too_large(subject: str, size: str, limit: str) -> str:
    if subject == "mask":
        return t(
            "The mask file is %(size)s; Retouch accepts files up to %(limit)s. Scale it down or export it as JPEG and try again.",
            size=size, limit=limit,
        )
    return t(
        "That file is %(size)s; Retouch accepts files up to %(limit)s. Scale it down or export it as JPEG and try again.",
        size=size, limit=limit,
    )
