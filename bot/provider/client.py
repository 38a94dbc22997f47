"""`ImageEditClient`: one edit = validate, POST multipart, retry what is safe, decode.

The bot owns exactly one aiohttp session per process and passes it in; the client never
creates one. Every failure is a typed `ProviderError` (see errors.py); the API key never
appears in an error or a log record.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import yarl

from bot.images.formats import OutputImage
from bot.redact import url_password, without_credentials

from .download_policy import DownloadPolicy, Resolver, system_resolver
from .errors import (
    LOGGER_NAME,
    BadResponse,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    WrongBaseURL,
    error_from_response,
    redact,
    register_secret,
)
from .models import OPTIONAL_FIELDS, ModelTable
from .request import EditRequest, UploadForm, build_form, validate
from .response import (
    checked_image,
    download_image,
    images_from_document,
    looks_like_html,
    read_json_images,
)
from .retry import RetryPolicy, parse_retry_after, parse_should_retry
from .sse import PartialCallback, read_edit_stream
from .usage import Usage, normalize_usage

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(LOGGER_NAME)

T = TypeVar("T")
MiB = 1024 * 1024
_ERROR_BODY_LIMIT = 64 * 1024
_MODELS_BODY_LIMIT = 8 * MiB
_MODELS_TIMEOUT = 60.0
# Codes meaning "this optional field is not for this model": drop it and retry once.
_DROP_FIELD_CODES = frozenset({"unknown_parameter", "invalid_input_fidelity_model"})
_JSON = "application/json"
_STREAM_ACCEPT = "text/event-stream, application/json"
# A mask changes what the edit does; never drop it silently.
_DROPPABLE = OPTIONAL_FIELDS - {"mask"}
# Bytes read from the socket at a time while an images response comes in. asyncio's
# selector transport reads at most `max_size` (256 KiB) per recv(): ~100 reads for a
# ~25 MB answer, each a trip through aiohttp's parser (which copies the body part), the
# StreamReader and the base64 decoder, and one decoded piece. 1 MiB reads make a quarter
# of the trips and pieces (bench/edit.py --before: ~10% less CPU per edit, 10-15% lower
# peak RSS); a step still costs only ~1-2 ms of loop time.
_RESPONSE_READ_SIZE = MiB


@dataclass(frozen=True)
class EditResult:
    images: list[OutputImage]
    usage: Usage | None
    model: str
    size: str | None  # size, quality, output_format, background: as the provider echoed
    quality: str | None
    output_format: str | None
    background: str | None
    request_id: str | None  # x-request-id: what provider support asks for
    attempts: int
    elapsed: float  # seconds, whole call including retries and downloads
    dropped_fields: tuple[str, ...] = ()  # optional fields the provider refused (unknown_parameter)


def _text(document: Any, key: str) -> str | None:
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, str) and value else None


class ImageEditClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        models: ModelTable,
        timeout: float = 600,
        connect_timeout: float = 15,
        max_attempts: int = 3,
        retry_unsafe: bool = False,
        max_retry_after: float = 60,
        download_max_bytes: int = 50 * MiB,
        max_response_bytes: int = 768 * MiB,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        resolve: Resolver = system_resolver,
        on_answer: Callable[[str], None] | None = None,
    ) -> None:
        """`on_answer` hears how each attempt ended (metrics): the HTTP status as text,
        or `timeout` / `connection` / `bad_answer` when there was no usable one."""
        if not api_key:
            raise ValueError("api_key is empty")
        register_secret(api_key)
        given = yarl.URL(base_url)
        for password in (url_password(base_url), given.password):
            if password:  # as written and percent-decoded
                register_secret(password)
        # Where requests go is yarl's reading of the URL (messages strip more: bot.redact).
        url = yarl.URL(base_url.rstrip("/")).with_user(None)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, got {redact(str(url))!r}")
        if given.user or given.password:
            # aiohttp would turn it into Basic auth, which cannot go with the Bearer key
            # (it refuses the request outright); it is dropped, never sent nor shown.
            log.warning(
                "IMAGE_API_BASE_URL contains a user name or password; it is ignored "
                "(the API key is the only credential sent)"
            )
        self._session = session
        self._base_url = str(url)  # never holds a user:password@ part
        self._shown_url = self._base_url
        # Which output-image URLs may be fetched (resolve: injectable for tests).
        self._download_policy = DownloadPolicy(url, resolve)
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._models = models
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._download_max_bytes = download_max_bytes
        self._max_response_bytes = max_response_bytes
        self._policy = RetryPolicy(
            max_attempts=max(1, max_attempts),
            retry_unsafe=retry_unsafe,
            max_retry_after=max_retry_after,
        )
        self._sleep = sleep
        self._on_answer = on_answer

    @classmethod
    def from_settings(cls, session: aiohttp.ClientSession, settings: "Settings", *, models: ModelTable, **overrides: Any) -> "ImageEditClient":
        """The client as the owner configured it (IMAGE_API_*); `overrides` for doctor's one quick attempt."""
        options: dict[str, Any] = {
            "base_url": settings.image_api_base_url,
            "api_key": settings.image_api_key,
            "timeout": settings.image_api_timeout,
            "connect_timeout": settings.image_api_connect_timeout,
            "max_attempts": settings.image_api_max_attempts,
            "retry_unsafe": settings.image_api_retry_unsafe,
        }
        return cls(session, models=models, **{**options, **overrides})

    def __repr__(self) -> str:
        return f"ImageEditClient(base_url={self._shown_url!r})"

    @property
    def base_url(self) -> str:
        return self._shown_url

    # --- public operations ----------------------------------------------------------

    async def edit(
        self, request: EditRequest, *, on_partial: PartialCallback | None = None
    ) -> EditResult:
        """Run one edit. Raises InvalidRequest before sending anything, else a
        ProviderError subclass; on_partial receives streamed previews."""
        current = validate(request, self._models.get(request.model))
        dropped: list[str] = []

        def drop_unknown_field(error: ProviderError) -> bool:
            nonlocal current
            name = _field_to_drop(error, current) if not dropped else None
            if name is None:
                return False
            dropped.append(name)
            current = replace(current, **{name: False if name == "stream" else None})
            log.warning(
                "provider refused optional field %r for model %s (%s); retrying without it",
                name, current.model, error.code,
            )
            return True

        sent: list[UploadForm] = []

        async def attempt(deadline: float) -> EditResult:
            form = build_form(current)  # fresh body: a sent one cannot be reused
            sent.append(form)
            return await self._edit_once(current, form, deadline, on_partial)

        try:
            result, attempts, elapsed = await self._run(
                attempt,
                what=f"image edit ({request.model})",
                timeout=self._timeout,
                model=request.model,
                adjust=drop_unknown_field,
            )
        except ProviderError as error:
            # Whether the provider had the whole request when the edit failed: a timeout
            # while it works may be billed (the ledger keeps the estimate counting).
            error.after_upload = bool(sent) and sent[-1].uploaded
            raise
        result = replace(result, attempts=attempts, elapsed=elapsed, dropped_fields=tuple(dropped))
        log.info(
            "image edit ok: model=%s images=%d attempts=%d elapsed=%.1fs request_id=%s",
            result.model, len(result.images), attempts, elapsed, result.request_id,
        )
        return result

    async def list_models(self) -> list[str]:
        """Model ids from `GET {base}/models`: checks the URL and that the key works."""
        ids, _, _ = await self._run(
            self._list_models_once,
            what="list models",
            timeout=min(self._timeout, _MODELS_TIMEOUT),
            model=None,
        )
        return ids

    # --- retry loop -----------------------------------------------------------------

    async def _run(
        self,
        attempt: Callable[[float], Awaitable[T]],
        *,
        what: str,
        timeout: float,
        model: str | None,
        adjust: Callable[[ProviderError], bool] | None = None,
    ) -> tuple[T, int, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout
        attempts = retries = 0
        while True:
            attempts += 1
            try:
                try:
                    async with asyncio.timeout_at(deadline):
                        value = await attempt(deadline)
                except TimeoutError:
                    raise ProviderTimeout(
                        f"No complete answer from the image provider within {timeout:g} s"
                    ) from None
            except ProviderError as error:
                self._answered(_answer_label(error))
                error.attempts = attempts
                error.model = model
                if adjust is not None and adjust(error):
                    continue
                delay = self._policy.delay_for(error, attempts, retries)
                if delay is not None and loop.time() + delay < deadline:
                    log.info(
                        "%s attempt %d failed: %s; retrying in %.2fs", what, attempts, error, delay
                    )
                    await self._sleep(delay)
                    retries += 1
                    continue
                level = logging.INFO if isinstance(error, ProviderRejected) else logging.WARNING
                log.log(
                    level, "%s failed after %d attempt(s): %s: %s (request_id=%s)",
                    what, attempts, type(error).__name__, error, error.request_id,
                )
                raise
            self._answered("200")
            return value, attempts, loop.time() - started

    def _answered(self, label: str) -> None:
        if self._on_answer is not None:
            try:
                self._on_answer(label)
            except Exception:  # a metrics problem must never fail an edit
                log.exception("the provider answer hook failed")

    # --- one attempt ----------------------------------------------------------------

    def _timeouts(self, deadline: float) -> aiohttp.ClientTimeout:
        remaining = max(0.001, deadline - asyncio.get_running_loop().time())
        return aiohttp.ClientTimeout(total=remaining, connect=min(self._connect_timeout, remaining))

    async def _edit_once(
        self, request: EditRequest, form: UploadForm, deadline: float, on_partial: PartialCallback | None
    ) -> EditResult:
        url = f"{self._base_url}/images/edits"
        request_id: str | None = None
        responded = False
        try:
            async with self._session.post(
                url,
                data=form,
                headers={**self._auth, "Accept": _STREAM_ACCEPT if request.stream else _JSON},
                allow_redirects=False,
                timeout=self._timeouts(deadline),
                read_bufsize=MiB,  # fewer, larger reads for 20 MB bodies
            ) as resp:
                responded = True
                request_id = resp.headers.get("x-request-id")
                await self._raise_for_status(resp, request_id)
                with _larger_reads(resp):
                    if resp.content_type == "text/event-stream":
                        return await self._read_stream(resp, request, request_id, on_partial)
                    return await self._read_json(resp, request, request_id, deadline)
        except ProviderError as error:
            error.request_id = error.request_id or request_id
            raise
        except aiohttp.ClientError as exc:
            raise self._transport_error(exc, responded, request_id) from None

    async def _list_models_once(self, deadline: float) -> list[str]:
        request_id: str | None = None
        responded = False
        try:
            async with self._session.get(
                f"{self._base_url}/models",
                headers={**self._auth, "Accept": _JSON},
                allow_redirects=False,
                timeout=self._timeouts(deadline),
            ) as resp:
                responded = True
                request_id = resp.headers.get("x-request-id")
                await self._raise_for_status(resp, request_id)
                body = await _read_capped(resp, _MODELS_BODY_LIMIT)
        except ProviderError as error:
            error.request_id = error.request_id or request_id
            raise
        except aiohttp.ClientError as exc:
            # Listing is idempotent: a dropped answer is as safe to retry as a refused connect.
            error = self._transport_error(exc, False, request_id)
            error.retryable = error.retryable or responded
            raise error from None
        if looks_like_html(body):
            raise self._html_error(200, request_id)
        try:
            document = json.loads(body)
            ids = [str(m["id"]) for m in document["data"] if isinstance(m, dict) and "id" in m]
        except (ValueError, KeyError, TypeError):
            raise BadResponse(
                "The provider's model list is not the expected {\"data\": [{\"id\": ...}]}",
                status=200,  # answered, key accepted: only the listing is unreadable
                request_id=request_id,
            ) from None
        return ids

    async def _raise_for_status(self, resp: aiohttp.ClientResponse, request_id: str | None) -> None:
        status = resp.status
        if 300 <= status < 400:
            location = without_credentials(resp.headers.get("Location", "?"))
            error = WrongBaseURL(
                f"The image API answered with a redirect (HTTP {status} to {location}): "
                f"IMAGE_API_BASE_URL ({self._shown_url}) is probably wrong",
                status=status,
                request_id=request_id,
            )
            error.location = location
            raise error
        if 200 <= status < 300:
            if resp.content_type == "text/html":
                raise self._html_error(status, request_id)
            return
        body = await _read_capped(resp, _ERROR_BODY_LIMIT)
        is_html = resp.content_type == "text/html" or looks_like_html(body)
        try:
            document: Any = json.loads(body)
        except ValueError:
            snippet = body[:200].decode("utf-8", "replace").strip()
            document = {"error": {"message": snippet}} if snippet and not is_html else None
        raise error_from_response(
            status,
            document,
            request_id=request_id,
            is_html=is_html,
            base_url=self._shown_url,
            retry_unsafe=self._policy.retry_unsafe,
            should_retry=parse_should_retry(resp.headers),
            retry_after=parse_retry_after(resp.headers),
        )

    def _html_error(self, status: int, request_id: str | None) -> WrongBaseURL:
        return WrongBaseURL(
            f"The image API answered {status} with an HTML page, not JSON: "
            f"IMAGE_API_BASE_URL ({self._shown_url}) is probably wrong",
            status=status,
            request_id=request_id,
        )

    def _transport_error(
        self, exc: aiohttp.ClientError, responded: bool, request_id: str | None
    ) -> ProviderError:
        detail = redact(f"{type(exc).__name__}: {exc}")
        host = yarl.URL(self._base_url).host
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return ProviderTimeout(
                f"Could not connect to the image API at {host} within "
                f"{self._connect_timeout:g} s ({detail})",
                retryable=True,
            )
        if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
            return ProviderUnavailable(
                f"Could not connect to the image API at {host} ({detail})", retryable=True
            )
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return ProviderTimeout(
                f"The image API stopped sending data ({detail})",
                retryable=self._policy.retry_unsafe,
                request_id=request_id,
            )
        if isinstance(exc, aiohttp.ClientResponseError):  # unparsable status line/headers
            return BadResponse(
                f"The image API sent a malformed HTTP response ({type(exc).__name__})",
                request_id=request_id,
            )
        # A connection lost before any response: per API.md, not processed, safe to retry.
        # Lost while the answer was arriving: the edit may be billed, so only if allowed.
        return ProviderUnavailable(
            f"The connection to the image API was lost "
            f"{'while reading the answer' if responded else 'before an answer'} ({detail})",
            retryable=(not responded) or self._policy.retry_unsafe,
            request_id=request_id,
        )

    # --- successful responses -------------------------------------------------------

    async def _read_json(
        self,
        resp: aiohttp.ClientResponse,
        request: EditRequest,
        request_id: str | None,
        deadline: float,
    ) -> EditResult:
        try:
            document, images = await read_json_images(
                resp.content,
                max_image_bytes=self._download_max_bytes,
                max_body_bytes=self._max_response_bytes,
            )
        except WrongBaseURL:
            raise self._html_error(resp.status, request_id) from None
        if isinstance(document, dict) and "error" in document and not document.get("data"):
            raise error_from_response(None, document, request_id=request_id)

        async def download(url: str) -> bytes:
            return await download_image(
                self._session,
                url,
                policy=self._download_policy,
                max_bytes=self._download_max_bytes,
                timeout=self._timeouts(deadline),
            )

        outputs = await images_from_document(document, images, download)
        return EditResult(
            images=outputs,
            usage=normalize_usage(document.get("usage")),
            model=request.model,
            size=_text(document, "size"),
            quality=_text(document, "quality"),
            output_format=_text(document, "output_format"),
            background=_text(document, "background"),
            request_id=request_id,
            attempts=1,
            elapsed=0.0,
        )

    async def _read_stream(
        self,
        resp: aiohttp.ClientResponse,
        request: EditRequest,
        request_id: str | None,
        on_partial: PartialCallback | None,
    ) -> EditResult:
        completed = await read_edit_stream(
            resp.content,
            on_partial=on_partial,
            max_image_bytes=self._download_max_bytes,
            max_body_bytes=self._max_response_bytes,
        )
        last = completed[-1][0]
        usage = next(
            (normalize_usage(doc.get("usage")) for doc, _ in reversed(completed) if doc.get("usage")),
            None,
        )
        return EditResult(
            images=[OutputImage(data, checked_image(data)) for _, data in completed],
            usage=usage,
            model=request.model,
            size=_text(last, "size"),
            quality=_text(last, "quality"),
            output_format=_text(last, "output_format"),
            background=_text(last, "background"),
            request_id=request_id,
            attempts=1,
            elapsed=0.0,
        )


@contextmanager
def _larger_reads(resp: aiohttp.ClientResponse) -> Iterator[None]:
    """Read this response in _RESPONSE_READ_SIZE pieces, then give the pooled connection
    its usual read size back. `max_size` is asyncio's (the default selector event loop's)
    per-read size, not a public knob: transports without it (uvloop) are left alone."""
    connection = resp.connection
    transport = connection.transport if connection is not None else None
    usual = getattr(transport, "max_size", None)
    if not isinstance(usual, int) or usual >= _RESPONSE_READ_SIZE:
        yield
        return
    transport.max_size = _RESPONSE_READ_SIZE  # type: ignore[union-attr]
    try:
        yield
    finally:
        transport.max_size = usual  # type: ignore[union-attr]


def _answer_label(error: ProviderError) -> str:
    if error.status is not None:
        return str(error.status)
    if isinstance(error, ProviderTimeout):
        return "timeout"
    if isinstance(error, ProviderUnavailable):
        return "connection"
    return "bad_answer"  # an error inside a 200 body or stream, or an unreadable answer


def _field_to_drop(error: ProviderError, request: EditRequest) -> str | None:
    """The optional field a 400 `unknown_parameter` names, if we sent it."""
    if not isinstance(error, ProviderRejected) or error.code not in _DROP_FIELD_CODES:
        return None
    param = error.param
    if param is None and error.code == "invalid_input_fidelity_model":
        param = "input_fidelity"
    if not param:
        return None
    name = param.split(".")[-1].removesuffix("[]").strip("'\"")
    if name not in _DROPPABLE:
        return None
    value = getattr(request, name, None)
    return name if value is not None and value is not False else None


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := await resp.content.readany()):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:limit]
