"""What a member reads when a model cannot take the edit as asked (bot/provider/request.py
checks a request against the model's limits before anything is sent; no Discord types).
Option names (`n`, `quality`, `size`, ...) and model names stay as they are typed."""

from __future__ import annotations

from collections.abc import Sequence

from bot.text.i18n import num, t, tn


def one_of(values: Sequence[str]) -> str:
    """"low, medium or high"."""
    values = list(values)
    if len(values) == 1:
        return values[0]
    return t("%(first)s or %(last)s", first=", ".join(values[:-1]), last=values[-1])


def empty_prompt() -> str:
    return t("The prompt is empty: describe the edit you want.")


def prompt_too_long(length: int, model: str, most: int) -> str:
    return t(
        "The prompt is %(length)s characters long; %(model)s accepts at most %(most)s.",
        length=num(length), model=model, most=num(most),
    )


def mask_not_png() -> str:
    return t("The mask must be a PNG image (transparent = edit).")


def mask_too_large(size: str, model: str, limit: str) -> str:
    return t("The mask is %(size)s; %(model)s accepts masks up to %(limit)s.", size=size, model=model, limit=limit)


def n_not_whole() -> str:
    return t("n must be a whole number of images.")


def one_image_per_edit(model: str) -> str:
    return t("%(model)s makes 1 image per edit.", model=model)


def n_out_of_range(most: int, model: str, asked: object) -> str:
    return t("n must be between 1 and %(most)s for %(model)s (got %(asked)s).", most=most, model=model, asked=asked)


def not_accepted(model: str, label: str) -> str:
    return t("%(model)s does not accept %(option)s.", model=model, option=label)


def value_not_accepted(model: str, label: str, value: object, allowed: Sequence[str]) -> str:
    return t(
        "%(model)s does not accept %(option)s %(value)s: use %(allowed)s.",
        model=model, option=label, value=repr(value), allowed=one_of(allowed),
    )


def transparent_needs_png() -> str:
    return t("A transparent background needs PNG or WebP output, not JPEG.")


def no_image() -> str:
    return t("Attach an image to edit.")


def too_many_images(model: str, most: int, given: int) -> str:
    return tn(
        "%(model)s accepts at most %(n)s image per edit; %(given)s were given.",
        "%(model)s accepts at most %(n)s images per edit; %(given)s were given.",
        most, model=model, given=given,
    )


def which_image(number: int, count: int) -> str:
    """How a sentence names the picture: "The image", or "Image 2" when there are several."""
    return t("The image") if count == 1 else t("Image %(number)s", number=number)


def wrong_image_format(which: str, formats: str, model: str) -> str:
    return t("%(which)s is not a %(formats)s file, which %(model)s needs.", which=which, formats=formats, model=model)


def image_too_large(which: str, size: str, model: str, limit: str) -> str:
    return t("%(which)s is %(size)s; %(model)s accepts files up to %(limit)s.", which=which, size=size, model=model, limit=limit)


def needs_square(model: str, which: str, width: int, height: int) -> str:
    return t(
        "%(model)s needs a square image (%(which)s is %(width)sx%(height)s).",
        model=model, which=which, width=width, height=height,
    )


def size_unwritable() -> str:
    return t("write it as WIDTHxHEIGHT, e.g. 1536x1024, or auto")


def size_impossible(model: str, size: str, problem: str) -> str:
    return t("%(model)s cannot make size %(size)s: %(problem)s.", model=model, size=repr(size), problem=problem)


def size_not_offered(model: str, size: str, allowed: Sequence[str]) -> str:
    return t("%(model)s does not accept size %(size)s: use %(allowed)s.", model=model, size=repr(size), allowed=one_of(allowed))
