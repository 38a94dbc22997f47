"""The notes under a result about what Retouch did to the member's pictures and mask
("Note: converted HEIC to JPEG", no Discord types). bot/images writes them through these
functions, in the language of the edit (its worker threads inherit it)."""

from __future__ import annotations

from bot.text.i18n import N_, t

_ORIENTATIONS = {
    2: N_("mirrored"),
    3: N_("rotated 180°"),
    4: N_("flipped vertically"),
    5: N_("rotated 90° and mirrored"),
    6: N_("rotated 90°"),
    7: N_("rotated 270° and mirrored"),
    8: N_("rotated 270°"),
}
# Pixel modes converted to 8 bits (bot/images/pixels.py).
_MODES = {"I": N_("32-bit greyscale"), "F": N_("floating-point greyscale"), "I;16": N_("16-bit greyscale")}


# ----- the member's pictures ----------------------------------------------------------------


def cmyk_converted() -> str:
    return t("converted CMYK colours to RGB")


def converted_to_8bit(mode: str) -> str:
    word = _MODES.get("I;16" if mode.startswith("I;16") else mode)
    return t("converted %(mode)s to 8-bit", mode=t(word) if word else mode)


def first_page_only() -> str:
    return t("used only the first page of the TIFF")


def first_frame_only(format_label: str) -> str:
    return t("used only the first frame of the animated %(format)s", format=format_label)


def exif_applied(orientation: int) -> str:
    word = _ORIENTATIONS.get(orientation)
    return t("applied the photo's EXIF orientation (%(orientation)s)", orientation=t(word) if word else str(orientation))


def transparency_flattened() -> str:
    return t("flattened transparency onto white (the model takes no transparent format)")


def converted(source: str, target: str, *, quality: int | None, limit: str | None) -> str:
    """`limit`: set when a lossy encoding was needed to fit the model's file size limit."""
    if limit is None:
        return t("converted %(source)s to %(target)s", source=source, target=target)
    if quality is None:
        return t("converted %(source)s to %(target)s to fit the model's %(limit)s limit", source=source, target=target, limit=limit)
    return t(
        "converted %(source)s to %(target)s (q=%(quality)s) to fit the model's %(limit)s limit",
        source=source, target=target, quality=quality, limit=limit,
    )


def reencoded(target: str, *, quality: int | None, limit: str) -> str:
    if quality is None:
        return t("re-encoded as %(target)s to fit the model's %(limit)s limit", target=target, limit=limit)
    return t("re-encoded as %(target)s (q=%(quality)s) to fit the model's %(limit)s limit", target=target, quality=quality, limit=limit)


def downscaled(source: str, target: str, *, limit: str | None) -> str:
    if limit is None:
        return t("downscaled %(source)s → %(target)s", source=source, target=target)
    return t("downscaled %(source)s → %(target)s to fit the model's %(limit)s limit", source=source, target=target, limit=limit)


# ----- results too large for Discord --------------------------------------------------------


def unknown_output_format() -> str:
    return t("not a recognised image format; sent as is")


def output_reencoded(format_label: str, quality: int | None, *, scaled: tuple[str, str] | None, limit: str) -> str:
    how = t("%(format)s (lossless)", format=format_label) if quality is None else f"{format_label} (q={quality})"
    if scaled is None:
        return t("re-encoded as %(format)s to fit Discord's %(limit)s limit", format=how, limit=limit)
    return t(
        "re-encoded as %(format)s and downscaled %(source)s → %(target)s to fit Discord's %(limit)s limit",
        format=how, source=scaled[0], target=scaled[1], limit=limit,
    )


# ----- masks --------------------------------------------------------------------------------


def mask_from_black_and_white() -> str:
    return t("converted the black-and-white mask: white areas will be edited")


def mask_has_grey() -> str:
    return t("the mask has grey areas: those lighter than %(share)s grey will be edited", share="50%")


def mask_rotated() -> str:
    return t("rotated the mask like the photo (it matched the photo's unrotated pixels)")


def mask_resized(source: str, target: str) -> str:
    return t("resized the mask %(source)s → %(target)s to match the image", source=source, target=target)


def mask_marks_nothing() -> str:
    return t("the mask marks nothing for editing (no transparent or white area)")


def mask_marks_everything() -> str:
    return t("the mask marks the whole image for editing")


def painted_copy_rotated() -> str:
    return t("rotated the painted copy like the photo (it matched the photo's unrotated pixels)")


def painted_colour_shift() -> str:
    return t("allowed for a colour shift in the painted copy")


def mask_edges_reduced(limit: str) -> str:
    return t("reduced the mask's soft edges to 16 levels to fit the %(limit)s mask limit", limit=limit)


def mask_edges_hardened(limit: str) -> str:
    return t("made the mask's soft edges hard to fit the %(limit)s mask limit", limit=limit)


def coverage_under(share: str) -> str:
    return t("under %(share)s", share=share)


def mask_summary(source: str, covered: str, label: str = "") -> str:
    """Where the mask came from and how much of the image it covers (`covered`: "20%")."""
    if source == "painted":
        return t("mask derived from your painted copy (covers %(share)s of the image)", share=covered)
    if source == "region":
        return t("mask: %(label)s (covers %(share)s of the image)", label=label, share=covered)
    return t("mask: your upload (covers %(share)s of the image)", share=covered)
