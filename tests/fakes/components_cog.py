"""A test-only extension: a message command that opens a modal, buttons, a select and a
persistent (DynamicItem) button, to prove the fake Discord's component and modal rules
through real discord.py."""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from discord.webhook.async_ import async_context, interaction_response_params


class CountButton(discord.ui.DynamicItem[discord.ui.Button], template=r"test:count:(?P<n>\d+)"):
    """Survives a restart: the count lives in the custom id, not in the process."""

    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"Count {n}", style=discord.ButtonStyle.primary, custom_id=f"test:count:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /) -> CountButton:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog: Components = interaction.client.get_cog("Components")  # type: ignore[attr-defined, assignment]
        cog.events.append(("count", self.n, interaction.client.boot_id))  # type: ignore[attr-defined]
        await interaction.response.edit_message(content=f"count {self.n + 1}", view=counter_view(self.n + 1))


def counter_view(n: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CountButton(n))
    return view


class EditModal(discord.ui.Modal, title="Edit image"):
    """What the upcoming "Edit image" modal looks like: Label-wrapped inputs (discord.py 2.7)."""

    def __init__(self, cog: Components, target: discord.Message) -> None:
        super().__init__(timeout=600)
        self.cog, self.target = cog, target  # a file field cannot be pre-filled: keep the target here
        self.prompt = discord.ui.TextInput(custom_id="prompt", style=discord.TextStyle.paragraph, max_length=1000)
        # min_values=0 is only valid with required=False (Discord refuses min 0 on a required upload).
        self.mask = discord.ui.FileUpload(custom_id="mask", required=False, min_values=0, max_values=1)
        self.model = discord.ui.Select(
            custom_id="model",
            options=[
                discord.SelectOption(label="GPT Image 2", value="gpt-image-2", default=True),
                discord.SelectOption(label="GPT Image 1", value="gpt-image-1"),
            ],
        )
        self.add_item(discord.ui.Label(text="What to change", component=self.prompt))
        self.add_item(discord.ui.Label(text="Mask (optional)", description="White = keep", component=self.mask))
        self.add_item(discord.ui.Label(text="Model", component=self.model))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        mask = "none"
        if self.mask.values:
            data = await self.mask.values[0].read()  # ephemeral URL: read at once
            mask = f"{len(data)} bytes"
        self.cog.events.append(("submitted", self.prompt.value, self.model.values, [a.filename for a in self.mask.values]))
        await interaction.response.send_message(
            f"prompt={self.prompt.value}; model={self.model.values[0]}; mask={mask}; target={self.target.id}", ephemeral=True
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        self.cog.errors.append(error)


class AskModal(discord.ui.Modal, title="Question"):
    answer = discord.ui.TextInput(label="Answer", custom_id="answer")  # legacy: text input in an action row

    async def on_submit(self, interaction: discord.Interaction) -> None:
        # A modal opened from a button may update the button's message (type 7).
        await interaction.response.edit_message(content=f"answered {self.answer.value}", view=None)


class Secret(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Confirm", custom_id="secret:confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="confirmed", view=None)

    @discord.ui.button(label="Edit by REST", custom_id="secret:rest")
    async def rest(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        try:  # Message.edit uses the bot-token channel route, which cannot see ephemeral messages
            await interaction.message.edit(content="nope")  # type: ignore[union-attr]
        except discord.HTTPException as exc:
            interaction.client.get_cog("Components").errors.append(exc)  # type: ignore[union-attr]


class Panel(discord.ui.View):
    def __init__(self, cog: Components) -> None:
        super().__init__(timeout=60)
        self.cog = cog

    @discord.ui.button(label="Update", custom_id="panel:update")
    async def update(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="updated in place")  # type 7

    @discord.ui.button(label="Defer, then edit", custom_id="panel:defer_edit")
    async def defer_edit(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # type 6: no "thinking", @original is this message
        await interaction.edit_original_response(content="edited after defer")
        await interaction.followup.send("a follow-up")  # with the click's token: a new message

    @discord.ui.button(label="Think", custom_id="panel:think")
    async def think(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer(thinking=True)  # type 5: a NEW "thinking…" message
        await interaction.edit_original_response(content="thought about it")

    @discord.ui.button(label="Private", custom_id="panel:private")
    async def private(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message("only you", ephemeral=True, view=Secret())

    @discord.ui.button(label="Ask", custom_id="panel:ask")
    async def ask(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(AskModal())

    @discord.ui.button(label="Late modal", custom_id="panel:late_modal", row=1)
    async def late_modal(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        # discord.py itself refuses (InteractionResponded); go around it to ask Discord.
        try:
            await async_context.get().create_interaction_response(
                interaction.id, interaction.token, session=interaction._session, params=interaction_response_params(9, AskModal().to_dict())
            )
        except discord.HTTPException as exc:
            self.cog.errors.append(exc)

    @discord.ui.button(label="Edit by REST", custom_id="panel:rest", row=1)
    async def rest(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        await interaction.message.edit(content="edited by REST")  # type: ignore[union-attr]

    @discord.ui.button(label="Off", custom_id="panel:off", disabled=True, row=1)
    async def off(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        raise AssertionError("a disabled button cannot be clicked")

    @discord.ui.select(
        custom_id="panel:pick",
        max_values=2,
        options=[discord.SelectOption(label=x.upper(), value=x) for x in ("a", "b", "c")],
        row=2,
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"picked {','.join(select.values)}")

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: Any, /) -> None:
        self.cog.errors.append(error)


class Components(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.events: list[tuple[Any, ...]] = []
        self.errors: list[BaseException] = []
        self.targets: list[discord.Message] = []
        # A context menu cannot be declared inside a Cog class with the decorator.
        self.menu = app_commands.ContextMenu(name="Test edit", callback=self.edit_image)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def edit_image(self, interaction: discord.Interaction, message: discord.Message) -> None:
        self.targets.append(message)
        await interaction.response.send_modal(EditModal(self, message))

    @app_commands.command(name="panel", description="buttons and a select (test only)")
    async def panel(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("panel", view=Panel(self))

    @app_commands.command(name="counter", description="a button that survives restarts (test only)")
    async def counter(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("count 0", view=counter_view(0))

    @app_commands.command(name="rawcallback", description="answers with a raw callback type (test only)")
    async def rawcallback(self, interaction: discord.Interaction, kind: int) -> None:
        try:
            await async_context.get().create_interaction_response(
                interaction.id, interaction.token, session=interaction._session, params=interaction_response_params(kind, {"content": "x"})
            )
        except discord.HTTPException as exc:
            self.errors.append(exc)
            await interaction.response.send_message("refused", ephemeral=True)

    @app_commands.command(name="badmodal", description="a modal Discord refuses (test only)")
    async def badmodal(self, interaction: discord.Interaction, kind: str) -> None:
        modal = discord.ui.Modal(title="x" * 46 if kind == "title" else "Bad")
        if kind == "required_zero":  # discord.py's default required=True with min_values=0
            modal.add_item(discord.ui.Label(text="File", component=discord.ui.FileUpload(custom_id="f", min_values=0)))
        else:
            modal.add_item(discord.ui.Label(text="Text", component=discord.ui.TextInput(custom_id="t")))
        try:
            await interaction.response.send_modal(modal)
        except discord.HTTPException as exc:
            self.errors.append(exc)
            await interaction.response.send_message("refused", ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(CountButton)
    await bot.add_cog(Components(bot))
