"""What a member reads while an edit waits, runs or stops early (no Discord types)."""

from __future__ import annotations

WAITING_FOR_OWN = "⏳ Waiting for your other edit to finish…"
RESTART_CANCELLED = (
    "Retouch had to restart before your edit finished. It was cancelled and your quota refunded: "
    "please run /edit again in a minute."
)
RESTART_BEFORE_START = (
    "Retouch had to restart before your edit started. Nothing was charged: please run /edit again in a minute."
)
PREVIEW_NEEDS_MASK = "`mask_preview` shows the mask before the edit: add a `mask` or a `region` too."
MASK_PREVIEW_TITLE = "Is this the area to change?"
MASK_AND_REGION = "Use either `mask` or `region`, not both: a region builds the mask for you."
REFUNDED = "Your quota was refunded."
SERVERS_ONLY = "Retouch works in servers: run this command in a server channel."
EMPTY_PROMPT = "The prompt is empty: describe the change you want, e.g. 'make the sky purple'."
NOT_DELIVERED = (
    "Your edit finished but Discord would not take the images, so nothing was posted. "
    "Your quota was refunded; try again in a minute."
)


def too_many_in_progress(limit: int) -> str:
    edits = "edit" if limit == 1 else "edits"
    return (
        f"You already have {limit} {edits} in progress. Wait for one to finish (or cancel one), "
        "then try again. Nothing was charged."
    )


def queued(position: int, ahead: int) -> str:
    return f"⏳ In the queue: #{position} ({ahead} edit{'s' if ahead != 1 else ''} ahead of yours). It starts automatically."


def _seconds(elapsed: float) -> str:
    whole = int(elapsed)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


def running(model: str, elapsed: float | None = None) -> str:
    if elapsed is None:
        return f"🎨 Editing with **{model}**… this can take a minute or two."
    return f"🎨 Editing with **{model}**… {_seconds(elapsed)} so far (this can take a minute or two)."


def preview(model: str, index: int, elapsed: float | None = None) -> str:
    took = f" · {_seconds(elapsed)}" if elapsed is not None else ""
    return f"🎨 Editing with **{model}**… preview {index + 1}{took}"


def cancelled(*, by_moderator: bool) -> str:
    who = "A moderator cancelled your edit" if by_moderator else "Cancelled"
    return f"{who}: nothing was made for you and your quota was refunded."


def unknown_model(model: str, allowed: list[str]) -> str:
    return f"Unknown model `{model[:60]}`. Choose one of: {', '.join(allowed)}."


def file_too_large(label: str, size: int, limit: int) -> str:
    return (
        f"Your {label} is {size / 1_048_576:.1f} MB; Retouch accepts files up to "
        f"{limit // 1_048_576} MB. Save it smaller (e.g. as JPEG) and try again."
    )


def file_over_limit(label: str, limit: int) -> str:
    """A file found too large only once read (its size was not declared)."""
    return f"Your {label} is larger than {limit // 1_048_576} MB. Save it smaller and try again."


def partly_delivered(delivered: int, made: int) -> str:
    missing = made - delivered
    return (
        f"{missing} of your {made} images couldn't be posted to Discord; "
        f"{'it was' if missing == 1 else 'they were'} not counted against your quota."
    )


def with_refund(message: str) -> str:
    return message if "refunded" in message else f"{message}\n{REFUNDED}"


def unexpected_error(error_id: str) -> str:
    return (
        f"Something went wrong on Retouch's side (error id `{error_id}`). Nothing was charged. "
        "Try again; if it keeps happening, give the server owner this id."
    )


def one_image_only(model: str, max_images: int, multi: list[str]) -> str:
    takes = "one image" if max_images == 1 else f"at most {max_images} images"
    others = f" (e.g. {', '.join(multi[:4])})" if multi else ""
    return f"`{model}` edits {takes} at a time: remove the extra images, or pick a model that takes several{others}."


RESULT_EXPIRED = "This result has expired, run /edit again."

# Why a result's inputs were not kept (bot/store/results.py DISK_FULL, TOO_LARGE).
_NOT_KEPT = {
    "disk_full": "the bot's disk was nearly full when this result was made, so its inputs were not kept",
    "too_large": "this result's inputs were larger than the bot may keep (RESULT_STORAGE_MB)",
}


def reroll_unavailable(reason: str) -> str:
    why = _NOT_KEPT.get(reason, "this result's inputs were not kept")
    return f"Re-roll is unavailable: {why}. Edit again still works, or run /edit with the original image."

DELETE_NOT_YOURS = "Only the member who asked for this edit, or a moderator, can delete it."
CANCEL_NOT_YOURS = "Only the member who asked for this edit, or a moderator, can cancel it."
CANCEL_NOT_RUNNING = "That edit isn't running any more, so there is nothing to cancel."
CANCEL_TOO_LATE = "Too late to cancel: the result is being posted right now."
CANCELLED_FOR_OTHER = "You cancelled that member's edit; they were told and their quota refunded."


# What a confirmation question (a mask preview, a cost above the threshold) becomes.
CONFIRMED = "Confirmed: your edit is starting."
CONFIRM_CANCELLED = "Cancelled — nothing was reserved."
CONFIRM_TIMED_OUT = "No answer in time — cancelled, nothing was reserved."


def mask_preview_lines(mask_summary: str, timeout_seconds: float) -> list[str]:
    return [
        f"The tinted area is where the edit may change your picture ({mask_summary}).",
        f"Nothing is counted until you press **Confirm**; **Cancel**, or no answer within "
        f"{round(timeout_seconds / 60)} minutes, changes nothing.",
    ]
