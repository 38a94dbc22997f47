"""What a member reads while starting an edit on Discord: the forms, their fields, the
buttons, the private answers of the entry points (no Discord types; Discord markup such
as a mention arrives as a value)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.images.regions import PRESET_DESCRIPTIONS, REGION_EXAMPLE
from bot.text.i18n import N_, lazy_texts, num, t

# ----- Apps › Edit image and Edit again --------------------------------------------------

# Fixed texts, read as `editing.NAME` in the reply's language (see i18n.lazy_texts).
_TEXTS: dict[str, object] = {
    "EDIT_IMAGE_TITLE": N_("Edit image"),  # also the Apps-menu command's name (PRODUCT.md)
    "EDIT_AGAIN_TITLE": N_("Edit again"),
    "PROMPT_LABEL": N_("What should change?"),
    "PROMPT_AGAIN_LABEL": N_("What should change now?"),
    "PROMPT_PLACEHOLDER": N_("e.g. give the cat a red scarf"),
    "PROMPT_AGAIN_PLACEHOLDER": N_("e.g. now make the scarf green"),
    "MASK_LABEL": N_("Mask (optional)"),
    "MASK_DESCRIPTION": N_("Transparent or white areas get edited"),
    "WHICH_IMAGES_LABEL": N_("Which image?"),
    "WHICH_IMAGES_DESCRIPTION": N_("Pick several for models that combine images"),
    "START_FROM_LABEL": N_("Start from"),
    "MODEL_LABEL": N_("Model"),
    "SIZE_LABEL": N_("Size"),
    "SIZE_PLACEHOLDER": N_("The model's choice"),
    "WHERE_LABEL": N_("Where to edit (optional)"),
    "WHERE_DESCRIPTION": N_("A region instead of a mask, and/or a look at the mask first"),
    "WHERE_PLACEHOLDER": N_("The whole picture, or your mask"),
    "PREVIEW_OPTION": N_("Show me the mask first"),
    "PREVIEW_OPTION_DESCRIPTION": N_("Nothing is counted until you confirm"),
    "AREA_LABEL": N_("Or a custom area (optional)"),
    "AREA_DESCRIPTION": N_("In percent of the picture from its top-left corner"),
    "AREA_PLACEHOLDER": lambda: t("%(example)s or ellipse:25,25,50,50", example=REGION_EXAMPLE),
}


# The region presets, as the /edit autocomplete and the Where menu describe them.
_PRESET_DESCRIPTIONS = {
    "top": N_("the upper half"),
    "bottom": N_("the lower half"),
    "left": N_("the left half"),
    "right": N_("the right half"),
    "center": N_("the middle of the image (a quarter of it)"),
    "border": N_("a frame along the edges (the middle is kept)"),
}


def _preset_description(preset: str) -> str:
    marked = _PRESET_DESCRIPTIONS.get(preset)
    return t(marked) if marked else PRESET_DESCRIPTIONS[preset]


def image_number(number: int) -> str:
    return t("Image %(number)s", number=number)


def found_image_option(number: int, description: str) -> str:
    return f"{number}. {description}"


def sizes_of(model: str) -> str:
    return t("Sizes of %(model)s", model=model)


def region_option(preset: str) -> str:
    return preset


def region_option_description(preset: str) -> str:
    return _preset_description(preset)


def one_region(regions: Sequence[str]) -> str:
    shown = ", ".join(f"`{r[:40]}`" for r in regions[:4])
    return t(
        "Choose one place to edit, not %(count)s (%(shown)s): one region preset or one custom area.",
        count=len(regions), shown=shown,
    )


# ----- /edit autocomplete ------------------------------------------------------------------


def default_choice(model: str) -> str:
    return t("%(model)s (default)", model=model)


def region_choice(preset: str) -> str:
    return f"{preset} — {_preset_description(preset)}"


# ----- finding and reading the member's pictures ---------------------------------------------

_TEXTS.update({
    "CUSTOM_REGION_CHOICE": lambda: t("custom: type e.g. %(example)s or ellipse:25,25,50,50", example=REGION_EXAMPLE),
    "NO_IMAGE": N_(
        "That message has no image I can edit. Use Apps › Edit image on a message with a picture "
        "(an upload, a forwarded picture or an embed image), or upload one with /edit."
    ),
    # TRANSLATORS: how a picture found in a message is described in the "Which image?" menu.
    "FORWARDED": N_("forwarded"),
    "EMBED_IMAGE": N_("embed image"),
    "EMBED_THUMBNAIL": N_("embed thumbnail"),
    # TRANSLATORS: the mask file, as in "Your mask is larger than 25 MB".
    "MASK": N_("mask"),
    "CONFIRM_NOT_YOURS": N_("Only the member who started this edit can answer this."),
    "CONFIRM_RESTARTING": N_("Retouch is restarting — nothing was reserved."),
    "BUTTON_LABELS": lambda: {action: t(label) for action, label in _BUTTON_LABELS.items()},
})
__getattr__ = lazy_texts(_TEXTS)


def found_attachment(filename: str, width: int | None, height: int | None, *, forwarded: bool) -> str:
    dims = f" ({width}×{height})" if width and height else ""
    return f"{filename}{dims}{', ' + t(_TEXTS['FORWARDED']) if forwarded else ''}"  # type: ignore[arg-type]


def found_embed(name: str, kind: str, *, forwarded: bool) -> str:
    return f"{name} ({kind}{', ' + t(_TEXTS['FORWARDED']) if forwarded else ''})"  # type: ignore[arg-type]


def upload_unreadable(label: str, status: int) -> str:
    return t("Couldn't download your %(label)s from Discord (%(status)s). Upload it again and retry.", label=label, status=status)


def message_image_unreadable(label: str, status: int | None = None) -> str:
    if status is not None:
        return t("Couldn't download that %(label)s from Discord (%(status)s); try again.", label=label, status=status)
    return t("Couldn't download that %(label)s from Discord; try again.", label=label)


def result_image_gone(label: str) -> str:
    return t("That %(label)s is no longer on Discord (its message was deleted), so it can't be edited again.", label=label)


def not_on_discord(label: str) -> str:
    return t("That %(label)s isn't hosted by Discord, so Retouch won't fetch it. Save it and use /edit instead.", label=label)


def message_image_too_large(label: str, max_bytes: int) -> str:
    return t("That %(label)s is larger than %(limit)s MB.", label=label, limit=num(max_bytes // 1_048_576))


def input_label(number: int) -> str:
    """How the member calls their n-th input picture in messages ("image", "image 2", ...)."""
    # TRANSLATORS: the member's input picture, as in "Your image is larger than 25 MB".
    return t("image") if number == 1 else t("image %(number)s", number=number)


# ----- results and their buttons --------------------------------------------------------------

# TRANSLATORS: the buttons under a result.
_BUTTON_LABELS = {"again": N_("Edit again"), "reroll": N_("Re-roll"), "delete": N_("Delete"), "cancel": N_("Cancel")}


def button_label(action: str) -> str:
    return t(_BUTTON_LABELS[action])


def requested_by(name: str) -> str:
    return t("Requested by %(name)s", name=name)


def late_result(mention: str) -> str:
    """A result posted in the channel after the interaction expired; `mention` pings the member."""
    return t("%(mention)s, your edit is ready.", mention=mention)


def option_label(number: int) -> str:
    """How `/edit` calls its n-th picture: by its option's name (image, image2, ...)."""
    return "image" if number == 1 else f"image{number}"
