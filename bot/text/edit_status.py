"""What a member reads while an edit waits, runs or stops early (no Discord types)."""

from __future__ import annotations

from bot.text.i18n import N_, decimal, lazy_texts, num, t, tn

# Fixed sentences, read as `edit_status.NAME` in the reply's language (see i18n.lazy_texts).
_TEXTS = {
    "WAITING_FOR_OWN": N_("⏳ Waiting for your other edit to finish…"),
    "RESTART_CANCELLED": N_(
        "Retouch had to restart before your edit finished. It was cancelled and your quota refunded: "
        "please run /edit again in a minute."
    ),
    "RESTART_BEFORE_START": N_(
        "Retouch had to restart before your edit started. Nothing was charged: please run /edit again in a minute."
    ),
    "PREVIEW_NEEDS_MASK": N_("`mask_preview` shows the mask before the edit: add a `mask` or a `region` too."),
    "MASK_PREVIEW_TITLE": N_("Is this the area to change?"),
    "MASK_AND_REGION": N_("Use either `mask` or `region`, not both: a region builds the mask for you."),
    "REFUNDED": N_("Your quota was refunded."),
    "SERVERS_ONLY": N_("Retouch works in servers: run this command in a server channel."),
    "EMPTY_PROMPT": N_("The prompt is empty: describe the change you want, e.g. 'make the sky purple'."),
    "NOT_DELIVERED": N_(
        "Your edit finished but Discord would not take the images, so nothing was posted. "
        "Your quota was refunded; try again in a minute."
    ),
    "RESULT_EXPIRED": N_("This result has expired, run /edit again."),
    "DELETE_NOT_YOURS": N_("Only the member who asked for this edit, or a moderator, can delete it."),
    "CANCEL_NOT_YOURS": N_("Only the member who asked for this edit, or a moderator, can cancel it."),
    "CANCEL_NOT_RUNNING": N_("That edit isn't running any more, so there is nothing to cancel."),
    "CANCEL_TOO_LATE": N_("Too late to cancel: the result is being posted right now."),
    "CANCELLED_FOR_OTHER": N_("You cancelled that member's edit; they were told and their quota refunded."),
    # A confirmation question's buttons (a mask preview, a cost above the threshold)...
    "CONFIRM_LABEL": N_("Confirm"),
    "CANCEL_LABEL": N_("Cancel"),
    # ... and what the question becomes.
    "CONFIRMED": N_("Confirmed: your edit is starting."),
    "CONFIRM_CANCELLED": N_("Cancelled — nothing was reserved."),
    "CONFIRM_TIMED_OUT": N_("No answer in time — cancelled, nothing was reserved."),
    "SHUTTING_DOWN": N_(
        "Retouch is restarting and isn't taking new edits right now. Try again in a minute; nothing was charged."
    ),
}
__getattr__ = lazy_texts(_TEXTS)


def too_many_in_progress(limit: int) -> str:
    return tn(
        "You already have %(n)s edit in progress. Wait for one to finish (or cancel one), then try again. Nothing was charged.",
        "You already have %(n)s edits in progress. Wait for one to finish (or cancel one), then try again. Nothing was charged.",
        limit,
    )


def queued(position: int, ahead: int) -> str:
    return tn(
        "⏳ In the queue: #%(position)s (%(n)s edit ahead of yours). It starts automatically.",
        "⏳ In the queue: #%(position)s (%(n)s edits ahead of yours). It starts automatically.",
        ahead, position=position,
    )


