"""`/edit`: the Discord side of an edit. Checks, quota, queue, delivery; the work is in bot.edits.order."""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal, Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.moderators import role_ids_of
from bot.discord_app.replies import defer_public, mark_answered, send_private
from bot.edits.order import (
    EditOptions,
    EditOutcome,
    check_options,
    prepare_inputs,
    run_edit,
)
from bot.edits.queue import EditQueue, QueueClosed
from bot.errors import ShuttingDown, UserFacingError, user_message_for
from bot.images.delivery_plan import Message
from bot.images.formats import extension_for
from bot.images.inputs import PreparedInput
from bot.images.prepare import GPT_IMAGE_LIMITS
from bot.provider.client import ImageEditClient
from bot.provider.errors import BillingError, ProviderAuthError, ProviderError
from bot.provider.models import ModelSpec, load_model_table
from bot.provider.pricing import load_prices
from bot.provider.request import opaque_user_id
from bot.provider.response import PartialImage
from bot.store.quota import QuotaExceeded, Reservation
from bot.text.edit_summary import EditSummary, QuotaLeft, summary_lines
from bot.text.quota_messages import refusal_text

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch

log = logging.getLogger("retouch.edit")

# Discord string options stop at 6000 characters; models check their own (shorter) limits.
PROMPT_MAX = 6000
# The image code refuses bigger files anyway; checking Discord's reported size saves the download.
MAX_DOWNLOAD_BYTES = GPT_IMAGE_LIMITS.max_input_bytes or 64 * 1024 * 1024
# How long the attachment check may delay the acknowledgement: long enough to catch a
# typical bad file before reserving anything, short enough to ack well inside Discord's 3 s.
PREFLIGHT_SECONDS = 0.4
# Downloads and decodes at once; a burst of 20 would otherwise fight the event loop for the CPU.
PREPARE_CONCURRENCY = 2
# Interaction tokens live 15 minutes; past this we post to the channel instead.
TOKEN_SAFE_AGE = timedelta(minutes=14, seconds=30)
# Discord's answers when the interaction token is gone (expired or unknown).
EXPIRED_TOKEN_CODES = frozenset({50027, 10015, 10062})
EMBED_COLOUR = discord.Colour.from_rgb(88, 101, 242)


