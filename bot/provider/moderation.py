"""`ModerationClient`: one content check = `POST {base}/moderations` (OpenAI's shape).

    client = ModerationClient(session, base_url=..., api_key=..., model="omni-moderation-latest", timeout=10)
    verdict = await client.check("add a hat", [jpeg_bytes])   # ModerationVerdict
    verdict.categories  # ("violence",): every category the endpoint flagged

The request carries the prompt and the (already downscaled) images and nothing else:
no `user` field, no member id, no server id. Several images go as one request each
(the first with the prompt), sent at once, since endpoints differ in how many images one
request may carry. Every failure (unreachable, slow past `timeout`, an error status, an
answer of the wrong shape) is a `ModerationUnavailable` whose message never holds the key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl

from bot.redact import redact, register_secret, url_password, without_credentials

from .errors import LOGGER_NAME, error_fields

log = logging.getLogger(LOGGER_NAME)  # the provider logger: its records are redacted

_ERROR_BODY_LIMIT = 64 * 1024
_BODY_LIMIT = 4 * 1024 * 1024


class ModerationUnavailable(Exception):
    """The check could not be made; the message is for the log and the owner.

    `kind`: "timeout", "unreachable", "auth", "model", "missing" (no such endpoint),
    "rate_limited", "server", "bad_answer"."""

    def __init__(self, message: str, *, kind: str, status: int | None = None) -> None:
        super().__init__(redact(message))
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class ModerationVerdict:
    flagged: bool
    categories: tuple[str, ...]  # flagged category names, in the endpoint's order, no repeats
    model: str | None = None
    # Which input types each flagged category was found in ("text", "image"), when reported.
    applied: tuple[tuple[str, tuple[str, ...]], ...] = ()


def image_part(data: bytes, content_type: str) -> dict[str, Any]:
    url = f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": url}}


def request_bodies(model: str, prompt: str | None, images: Sequence[tuple[bytes, str]]) -> list[dict[str, Any]]:
    """The JSON bodies one check sends: the prompt with the first image, then one per image."""
    if not images:
        return [{"model": model, "input": prompt or ""}]
    bodies = []
    for index, (data, content_type) in enumerate(images):
        parts: list[dict[str, Any]] = []
        if index == 0 and prompt:
            parts.append({"type": "text", "text": prompt})
        parts.append(image_part(data, content_type))
        bodies.append({"model": model, "input": parts})
    return bodies


def read_verdict(document: Any) -> ModerationVerdict:
    """The union of every result of an answer (ValueError when it has none)."""
    if not isinstance(document, dict) or not isinstance(document.get("results"), list) or not document["results"]:
        raise ValueError("no results")
    flagged = False
    names: list[str] = []
    applied: dict[str, list[str]] = {}
    for result in document["results"]:
        if not isinstance(result, dict):
            raise ValueError("a result is not an object")
        flagged = flagged or bool(result.get("flagged"))
        categories = result.get("categories") or {}
        kinds = result.get("category_applied_input_types") or {}
        if not isinstance(categories, dict):
            raise ValueError("categories is not an object")
        for name, value in categories.items():
            if value is True and name not in names:
                names.append(str(name))
            if value is True and isinstance(kinds, dict) and isinstance(kinds.get(name), list):
                seen = applied.setdefault(str(name), [])
                seen += [str(k) for k in kinds[name] if str(k) not in seen]
    model = document.get("model") if isinstance(document.get("model"), str) else None
    return ModerationVerdict(
        flagged=flagged or bool(names),
        categories=tuple(names),
        model=model,
        applied=tuple((n, tuple(k)) for n, k in applied.items()),
    )


class ModerationClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout: float,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is empty")
        register_secret(api_key)
        password = url_password(base_url)
        if password:
            register_secret(password)
        self._session = session
        self._base_url = without_credentials(base_url.rstrip("/"))  # a user:password@ part is never sent
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self.model = model
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ModerationClient(base_url={self._base_url!r}, model={self.model!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    async def check(self, prompt: str | None, images: Sequence[tuple[bytes, str]] = ()) -> ModerationVerdict:
        """Check a prompt and images (bytes, content type); ModerationUnavailable on any failure.

        The whole check, every request included, takes at most `timeout` seconds."""
        bodies = request_bodies(self.model, prompt, images)
        try:
            async with asyncio.timeout(self.timeout):
                documents = await asyncio.gather(*(self._post(body) for body in bodies))
        except TimeoutError:
            raise ModerationUnavailable(
                f"the moderation endpoint {self._base_url} did not answer within {self.timeout:g} s", kind="timeout"
            ) from None
        verdicts = [read_verdict_or_raise(d, self._base_url) for d in documents]
        names = tuple(dict.fromkeys(n for v in verdicts for n in v.categories))
        applied: dict[str, list[str]] = {}
        for verdict in verdicts:
            for name, kinds in verdict.applied:
                seen = applied.setdefault(name, [])
                seen += [k for k in kinds if k not in seen]
        return ModerationVerdict(
            flagged=any(v.flagged for v in verdicts),
            categories=names,
            model=verdicts[0].model,
            applied=tuple((n, tuple(k)) for n, k in applied.items()),
        )

    async def _post(self, body: dict[str, Any]) -> Any:
        url = yarl.URL(f"{self._base_url}/moderations")
        try:
            async with self._session.post(
                url,
                data=json.dumps(body),
                headers={**self._auth, "Content-Type": "application/json", "Accept": "application/json"},
                allow_redirects=False,
            ) as response:
                status = response.status
                content_type = response.headers.get("Content-Type", "")
                raw = await response.content.read(_BODY_LIMIT if status == 200 else _ERROR_BODY_LIMIT)
        except aiohttp.ClientError as exc:
            raise ModerationUnavailable(
                f"cannot reach the moderation endpoint {self._base_url} ({type(exc).__name__}: {exc})", kind="unreachable"
            ) from None
        if status == 200:
            try:
                return json.loads(raw)
            except ValueError:
                looks_html = "html" in content_type.lower() or raw.lstrip()[:1] == b"<"
                what = "a web page" if looks_html else "something that is not JSON"
                raise ModerationUnavailable(
                    f"{url} answered {what}: MODERATION_API_BASE_URL ({self._base_url}) is probably wrong", kind="missing", status=status
                ) from None
        raise error_for(status, raw, self._base_url)


def read_verdict_or_raise(document: Any, base_url: str) -> ModerationVerdict:
    try:
        return read_verdict(document)
    except ValueError as exc:
        raise ModerationUnavailable(
            f"the moderation endpoint {base_url} answered without usable results ({exc})", kind="bad_answer"
        ) from None


def error_for(status: int, raw: bytes, base_url: str) -> ModerationUnavailable:
    """What an error status of the moderation endpoint means, for the log and doctor."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    message, _, code, param = error_fields(body)
    said = f": {message[:200]}" if message else ""
    if status in (401, 403):
        return ModerationUnavailable(f"the moderation endpoint refused the key (HTTP {status}){said}", kind="auth", status=status)
    model_problem = code == "model_not_found" or param == "model" or (message is not None and "model" in message.lower())
    if status in (400, 404) and model_problem:
        return ModerationUnavailable(f"the moderation endpoint does not know the model (HTTP {status}){said}", kind="model", status=status)
    if status in (404, 405) or 300 <= status < 400:
        return ModerationUnavailable(
            f"{base_url}/moderations answered HTTP {status}{said}: this provider has no moderation endpoint there", kind="missing", status=status
        )
    if status == 429:
        return ModerationUnavailable(f"the moderation endpoint is rate limiting this key (HTTP 429){said}", kind="rate_limited", status=status)
    if status >= 500:
        return ModerationUnavailable(f"the moderation endpoint failed (HTTP {status}){said}", kind="server", status=status)
    return ModerationUnavailable(f"the moderation endpoint answered HTTP {status}{said}", kind="bad_answer", status=status)
