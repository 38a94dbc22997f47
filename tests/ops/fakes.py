"""The ops fakes in one process, for .ci/check-container::

    python -m tests.ops.fakes --ready-file /tmp/x.json --discord-token T --image-key K

starts a FakeDiscord that accepts only token T and a FakeImageAPI that accepts only key
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


async def _serve(ready_file: Path, discord_token: str, image_key: str) -> None:
    from tests.fakes.discord_server import FakeDiscord
    from tests.fakes.image_api import FakeImageAPI

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with FakeDiscord() as discord_fake, FakeImageAPI(api_key=image_key) as models:
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