class EditCog(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        settings = bot.settings
        self.models = load_model_table(settings.image_models_json)
        self.prices = load_prices(settings.image_prices_json)
        self.client = ImageEditClient(
            bot.http_session,
            base_url=settings.image_api_base_url,
            api_key=settings.image_api_key,
            models=self.models,
            timeout=settings.image_api_timeout,
            connect_timeout=settings.image_api_connect_timeout,
            max_attempts=settings.image_api_max_attempts,
            retry_unsafe=settings.image_api_retry_unsafe,
        )
        self.queue = EditQueue(settings.max_concurrent_edits)
        self.preparing = asyncio.Semaphore(PREPARE_CONCURRENCY)
        self.tasks: set[asyncio.Task] = set()
        self.in_flight: dict[int, int] = {}
        self.settled = asyncio.Condition()
        self.salt = ""
        self.now = lambda: datetime.now(timezone.utc)  # a seam for tests that cross the 15 minutes
        allow_dms = settings.allow_dms
        self.edit.allowed_contexts = app_commands.AppCommandContext(guild=True, dm_channel=allow_dms, private_channel=allow_dms)

    async def cog_load(self) -> None:
        salt = await self.bot.get_meta("user_id_salt")
        if salt is None:
            salt = secrets.token_hex(16)
            await self.bot.set_meta("user_id_salt", salt)
        self.salt = salt

    async def cog_unload(self) -> None:
        await self.drain()

    async def drain(self) -> None:
        """Graceful shutdown: no new edits, running ones get the grace period, the rest are refunded.

        The bot calls this before it unloads anything, so /edit still answers "restarting"."""
        if self.queue.closed and not self.tasks:
            return
        self.queue.close()
        grace = self.bot.settings.shutdown_grace_seconds
        if self.tasks:
            log.info("waiting up to %.0f s for %d edit(s) to finish", grace, len(self.tasks))
            _, pending = await asyncio.wait(set(self.tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                # Each cancelled edit refunds and tells its member; give that a moment.
                await asyncio.wait(pending, timeout=10)

    def allowed_models(self) -> list[str]:
        """The capability table plus the owner's IMAGE_MODEL, default first."""
        default = self.bot.settings.image_model
        return [default] + [n for n in self.models.names() if n != default]

    # ----- autocomplete -----------------------------------------------------------------
    async def model_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        default = self.bot.settings.image_model
        ordered = self.allowed_models()
        return [app_commands.Choice(name=n + (" (default)" if n == default else ""), value=n) for n in ordered if current.lower() in n.lower()][:25]

    async def size_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        model = getattr(interaction.namespace, "model", None) or self.bot.settings.image_model
        sizes = self.models.sizes_for(model) if model in self.allowed_models() else []
        choices = [s for s in sizes if current.lower() in s.lower()]
        if current and current not in choices:
            choices.insert(0, current)  # free sizes (gpt-image-2) are checked on submit
        return [app_commands.Choice(name=s, value=s) for s in choices][:25]

    # ----- the command ------------------------------------------------------------------
    @app_commands.command(name="edit", description="Edit an image with AI: attach it and describe the change")
    @app_commands.describe(
        image="The picture to edit (PNG, JPEG, WebP; GIF/BMP/TIFF are converted)",
        prompt="What should change, e.g. 'give the cat a red scarf'",
        mask="Optional: where to edit. Transparent (or white on black) areas get edited",
        model="Which AI model to use",
        size="Output size, e.g. 1024x1024 (auto keeps the model's choice)",
        quality="Higher quality is slower and costs more",
        n="How many versions to make (1-10); each counts against your quota",
        output_format="File type of the result",
        background="Transparent needs png or webp output",
    )
    @app_commands.autocomplete(model=model_autocomplete, size=size_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        mask: Optional[discord.Attachment] = None,
        model: Optional[str] = None,
        size: Optional[str] = None,
        quality: Optional[Literal["auto", "low", "medium", "high", "standard"]] = None,
        n: Optional[app_commands.Range[int, 1, 10]] = None,
        output_format: Optional[Literal["png", "jpeg", "webp"]] = None,
        background: Optional[Literal["auto", "opaque", "transparent"]] = None,
    ) -> None:
        if not self.bot.accepting_work or self.queue.closed:
            raise ShuttingDown()
        if interaction.guild_id is None and not self.bot.settings.allow_dms:
            raise app_commands.NoPrivateMessage()
        options = self._options(prompt, model, n, size, quality, output_format, background)
        spec = self.models.get(options.model)
        check_options(options, spec, with_mask=mask is not None)
        for label, attachment in (("image", image), ("mask", mask)):
            if attachment is not None and attachment.size > MAX_DOWNLOAD_BYTES:
                raise UserFacingError(
                    f"Your {label} is {attachment.size / 1_048_576:.1f} MB; Retouch accepts files up to "
                    f"{MAX_DOWNLOAD_BYTES // 1_048_576} MB. Save it smaller (e.g. as JPEG) and try again."
                )
        # Most bad files are caught here, inside Discord's 3 s, as a private first reply
        # that reserves nothing; slower downloads finish after the defer.
        preflight = asyncio.create_task(self._prepare(image, mask, spec))
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)  # from here on, shutdown waits for (or cancels) this edit
        try:
            try:
                await asyncio.wait_for(asyncio.shield(preflight), PREFLIGHT_SECONDS)
            except asyncio.TimeoutError:
                pass
            reservation = await self._reserve(interaction, options)
            await self._run(interaction, reservation, options, preflight)
        finally:
            self.tasks.discard(task)
            if not preflight.done():
                preflight.cancel()
            elif not preflight.cancelled():
                preflight.exception()  # already reported to the member, or moot after a refusal

    def _options(self, prompt, model, n, size, quality, output_format, background) -> EditOptions:  # type: ignore[no-untyped-def]
        prompt = prompt.strip()
        if not prompt:
            raise UserFacingError("The prompt is empty: describe the change you want, e.g. 'make the sky purple'.")
        model = (model or self.bot.settings.image_model).strip()
        if model not in self.allowed_models():
            raise UserFacingError(f"Unknown model `{model[:60]}`. Choose one of: {', '.join(self.allowed_models())}.")
        return EditOptions(
            prompt=prompt,
            model=model,
            n=n or 1,
            size=(size or "").strip().lower().replace("×", "x") or None,
            quality=quality,
            output_format=output_format,
            background=background,
        )

    async def _reserve(self, interaction: discord.Interaction, options: EditOptions) -> Reservation:
        store = self.bot.store
        prompt = options.prompt if self.bot.settings.store_prompts else None
        args = (interaction.guild_id, interaction.user.id, role_ids_of(interaction.user), options.n)
        outcome = await store.reserve(*args, model=options.model, prompt=prompt)
        if isinstance(outcome, QuotaExceeded) and outcome.blocked_by_in_flight:
            # The member's own running edits hold the quota: queue behind them instead of failing.
            await defer_public(interaction)
            await interaction.edit_original_response(content="⏳ Waiting for your other edit to finish…")
            while isinstance(outcome, QuotaExceeded) and self.in_flight.get(interaction.user.id):
                async with self.settled:
                    await asyncio.wait_for(self.settled.wait(), timeout=self.bot.settings.reservation_ttl_seconds)
                outcome = await store.reserve(*args, model=options.model, prompt=prompt)
        if isinstance(outcome, QuotaExceeded):
            raise UserFacingError(refusal_text(outcome))
        return outcome

    # ----- running one edit -------------------------------------------------------------
    async def _run(
        self,
        interaction: discord.Interaction,
        reservation: Reservation,
        options: EditOptions,
        preflight: "asyncio.Task[PreparedInput]",
    ) -> None:
        user_id = interaction.user.id
        self.in_flight[user_id] = self.in_flight.get(user_id, 0) + 1
        settled = False
        try:
            if not interaction.response.is_done():
                await defer_public(interaction)

            async def show_position(position: int) -> None:
                ahead = position - 1 + self.queue.running
                await interaction.edit_original_response(
                    content=f"⏳ In the queue: #{position} ({ahead} edit{'s' if ahead != 1 else ''} ahead of yours). It starts automatically."
                )

            outcome = await self.queue.run(user_id, lambda: self._work(interaction, options, preflight), on_position=show_position)
            delivered = await self._deliver(interaction, reservation, options, outcome)
            await self.bot.store.commit(
                reservation,
                delivered,
                input_tokens=outcome.result.usage.input_tokens if outcome.result.usage else None,
                output_tokens=outcome.result.usage.output_tokens if outcome.result.usage else None,
                total_tokens=outcome.result.usage.total_tokens if outcome.result.usage else None,
                cost_usd=outcome.cost_usd,
            )
            settled = True
            log.info(
                "edit #%d (server %s, member %s, %s): %d of %d image(s) delivered in %.1f s, %s tokens",
                reservation.id, reservation.guild_id, reservation.user_id, options.model, delivered,
                reservation.images, outcome.seconds, outcome.result.usage.total_tokens if outcome.result.usage else "?",
            )
        except asyncio.CancelledError:
            await self._refund(reservation, "shutdown")
            settled = True
            await asyncio.shield(
                send_private(
                    interaction,
                    "Retouch had to restart before your edit finished. It was cancelled and your quota refunded: "
                    "please run /edit again in a minute.",
                )
            )
            raise
        except QueueClosed:
            await self._refund(reservation, "shutdown")
            settled = True
            raise ShuttingDown() from None
        except Exception as exc:
            await self._refund(reservation, type(exc).__name__)
            settled = True
            self._log_failure(exc, reservation)
            message = user_message_for(exc)
            if message is None:
                raise  # a bug: the tree's handler logs it with an id
            raise UserFacingError(f"{message}\nYour quota was refunded.") from exc
        finally:
            if not settled:
                await self._refund(reservation, "not delivered")
            self.in_flight[user_id] -= 1
            if not self.in_flight[user_id]:
                del self.in_flight[user_id]
            async with self.settled:
                self.settled.notify_all()

    async def _refund(self, reservation: Reservation, reason: str) -> None:
        try:
            await asyncio.shield(self.bot.store.refund(reservation, reason))
        except Exception:
            log.exception("could not refund reservation %s (it will be released as stale)", reservation.id)

    def _log_failure(self, exc: Exception, reservation: Reservation) -> None:
        where = f"edit #{reservation.id} (server {reservation.guild_id}, member {reservation.user_id}, {reservation.model})"
        if isinstance(exc, (BillingError, ProviderAuthError)):
            # The owner must act; the member only sees a generic message.
            log.error("%s: image API problem the bot owner must fix: %s", where, exc)
        elif isinstance(exc, ProviderError):
            log.warning("%s failed at the provider: %s", where, exc)
        elif user_message_for(exc) is not None:
            log.info("%s refused: %s", where, user_message_for(exc))

    async def _prepare(self, image: discord.Attachment, mask: Optional[discord.Attachment], spec: ModelSpec) -> PreparedInput:
        async with self.preparing:
            image_bytes = await self._download(image, "image")
            mask_bytes = await self._download(mask, "mask") if mask is not None else None
            return await prepare_inputs(image_bytes, mask_bytes, spec)

    async def _work(self, interaction: discord.Interaction, options: EditOptions, preflight: "asyncio.Task[PreparedInput]") -> EditOutcome:
        try:
            await interaction.edit_original_response(content=f"🎨 Editing with **{options.model}**… this can take a minute or two.")
        except discord.HTTPException:
            log.debug("could not update the progress message", exc_info=True)
        inputs = await preflight

        async def show_preview(partial: PartialImage) -> None:
            # A preview is a nicety: failing to show one never fails the edit.
            try:
                await interaction.edit_original_response(
                    content=f"🎨 Editing with **{options.model}**… preview {partial.index + 1}",
                    attachments=[discord.File(io.BytesIO(partial.data), filename=f"preview.{extension_for(partial.format)}")],
                )
            except discord.HTTPException:
                log.debug("could not show a preview", exc_info=True)

        return await run_edit(
            self.client,
            options,
            inputs,
            user=opaque_user_id(interaction.user.id, self.salt),
            upload_limit=interaction.filesize_limit,
            prices=self.prices,
            previews=self.bot.settings.stream_previews,
            on_preview=show_preview,
        )

    @staticmethod
    async def _download(attachment: discord.Attachment, label: str) -> bytes:
        try:
            data = await attachment.read()
        except (discord.HTTPException, discord.NotFound) as exc:
            raise UserFacingError(f"Couldn't download your {label} from Discord ({exc.status}). Upload it again and retry.") from None
        if len(data) > MAX_DOWNLOAD_BYTES:
            raise UserFacingError(f"Your {label} is larger than {MAX_DOWNLOAD_BYTES // 1_048_576} MB. Save it smaller and try again.")
        return data

    # ----- delivery ---------------------------------------------------------------------
    async def _summary_embed(
        self, interaction: discord.Interaction, reservation: Reservation, options: EditOptions, outcome: EditOutcome
    ) -> discord.Embed:
        usage = await self.bot.store.usage_for(interaction.guild_id, interaction.user.id, role_ids_of(interaction.user))
        undelivered = reservation.images - outcome.delivered
        quota = QuotaLeft(limit=usage.limit, used=max(usage.used - undelivered, 0), period=usage.period, resets_at=usage.resets_at)
        result = outcome.result
        summary = EditSummary(
            model=result.model or options.model,
            size=result.size or options.size or "auto",
            images=outcome.delivered,
            seconds=outcome.seconds,
            usage=result.usage,
            cost_usd=outcome.cost_usd,
            quota=quota,
            notes=outcome.notes,
        )
        prompt = options.prompt if len(options.prompt) <= 300 else options.prompt[:297] + "…"
        embed = discord.Embed(description=f"> {prompt}\n" + "\n".join(summary_lines(summary)), colour=EMBED_COLOUR)
        embed.set_footer(text=f"Requested by {interaction.user.display_name}")
        return embed

    @staticmethod
    def _files(message: Message) -> list[discord.File]:
        return [discord.File(io.BytesIO(f.data), filename=f.filename) for f in message.files]

    async def _deliver(
        self, interaction: discord.Interaction, reservation: Reservation, options: EditOptions, outcome: EditOutcome
    ) -> int:
        """Posts the images; returns how many reached Discord."""
        embed = await self._summary_embed(interaction, reservation, options, outcome)
        age = self.now() - interaction.created_at
        if age > TOKEN_SAFE_AGE:
            return await self._deliver_to_channel(interaction, embed, outcome)
        delivered = 0
        for index, message in enumerate(outcome.messages):
            files = self._files(message)
            if index == 0:
                try:
                    await interaction.edit_original_response(content=None, embed=embed, attachments=files)
                except discord.HTTPException as exc:
                    if exc.code not in EXPIRED_TOKEN_CODES:
                        raise
                    return await self._deliver_to_channel(interaction, embed, outcome)
                mark_answered(interaction)
            else:
                try:
                    await interaction.followup.send(files=files, wait=True)
                except discord.HTTPException:
                    # What was already posted stays delivered and counted; the rest is refunded.
                    log.exception("could not post images %d+ of an edit; refunding the rest", delivered + 1)
                    break
            delivered += len(message.files)
        return delivered

    async def _deliver_to_channel(self, interaction: discord.Interaction, embed: discord.Embed, outcome: EditOutcome) -> int:
        channel = interaction.channel
        perms = interaction.app_permissions
        if not isinstance(channel, discord.abc.Messageable) or not (perms.send_messages and perms.attach_files):
            log.warning("edit for %s finished after the interaction expired and the bot may not post in the channel; refunding", interaction.user.id)
            return 0
        delivered = 0
        for index, message in enumerate(outcome.messages):
            try:
                await channel.send(
                    content=f"{interaction.user.mention}, your edit is ready." if index == 0 else None,
                    embed=embed if index == 0 else None,
                    files=self._files(message),
                    allowed_mentions=discord.AllowedMentions(users=[interaction.user]),
                )
            except discord.HTTPException as exc:
                log.warning("could not post a late edit result in channel %s (%s); refunding what was not posted", channel.id, exc)
                break
            delivered += len(message.files)
        return delivered


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(EditCog(bot))
