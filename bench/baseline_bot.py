"""The baseline for bench/edit.py: an image-edit bot written "the common way".

What a typical tutorial-style bot does, and nothing more: a `commands.Bot` with one
`/edit` app command (same option names as Retouch's: image, prompt, n) that defers,
downloads the attachment with `attachment.read()`, calls the official SDK
(`AsyncOpenAI(...).images.edit(...)`, default timeout and retries), decodes every
`b64_json` with `base64.b64decode` on the event loop and posts all images in one
follow-up. No quota, no queue (every /edit runs at once), no re-encoding or splitting.
Commands are synced in `setup_hook` with `bot.discord_app.error_handler.sync()`.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Optional

import discord
from discord import app_commands
from discord.ext import commands
from openai import AsyncOpenAI

MODEL = "gpt-image-2"


class BaselineBot(commands.Bot):
    def __init__(self, *, image_api_base_url: str, image_api_key: str, **options: Any) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), **options)
        self.openai = AsyncOpenAI(base_url=image_api_base_url, api_key=image_api_key)

        @app_commands.command(name="edit", description="Edit an image with AI")
        @app_commands.describe(image="The picture to edit", prompt="What should change", n="How many versions (1-10)")
        async def edit(
            interaction: discord.Interaction,
            image: discord.Attachment,
            prompt: str,
            n: Optional[app_commands.Range[int, 1, 10]] = None,
        ) -> None:
            await interaction.response.defer(thinking=True)
            data = await image.read()
            result = await self.openai.images.edit(
                model=MODEL,
                image=("image.png", data, "image/png"),
                prompt=prompt,
                n=n or 1,
            )
            files = [
                discord.File(io.BytesIO(base64.b64decode(d.b64_json or "")), f"edit-{i}.png")
                for i, d in enumerate(result.data or [], 1)
            ]
            await interaction.followup.send(files=files)

        self.tree.add_command(edit)

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def close(self) -> None:
        await super().close()
        await self.openai.close()
