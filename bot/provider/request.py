"""The edit request: its value type, its validation against a model, its multipart body.

Validation policy for a field the model cannot honour (unsupported field or value):
- a value the caller chose explicitly raises `InvalidRequest(field, message)`, so the
  member learns why instead of getting a silently different result;
- a value listed in `EditRequest.defaulted` (filled in from bot settings, not chosen by
  the member) is dropped silently, as is `user`, which is never the member's choice.
`None` means "not set": the field is not sent and the provider's default applies.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from aiohttp import hdrs
from aiohttp.abc import AbstractStreamWriter

from bot.images.formats import (
    CONTENT_TYPES,
    EXTENSIONS,
    PROVIDER_FORMATS,
    label_for,
    png_dimensions,
    sniff_format,
)
from bot.text import request_errors as texts

from .errors import InvalidRequest
from .models import DEFAULT_MODEL, MiB, ModelSpec, free_size_problem, parse_size

RESPONSE_FORMATS = ("url", "b64_json")
# Fields in the order the official SDK writes them (files come after the plain fields).
_PLAIN_FIELDS = (
    "prompt", "background", "input_fidelity", "model", "n", "output_compression",
    "output_format", "partial_images", "quality", "response_format", "size", "stream", "user",
)
_ALWAYS_DROPPABLE = frozenset({"user"})


@dataclass(frozen=True, repr=False)
class EditRequest:
    prompt: str
    images: Sequence[bytes]  # stored as a tuple; 1..max_images files
    model: str = DEFAULT_MODEL
    mask: bytes | None = None
    n: int = 1
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    background: str | None = None
    input_fidelity: str | None = None
    response_format: str | None = None
    user: str | None = None
    stream: bool = False
    partial_images: int | None = None
    # Fields whose values come from bot defaults: dropped, not refused, when unsupported.
    defaulted: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "defaulted", frozenset(self.defaulted))

    def __repr__(self) -> str:
        # Megabytes of image bytes have no place in a log line.
        sizes = ", ".join(f"{len(i):,} B" for i in self.images)
        mask = f", mask={len(self.mask):,} B" if self.mask is not None else ""
        opts = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in _PLAIN_FIELDS[1:]
            if name != "model" and getattr(self, name) not in (None, False)
        )
        return (
            f"EditRequest(model={self.model!r}, prompt={len(self.prompt)} chars, "
            f"images=[{sizes}]{mask}{opts})"
        )

    def form_values(self) -> list[tuple[str, str]]:
        """The plain multipart fields, as strings, unset ones left out."""
        values: list[tuple[str, str]] = []
        for name in _PLAIN_FIELDS:
            value: Any = getattr(self, name)
            if value is None or (name == "stream" and value is False):
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            values.append((name, str(value)))
        return values

    def file_parts(self) -> list[tuple[str, str, str, bytes]]:
        """(field name, filename, content type, bytes) of every file part."""
        name = "image" if len(self.images) == 1 else "image[]"
        parts = []
        for index, data in enumerate(self.images):
            fmt = sniff_format(data)
            fmt = fmt if fmt in PROVIDER_FORMATS else "png"
            stem = "image" if index == 0 else f"image-{index + 1}"
            parts.append((name, f"{stem}.{EXTENSIONS[fmt]}", CONTENT_TYPES[fmt], data))
        if self.mask is not None:
            parts.append(("mask", "mask.png", CONTENT_TYPES["png"], self.mask))
        return parts


class UploadForm(aiohttp.MultipartWriter):
    """A multipart body that knows whether it was sent whole: from then on the provider
    has the request and may bill it, whatever happens to the answer."""

    uploaded = False

    async def write(self, writer: AbstractStreamWriter, close_boundary: bool = True) -> None:
        await super().write(writer, close_boundary)
        self.uploaded = True


def build_form(request: EditRequest) -> UploadForm:
    """A fresh multipart body; call once per attempt (a sent body cannot be reused).

    Built with MultipartWriter rather than FormData so plain fields carry no
    `Content-Type: text/plain` header: the parts then match the official SDK's exactly.
    """
    writer = UploadForm("form-data")
    for name, value in request.form_values():
        part = writer.append(value)
        part.headers.popall(hdrs.CONTENT_TYPE, None)
        part.set_content_disposition("form-data", name=name)
    for name, filename, content_type, data in request.file_parts():
        part = writer.append(data, {hdrs.CONTENT_TYPE: content_type})
        part.set_content_disposition("form-data", name=name, filename=filename)
    return writer


def opaque_user_id(discord_user_id: int, salt: str) -> str:
    """Stable pseudonymous id for the provider's `user` field (abuse monitoring)."""
    digest = hmac.new(salt.encode(), str(discord_user_id).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _mb(size: int) -> str:
    return f"{size / MiB:.1f} MB"


class _Checker:
    """Collects fields to drop or normalise; raises for explicit, unhonourable choices."""

    def __init__(self, request: EditRequest, spec: ModelSpec) -> None:
        self.request = request
        self.spec = spec
        self.changes: dict[str, Any] = {}

    def value(self, name: str) -> Any:
        return self.changes[name] if name in self.changes else getattr(self.request, name)

    def refuse(self, name: str, message: str) -> None:
        if name in self.request.defaulted or name in _ALWAYS_DROPPABLE:
            self.changes[name] = False if name == "stream" else None
        else:
            raise InvalidRequest(name, message)

    def supported(self, name: str, label: str) -> bool:
        value = self.value(name)
        if value is None or value is False:  # identity: 0 is a real value here
            return False
        if not self.spec.accepts(name):
            self.refuse(name, texts.not_accepted(self.spec.name, label))
            return False
        return True

    def choice(self, name: str, label: str, allowed: Sequence[str] | None) -> None:
        if not self.supported(name, label):
            return
        value = self.value(name)
        if allowed is not None and value not in allowed:
            self.refuse(name, texts.value_not_accepted(self.spec.name, label, value, allowed))


def validate(request: EditRequest, spec: ModelSpec) -> EditRequest:
    """Check `request` against `spec`; return it with silently dropped fields unset."""
    check = _Checker(request, spec)
    model = spec.name

    if not request.prompt.strip():
        raise InvalidRequest("prompt", texts.empty_prompt())
    if len(request.prompt) > spec.max_prompt_chars:
        raise InvalidRequest("prompt", texts.prompt_too_long(len(request.prompt), model, spec.max_prompt_chars))

    _check_images(request, spec)

    if check.supported("mask", "a mask"):
        mask = request.mask or b""
        if sniff_format(mask) != "png":
            raise InvalidRequest("mask", texts.mask_not_png())
        if len(mask) > spec.max_mask_bytes:
            raise InvalidRequest("mask", texts.mask_too_large(_mb(len(mask)), model, _mb(spec.max_mask_bytes)))

    if isinstance(request.n, bool) or not isinstance(request.n, int):
        raise InvalidRequest("n", texts.n_not_whole())
    max_n = spec.max_n if spec.accepts("n") else 1
    if not 1 <= request.n <= max_n:
        raise InvalidRequest(
            "n",
            texts.one_image_per_edit(model) if max_n == 1 else texts.n_out_of_range(max_n, model, request.n),
        )

    _check_size(check)
    check.choice("quality", "quality", spec.qualities)
    check.choice("output_format", "output_format", spec.output_formats)
    check.choice("background", "background", spec.backgrounds)
    check.choice("input_fidelity", "input_fidelity", spec.input_fidelities)
    check.choice("response_format", "response_format", RESPONSE_FORMATS)

    if check.value("background") == "transparent" and check.value("output_format") == "jpeg":
        if "output_format" in request.defaulted:
            check.changes["output_format"] = None
        else:
            check.refuse("background", texts.transparent_needs_png())

    if check.supported("output_compression", "output_compression"):
        compression = request.output_compression
        if isinstance(compression, bool) or not isinstance(compression, int) or not (
            0 <= compression <= 100
        ):
            check.refuse("output_compression", "output_compression must be between 0 and 100.")
        elif check.value("output_format") not in ("jpeg", "webp"):
            check.refuse(
                "output_compression",
                "output_compression only applies to JPEG or WebP output: set output_format "
                "to jpeg or webp.",
            )

    if check.supported("stream", "streaming") and request.n != 1:
        raise InvalidRequest("n", "Streaming returns one image: use n=1.")
    if check.value("partial_images") is not None:
        partial = request.partial_images
        if not check.value("stream"):
            check.refuse("partial_images", "partial_images needs streaming (stream=true).")
        elif not spec.accepts("partial_images"):
            check.refuse("partial_images", f"{model} does not accept partial_images.")
        elif not isinstance(partial, int) or not 0 <= partial <= spec.max_partial_images:
            check.refuse(
                "partial_images",
                f"partial_images must be between 0 and {spec.max_partial_images}.",
            )

    check.supported("user", "a user id")

    if not spec.accepts("n"):
        check.changes["n"] = None
    return replace(request, **check.changes) if check.changes else request


def _check_images(request: EditRequest, spec: ModelSpec) -> None:
    images = request.images
    if not images:
        raise InvalidRequest("image", texts.no_image())
    if len(images) > spec.max_images:
        raise InvalidRequest("image", texts.too_many_images(spec.name, spec.max_images, len(images)))
    names = texts.one_of([label_for(f) for f in spec.input_formats])
    for number, data in enumerate(images, start=1):
        which = texts.which_image(number, len(images))
        fmt = sniff_format(data)
        if fmt not in spec.input_formats:
            raise InvalidRequest("image", texts.wrong_image_format(which, names, spec.name))
        if len(data) > spec.max_image_bytes:
            raise InvalidRequest("image", texts.image_too_large(which, _mb(len(data)), spec.name, _mb(spec.max_image_bytes)))
        if spec.square_input:
            dims = png_dimensions(data)
            if dims is not None and dims[0] != dims[1]:
                raise InvalidRequest("image", texts.needs_square(spec.name, which, dims[0], dims[1]))


def _check_size(check: _Checker) -> None:
    spec = check.spec
    if not check.supported("size", "a size"):
        return
    size = str(check.value("size")).strip().lower()
    if size != check.value("size"):
        check.changes["size"] = size
    if spec.sizes is None and not spec.free_size:
        return
    if spec.sizes is not None and size in spec.sizes:
        return
    if spec.free_size:
        dims = parse_size(size)
        if dims is None:
            problem = texts.size_unwritable()
        else:
            problem = free_size_problem(*dims)
        if problem is None:
            return
        check.refuse("size", texts.size_impossible(spec.name, size, problem))
    else:
        check.refuse("size", texts.size_not_offered(spec.name, size, spec.sizes or ()))
