"""Result images as discord.py file uploads, sent without copying them.

discord.py hands `discord.File.fp` to aiohttp's FormData, which picks a payload by the
value's type. For the usual `io.BytesIO(data)`, aiohttp's BytesIOPayload first calls
`getbuffer()`, which un-shares the BytesIO and so copies the whole image into fresh
memory (~2.5 ms and ~1,150 page faults per 4.7 MB image; four at once in one form, a loop
stall of tens of ms on a busy machine), then copies it again in 64 KiB `read()`s.

`ImageUpload` is a small read-only, seekable file over the bytes already in memory (one
buffer, or the pieces of an `ImageBytes` as the provider's response was decoded: they
are never joined), and `ImageUploadPayload`, registered with aiohttp for that type,
writes memoryview slices of those buffers straight to the connection. What the socket does not take at once is
copied by asyncio's transport into its buffer, so each write is one step of at most
`WRITE_STEP` bytes, and the writer waits for the buffer to drain (aiohttp pauses at
64 KiB) before the next: the copy per loop step stays ~WRITE_STEP whatever the image's
size (a 23 MB image written in one go would make the transport copy ~20 MB at once).

Retries keep working: discord.py seeks `fp` back (`File.reset`) and builds a new form
for every attempt, and each payload sends from where `fp` stood when it was made,
without moving it, so an attempt still being torn down cannot disturb the next one.

Freed when sent: discord.File leaves a reference cycle on every file it closes (it stores
the file's own bound `close` back on it), so a BytesIO, and the image it holds, outlives
the upload until the cyclic GC's oldest generation is collected: at a burst's peak that
was ~40 uploads, ~150 MB. `ImageUpload` does not store that method, so it is freed as soon
as the upload is done with it.
"""

from __future__ import annotations

import asyncio
import io
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import discord
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Order, Payload, payload_type

from bot.images.delivery_plan import Message
from bot.images.formats import ImageBytes

Buffer = bytes | bytearray | memoryview

# Bytes handed to the transport per step. Larger steps mean fewer loop iterations; smaller
# ones a smaller copy when the socket is full (the transport keeps what it could not send).
WRITE_STEP = 256 * 1024


class ImageUpload(io.RawIOBase):
    """A read-only, seekable binary file over bytes in memory (one buffer or several in a
    row), that never copies them unless `read()` is called."""

    def __init__(self, data: Buffer | ImageBytes | Sequence[Buffer], name: str | None = None) -> None:
        super().__init__()
        chunks: Sequence[Buffer]
        if isinstance(data, ImageBytes):
            chunks = data.pieces
        elif isinstance(data, (bytes, bytearray, memoryview)):
            chunks = [data]
        else:
            chunks = data
        self._views: list[memoryview] = []
        self._ends: list[int] = []  # offset just past each view
        size = 0
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            if view.nbytes:
                size += view.nbytes
                self._views.append(view)
                self._ends.append(size)
        self._size = size
        self._pos = 0
        if name is not None:
            self.name = name

    @property
    def size(self) -> int:
        return self._size

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "close" and getattr(value, "__self__", None) is self:
            # discord.File swaps `close` for a no-op while it owns the file, and File.close()
            # (after every send) puts this very method back as an instance attribute. Stored,
            # it would close a reference cycle (file -> its __dict__ -> bound method -> file)
            # that only the cyclic GC breaks; by then in the oldest generation, the image
            # would stay in memory long after it was sent (bench/edit.py: ~40 uploads' worth,
            # ~150 MB, at the burst's peak). Dropping the override gives the same method back.
            self.__dict__.pop("close", None)
            return
        super().__setattr__(name, value)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence!r})")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def views(self, start: int = 0, stop: int | None = None) -> Iterator[memoryview]:
        """The bytes from `start` to `stop` (default: the end) as memoryviews, no copy."""
        stop = self._size if stop is None else min(stop, self._size)
        if start >= stop:
            return
        index = bisect_right(self._ends, start)
        while start < stop:
            view, end = self._views[index], self._ends[index]
            offset = start - (end - view.nbytes)
            take = min(end, stop) - start
            yield view[offset:offset + take]
            start += take
            index += 1

    def readinto(self, buffer: Any) -> int:
        self._check_open()
        with memoryview(buffer) as target, target.cast("B") as out:
            written = 0
            for view in self.views(self._pos, self._pos + out.nbytes):
                out[written:written + view.nbytes] = view
                written += view.nbytes
        self._pos += written
        return written

    def read(self, size: int | None = -1) -> bytes:
        self._check_open()
        stop = self._size if size is None or size < 0 else self._pos + size
        data = b"".join(self.views(self._pos, stop))
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")


@payload_type(ImageUpload, order=Order.try_first)
class ImageUploadPayload(Payload):
    """aiohttp payload for an `ImageUpload`: writes its bytes from the file's position at
    creation, as memoryview slices of at most WRITE_STEP bytes."""

    _value: ImageUpload
    _autoclose = True  # nothing to close: the bytes are only referenced

    def __init__(self, value: ImageUpload, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("filename", getattr(value, "name", None))
        super().__init__(value, *args, **kwargs)
        start = value.tell()
        self._views = list(value.views(start))
        self._size = max(0, value.size - start)
        if self._filename is not None:
            self.set_content_disposition("attachment", filename=self._filename)

    @property
    def size(self) -> int:
        return self._size

    def _pieces(self, limit: int | None) -> Iterable[memoryview]:
        left = self._size if limit is None else min(limit, self._size)
        for view in self._views:
            for offset in range(0, view.nbytes, WRITE_STEP):
                if left <= 0:
                    return
                piece = view[offset:offset + min(WRITE_STEP, left)]
                left -= piece.nbytes
                yield piece

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        unyielded = 0
        for piece in self._pieces(content_length):
            if unyielded >= WRITE_STEP:
                # writer.write waits only while the transport's buffer is full; when the
                # socket takes everything, let other callbacks run between steps anyway.
                await asyncio.sleep(0)
                unyielded = 0
            await writer.write(piece)
            unyielded += piece.nbytes

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._views).decode(encoding, errors)

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"".join(self._views)


def files_for(message: Message) -> list[discord.File]:
    """One upload per planned file, named as planned (`edit-1.png`, ...)."""
    return [discord.File(ImageUpload(f.content), filename=f.filename) for f in message.files]