def _seconds(elapsed: float) -> str:
    whole = int(elapsed)
    if whole < 60:
        return t("%(seconds)s s", seconds=num(whole))
    return t("%(minutes)s min %(seconds)s s", minutes=num(whole // 60), seconds=str(whole % 60).zfill(2))


def running(model: str, elapsed: float | None = None) -> str:
    if elapsed is None:
        return t("🎨 Editing with **%(model)s**… this can take a minute or two.", model=model)
    return t(
        "🎨 Editing with **%(model)s**… %(elapsed)s so far (this can take a minute or two).",
        model=model, elapsed=_seconds(elapsed),
    )


def preview(model: str, index: int, elapsed: float | None = None) -> str:
    if elapsed is None:
        return t("🎨 Editing with **%(model)s**… preview %(number)s", model=model, number=index + 1)
    return t(
        "🎨 Editing with **%(model)s**… preview %(number)s · %(elapsed)s",
        model=model, number=index + 1, elapsed=_seconds(elapsed),
    )


def cancelled(*, by_moderator: bool) -> str:
    if by_moderator:
        return t("A moderator cancelled your edit: nothing was made for you and your quota was refunded.")
    return t("Cancelled: nothing was made for you and your quota was refunded.")


def unknown_model(model: str, allowed: list[str]) -> str:
    return t("Unknown model `%(model)s`. Choose one of: %(allowed)s.", model=model[:60], allowed=", ".join(allowed))


def _mb(size: float) -> str:
    return t("%(size)s MB", size=num(size))


def file_too_large(label: str, size: int, limit: int) -> str:
    return t(
        "Your %(label)s is %(size)s; Retouch accepts files up to %(limit)s. Save it smaller (e.g. as JPEG) and try again.",
        label=label, size=t("%(size)s MB", size=decimal(size / 1_048_576, 1)), limit=_mb(limit // 1_048_576),
    )


def file_over_limit(label: str, limit: int) -> str:
    """A file found too large only once read (its size was not declared)."""
    return t("Your %(label)s is larger than %(limit)s. Save it smaller and try again.", label=label, limit=_mb(limit // 1_048_576))


def partly_delivered(delivered: int, made: int) -> str:
    missing = made - delivered
    return tn(
        "%(n)s of your %(made)s images couldn't be posted to Discord; it was not counted against your quota.",
        "%(n)s of your %(made)s images couldn't be posted to Discord; they were not counted against your quota.",
        missing, made=num(made),
    )


def with_refund(message: str) -> str:
    refunded = t(_TEXTS["REFUNDED"])
    return message if "refunded" in message or refunded in message else f"{message}\n{refunded}"


def not_sent(problem: str) -> str:
    """The results were made but did not fit Discord (`problem` says why)."""
    return t(
        "Your images were made but couldn't be sent to Discord: %(problem)s Your quota was refunded.", problem=problem,
    )


def unexpected_error(error_id: str) -> str:
    return t(
        "Something went wrong on Retouch's side (error id `%(error_id)s`). Nothing was charged. "
        "Try again; if it keeps happening, give the server owner this id.",
        error_id=error_id,
    )


def one_image_only(model: str, max_images: int, multi: list[str]) -> str:
    takes = t("one image") if max_images == 1 else t("at most %(n)s images", n=num(max_images))
    if multi:
        return t(
            "`%(model)s` edits %(takes)s at a time: remove the extra images, or pick a model that takes several "
            "(e.g. %(models)s).",
            model=model, takes=takes, models=", ".join(multi[:4]),
        )
    return t(
        "`%(model)s` edits %(takes)s at a time: remove the extra images, or pick a model that takes several.",
        model=model, takes=takes,
    )


# Why a result's inputs were not kept (bot/store/results.py DISK_FULL, TOO_LARGE).
_NOT_KEPT = {
    "disk_full": N_("the bot's disk was nearly full when this result was made, so its inputs were not kept"),
    "too_large": N_("this result's inputs were larger than the bot may keep (RESULT_STORAGE_MB)"),
}


def reroll_unavailable(reason: str) -> str:
    why = t(_NOT_KEPT[reason]) if reason in _NOT_KEPT else t("this result's inputs were not kept")
    return t(
        "Re-roll is unavailable: %(why)s. Edit again still works, or run /edit with the original image.", why=why,
    )


def mask_preview_lines(mask_summary: str, timeout_seconds: float) -> list[str]:
    return [
        t("The tinted area is where the edit may change your picture (%(mask)s).", mask=mask_summary),
        tn(
            "Nothing is counted until you press **Confirm**; **Cancel**, or no answer within %(n)s minute, changes nothing.",
            "Nothing is counted until you press **Confirm**; **Cancel**, or no answer within %(n)s minutes, changes nothing.",
            round(timeout_seconds / 60),
        ),
    ]
