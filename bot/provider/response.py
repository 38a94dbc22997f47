"""Turning an images response body into image bytes without stalling the event loop.

A 4-image response is ~20 MB of JSON, almost all of it `"b64_json": "..."` strings.
`json.loads` on the whole body holds the GIL for tens of milliseconds (a worker thread
does not help: the GIL still blocks the loop), and it needs the body, its str copy and
the decoded bytes in memory at once. Instead `ImageJsonParser` is fed the body chunk by
chunk as it arrives: it finds each b64_json string itself, base64-decodes its text as
it streams past (pybase64, SIMD: ~0.1 ms per MB; each step decodes at most one network
chunk), and keeps only the rest of the document, the small "skeleton", for `json.loads`
at the end. In the skeleton each b64_json string is replaced by its image's index.

Why not `asyncio.to_thread`: pybase64 and json.loads hold the GIL, so a worker thread
frees nothing. Measured here: 32 MB decodes in a thread left the main thread waiting up
to 47 ms at a time (GIL hand-off), while each inline step above costs 0.1-1 ms. Keeping
every step to one network chunk is what bounds the stall (bench/client.py: the longest
loop stall of a 4-image, ~24 MB response is ~4 ms; the SDK's is ~60 ms).

The decoded pieces of each image (one per network read: ~770 KB, as the client reads an
images response 1 MiB at a time; a 3-byte one where a read splits a base64 group) are not
joined: a non-streamed response gives each image as `ImageBytes` (bot/images/formats.py),
the pieces in a row, which the delivery planner sniffs and the upload writes piece by
piece. A join copied every image into fresh memory, mostly page faults: ~0.6 ms per MB in
a fresh process (~3 ms for a 4.5 MB image, 12-18 ms for a 23 MB 8-megapixel noise PNG,
each in one loop step), and 3-12 ms per image in the bot under a burst (bench/edit.py),
a large share of its CPU per edit. Streamed (SSE) images are still joined
(`ImageJsonParser(pieces=False)`, the default): previews go to discord.py as one buffer,
and streams are not the heavy path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pybase64
import yarl

from bot.images.formats import PROVIDER_FORMATS, ImageBytes, OutputImage, sniff_format

from .download_policy import MAX_REDIRECTS, DownloadPolicy, PinnedURL, shown_host
from .errors import LOGGER_NAME, BadResponse, WrongBaseURL

log = logging.getLogger(LOGGER_NAME)

MiB = 1024 * 1024
# `"b64_json" : "` — the start of a string value we decode ourselves.
_MARKER = re.compile(rb'"b64_json"\s*:\s*"')
# A marker split across chunks is at most this long (generous for whitespace).
_LOOKBACK = 64
_BACKSLASH = 0x5C
_DOWNLOAD_CONCURRENCY = 4


@dataclass(frozen=True, repr=False)
class PartialImage:
    """A preview image sent while a streamed edit is still running."""

    data: bytes
    format: str
    index: int  # partial_image_index: 0, 1, 2...

    def __repr__(self) -> str:
        return f"PartialImage(#{self.index}, {self.format}, {len(self.data):,} bytes)"


def _decode(b64: bytes | bytearray | memoryview) -> bytes:
    try:
        return pybase64.b64decode(b64, validate=True)
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        raise BadResponse("The provider sent invalid base64 image data") from None


class _B64String:
    """Decodes one b64_json string value piece by piece while its text streams in."""

    __slots__ = ("carry", "escape", "pieces", "size", "limit")

    def __init__(self, limit: int) -> None:
        self.carry = b""  # 1-3 characters of an unfinished 4-character group
        self.escape = False  # the previous chunk ended inside a `\x` escape
        self.pieces: list[bytes] = []
        self.size = 0
        self.limit = limit

    def feed(self, data: bytes, start: int, end: int) -> None:
        if start >= end:
            return
        if not self.escape:
            # Base64 has no backslash and the decoder (validate=True) refuses one, so the
            # text is decoded as it is, without a first pass looking for escapes (a scan of
            # every byte: ~2% of the bot's CPU per edit); only if that fails, or leaves a
            # backslash in the undecoded carry, is this stretch done again, unescaped.
            carry, pieces, size = self.carry, len(self.pieces), self.size
            try:
                self._decode_plain(data, start, end)
                if b"\\" not in self.carry:
                    return
            except BadResponse:
                if data.find(b"\\", start, end) == -1:
                    raise
            self.carry, self.size = carry, size
            del self.pieces[pieces:]
        data = self._unescape(data[start:end])
        self._decode_plain(data, 0, len(data))

    def _decode_plain(self, data: bytes, start: int, end: int) -> None:
        """Decode data[start:end], escape-free base64 text, after the carry."""
        if self.carry:
            take = min(4 - len(self.carry), end - start)
            self.carry += data[start:start + take]
            start += take
            if len(self.carry) < 4:
                return
            self._emit(self.carry)
            self.carry = b""
        usable = (end - start) // 4 * 4
        if usable:
            with memoryview(data) as view, view[start:start + usable] as part:
                self._emit(part)
        self.carry = data[start + usable:end]

    def _unescape(self, segment: bytes) -> bytes:
        # Base64 has no characters JSON must escape, but encoders may write `/` as `\/`,
        # and line-wrapped base64 carries `\n`. Anything else is not base64.
        if self.escape:
            segment = b"\\" + segment
            self.escape = False
        trailing = len(segment) - len(segment.rstrip(b"\\"))
        if trailing % 2:
            segment = segment[:-1]
            self.escape = True
        cleaned = (
            segment.replace(b"\\/", b"/").replace(b"\\n", b"").replace(b"\\r", b"")
            .replace(b"\\t", b"")
        )
        if b"\\" in cleaned:
            raise BadResponse("The provider sent invalid base64 image data (escape sequence)")
        return cleaned

    def _emit(self, b64: bytes | memoryview) -> None:
        decoded = _decode(b64)
        self.size += len(decoded)
        if self.size > self.limit:
            raise BadResponse(
                f"An image in the response is larger than the {self.limit // MiB} MB limit"
            )
        self.pieces.append(decoded)

    def finish(self) -> list[bytes]:
        """The decoded pieces, in order (at least one byte in all)."""
        if self.escape:
            raise BadResponse("The provider sent invalid base64 image data (escape sequence)")
        if self.carry:
            if len(self.carry) == 1:
                raise BadResponse("The provider sent truncated base64 image data")
            self._emit(self.carry + b"=" * (4 - len(self.carry)))  # tolerate missing padding
            self.carry = b""
        if not self.size:
            raise BadResponse("The provider sent an empty image")
        pieces, self.pieces = self.pieces, []
        return pieces


class ImageJsonParser:
    """Incremental JSON reader that decodes `b64_json` strings as they stream past.

    `feed()` each chunk, then `close()` returns `(document, images)`: the parsed JSON
    with every decoded b64_json value replaced by its index into `images`. Each image is
    `bytes`, or with `pieces=True` an `ImageBytes` of its decoded pieces (no join).
    """

    def __init__(
        self, *, max_image_bytes: int = 50 * MiB, max_skeleton_bytes: int = 8 * MiB, pieces: bool = False
    ):
        self._skeleton = bytearray()
        self._scan_from = 0
        self._current: _B64String | None = None
        self._max_image_bytes = max_image_bytes
        self._max_skeleton_bytes = max_skeleton_bytes
        self._pieces = pieces
        self.images: list[bytes | ImageBytes] = []
        self.head = b""  # the body's first bytes, for error messages and HTML detection

    def feed(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        end = len(data) if end is None else end
        if len(self.head) < 256 and start < end:
            self.head += data[start:min(end, start + 256 - len(self.head))]
        pos = start
        while pos < end:
            current = self._current
            if current is not None:
                quote = data.find(b'"', pos, end)
                if quote == -1:
                    current.feed(data, pos, end)
                    return
                if (quote > pos and data[quote - 1] == _BACKSLASH) or (
                    quote == pos and current.escape
                ):
                    raise BadResponse("The provider sent invalid base64 image data (quote)")
                current.feed(data, pos, quote)
                decoded = current.finish()
                self.images.append(ImageBytes(decoded) if self._pieces else b"".join(decoded))
                self._current = None
                pos = quote + 1
                continue
            pos = self._feed_outside(data, pos, end)

    def _feed_outside(self, data: bytes, pos: int, end: int) -> int:
        """Add JSON text to the skeleton up to the next b64_json value; return where it
        starts in `data` (or `end` when there is none)."""
        skeleton = self._skeleton
        base = len(skeleton)
        with memoryview(data) as view, view[pos:end] as part:
            skeleton += part
        match = self._find_marker()
        if match is None:
            self._scan_from = max(self._scan_from, len(skeleton) - _LOOKBACK)
            if len(skeleton) > self._max_skeleton_bytes:
                raise BadResponse("The provider's response is too large or not an images response")
            return end
        value_start = match.end()
        # Replace the opening quote by the image index: `"b64_json": 0`.
        del skeleton[value_start - 1:]
        skeleton += str(len(self.images)).encode()
        self._scan_from = len(skeleton)
        self._current = _B64String(self._max_image_bytes)
        return pos + (value_start - base)

    def _find_marker(self) -> re.Match[bytes] | None:
        skeleton = self._skeleton
        search_from = self._scan_from
        while True:
            match = _MARKER.search(skeleton, search_from)
            if match is None:
                return None
            # An escaped quote (`\"b64_json"`) is text inside a string, not a key.
            i = match.start()
            backslashes = 0
            while i > 0 and skeleton[i - 1] == _BACKSLASH:
                backslashes += 1
                i -= 1
            if backslashes % 2 == 0:
                return match
            search_from = match.start() + 1

    @property
    def skeleton(self) -> bytes:
        return bytes(self._skeleton)

    def close(self) -> tuple[Any, list[bytes | ImageBytes]]:
        if self._current is not None:
            raise BadResponse("The provider's response ended in the middle of an image")
        try:
            document = json.loads(self._skeleton)
        except (ValueError, UnicodeDecodeError):
            snippet = self.head[:120].decode("utf-8", "replace").strip()
            raise BadResponse(f"The provider's response is not valid JSON: {snippet!r}") from None
        return document, self.images


def looks_like_html(head: bytes) -> bool:
    return head.lstrip().startswith(b"<")


async def read_json_images(
    content: aiohttp.StreamReader, *, max_image_bytes: int, max_body_bytes: int
) -> tuple[Any, list[bytes | ImageBytes]]:
    """Read a JSON images response as it arrives: (document, images), each decoded image
    as the ImageBytes of its pieces."""
    parser = ImageJsonParser(max_image_bytes=max_image_bytes, pieces=True)
    received = 0
    # iter_chunks hands over each received buffer as is; readany would join them first.
    async for chunk, _ in content.iter_chunks():
        if not chunk:
            continue
        received += len(chunk)
        if received > max_body_bytes:
            raise BadResponse(f"The provider's response is over {max_body_bytes // MiB} MB")
        parser.feed(chunk)
        if received == len(chunk) and looks_like_html(parser.head):
            raise WrongBaseURL("The image API answered with an HTML page, not JSON")
    return parser.close()


# --- from a parsed document to images ----------------------------------------------------

Downloader = Callable[[str], Awaitable[bytes]]


def image_bytes(value: Any, images: list[bytes | ImageBytes]) -> bytes | ImageBytes | None:
    """The decoded bytes for a b64_json value: an index from the parser, or (if the
    parser did not see it as a b64 string) the base64 text itself."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(images):
        return images[value]
    if isinstance(value, str) and value:
        # Rare fallback (a marker split by odd whitespace): one decode, ~0.1 ms per MB.
        return _decode(value.encode("ascii", "replace"))
    return None


