"""Streamed edits (`stream=true`): reading `text/event-stream` with multi-megabyte lines.

aiohttp's `readline()` refuses lines over its buffer limit, and one `data:` line here
carries a whole base64 image. So lines are split by hand on raw chunks, and the bytes
of each `data:` value go straight into an `ImageJsonParser`, which decodes the image
while it streams in; no line is ever held whole.

Events: `image_edit.partial_image` (a preview, handed to `on_partial`) and
`image_edit.completed` (the final image and usage). An event whose JSON carries `error`
or has `type: "error"` fails the edit; a stream that ends without `completed` fails too.
Lines end with `\\n` or `\\r\\n` (a lone `\\r` line ending is not supported).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .errors import LOGGER_NAME, BadResponse, error_from_response
from .response import ImageJsonParser, PartialImage, checked_image, image_bytes

log = logging.getLogger(LOGGER_NAME)

_MAX_FIELD_NAME = 64
_MAX_EVENT_NAME = 256

_HEAD, _DATA, _EVENT, _SKIP = range(4)

PartialCallback = Callable[[PartialImage], Awaitable[None]]


@dataclass
class StreamEvent:
    name: str  # the SSE `event:` field, "" when absent
    document: Any  # the JSON of the data lines, b64_json values replaced by image indexes
    images: list[bytes]

    @property
    def type(self) -> str:
        kind = self.document.get("type") if isinstance(self.document, dict) else None
        return kind if isinstance(kind, str) and kind else self.name


class SSEParser:
    """Splits an event stream into `StreamEvent`s; feed raw chunks, get events."""

    def __init__(self, *, max_image_bytes: int) -> None:
        self._max_image_bytes = max_image_bytes
        self._mode = _HEAD
        self._head = bytearray()
        self._strip_space = False
        self._event_name = bytearray()
        self._parser: ImageJsonParser | None = None
        self._data_lines = 0
        self._name = ""

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        pos, end = 0, len(data)
        while pos < end:
            newline = data.find(b"\n", pos)
            stop = end if newline == -1 else newline
            self._consume(data, pos, stop)
            if newline == -1:
                break
            self._end_line(events)
            pos = newline + 1
        return events

    def close(self) -> list[StreamEvent]:
        """Events still pending when the stream ends without a final blank line."""
        events: list[StreamEvent] = []
        if self._mode != _HEAD or self._head:
            self._end_line(events)
        self._dispatch(events)
        return events

    def _consume(self, data: bytes, start: int, stop: int) -> None:
        if self._mode == _HEAD:
            colon = data.find(b":", start, stop)
            if colon == -1:
                self._head += data[start:stop]
                if len(self._head) > _MAX_FIELD_NAME:
                    self._mode = _SKIP
                return
            self._head += data[start:colon]
            self._begin_field(bytes(self._head))
            start = colon + 1
        if start >= stop:
            return
        if self._strip_space:
            self._strip_space = False
            if data[start] == 0x20:
                start += 1
        if self._mode == _DATA:
            assert self._parser is not None
            self._parser.feed(data, start, stop)
        elif self._mode == _EVENT:
            if len(self._event_name) < _MAX_EVENT_NAME:
                self._event_name += data[start:stop]

    def _begin_field(self, name: bytes) -> None:
        self._strip_space = True
        if name == b"data":
            if self._parser is None:
                self._parser = ImageJsonParser(max_image_bytes=self._max_image_bytes)
            elif self._data_lines:
                self._parser.feed(b"\n")  # data lines join with \n: JSON whitespace
            self._mode = _DATA
        elif name == b"event":
            self._event_name.clear()
            self._mode = _EVENT
        else:  # comments (empty name), id, retry, unknown fields
            self._mode = _SKIP

    def _end_line(self, events: list[StreamEvent]) -> None:
        if self._mode == _HEAD:
            line = bytes(self._head).rstrip(b"\r")
            if not line:
                self._dispatch(events)
            elif line == b"data":  # a field with no colon has an empty value
                self._begin_field(line)
                self._data_lines += 1
        elif self._mode == _DATA:
            self._data_lines += 1
        elif self._mode == _EVENT:
            self._name = self._event_name.decode("utf-8", "replace").strip()
        self._head.clear()
        self._mode = _HEAD
        self._strip_space = False

    def _dispatch(self, events: list[StreamEvent]) -> None:
        parser, name = self._parser, self._name
        self._parser, self._name, self._data_lines = None, "", 0
        if parser is None:
            return
        if parser.skeleton.strip() in (b"", b"[DONE]"):
            return
        document, images = parser.close()
        events.append(StreamEvent(name, document, images))


async def read_edit_stream(
    content: aiohttp.StreamReader,
    *,
    on_partial: PartialCallback | None,
    max_image_bytes: int,
    max_body_bytes: int,
) -> list[tuple[dict[str, Any], bytes]]:
    """Read a streamed edit to its end: the `completed` events and their images."""
    parser = SSEParser(max_image_bytes=max_image_bytes)
    completed: list[tuple[dict[str, Any], bytes]] = []
    received = 0
    async for chunk, _ in content.iter_chunks():
        received += len(chunk)
        if received > max_body_bytes:
            raise BadResponse("The provider's image stream is too large")
        for event in parser.feed(chunk):
            await _handle(event, completed, on_partial)
    for event in parser.close():
        await _handle(event, completed, on_partial)
    if not completed:
        raise BadResponse(
            "The image stream ended before the final image (no image_edit.completed event)"
        )
    return completed


async def _handle(
    event: StreamEvent,
    completed: list[tuple[dict[str, Any], bytes]],
    on_partial: PartialCallback | None,
) -> None:
    document = event.document
    if not isinstance(document, dict):
        raise BadResponse("The image stream sent an event that is not a JSON object")
    kind = event.type
    if "error" in document or kind == "error" or event.name == "error":
        raise error_from_response(None, document)
    if kind.endswith("partial_image"):
        data = image_bytes(document.get("b64_json"), event.images)
        if data is None or on_partial is None:
            return
        index = document.get("partial_image_index")
        partial = PartialImage(
            data, checked_image(data, "A partial image"), index if isinstance(index, int) else 0
        )
        try:
            await on_partial(partial)
        except Exception:  # a failed preview must not fail the edit the member pays for
            log.warning("on_partial callback failed; continuing the edit", exc_info=True)
    elif kind.endswith(".completed"):
        data = image_bytes(document.get("b64_json"), event.images)
        if data is None:
            raise BadResponse("The image stream's completed event carries no image")
        completed.append((document, data))
