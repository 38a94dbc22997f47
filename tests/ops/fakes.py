"""A tiny fake of the image provider's `GET /v1/models`, and a runner for the ops fakes.

In tests::

    async with FakeModelsAPI(key="sk-...") as api:
        api.base_url            # http://127.0.0.1:PORT/v1
        api.mode = "html"       # ok | no-models | html | redirect | error | shape | quota

From a shell (used by .ci/check-container)::

    python -m tests.ops.fakes --ready-file /tmp/x.json --discord-token T --image-key K

starts a FakeDiscord that accepts only token T and a FakeModelsAPI that accepts only key
K on 127.0.0.1, writes their addresses to the ready file as JSON, and runs until
SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Iterable

from aiohttp import web

DEFAULT_MODELS = ("gpt-image-2", "gpt-image-1", "dall-e-2", "gpt-4o-mini")


class FakeModelsAPI:
    def __init__(self, *, key: str, models: Iterable[str] = DEFAULT_MODELS) -> None:
        self.key = key
        self.models = list(models)
        self.mode = "ok"
        self.requests: list[tuple[str, str]] = []  # (path, Authorization header)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> "FakeModelsAPI":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeModelsAPI":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, request.headers.get("Authorization", "")))
        if request.path != "/v1/models" or request.method != "GET":
            return web.json_response({"error": {"message": "not found"}}, status=404)
        if self.mode == "html":
            return web.Response(text="<!doctype html><html><body>Welcome to our API portal</body></html>", content_type="text/html")
        if self.mode == "redirect":
            raise web.HTTPFound("/login")
        if self.mode == "no-models":
            return web.json_response({"error": {"message": "Invalid URL (GET /v1/models)"}}, status=404)
        if self.mode == "error":
            return web.json_response({"error": {"message": "upstream unavailable"}}, status=503)
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            # Real providers echo a masked key; this one echoes it whole, to prove
            # that doctor never passes a provider's text through unredacted.
            sent = request.headers.get("Authorization", "")[7:]
            return web.json_response(
                {"error": {"message": f"Incorrect API key provided: {sent}", "type": "invalid_request_error", "code": "invalid_api_key"}},
                status=401,
            )
        if self.mode == "quota":
            return web.json_response({"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}, status=429)
        if self.mode == "shape":
            return web.json_response({"models": self.models})
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model", "owned_by": "fake"} for m in self.models]})


async def _serve(ready_file: Path, discord_token: str, image_key: str) -> None:
    from tests.fakes.discord_server import FakeDiscord

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with FakeDiscord() as discord_fake, FakeModelsAPI(key=image_key) as models:
        discord_fake.valid_tokens = {discord_token}
        info = {
            "discord_api_base": discord_fake.api_base,
            "discord_gateway": discord_fake.gateway_url,
            "image_api_base": models.base_url,
            "pid": os.getpid(),
        }
        tmp = ready_file.with_name(ready_file.name + ".tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, ready_file)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--discord-token", required=True)
    parser.add_argument("--image-key", required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.ready_file, args.discord_token, args.image_key))


if __name__ == "__main__":
    main()