def checked_image(data: bytes | ImageBytes, what: str = "The provider's image") -> str:
    fmt = sniff_format(data)
    if fmt not in PROVIDER_FORMATS:
        raise BadResponse(f"{what} is not a PNG, JPEG, WebP or GIF file")
    return fmt


async def images_from_document(
    document: Any, images: list[bytes | ImageBytes], download: Downloader
) -> list[OutputImage]:
    """The output images of a (non-streamed) images response, in order."""
    if not isinstance(document, dict):
        raise BadResponse("The provider's response is not a JSON object")
    data = document.get("data")
    if not isinstance(data, list) or not data:
        raise BadResponse("The provider answered without any image (no or empty `data`)")

    semaphore = asyncio.Semaphore(_DOWNLOAD_CONCURRENCY)

    async def one(item: Any) -> OutputImage:
        if not isinstance(item, dict):
            raise BadResponse("The provider's `data` entries are not objects")
        raw: bytes | ImageBytes | None = image_bytes(item.get("b64_json"), images)
        if raw is None:
            url = item.get("url")
            if not isinstance(url, str) or not url:
                raise BadResponse("An image entry has neither b64_json nor url")
            async with semaphore:
                raw = await download(url)
        revised = item.get("revised_prompt")
        return OutputImage(raw, checked_image(raw), revised if isinstance(revised, str) else None)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(item)) for item in data]
    except BaseExceptionGroup as group_error:
        # Surface the first real failure, not an ExceptionGroup.
        raise group_error.exceptions[0] from None
    return [task.result() for task in tasks]


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _TryAgain(Exception):
    """A download failure worth one more attempt (5xx, connection, DNS)."""


