"""What a member reads while starting an edit on Discord: the forms, their fields, the
buttons, the private answers of the entry points (no Discord types; Discord markup such
as a mention arrives as a value)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.images.regions import PRESET_DESCRIPTIONS, REGION_EXAMPLE

# ----- Apps › Edit image and Edit again --------------------------------------------------

EDIT_IMAGE_TITLE = "Edit image"  # also the Apps-menu command's name (PRODUCT.md)
EDIT_AGAIN_TITLE = "Edit again"
PROMPT_LABEL = "What should change?"
PROMPT_AGAIN_LABEL = "What should change now?"
PROMPT_PLACEHOLDER = "e.g. give the cat a red scarf"
PROMPT_AGAIN_PLACEHOLDER = "e.g. now make the scarf green"
MASK_LABEL = "Mask (optional)"
MASK_DESCRIPTION = "Transparent or white areas get edited"
WHICH_IMAGES_LABEL = "Which image?"
WHICH_IMAGES_DESCRIPTION = "Pick several for models that combine images"
START_FROM_LABEL = "Start from"
MODEL_LABEL = "Model"
SIZE_LABEL = "Size"
SIZE_PLACEHOLDER = "The model's choice"
WHERE_LABEL = "Where to edit (optional)"
WHERE_DESCRIPTION = "A region instead of a mask, and/or a look at the mask first"
WHERE_PLACEHOLDER = "The whole picture, or your mask"
PREVIEW_OPTION = "Show me the mask first"
PREVIEW_OPTION_DESCRIPTION = "Nothing is counted until you confirm"
AREA_LABEL = "Or a custom area (optional)"
AREA_DESCRIPTION = "In % of the picture from its top-left corner"
AREA_PLACEHOLDER = f"{REGION_EXAMPLE} or ellipse:25,25,50,50"


def image_number(number: int) -> str:
    return f"Image {number}"


def found_image_option(number: int, description: str) -> str:
    return f"{number}. {description}"


def sizes_of(model: str) -> str:
    return f"Sizes of {model}"


def region_option(preset: str) -> str:
    return preset


def region_option_description(preset: str) -> str:
    return PRESET_DESCRIPTIONS[preset]


def one_region(regions: Sequence[str]) -> str:
    shown = ", ".join(f"`{r[:40]}`" for r in regions[:4])
    return f"Choose one place to edit, not {len(regions)} ({shown}): one region preset or one custom area."


# ----- /edit autocomplete ------------------------------------------------------------------


def default_choice(model: str) -> str:
    return f"{model} (default)"


def region_choice(preset: str) -> str:
    return f"{preset} — {PRESET_DESCRIPTIONS[preset]}"


CUSTOM_REGION_CHOICE = f"custom: type e.g. {REGION_EXAMPLE} or ellipse:25,25,50,50"

# ----- finding and reading the member's pictures ---------------------------------------------

NO_IMAGE = (
    "That message has no image I can edit. Use Apps › Edit image on a message with a picture "
    "(an upload, a forwarded picture or an embed image), or upload one with /edit."
)
FORWARDED = "forwarded"
EMBED_IMAGE = "embed image"
EMBED_THUMBNAIL = "embed thumbnail"


def found_attachment(filename: str, width: int | None, height: int | None, *, forwarded: bool) -> str:
    dims = f" ({width}×{height})" if width and height else ""
    return f"{filename}{dims}{', ' + FORWARDED if forwarded else ''}"


def found_embed(name: str, kind: str, *, forwarded: bool) -> str:
    return f"{name} ({kind}{', ' + FORWARDED if forwarded else ''})"


def upload_unreadable(label: str, status: int) -> str:
    return f"Couldn't download your {label} from Discord ({status}). Upload it again and retry."


def message_image_unreadable(label: str, status: int | None = None) -> str:
    code = f" ({status})" if status is not None else ""
    return f"Couldn't download that {label} from Discord{code}; try again."


def result_image_gone(label: str) -> str:
    return f"That {label} is no longer on Discord (its message was deleted), so it can't be edited again."


def not_on_discord(label: str) -> str:
    return f"That {label} isn't hosted by Discord, so Retouch won't fetch it. Save it and use /edit instead."


def message_image_too_large(label: str, max_bytes: int) -> str:
    return f"That {label} is larger than {max_bytes // 1_048_576} MB."


def input_label(number: int) -> str:
    """How the member calls their n-th input picture in messages ("image", "image 2", ...)."""
    return "image" if number == 1 else f"image {number}"


MASK = "mask"

# ----- results and their buttons --------------------------------------------------------------

BUTTON_LABELS = {"again": "Edit again", "reroll": "Re-roll", "delete": "Delete", "cancel": "Cancel"}


def requested_by(name: str) -> str:
    return f"Requested by {name}"


def late_result(mention: str) -> str:
    """A result posted in the channel after the interaction expired; `mention` pings the member."""
    return f"{mention}, your edit is ready."


# ----- the private Confirm / Cancel question ---------------------------------------------------

CONFIRM_NOT_YOURS = "Only the member who started this edit can answer this."
CONFIRM_RESTARTING = "Retouch is restarting — nothing was reserved."


def option_label(number: int) -> str:
    """How `/edit` calls its n-th picture: by its option's name (image, image2, ...)."""
    return "image" if number == 1 else f"image{number}"
