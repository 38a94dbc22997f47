"""Reading an order's files once for everyone who needs them.

The preflight (preparing the files for the model) and the content check (a small copy of
each image for the moderation endpoint) run at the same time and both need the bytes: each
source is wrapped so that the first `read()` downloads and every other reader, at once or
later, gets the same bytes (or the same error) without a second download.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from bot.edits.order import EditOrder, InputSource


@dataclass(eq=False)
class SharedSource:
    source: InputSource
    _task: "asyncio.Task[bytes] | None" = field(default=None, repr=False)
    _forgotten: bool = field(default=False, repr=False)

    @property
    def label(self) -> str:
        return self.source.label

    @property
    def declared_size(self) -> int | None:
        return self.source.declared_size

    async def read(self) -> bytes:
        if self._forgotten:
            raise RuntimeError(f"the {self.label} was read after every reader was done")
        if self._task is None:
            self._task = asyncio.ensure_future(self.source.read())
        # One reader giving up (a refused edit) must not cancel the download for the others.
        return await asyncio.shield(self._task)

    def forget(self) -> None:
        """Let go of the downloaded bytes: every reader has had them."""
        if self._task is not None and self._task.done():
            if not self._task.cancelled():
                self._task.exception()  # reported to the member by a reader, if anyone
            self._task = None
            self._forgotten = True

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        elif self._task is not None and not self._task.cancelled():
            self._task.exception()  # reported to the member by a reader, if anyone


def with_shared_reads(order: EditOrder) -> EditOrder:
    """The same order, its image, further images and mask each read at most once."""
    return replace(
        order,
        image=SharedSource(order.image),
        more_images=tuple(SharedSource(s) for s in order.more_images),
        mask=SharedSource(order.mask) if order.mask is not None else None,
    )


def forget(order: EditOrder) -> None:
    """Let go of the downloads once the screens and the preflight have read them: the
    prepared files are what an edit holds from then on (bot/edits/waiting_inputs.py)."""
    for source in (*order.images, order.mask):
        if isinstance(source, SharedSource):
            source.forget()


def release(order: EditOrder) -> None:
    """Stop downloads nobody waits for any more (the edit ended before they finished)."""
    for source in (*order.images, order.mask):
        if isinstance(source, SharedSource):
            source.cancel()