async def download_image(
    session: aiohttp.ClientSession,
    url: str,
    *,
    policy: DownloadPolicy,
    max_bytes: int,
    timeout: aiohttp.ClientTimeout,
    attempts: int = 2,
) -> bytes:
    """GET an output image URL (no API key sent: the host is often a CDN).

    Every hop is checked by `policy` (scheme, resolved addresses) and connects to the
    address that was checked; redirects are followed here, at most MAX_REDIRECTS."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if ";base64" not in header:
            raise BadResponse("The provider sent an image data: URL that is not base64")
        return _decode(payload.encode("ascii", "replace"))
    try:
        start = yarl.URL(url)
    except (ValueError, TypeError):
        raise BadResponse("The provider sent an image URL that cannot be parsed") from None
    for attempt in range(1, attempts + 1):
        try:
            return await _follow(session, start, policy, max_bytes=max_bytes, timeout=timeout)
        except _TryAgain as failure:
            if attempt < attempts:
                log.info("retrying image download: %s", failure)
                continue
            raise BadResponse(str(failure)) from None
    raise AssertionError("unreachable")


async def _follow(
    session: aiohttp.ClientSession,
    url: yarl.URL,
    policy: DownloadPolicy,
    *,
    max_bytes: int,
    timeout: aiohttp.ClientTimeout,
) -> bytes:
    came_from: yarl.URL | None = None
    for _ in range(MAX_REDIRECTS + 1):
        host = shown_host(url)
        try:
            target = await policy.pin(url, came_from)
        except (OSError, UnicodeError) as exc:  # gaierror: unknown name, DNS down
            raise _TryAgain(
                f"Downloading the image from {host} failed: the name does not resolve "
                f"({type(exc).__name__})"
            ) from None
        status, location, data = await _get_pinned(
            session, target, max_bytes=max_bytes, timeout=timeout
        )
        if data is not None:
            return data
        if status not in _REDIRECTS:
            if status >= 500:
                raise _TryAgain(f"Downloading the image from {host} failed (HTTP {status})")
            raise BadResponse(f"Downloading the image from {host} failed (HTTP {status})")
        if not location:
            raise BadResponse(
                f"Downloading the image from {host} failed (HTTP {status} without a Location)"
            )
        try:
            # Relative to the URL as the provider wrote it, not to the pinned address.
            next_url = url.join(yarl.URL(location))
        except (ValueError, TypeError):
            raise BadResponse(
                f"Downloading the image from {host} failed (a redirect to an unparsable URL)"
            ) from None
        came_from, url = url, next_url
    raise BadResponse(
        f"Downloading the image failed: more than {MAX_REDIRECTS} redirects "
        f"(the last from {shown_host(came_from or url)})"
    )


async def _get_pinned(
    session: aiohttp.ClientSession,
    target: PinnedURL,
    *,
    max_bytes: int,
    timeout: aiohttp.ClientTimeout,
) -> tuple[int, str | None, bytes | None]:
    """One GET to one of the checked addresses: (status, Location, body if 200).

    The URL's host is the IP literal, so aiohttp connects there without resolving;
    `Host` and `server_hostname` (TLS SNI and certificate check) keep the real name."""
    host = target.host_header
    last: aiohttp.ClientError | None = None
    for address in target.addresses:
        try:
            async with session.get(
                target.request_url(address),
                headers={"Host": target.host_header},
                server_hostname=target.server_hostname,
                allow_redirects=False,
                timeout=timeout,
            ) as resp:
                if resp.status != 200:
                    return resp.status, resp.headers.get("Location"), None
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise BadResponse(f"The image at {host} is over {max_bytes // MiB} MB")
                chunks: list[bytes] = []
                size = 0
                while chunk := await resp.content.readany():
                    size += len(chunk)
                    if size > max_bytes:
                        raise BadResponse(f"The image at {host} is over {max_bytes // MiB} MB")
                    chunks.append(chunk)
                return 200, None, b"".join(chunks)
        except aiohttp.ClientSSLError as exc:
            # Certificate or handshake failure: another attempt would meet the same.
            raise BadResponse(
                f"Downloading the image from {host} failed: TLS error ({type(exc).__name__})"
            ) from None
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            last = exc  # nothing was sent: the next checked address may answer
            continue
        except aiohttp.ClientConnectionError as exc:
            raise _TryAgain(
                f"Downloading the image from {host} failed: {type(exc).__name__}"
            ) from None
        except aiohttp.ClientError as exc:  # malformed response, broken body
            raise BadResponse(
                f"Downloading the image from {host} failed: {type(exc).__name__}"
            ) from None
    raise _TryAgain(
        f"Downloading the image from {host} failed: {type(last).__name__}"
    )
