"""The fakes' control API, which .ci/check-container uses to play a member against the image."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from tests.conftest import make_settings, running_bot
from tests.fakes.image_api import FakeImageAPI
from tests.ops import fakes


async def test_control_api_drives_an_edit_and_usage(fake_discord, tmp_path):
    async with FakeImageAPI() as image_api:
        runner = web.AppRunner(fakes.Control(fake_discord, image_api).app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready = tmp_path / "fakes.json"
        ready.write_text(json.dumps({"control": f"http://127.0.0.1:{port}"}))

        async def call(endpoint: str, body: dict | None = None) -> tuple[int, dict]:
            return await asyncio.to_thread(fakes.call, ready, endpoint, json.dumps(body or {}))

        try:
            assert (await call("expect-connect"))[0] == 200
            status, answer = await call("wait-ready", {"timeout": 0.2})
            assert status == 504 and "no bot" in answer["error"]

            settings = make_settings(tmp_path, image_api_base_url=image_api.base_url, image_api_key=image_api.api_key)
            async with running_bot(settings, fake_discord):
                status, answer = await call("wait-ready", {"timeout": 15})
                assert status == 200 and {"edit", "usage"} <= set(answer["commands"])

                status, answer = await call(
                    "invoke", {"command": "edit", "member": "alice", "options": {"prompt": "a hat"}, "image": [32, 32]}
                )
                assert status == 200, answer
                assert answer["ephemeral"] is False and answer["violations"] == []
                assert [f["filename"] for f in answer["files"]] == ["edit-1.png"]
                assert answer["image_api_edits"] == 1

                status, answer = await call("invoke", {"command": "usage", "member": "alice"})
                assert status == 200 and answer["ephemeral"] is True
                assert "Used today: 1" in answer["text"] and "Remaining: 9" in answer["text"]

                status, answer = await call(
                    "invoke",
                    {"command": "edit", "member": "alice", "options": {"prompt": "slow"}, "image": [32, 32],
                     "image_api_delay": 0.3, "background": True},
                )
                assert status == 200 and image_api.edits[-1].fields["prompt"] == ["slow"], answer
                status, result = await call("result", {"id": answer["id"]})
                assert status == 200 and [f["filename"] for f in result["files"]] == ["edit-1.png"], result
                assert (await call("result", {"id": answer["id"]}))[0] == 404

                status, answer = await call("invoke", {"command": "nonesuch", "member": "alice"})
                assert status == 500 and "never synced" in answer["error"]
        finally:
            await runner.cleanup()
