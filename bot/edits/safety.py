"""The content safety check of an edit, and the strikes and pauses that follow from it.

`SafetyCheck.screen(order, options)` runs in `EditService.submit` at the same time as the
preflight (both read the files once, bot/edits/shared_reads.py) and before anything is
reserved or confirmed:

1. a member whose editing is paused in this server is refused;
2. the server's level (`/settings safety`, else SAFETY_CHECK; DMs: SAFETY_CHECK) says what
   goes to the moderation endpoint: nothing (`off`), the prompt (`prompts`), or the
   prompt and a small copy of every input image (`images`; bot/images/check_copy.py);
3. flagged categories refuse the edit privately, naming them in plain words, and count
   as a strike; in an age-restricted channel `sexual` alone does not (`sexual/minors`
   always does). Strikes that reach SAFETY_STRIKES within 24 h pause the member for
   SAFETY_PAUSE_HOURS and alert the server's audit log;
4. an endpoint that fails or is slower than MODERATION_TIMEOUT refuses the edit
   ("safety check unavailable, try again") unless SAFETY_FAIL_OPEN=true.

`provider_rejected(requester)` records the strike of a provider safety rejection
(`moderation_blocked`, `content_policy_violation`) and says what to add to the member's
message. Nothing about the member goes to the moderation endpoint: only the prompt and
the images. No Discord here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from bot.config import Settings
from bot.edits.order import EditOptions, EditOrder, Requester
from bot.errors import UserFacingError
from bot.images.check_copy import CONTENT_TYPE, check_copy
from bot.provider.moderation import ModerationClient, ModerationUnavailable, ModerationVerdict
from bot.store.strikes import StrikeStore
from bot.text import safety as texts
from bot.text.i18n import language

log = logging.getLogger("retouch.safety")

# Flagged on its own, this category does not refuse an edit in an age-restricted channel.
AGE_RESTRICTED_ALLOWS = frozenset({"sexual"})
# Reason codes in the audit log and the bot log.
FLAGGED = "safety_flagged"
UNAVAILABLE = "safety_unavailable"
PAUSED = "paused"


class Alert(Protocol):
    async def __call__(self, guild_id: int, text: str) -> None:
        """Post `text` to the server's audit log channel (best effort, never raises)."""
        ...


def refused_categories(verdict: ModerationVerdict, *, age_restricted: bool) -> tuple[str, ...]:
    """The categories that refuse this request (empty: it may go on)."""
    categories = verdict.categories
    if verdict.flagged and not categories:
        categories = ("unspecified",)  # flagged, naming nothing we know: still flagged
    if age_restricted:
        categories = tuple(c for c in categories if c not in AGE_RESTRICTED_ALLOWS)
    return categories


def flagged_where(verdict: ModerationVerdict, categories: tuple[str, ...], *, images: int) -> str:
    """"prompt", "image", "prompt and image": what the member should change."""
    kinds = {k for name, found in verdict.applied if name in categories for k in found}
    if not images or kinds == {"text"}:
        return "prompt"
    if kinds == {"image"}:
        return "image" if images == 1 else "images"
    return "prompt and images" if images > 1 else "prompt and image"


class SafetyCheck:
    """The edit service's screen (run alongside the preflight) and strike keeper."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: StrikeStore,
        client: ModerationClient,
        alert: Alert | None = None,
        copy: Callable[[bytes], bytes] = check_copy,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.alert = alert
        self._copy = copy

    def level_for(self, server_level: str | None, requester: Requester) -> str:
        if requester.guild_id is None or server_level is None:
            return self.settings.safety_check
        return server_level

    # -- the screen ---------------------------------------------------------------------

    async def screen(self, order: EditOrder, options: EditOptions) -> None:
        """Raise UserFacingError to refuse the edit; return to let it go on."""
        requester = order.requester
        standing = await self.store.standing(requester.guild_id, requester.user_id)
        if standing.paused_until is not None:
            raise UserFacingError(lambda: texts.paused(standing.paused_until, in_server=requester.guild_id is not None), reason_code=PAUSED)
        level = self.level_for(standing.level, requester)
        if level == "off":
            return
        images: list[tuple[bytes, str]] = []
        if level == "images":
            datas = await asyncio.gather(*(source.read() for source in order.images))
            # One worker-thread hop for all of them: decoding is CPU work.
            copies = await asyncio.to_thread(lambda: [self._copy(d) for d in datas])
            images = [(c, CONTENT_TYPE) for c in copies]
        try:
            verdict = await self.client.check(options.prompt, images)
        except ModerationUnavailable as exc:
            if self.settings.safety_fail_open:
                log.warning("safety check skipped (SAFETY_FAIL_OPEN=true) for member %s: %s", requester.user_id, exc)
                return
            log.warning("safety check unavailable, edit refused (member %s): %s", requester.user_id, exc)
            raise UserFacingError(lambda: texts.UNAVAILABLE, reason_code=UNAVAILABLE) from None
        categories = refused_categories(verdict, age_restricted=requester.age_restricted)
        if not categories:
            if verdict.flagged:
                log.info("member %s: %s allowed in an age-restricted channel", requester.user_id, ", ".join(verdict.categories))
            return
        where = flagged_where(verdict, categories, images=len(images))
        log.info("safety check flagged the %s of member %s in server %s: %s", where, requester.user_id, requester.guild_id, ", ".join(categories))
        result = await self._strike(requester, source="moderation", categories=categories)
        strikes, until = (result.strikes, result.paused_until) if result is not None else (1, None)
        raise UserFacingError(
            lambda: texts.flagged(
                categories, where, strikes=strikes, most=self.settings.safety_strikes,
                pause_hours=self.settings.safety_pause_hours, paused_until=until,
                in_server=requester.guild_id is not None,
            ),
            reason_code=FLAGGED,
        )

    # -- strikes --------------------------------------------------------------------------

    async def provider_rejected(self, requester: Requester) -> str:
        """A provider safety rejection is a strike: what to add to the member's message."""
        result = await self._strike(requester, source="provider", categories=())
        if result is None:
            return ""
        return texts.provider_strike(
            strikes=result.strikes, most=self.settings.safety_strikes, pause_hours=self.settings.safety_pause_hours,
            paused_until=result.paused_until, in_server=requester.guild_id is not None,
        )

    async def _strike(self, requester: Requester, *, source: str, categories: tuple[str, ...]):  # type: ignore[no-untyped-def]
        try:
            result = await self.store.strike(
                requester.guild_id, requester.user_id, source=source, categories=categories,
                strikes=self.settings.safety_strikes, pause_hours=self.settings.safety_pause_hours,
            )
        except Exception:
            # The refusal matters more than its bookkeeping: the member is still refused.
            log.exception("could not record a safety strike for member %s in server %s", requester.user_id, requester.guild_id)
            return None
        if result.paused_until is not None:
            log.warning(
                "member %s in server %s paused until %s after %d safety strikes",
                requester.user_id, requester.guild_id, result.paused_until.isoformat(), self.settings.safety_strikes,
            )
            if self.alert is not None and requester.guild_id is not None:
                with language(requester.guild_locale):  # the audit channel: the server's language
                    text = texts.pause_alert(
                        requester.user_id, strikes=self.settings.safety_strikes, until=result.paused_until,
                        categories=categories, source=source,
                    )
                await self.alert(requester.guild_id, text)
        return result

