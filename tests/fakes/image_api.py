"""A fake OpenAI-compatible image API on 127.0.0.1, for tests, benchmarks and local runs.

Routes (`base_url` is `http://127.0.0.1:PORT/v1`):
- `POST /v1/images/edits`  multipart, checks `Authorization: Bearer <api_key>` (401 when
  wrong), records the request, answers with the next scripted `Reply` or the default;
- `GET  /v1/models`        the model list (scriptable too, route "models");
- `POST /v1/moderations`   OpenAI's moderation endpoint (JSON; route "moderations"):
  answers `Reply.moderation(...)` (nothing flagged by default), or any error/hang/delay;
  a model not in `api.moderation_models` gets 404 `model_not_found`;
- `GET  /files/<name>`     images of `Reply.images(as_url=True)` answers;
- `/_fake/...`             control endpoints for a fake running in another process.

Every request is recorded in `api.requests` (`api.edits` filters the edit calls): method,
path, headers, plain fields as `dict[str, list[str]]`, files as `FilePart(field,
filename, content_type, data)` in order, and `parts` (name, is_file) in wire order.

Scripting: `api.queue(*replies)` answers the next edit calls in order; `api.expect(reply)`
does the same and returns an `Expectation` whose `.request` is the request it answered;
`api.set_default(reply)` changes what unscripted calls get (by default: `Reply.images()`,
`n` and `size` taken from the request, solid PNGs, OpenAI-shaped usage).

    async def test_retry(fake_image_api):           # the pytest fixture
        api = fake_image_api
        api.queue(Reply.error(429, "slow down", code="rate_limit_exceeded", retry_after=0.3))
        done = api.expect(Reply.images(2, usage="comet"))
        client = ImageEditClient(session, base_url=api.base_url, api_key=api.api_key, ...)
        result = await client.edit(EditRequest(prompt="hat", images=[png], n=2))
        assert done.request.fields["n"] == ["2"] and len(api.edits) == 2

    async with FakeImageAPI() as api:                # outside pytest
        ...

    python -m tests.fakes.image_api --port 8089 --fill noise   # another process
    # prints "READY http://127.0.0.1:8089/v1", runs until SIGTERM/SIGINT
    # POST /_fake/queue {"replies": [{"kind": "error", "status": 503}], "route": "edits"}
    # POST /_fake/default {"kind": "images", "fill": "noise"};  POST /_fake/reset
    # GET  /_fake/requests -> [{"method", "path", "fields", "files": [{field, filename,
    #                           content_type, size, sha256}]}]

Moderation: `api.queue(Reply.moderation({"violence/graphic": ["image"]}), route="moderations")`
flags those categories (each with the input types it applies to) in the next check;
`api.set_moderation_default(reply)` answers every check; `api.moderations` are the
recorded checks, `.json` holding the body the bot sent.

Reply kinds: `images` (b64_json or url, any count/size/format/usage shape), `error`
(OpenAI error body with any status, Retry-After / retry-after-ms / x-should-retry),
`raw` (any body and content type: HTML, non-JSON, empty data...), `redirect`,
`hang` (until the server stops; never blocks shutdown), `drop` (close the connection
without answering), `stream` (SSE partials + completed, error events, truncation).
Every reply takes `delay` (seconds before answering) and extra `headers`, and `gate`:
a name the reply waits on until the test calls `api.open_gate(name)` (a provider still
working exactly as long as the test needs, with no timing guess).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import dataclasses
import functools
import hashlib
import io
import json
import random
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from aiohttp import web
from PIL import Image

DEFAULT_API_KEY = "sk-fake-test-key-0123456789abcdef"
DEFAULT_IMAGE_SIZE = (64, 64)
MODEL_IDS = ["gpt-image-2", "gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini", "dall-e-2"]
MODERATION_MODELS = ["omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-latest"]
MODERATION_CATEGORIES = [
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
]

# The two usage shapes seen in the wild (API.md), as the fake sends them for n=1.
USAGE_OPENAI: dict[str, Any] = {
    "input_tokens": 226,
    "input_tokens_details": {"image_tokens": 194, "text_tokens": 32},
    "output_tokens": 4160,
    "total_tokens": 4386,
}
USAGE_COMET: dict[str, Any] = {
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 981,
    "prompt_tokens_details": {"cached_tokens_details": {}},
    "completion_tokens_details": {},
    "input_tokens": 785,
    "output_tokens": 196,
    "input_tokens_details": {"image_tokens": 768, "text_tokens": 17, "cached_tokens_details": {}},
    "claude_cache_creation_5_m_tokens": 0,
    "claude_cache_creation_1_h_tokens": 0,
}
USAGE_SHAPES = {"openai": USAGE_OPENAI, "comet": USAGE_COMET}


@functools.lru_cache(maxsize=64)
def make_image(
    width: int = 64,
    height: int = 64,
    *,
    fill: str = "solid",
    color: tuple[int, int, int] = (200, 40, 40),
    fmt: str = "png",
    seed: int = 0,
) -> bytes:
    """Encoded test image: a solid colour, or RGB noise (incompressible, like photos at
    worst). Cached, since noise PNGs of a few megapixels take a while to encode."""
    if fill == "noise":
        noise = random.Random(seed).randbytes(width * height * 3)
        image = Image.frombytes("RGB", (width, height), noise)
    else:
        image = Image.new("RGB", (width, height), color)
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, "PNG", compress_level=1)
    else:
        image.save(out, fmt.upper(), quality=90)
    return out.getvalue()


@dataclass
class Reply:
    """One scripted answer. Build with the class methods; all fields are JSON-friendly
    so a reply can also be sent to `/_fake/queue`."""

    kind: str = "images"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # images / stream
    n: int | None = None  # None: the request's n
    width: int | None = None  # None: the request's size, else 64x64
    height: int | None = None
    fill: str = "solid"  # "solid" or "noise"
    image_format: str = "png"
    as_url: bool = False
    usage: str | dict[str, Any] | None = "openai"  # "openai", "comet", a dict, or None
    revised_prompt: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the JSON body
    chunk_size: int | None = None  # write the body in pieces of this many bytes
    # error
    message: str = ""
    code: str | None = None
    error_type: str | None = None
    param: str | None = None
    # raw / redirect
    body: str = ""
    content_type: str = "application/json"
    location: str = ""
    # stream
    partials: int = 0
    complete: bool = True
    error_event: dict[str, Any] | None = None
    interval: float = 0.0  # seconds between streamed events (a model working)
    gate: str | None = None  # answer only once api.open_gate(gate) was called
    # moderation: flagged category -> the input types it was found in ("text", "image")
    flagged: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def images(
        cls, n: int | None = None, *, size: tuple[int, int] | None = None, **kw: Any
    ) -> Reply:
        width, height = size if size else (None, None)
        return cls(kind="images", n=n, width=width, height=height, **kw)

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        *,
        code: str | None = None,
        type: str | None = None,  # noqa: A002 - the JSON field's name
        param: str | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        should_retry: bool | None = None,
        **kw: Any,
    ) -> Reply:
        headers = dict(kw.pop("headers", {}))
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        if should_retry is not None:
            headers["x-should-retry"] = "true" if should_retry else "false"
        return cls(
            kind="error", status=status, message=message, code=code, error_type=type,
            param=param, headers=headers, **kw,
        )

    @classmethod
    def raw(
        cls, body: str | bytes, *, status: int = 200, content_type: str = "application/json",
        **kw: Any,
    ) -> Reply:
        text = body.decode("latin-1") if isinstance(body, bytes) else body
        return cls(kind="raw", status=status, body=text, content_type=content_type, **kw)

    @classmethod
    def redirect(cls, location: str = "https://example.com/v1/", status: int = 301) -> Reply:
        return cls(kind="redirect", status=status, location=location)

    @classmethod
    def moderation(cls, flagged: dict[str, list[str]] | None = None, **kw: Any) -> Reply:
        """A moderation answer flagging these categories (none: a clean verdict)."""
        return cls(kind="moderation", flagged=dict(flagged or {}), **kw)

    @classmethod
    def hang(cls) -> Reply:
        return cls(kind="hang")

    @classmethod
    def drop(cls) -> Reply:
        return cls(kind="drop")

    @classmethod
    def stream(
        cls,
        partials: int = 2,
        *,
        complete: bool = True,
        error_event: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Reply:
        return cls(kind="stream", partials=partials, complete=complete, error_event=error_event, **kw)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        return cls(**data)


@dataclass
class FilePart:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes  # b"" when the fake forgets file bytes (then `size` and `sha256` tell them)
    size: int | None = None
    sha256: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)
    parts: list[tuple[str, bool]] = field(default_factory=list)  # (name, is_file), wire order
    part_headers: list[dict[str, str]] = field(default_factory=list)
    json: Any = None  # a JSON body (moderation checks)

    def field(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def summary(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "fields": self.fields,
            "files": [
                {
                    "field": f.field,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size if f.size is not None else len(f.data),
                    "sha256": f.sha256 or hashlib.sha256(f.data).hexdigest(),
                }
                for f in self.files
            ],
        }


@dataclass
class Expectation:
    reply: Reply
    request: RecordedRequest | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class FakeImageAPI:
    """The fake server. `async with FakeImageAPI() as api:` or `await api.start()/stop()`."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Reply | None = None,
        keep_file_bytes: bool = True,
    ) -> None:
        self.api_key = api_key
        # False: uploads are recorded by size and sha256 only (a benchmark sending gigabytes).
        self.keep_file_bytes = keep_file_bytes
        self.host = host
        self.port = port
        self.default = default or Reply.images()
        self.models_default: list[str] = list(MODEL_IDS)
        self.moderation_models: list[str] = list(MODERATION_MODELS)
        self.moderation_default = Reply.moderation()
        self.requests: list[RecordedRequest] = []
        self._edit_arrived = asyncio.Event()  # set whenever an edit call has been read whole
        self._queues: dict[str, collections.deque[Expectation]] = {
            "edits": collections.deque(),
            "models": collections.deque(),
            "moderations": collections.deque(),
        }
        self._files: dict[str, bytes] = {}
        # Where `Reply.images(as_url=True)` URLs point (default: `origin`); tests that
        # reach the fake under another name set it, e.g. "http://api.test:PORT".
        self.url_origin: str | None = None
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._gates: dict[str, asyncio.Event] = {}

    # --- lifecycle ------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    async def start(self) -> FakeImageAPI:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/images/edits", self._edits)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/moderations", self._moderations)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_post("/_fake/queue", self._control_queue)
        app.router.add_post("/_fake/default", self._control_default)
        app.router.add_post("/_fake/reset", self._control_reset)
        app.router.add_get("/_fake/requests", self._control_requests)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # releases hanging and delayed handlers
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeImageAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- scripting ------------------------------------------------------------------

    def queue(self, *replies: Reply, route: str = "edits") -> None:
        """Answer the next calls of `route` ("edits" or "models") with these replies."""
        for reply in replies:
            self._queues[route].append(Expectation(reply))

    def expect(self, reply: Reply | None = None, *, route: str = "edits") -> Expectation:
        """Queue one reply; the returned Expectation records the request it answers."""
        expectation = Expectation(reply or self.default)
        self._queues[route].append(expectation)
        return expectation

    def set_default(self, reply: Reply) -> None:
        self.default = reply

    def open_gate(self, name: str) -> None:
        """Let the replies waiting on `name` (and any later one) answer."""
        self._gate(name).set()

    def _gate(self, name: str) -> asyncio.Event:
        return self._gates.setdefault(name, asyncio.Event())
    def set_moderation_default(self, reply: Reply) -> None:
        self.moderation_default = reply

    def reset(self) -> None:
        self.requests.clear()
        for q in self._queues.values():
            q.clear()
        self._files.clear()
        self._gates.clear()
        self.default = Reply.images()
        self.moderation_default = Reply.moderation()

    @property
    def moderations(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/moderations")]

    @property
    def edits(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/images/edits")]

    async def wait_for_edits(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Until `count` edit calls have arrived (their bodies read); bounded."""

        async def arrived() -> None:
            while len(self.edits) < count:
                self._edit_arrived.clear()
                await self._edit_arrived.wait()

        try:
            await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            raise AssertionError(f"{count} edit call(s) expected at the fake image API, {len(self.edits)} arrived in {timeout:g} s") from None
        return self.edits

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    # --- handlers -------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _rejected_key(self, request: web.Request) -> web.Response:
        # Real providers echo (a masked form of) the key they got; this fake echoes it
        # whole, so tests prove our code scrubs whatever a provider sends back.
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return self._error_response(401, f"Incorrect API key provided: {sent}.", "invalid_api_key")

    def _error_response(self, status: int, message: str, code: str | None,
                        etype: str | None = None, param: str | None = None,
                        headers: dict[str, str] | None = None) -> web.Response:
        body = {"error": {"message": message, "type": etype or "invalid_request_error",
                          "param": param, "code": code}}
        return web.json_response(
            body, status=status, headers={"x-request-id": self._request_id(), **(headers or {})}
        )

    def _request_id(self) -> str:
        return f"req_{len(self.requests)}"

    async def _record(self, request: web.Request) -> RecordedRequest:
        recorded = RecordedRequest(request.method, request.path, dict(request.headers))
        self.requests.append(recorded)
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                data = await part.read(decode=False)  # type: ignore[union-attr]
                name = part.name or ""  # type: ignore[union-attr]
                recorded.part_headers.append(dict(part.headers))  # type: ignore[union-attr]
                if part.filename is not None:  # type: ignore[union-attr]
                    kept = bytes(data) if self.keep_file_bytes else b""
                    recorded.files.append(FilePart(
                        name, part.filename,  # type: ignore[union-attr]
                        part.headers.get("Content-Type"), kept,  # type: ignore[union-attr]
                        size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                    ))
                    del data
                    recorded.parts.append((name, True))
                else:
                    recorded.fields.setdefault(name, []).append(bytes(data).decode())
                    recorded.parts.append((name, False))
        return recorded

    def _next(self, route: str, recorded: RecordedRequest, default: Reply) -> Reply:
        queue = self._queues[route]
        if not queue:
            return default
        expectation = queue.popleft()
        expectation.request = recorded
        expectation.answered.set()
        return expectation.reply

    async def _wait(self, seconds: float | None) -> bool:
        """Sleep, but wake when the server stops. True when stopping."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
            return True
        except TimeoutError:
            return False

    async def _wait_gate(self, name: str) -> bool:
        """Wait until the gate opens or the server stops. True when stopping."""
        assert self._stopping is not None
        opened = asyncio.ensure_future(self._gate(name).wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({opened, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            stopping.cancel()
        return not self._gate(name).is_set()

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        self._edit_arrived.set()
        if not self._authorized(request):
            return self._rejected_key(request)
        reply = self._next("edits", recorded, self.default)
        return await self._answer(request, recorded, reply)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        recorded = RecordedRequest(request.method, request.path, dict(request.headers))
        self.requests.append(recorded)
        if not self._authorized(request):
            return self._rejected_key(request)
        reply = self._next("models", recorded, Reply(kind="models"))
        return await self._answer(request, recorded, reply)

    async def _moderations(self, request: web.Request) -> web.StreamResponse:
        recorded = RecordedRequest(request.method, request.path, dict(request.headers))
        self.requests.append(recorded)
        try:
            recorded.json = await request.json()
        except ValueError:
            return self._error_response(400, "We could not parse the JSON body of your request.", None)
        if not self._authorized(request):
            return self._rejected_key(request)
        model = recorded.json.get("model") if isinstance(recorded.json, dict) else None
        if model not in self.moderation_models:
            return self._error_response(404, f"The model `{model}` does not exist or you do not have access to it.", "model_not_found")
        reply = self._next("moderations", recorded, self.moderation_default)
        return await self._answer(request, recorded, reply)

    def _moderation_body(self, recorded: RecordedRequest, reply: Reply) -> dict[str, Any]:
        names = list(dict.fromkeys([*MODERATION_CATEGORIES, *reply.flagged]))
        result = {
            "flagged": bool(reply.flagged),
            "categories": {name: name in reply.flagged for name in names},
            "category_scores": {name: 0.97 if name in reply.flagged else 0.0004 for name in names},
            "category_applied_input_types": {name: reply.flagged.get(name, ["text"]) for name in names},
        }
        return {"id": f"modr-{len(self.requests)}", "model": recorded.json["model"], "results": [result]}

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers)))
        data = self._files.get(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="image/png")

    async def _answer(
        self, request: web.Request, recorded: RecordedRequest, reply: Reply
    ) -> web.StreamResponse:
        if reply.gate is not None and await self._wait_gate(reply.gate):
            return self._drop(request)
        if reply.delay and await self._wait(reply.delay):
            return self._drop(request)
        if reply.kind == "models":
            return web.json_response(
                {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models_default]}
            )
        if reply.kind == "moderation":
            return web.json_response(self._moderation_body(recorded, reply))
        if reply.kind == "hang":
            await self._wait(None)
            return self._drop(request)
        if reply.kind == "drop":
            return self._drop(request)
        if reply.kind == "redirect":
            return web.Response(status=reply.status, headers={"Location": reply.location, **reply.headers})
        if reply.kind == "error":
            return self._error_response(
                reply.status, reply.message, reply.code, reply.error_type, reply.param, reply.headers
            )
        if reply.kind == "raw":
            return await self._send(request, reply, reply.body.encode("latin-1"), reply.content_type)
        if reply.kind == "stream":
            return await self._stream(request, recorded, reply)
        body = json.dumps(self._images_body(recorded, reply)).encode()
        return await self._send(request, reply, body, "application/json")

    def _drop(self, request: web.Request) -> web.StreamResponse:
        # Close the socket without a status line: the client sees a disconnect.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=204)

    async def _send(
        self, request: web.Request, reply: Reply, body: bytes, content_type: str
    ) -> web.StreamResponse:
        headers = {"Content-Type": content_type, "x-request-id": self._request_id(),
                   **reply.headers}
        if not reply.chunk_size:
            return web.Response(status=reply.status, body=body, headers=headers)
        response = web.StreamResponse(status=reply.status, headers=headers)
        await response.prepare(request)
        for start in range(0, len(body), reply.chunk_size):
            await response.write(body[start:start + reply.chunk_size])
        await response.write_eof()
        return response

    def _dimensions(self, recorded: RecordedRequest, reply: Reply) -> tuple[int, int]:
        if reply.width and reply.height:
            return reply.width, reply.height
        width, sep, height = (recorded.field("size") or "").partition("x")
        if sep and width.isdigit() and height.isdigit():
            return int(width), int(height)
        return DEFAULT_IMAGE_SIZE

    def _count(self, recorded: RecordedRequest, reply: Reply) -> int:
        if reply.n is not None:
            return reply.n
        n = recorded.field("n") or "1"
        return int(n) if n.isdigit() else 1

    def _image(self, recorded: RecordedRequest, reply: Reply, index: int) -> bytes:
        width, height = self._dimensions(recorded, reply)
        colors = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]
        return make_image(
            width, height, fill=reply.fill, color=colors[index % len(colors)],
            fmt=reply.image_format, seed=index,
        )

    def _usage(self, reply: Reply, n: int) -> dict[str, Any] | None:
        if reply.usage is None:
            return None
        if isinstance(reply.usage, dict):
            return reply.usage
        usage = json.loads(json.dumps(USAGE_SHAPES[reply.usage]))
        if n > 1:  # output grows with n; total stays consistent
            usage["output_tokens"] *= n
            usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        return usage

    def _images_body(self, recorded: RecordedRequest, reply: Reply) -> dict[str, Any]:
        n = self._count(recorded, reply)
        data = []
        for index in range(n):
            image = self._image(recorded, reply, index)
            if reply.as_url:
                name = f"img-{len(self._files)}.{reply.image_format}"
                self._files[name] = image
                item: dict[str, Any] = {"url": f"{self.url_origin or self.origin}/files/{name}"}
            else:
                item = {"b64_json": base64.b64encode(image).decode()}
            if reply.revised_prompt is not None:
                item["revised_prompt"] = reply.revised_prompt
            data.append(item)
        width, height = self._dimensions(recorded, reply)
        body: dict[str, Any] = {
            "created": int(time.time()),
            "background": "opaque",
            "output_format": reply.image_format,
            "quality": recorded.field("quality") or "medium",
            "size": f"{width}x{height}",
            "data": data,
        }
        usage = self._usage(reply, n)
        if usage is not None:
            body["usage"] = usage
        body.update(reply.extra)
        return body

    async def _stream(
        self, request: web.Request, recorded: RecordedRequest, reply: Reply
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=reply.status,
            headers={"Content-Type": "text/event-stream", "x-request-id": "req_stream",
                     **reply.headers},
        )
        await response.prepare(request)
        width, height = self._dimensions(recorded, reply)
        common = {"size": f"{width}x{height}", "quality": "medium", "background": "opaque",
                  "output_format": reply.image_format, "created_at": int(time.time())}

        async def event(name: str, payload: dict[str, Any]) -> None:
            text = f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()
            step = reply.chunk_size or len(text)
            for start in range(0, len(text), step):
                await response.write(text[start:start + step])

        for index in range(reply.partials):
            if index and reply.interval and await self._wait(reply.interval):
                return response
            image = make_image(width, height, color=(index * 60 % 256, 90, 90), fmt=reply.image_format)
            await event("image_edit.partial_image", {
                "type": "image_edit.partial_image",
                "b64_json": base64.b64encode(image).decode(),
                "partial_image_index": index, **common,
            })
        if reply.interval and reply.partials and await self._wait(reply.interval):
            return response
        if reply.error_event is not None:
            await event("error", reply.error_event)
        elif reply.complete:
            final = self._image(recorded, reply, 0)
            payload: dict[str, Any] = {
                "type": "image_edit.completed",
                "b64_json": base64.b64encode(final).decode(), **common,
            }
            usage = self._usage(reply, 1)
            if usage is not None:
                payload["usage"] = usage
            await event("image_edit.completed", payload)
        await response.write_eof()
        return response

    # --- control endpoints (for a fake in another process) --------------------------

    async def _control_queue(self, request: web.Request) -> web.Response:
        data = await request.json()
        replies = [Reply.from_json(r) for r in data.get("replies", [])]
        self.queue(*replies, route=data.get("route", "edits"))
        return web.json_response({"queued": len(replies)})

    async def _control_default(self, request: web.Request) -> web.Response:
        self.set_default(Reply.from_json(await request.json()))
        return web.json_response({"ok": True})

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _control_requests(self, request: web.Request) -> web.Response:
        return web.json_response([r.summary() for r in self.requests])


@pytest_asyncio.fixture
async def fake_image_api() -> AsyncIterator[FakeImageAPI]:
    """A started FakeImageAPI for one test; stopped (hangs released) afterwards."""
    async with FakeImageAPI() as api:
        yield api


async def _serve(args: argparse.Namespace) -> None:
    default = Reply.images(fill=args.fill, usage=args.usage if args.usage != "none" else None)
    api = FakeImageAPI(api_key=args.api_key, port=args.port, default=default, keep_file_bytes=not args.forget_file_bytes)
    await api.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {api.base_url}", flush=True)
    await stop.wait()
    await api.stop()


def spawn(api_key: str = DEFAULT_API_KEY, *, fill: str = "noise", keep_file_bytes: bool = True) -> tuple["subprocess.Popen[str]", str]:
    """The fake in its own process (so its CPU is not measured with the caller's);
    returns the process and its base URL. The caller terminates it."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.image_api", "--port", "0", "--fill", fill, "--api-key", api_key,
         *([] if keep_file_bytes else ["--forget-file-bytes"])],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"the fake image API did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible image edits API")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--fill", choices=["solid", "noise"], default="solid")
    parser.add_argument("--usage", choices=["openai", "comet", "none"], default="openai")
    parser.add_argument("--forget-file-bytes", action="store_true", help="record uploads by size and sha256 only")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
