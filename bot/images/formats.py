"""Recognise an image format from its bytes (never from a file name or a declared type).

Canonical format names used everywhere (images, provider, delivery): ``png``, ``jpeg``,
``webp``, ``gif``, ``bmp``, ``tiff``, ``avif``, ``heic``. `sniff_format` only looks at magic
numbers; whether the bytes really decode is checked later by Pillow. Providers reject file
parts typed `application/octet-stream` and file names lie, so the content type sent upstream
and the extension of a delivered file always come from here.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image

FORMATS = ("png", "jpeg", "webp", "gif", "bmp", "tiff", "avif", "heic")
# What image APIs send back and accept as upload parts.
PROVIDER_FORMATS = ("png", "jpeg", "webp", "gif")


class ImageBytes:
    """Read-only image bytes kept as the pieces they were decoded in, one after the other.

    The provider's base64 images are decoded piece by piece while the response streams in
    (bot/provider/response.py). Joining the pieces into one `bytes` would copy every image
    into fresh memory (~1,150 page faults for a 4.7 MB image: 3-12 ms of CPU on a busy
    machine, about a third of the bot's CPU per edit) only for the image to be uploaded to
    Discord unchanged, which `bot.discord_app.editing.result_messages` does piece after piece.

    It reads like bytes where the bot reads images: `len()`, indexing and slicing (format
    sniffing reads the first bytes), `==` with bytes-like objects (and so in tests), and
    `bytes(image)`, which joins the pieces, for a consumer that needs one buffer (decoding
    an image to re-encode it, writing it with `Path.write_bytes`). It is not a buffer
    itself: `OutputImage.content` and `DeliveredFile.content` may hold one, while their
    `data` stays `bytes` for every consumer. `pieces` are the buffers themselves."""

    __slots__ = ("_size", "pieces")

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces: tuple[bytes, ...] = tuple(p for p in pieces if p)
        self._size = sum(len(p) for p in self.pieces)

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        if len(self.pieces) == 1:
            return bytes(self.pieces[0])  # the piece itself when it is a bytes object
        return b"".join(self.pieces)

    def __getitem__(self, key: int | slice) -> int | bytes:
        if isinstance(key, slice):
            start, stop, step = key.indices(self._size)
            if step != 1:
                return bytes(self)[key]
            return self._range(start, stop)
        index = operator.index(key)
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("index out of range")
        return self._range(index, index + 1)[0]

    def _range(self, start: int, stop: int) -> bytes:
        out: list[bytes] = []
        offset = 0
        for piece in self.pieces:
            end = offset + len(piece)
            if end > start and offset < stop:
                out.append(piece[max(start - offset, 0):min(stop, end) - offset])
            if end >= stop:
                break
            offset = end
        return b"".join(out)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ImageBytes):
            other = bytes(other) if len(other.pieces) != 1 else other.pieces[0]
        if not isinstance(other, (bytes, bytearray, memoryview)):
            return NotImplemented
        with memoryview(other) as view, view.cast("B") as flat:
            if flat.nbytes != self._size:
                return False
            offset = 0
            for piece in self.pieces:
                if flat[offset:offset + len(piece)] != piece:
                    return False
                offset += len(piece)
        return True

    def __hash__(self) -> int:
        return hash(bytes(self))  # equal to bytes with the same content, so the same hash

    def __repr__(self) -> str:
        return f"ImageBytes({self._size:,} bytes in {len(self.pieces)} pieces)"


@dataclass(frozen=True, repr=False)
class OutputImage:
    """One image the provider made, as it sent it."""

    # As decoded from a JSON response: ImageBytes (pieces, never joined on their way to
    # Discord); from a download or a stream: bytes.
    content: bytes | ImageBytes
    format: str | None = None  # sniffed from the bytes (the provider's hint when not recognised)
    revised_prompt: str | None = None

    @property
    def data(self) -> bytes:
        """The image as one `bytes`: joins the pieces of an ImageBytes, a copy on every call.
        What only reads, sniffs or sends the image uses `content` instead."""
        return bytes(self.content)

    def __repr__(self) -> str:
        return f"OutputImage({self.format}, {len(self.content):,} bytes)"

# canonical name -> Pillow's format id (the key of Image.OPEN / the `format` of a save)
PIL_FORMATS = {
    "png": "PNG",
    "jpeg": "JPEG",
    "webp": "WEBP",
    "gif": "GIF",
    "bmp": "BMP",
    "tiff": "TIFF",
    "avif": "AVIF",
    "heic": "HEIF",  # only with a plugin such as pillow-heif (not a dependency)
}

CONTENT_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "avif": "image/avif",
    "heic": "image/heic",
}

EXTENSIONS = {
    "png": "png",
    "jpeg": "jpg",
    "webp": "webp",
    "gif": "gif",
    "bmp": "bmp",
    "tiff": "tiff",
    "avif": "avif",
    "heic": "heic",
}

# How a format is named in member-facing text and notes.
LABELS = {
    "png": "PNG",
    "jpeg": "JPEG",
    "webp": "WebP",
    "gif": "GIF",
    "bmp": "BMP",
    "tiff": "TIFF",
    "avif": "AVIF",
    "heic": "HEIC",
}

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}


def sniff_format(data: bytes | ImageBytes) -> str | None:
    """The canonical format of `data` judged by its magic bytes, or None if not an image.

    Only the first bytes are read (at most 4 KiB), so `data` may be ImageBytes."""
    head = bytes(data[:64])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if head.startswith(b"BM") and len(head) >= 18 and _plausible_bmp(head):
        return "bmp"
    if len(head) >= 16 and head[4:8] == b"ftyp":
        return _sniff_isobmff(bytes(data[:4096]))  # all it reads: the ftyp box, <= 4 KiB
    return None


def _plausible_bmp(head: bytes) -> bool:
    # "BM" alone is too weak (plain text can start with it): check the DIB header size.
    (dib_size,) = struct.unpack_from("<I", head, 14)
    return dib_size in (12, 16, 40, 52, 56, 64, 108, 124)


def _sniff_isobmff(data: bytes) -> str | None:
    (box_size,) = struct.unpack_from(">I", data, 0)
    end = min(len(data), box_size if 16 <= box_size <= 4096 else 64)
    brands = {bytes(data[8:12])}
    brands.update(bytes(data[i : i + 4]) for i in range(16, end - 3, 4))
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIC_BRANDS:
        return "heic"
    return None  # mp4, mov, ... are not images


def can_decode(fmt: str) -> bool:
    """Whether this Pillow build can open `fmt` (AVIF needs Pillow's AVIF codec, HEIC a
    plugin such as pillow-heif, registered at any time before the call)."""
    pil = PIL_FORMATS.get(fmt)
    if pil is None:
        return False
    Image.init()  # cheap after the first call
    return pil in Image.OPEN


def content_type_for(fmt: str) -> str:
    """The MIME type for a canonical format name (``jpeg`` -> ``image/jpeg``)."""
    try:
        return CONTENT_TYPES[fmt]
    except KeyError:
        raise ValueError(f"unknown image format {fmt!r}") from None


def extension_for(fmt: str) -> str:
    """The file extension (without dot) for a canonical format name (``jpeg`` -> ``jpg``)."""
    try:
        return EXTENSIONS[fmt]
    except KeyError:
        raise ValueError(f"unknown image format {fmt!r}") from None


def label_for(fmt: str) -> str:
    return LABELS.get(fmt, fmt.upper())


def webp_is_lossless(data: bytes) -> bool:
    """True when a WebP file's (first) image is VP8L, i.e. lossless."""
    pos, end = 12, len(data)
    while pos + 8 <= end:
        fourcc = bytes(data[pos : pos + 4])
        (size,) = struct.unpack_from("<I", data, pos + 4)
        if fourcc == b"VP8L":
            return True
        if fourcc == b"VP8 ":
            return False
        if fourcc == b"ANMF":  # animation frame: the image chunk is nested after 16 bytes
            pos += 8 + 16
            continue
        pos += 8 + size + (size & 1)
    return False


def png_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, without decoding the image."""
    if len(data) < 24 or sniff_format(data) != "png" or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
