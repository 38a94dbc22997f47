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


def numbered(number: int, message: str) -> str:
    """A problem with the member's n-th input picture."""
    return t("Image %(number)s: %(message)s", number=number, message=message)


def not_square(dims: str) -> str:
    return t(
        "This model needs a square image, and yours is %(dims)s. Crop it to a square (or pick another model) and try again.",
        dims=dims,
    )


def cannot_fit(limit: str) -> str:
    return t("That image can't be made small enough for this model's %(limit)s limit. Try a smaller or simpler image.", limit=limit)


def mask_too_detailed(limit: str) -> str:
    return t(
        "The mask is too detailed to fit the provider's %(limit)s mask limit even after compression. "
        "Use a simpler mask (solid areas) and try again.",
        limit=limit,
    )


def mask_shape_mismatch(mask_dims: str, image_dims: str) -> str:
    return t(
        "The mask is %(mask_dims)s but the image is %(image_dims)s; they need the same shape (aspect ratio). "
        "Draw the mask on the same image and try again.",
        mask_dims=mask_dims, image_dims=image_dims,
    )


def nothing_painted() -> str:
    return t(
        "Your painted copy looks just like the image, so Retouch can't tell what to change. "
        "Paint over the area to change with a bright colour, and upload that copy as the mask."
    )


def not_a_copy() -> str:
    return t(
        "The mask doesn't look like a painted copy of your image: almost everything differs. "
        "Paint over the area to change on a copy of the same image (no filters), or upload a "
        "black-and-white mask where white marks the area."
    )


# Results that could not be fitted into Discord's upload limit (the member reads them
# inside "Your images were made but couldn't be sent to Discord: …").
def output_undecodable(index: int, size: str, limit: str, reason: str) -> str:
    return t(
        "Image %(number)s is %(size)s, over Discord's %(limit)s limit, and could not be decoded to shrink it (%(reason)s).",
        number=index, size=size, limit=limit, reason=reason,
    )


def output_cannot_fit(index: int, dims: str, size: str, limit: str) -> str:
    return t(
        "Image %(number)s (%(dims)s, %(size)s) cannot be made to fit Discord's %(limit)s limit.",
        number=index, dims=dims, size=size, limit=limit,
    )


# ----- the `region` option -------------------------------------------------------------------


def region_error(problem: str, presets: list[str], example: str) -> str:
    """What is wrong with a `region`, then how to write one."""
    usage = t(
        "Use %(presets)s or %(last)s, or a custom area in percent of the image from its top-left corner: "
        "rect:X,Y,W,H or ellipse:X,Y,W,H, for example %(example)s.",
        presets=", ".join(presets[:-1]), last=presets[-1], example=example,
    )
    return f"{problem} {usage}"


def region_empty() -> str:
    return t("The region is empty.")


def region_unknown() -> str:
    return t("That isn't a region Retouch knows.")


def region_needs_four(given: int) -> str:
    return t("A custom area needs four numbers X,Y,W,H (you gave %(given)s).", given=given)


def region_not_a_number(shown: str, *, negative: bool) -> str:
    if negative:
        return t("“%(value)s” isn't a percentage from 0 to 100.", value=shown)
    return t("“%(value)s” isn't a number.", value=shown)


def region_too_big(value: str) -> str:
    return t("Region values are percentages from 0 to 100; %(value)s is too big.", value=value)


def region_no_size() -> str:
    return t("The area's width and height (W and H) must be more than 0.")


def region_at_edge() -> str:
    return t("That area starts at the right or bottom edge of the image, so it covers nothing.")
