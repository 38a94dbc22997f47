"""The ops fakes in one process, for .ci/check-container, with a small control API::

    python -m tests.ops.fakes serve --ready-file /tmp/x.json --discord-token T --image-key K

starts a FakeDiscord that accepts only token T and a FakeImageAPI that accepts only key
K on 127.0.0.1, plus a control endpoint on 127.0.0.1, writes their addresses to the
ready file as JSON, and runs until SIGTERM/SIGINT. The bot under test (a process, or
the container image with host networking) is pointed at the fakes by its caller.

The control API lets a shell script play a Discord member::

    python -m tests.ops.fakes call --ready-file /tmp/x.json expect-connect
    ... start the bot ...
    python -m tests.ops.fakes call --ready-file /tmp/x.json wait-ready '{"timeout": 60}'
    python -m tests.ops.fakes call --ready-file /tmp/x.json invoke \
        '{"command": "edit", "member": "alice", "options": {"prompt": "a hat"}, "image": [64, 64]}'

`call` prints the JSON answer and exits 1 when the fakes answer with an error.

* `expect-connect`: forget the last gateway connection (call it before starting a bot);
* `wait-ready`: wait until a bot has identified on the gateway since `expect-connect`
  and has synced its slash commands;
* `invoke`: member `member` (created on first use, the same member afterwards) runs
  `/command options`; `image: [w, h]` attaches a PNG of that size as the `image` option;
  `image_api_delay: s` makes the image API take that long over this edit. Answers with
  what the member ends up seeing (`ephemeral`, `text`, `files`), the fake's rule
  violations, and how many edits reached the image API so far. With `background: true`
  it answers `{"id": ...}` as soon as the edit has reached the image API (an edit in
  flight, e.g. to stop the bot under it), and `result {"id": ...}` waits for the outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from tests.fakes.discord_server import (
        FakeDiscord,
        FakeUser,
        InteractionRecord,
        SentMessage,
    )
    from tests.fakes.image_api import FakeImageAPI


class Control:
    """The control endpoints, over a running FakeDiscord and FakeImageAPI."""

    def __init__(self, discord_fake: FakeDiscord, image_api: FakeImageAPI) -> None:
        self.discord = discord_fake
        self.image_api = image_api
        self.members: dict[str, FakeUser] = {}
        self.in_flight: dict[str, InteractionRecord] = {}

    def app(self) -> web.Application:
        from aiohttp import web

        app = web.Application()
        app.router.add_post("/expect-connect", self._expect_connect)
        app.router.add_post("/wait-ready", self._wait_ready)
        app.router.add_post("/invoke", self._invoke)
        app.router.add_post("/result", self._result)
        return app

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        text = await request.text()
        return json.loads(text) if text.strip() else {}

    @staticmethod
    def _answer(data: dict[str, Any], status: int = 200) -> web.Response:
        from aiohttp import web

        return web.json_response(data, status=status)

    async def _expect_connect(self, request: web.Request) -> web.Response:
        self.discord.ready_sent.clear()
        return self._answer({"ok": True})

    async def _wait_ready(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        timeout = float(body.get("timeout", 60))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(self.discord.ready_sent.wait(), timeout)
        except asyncio.TimeoutError:
            return self._answer({"error": f"no bot identified on the gateway within {timeout:.0f} s"}, 504)
        # The bot syncs its commands in setup_hook, before it connects to the gateway.
        while not any(c["name"] == "edit" for c in self.discord.global_commands):
            if loop.time() > deadline:
                return self._answer({"error": "the bot connected but never synced /edit"}, 504)
            await asyncio.sleep(0.05)
        return self._answer({"ok": True, "commands": sorted(c["name"] for c in self.discord.global_commands)})

    async def _invoke(self, request: web.Request) -> web.Response:
        from tests.fakes.discord_server import FakeAttachment
        from tests.fakes.image_api import Reply, make_image

        body = await self._body(request)
        name = str(body.get("member", "member"))
        member = self.members.get(name)
        if member is None:
            member = self.members[name] = self.discord.member(name)
        options = dict(body.get("options", {}))
        if "image" in body:
            width, height = body["image"]
            options["image"] = FakeAttachment.image(make_image(int(width), int(height)), "ci.png")
        if body.get("image_api_delay"):
            self.image_api.queue(Reply.images(delay=float(body["image_api_delay"])))
        timeout = float(body.get("timeout", 60))
        before = len(self.image_api.edits)
        try:
            record = await self.discord.invoke(str(body["command"]), by=member, **options)
            if body.get("background"):
                deadline = asyncio.get_running_loop().time() + timeout
                while len(self.image_api.edits) == before and not record.violations:
                    if asyncio.get_running_loop().time() > deadline:
                        raise asyncio.TimeoutError("the edit never reached the image API")
                    await asyncio.sleep(0.02)
                self.in_flight[str(record.id)] = record
                return self._answer({"id": str(record.id)})
            reply = await record.wait_result(timeout=timeout)
        except (AssertionError, asyncio.TimeoutError) as exc:
            return self._answer({"error": f"/{body.get('command')}: {exc!r}"}, 500)
        return self._answer(self._outcome(record, reply))

    async def _result(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        record = self.in_flight.pop(str(body.get("id")), None)
        if record is None:
            return self._answer({"error": f"no interaction {body.get('id')!r} in flight"}, 404)
        try:
            reply = await record.wait_result(timeout=float(body.get("timeout", 60)))
        except (AssertionError, asyncio.TimeoutError) as exc:
            return self._answer({"error": f"/{record.name}: {exc!r}"}, 500)
        return self._answer(self._outcome(record, reply))

    def _outcome(self, record: InteractionRecord, reply: SentMessage) -> dict[str, Any]:
        return {
            "ephemeral": reply.ephemeral,
            "text": reply.text,
            "files": [{"filename": f.filename, "bytes": len(f.data), "content_type": f.content_type} for f in reply.files],
            "violations": record.violations,
            "image_api_edits": len(self.image_api.edits),
        }


async def _serve(ready_file: Path, discord_token: str, image_key: str) -> None:
    from aiohttp import web

    from tests.fakes.discord_server import FakeDiscord
    from tests.fakes.image_api import FakeImageAPI

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with FakeDiscord() as discord_fake, FakeImageAPI(api_key=image_key) as models:
        discord_fake.valid_tokens = {discord_token}
        runner = web.AppRunner(Control(discord_fake, models).app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        control_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            info = {
                "discord_api_base": discord_fake.api_base,
                "discord_gateway": discord_fake.gateway_url,
                "image_api_base": models.base_url,
                "control": f"http://127.0.0.1:{control_port}",
                "pid": os.getpid(),
            }
            tmp = ready_file.with_name(ready_file.name + ".tmp")
            tmp.write_text(json.dumps(info))
            os.replace(tmp, ready_file)
            await stop.wait()
        finally:
            await runner.cleanup()


def call(ready_file: Path, endpoint: str, body: str = "", timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """POST `body` (JSON) to a control endpoint; returns (HTTP status, answer)."""
    base = json.loads(ready_file.read_text())["control"]
    request = urllib.request.Request(
        f"{base}/{endpoint}", data=(body or "{}").encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    serve = sub.add_parser("serve", help="run the fakes until SIGTERM")
    serve.add_argument("--ready-file", type=Path, required=True)
    serve.add_argument("--discord-token", required=True)
    serve.add_argument("--image-key", required=True)
    client = sub.add_parser("call", help="POST to a control endpoint of running fakes; prints the JSON answer")
    client.add_argument("--ready-file", type=Path, required=True)
    client.add_argument("endpoint", choices=["expect-connect", "wait-ready", "invoke", "result"])
    client.add_argument("body", nargs="?", default="", help="JSON object")
    args = parser.parse_args(argv)
    if args.action == "serve":
        asyncio.run(_serve(args.ready_file, args.discord_token, args.image_key))
        return 0
    status, answer = call(args.ready_file, args.endpoint, args.body)
    print(json.dumps(answer))
    if status >= 400:
        print(f"fakes: {args.endpoint} failed ({status}): {answer.get('error', answer)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
