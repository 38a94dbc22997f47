"""A local fake of the Discord REST API and gateway that the real discord.py talks to.

It implements what Retouch uses, and enforces the rules that make tests honest:

* an interaction not acknowledged within 3 s fails with 10062 Unknown interaction;
* a second acknowledgement fails with 40060 (also a modal after a defer: a modal can only
  be the first response);
* the first follow-up after a defer becomes the deferred message and takes the
  defer's visibility (ephemeral or public), whatever flags it carries;
* an upload over the interaction's `attachment_size_limit` (10 MiB by default) fails
  with 413 / 40005;
* interaction webhooks older than 15 minutes are rejected with 50027;
* a route can be made to answer 429 with `retry_after`;
* callback types must fit the interaction (6/7 only for components and modal submits from
  a component, 8 only for autocomplete, no modal from a modal submit), and modals and
  message components must be valid (tests/fakes/discord_components.py), else 400 / 50035;
* a member can only click/select a component the message carries now, not a disabled one,
  and not on an ephemeral message someone else saw; a modal cannot be submitted with a
  required field empty or the wrong number of files.

Usage (see tests/conftest.py for the fixtures)::

    async with FakeDiscord() as discord_fake:
        discord_fake.patch_discord()            # point discord.py at it
        ... start the bot with any token ...
        await discord_fake.wait_ready()
        rec = await discord_fake.invoke("edit", by=member, prompt="a hat",
                                        image=FakeAttachment.png(b"...", "cat.png"))
        reply = await rec.wait_reply()
        assert reply.ephemeral is False and reply.files[0].filename == "edit-1.png"

Commands are invoked by name ("quota set" for a subcommand) with Python values; the
fake types them from the command schema the bot synced, exactly as Discord would.

Message commands, components and modals::

    # a member posts a message (served by the fake CDN); or a forward / an embed image
    photo = fake.post_message(alice, "my cat", attachments=[FakeAttachment.image(png, "cat.png")])
    fwd = fake.post_message(bob, forwarded_from=photo)          # message_snapshots, FORWARD ref
    linked = fake.post_message(bob, embeds=[{"image": FakeAttachment.image(png, "x.png")}])

    rec = await fake.invoke_message_command("Edit image", by=alice, message=photo)
    modal = await rec.wait_modal()              # the modal dict, component ids filled in
    sub = await fake.submit_modal(rec, values={"prompt": "a hat", "model": ["gpt-image-2"]},
                                  files={"mask": [FakeAttachment.image(mask_png, "mask.png")]})
    reply = await sub.wait_reply()

    click = await fake.click(reply, "retouch:reroll:12", by=alice)   # a button
    await fake.select(reply, "size", ["1024x1024"], by=alice)         # a string select
    updated = await click.wait_update()   # type 7, or type 6 + PATCH @original: the clicked message
    new = await click.wait_reply()        # type 4, or type 5 "thinking" → a NEW message

Channel options: `fake.text_channel("mod-log")` makes a FakeChannel to pass as an option
value; `fake.refuse_posts(channel)` makes the bot's posts there fail (403 50013 by default,
or e.g. 404 10003 for a deleted channel).

Every message that exists is in `fake.messages` (by id); members' posts also in
`fake.posted`, the bot's REST posts in `fake.channel_messages`. An InteractionRecord's
`message` is the clicked message, `original` what `@original` means (the clicked message
after a type 6/7 answer), `modal` the modal shown, `submits` its submissions.
"""

from __future__ import annotations

import asyncio
import re
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable

import aiohttp
from aiohttp import web

from tests.fakes import discord_components as ui_rules

EPHEMERAL = 1 << 6
ACK_DEADLINE = 3.0
TOKEN_LIFETIME = 15 * 60.0
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
HAS_SNAPSHOT = 1 << 14
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
ATTACH_FILES = 1 << 15
VIEW_CHANNEL = 1 << 10
EMBED_LINKS = 1 << 14
MEMBER_DEFAULT_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | ATTACH_FILES | EMBED_LINKS | (1 << 31)  # + use app commands

_ids = itertools.count(1)
DISCORD_EPOCH_MS = 1_420_070_400_000


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py decodes JSON only when Content-Type is exactly application/json (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers, content_type="application/json")


# Discord's rules for what a command sync may name and say (and their localizations).
_SLASH_NAME = re.compile(r"^[-_\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
_DISCORD_LOCALES = {
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl", "pt-BR", "ro",
    "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
}


def _naming_problems(item: dict[str, Any], *, slash: bool, where: str = "") -> list[str]:
    """What Discord refuses in one command, option or choice, with its localizations."""
    here = f"{where}/{item.get('name')}"
    problems: list[str] = []

    def name_ok(name: object) -> bool:
        if not isinstance(name, str):
            return False
        if not slash:
            return 1 <= len(name) <= 32
        return bool(_SLASH_NAME.match(name)) and name == name.lower()

    def text_ok(text: object) -> bool:
        return isinstance(text, str) and 1 <= len(text) <= 100

    if not name_ok(item.get("name")):
        problems.append(f"{here}: invalid name")
    for key, ok in (("name_localizations", name_ok), ("description_localizations", text_ok)):
        for locale, value in (item.get(key) or {}).items():
            if locale not in _DISCORD_LOCALES:
                problems.append(f"{here}: {key} has an unknown locale {locale!r}")
            elif not ok(value):
                problems.append(f"{here}: {key}[{locale}] {value!r} is invalid")
    if slash and "description" in item and not text_ok(item["description"]):
        problems.append(f"{here}: description must be 1-100 characters")
    for option in item.get("options") or []:
        problems += _naming_problems(option, slash=True, where=here)
    for choice in item.get("choices") or []:
        if not text_ok(choice.get("name")):
            problems.append(f"{here}: choice {choice.get('name')!r} must be 1-100 characters")
        for locale, value in (choice.get("name_localizations") or {}).items():
            if locale not in _DISCORD_LOCALES or not text_ok(value):
                problems.append(f"{here}: choice localization [{locale}] {value!r} is invalid")
    return problems


def _snowflake_on_shard(shard_id: int, shard_count: int) -> int:
    """A fresh snowflake whose guild would live on `shard_id` of `shard_count`."""
    while True:
        candidate = snowflake()
        if (candidate >> 22) % shard_count == shard_id:
            return candidate


def snowflake() -> int:
    """A real-shaped ID: discord.py reads creation times (e.g. interaction age) from it."""
    return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_ids) & 0x3FFFFF)


@dataclass
class FakeUser:
    id: int
    name: str
    roles: list[int] = field(default_factory=list)
    permissions: int = MEMBER_DEFAULT_PERMISSIONS
    bot: bool = False
    left_server: bool = False  # resolved as a user only, without member data
    locale: str = "en-US"  # the member's Discord client language: every interaction's `locale`

    def user_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name.title(),
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member_payload(self, *, with_user: bool = True) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "communication_disabled_until": None,
            "permissions": str(self.permissions),
        }
        if with_user:
            payload["user"] = self.user_payload()
        return payload


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0

    def payload(self, position: int) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class FakeAttachment:
    filename: str
    data: bytes
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None  # what Discord reports; defaults to len(data)
    delay: float = 0.0  # seconds the CDN takes before serving it (a slow download)
    id: int = field(default_factory=snowflake)
    url: str = ""

    @classmethod
    def image(cls, data: bytes, filename: str = "image.png", content_type: str | None = "image/png") -> "FakeAttachment":
        width = height = None
        try:
            import io

            from PIL import Image

            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
        except Exception:  # not an image: Discord then sends no dimensions
            pass
        return cls(filename=filename, data=data, content_type=content_type, width=width, height=height)

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size if self.size is not None else len(self.data),
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            payload["content_type"] = self.content_type
        if self.width is not None:
            payload["width"], payload["height"] = self.width, self.height
        return payload


@dataclass
class SentFile:
    filename: str
    data: bytes
    content_type: str | None
    # A real attachment id: discord.py keeps an attachment on edit by sending its id back,
    # while new uploads are numbered 0, 1, ... in the same list.
    id: int = field(default_factory=snowflake)


def _timestamp(message_id: int) -> str:
    """ISO time a snowflake was made: what Discord puts in `timestamp`."""
    ms = (message_id >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@dataclass
class SentMessage:
    """A message as Discord would now show it (content, embeds, files, visibility).

    Messages from the bot carry `files` (what it uploaded); messages a test posts as a
    member carry `uploads` (FakeAttachments already on the fake CDN) and an `author`.
    """

    id: int
    channel_id: int
    content: str | None = None
    embeds: list[dict[str, Any]] = field(default_factory=list)
    files: list[SentFile] = field(default_factory=list)
    flags: int = 0
    components: list[dict[str, Any]] = field(default_factory=list)
    edits: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    author: FakeUser | None = None  # None: the app itself
    type: int = 20  # CHAT_INPUT_COMMAND; 0 DEFAULT, 19 REPLY, 23 CONTEXT_MENU_COMMAND
    webhook: bool = True  # sent through an interaction webhook (carries webhook_id)
    uploads: list[FakeAttachment] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # `message_snapshots` of a forward
    reference: dict[str, Any] | None = None  # `message_reference`
    interaction_metadata: dict[str, Any] | None = None
    viewer: FakeUser | None = None  # who sees it when ephemeral: the member who interacted
    deleted: bool = False
    edit_times: list[float] = field(default_factory=list)  # time.monotonic() of each change

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def custom_ids(self) -> list[str]:
        """Custom ids of every component on the message (buttons, selects), in order."""
        return ui_rules.custom_ids(self.components)

    def component(self, custom_id: str) -> dict[str, Any] | None:
        return ui_rules.find(self.components, custom_id)

    @property
    def text(self) -> str:
        """Content plus every embed's visible text, for assertions on what a member reads."""
        parts = [self.content or ""]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for f in embed.get("fields", []):
                parts += [f.get("name", ""), f.get("value", "")]
            parts.append((embed.get("footer") or {}).get("text", ""))
            parts.append((embed.get("author") or {}).get("name", ""))
        return "\n".join(p for p in parts if p)

    def attachment_payloads(self, base: str) -> list[dict[str, Any]]:
        return [
            {
                "id": str(f.id),
                "filename": f.filename,
                "size": len(f.data),
                "url": f"{base}/attachments/{self.channel_id}/{f.id}/{f.filename}",
                "proxy_url": f"{base}/attachments/{self.channel_id}/{f.id}/{f.filename}",
                "content_type": f.content_type,
            }
            for f in self.files
        ] + [a.payload() for a in self.uploads]

    def payload(self, app_id: int, bot_user: FakeUser, base: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": self.type,
            "content": self.content or "",
            "author": (self.author or bot_user).user_payload(),
            "attachments": self.attachment_payloads(base),
            "embeds": self.embeds,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _timestamp(self.id),
            "edited_timestamp": _timestamp(snowflake()) if self.edits else None,
            "flags": self.flags,
            "components": self.components,
        }
        if self.author is None:
            payload["application_id"] = str(app_id)
            if self.webhook:
                payload["webhook_id"] = str(app_id)
        if self.snapshots:
            payload["message_snapshots"] = self.snapshots
        if self.reference is not None:
            payload["message_reference"] = self.reference
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        return payload

    def snapshot(self, base: str) -> dict[str, Any]:
        """The frozen copy a forward carries: Discord's minimal subset, without `author`."""
        return {
            "message": {
                "type": self.type if self.type in (0, 19, 20, 23) else 0,
                "content": self.content or "",
                "embeds": json.loads(json.dumps(self.embeds)),
                "attachments": self.attachment_payloads(base),
                "timestamp": _timestamp(self.id),
                "edited_timestamp": None,
                "flags": self.flags & ~EPHEMERAL,
                "mentions": [],
                "mention_roles": [],
                "sticker_items": [],
                "components": json.loads(json.dumps(self.components)),
            }
        }


@dataclass
class InteractionRecord:
    """One interaction from the member's point of view."""

    id: int
    token: str
    name: str
    user: FakeUser
    guild_id: int | None
    channel_id: int
    created: float
    payload: dict[str, Any]
    ack_type: int | None = None
    ack_at: float | None = None
    deferred_ephemeral: bool = False
    original: SentMessage | None = None
    followups: list[SentMessage] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    autocomplete_choices: list[dict[str, Any]] | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    # Component clicks (and modal submits from a modal a click opened): the message the
    # member clicked on. After a type 6/7 response `original` IS this message.
    message: SentMessage | None = None
    target: SentMessage | None = None  # a message command's target
    modal: dict[str, Any] | None = None  # the modal shown (callback type 9), ids filled in
    parent: InteractionRecord | None = None  # a modal submit's opener
    submits: list[InteractionRecord] = field(default_factory=list)  # submits of `modal`
    updates: int = 0  # edits this interaction made to the clicked message (type 7, PATCH after 6)

    @property
    def kind(self) -> int:
        """Interaction type: 2 command, 3 component, 4 autocomplete, 5 modal submit."""
        return int(self.payload["type"])

    @property
    def messages(self) -> list[SentMessage]:
        return [m for m in ([self.original] if self.original else []) + list(self.followups) if not m.deleted]

    @property
    def pending(self) -> bool:
        """Deferred and still showing "Retouch is thinking…"."""
        return self.ack_type == 5 and self.original is not None and self.original.edits == 0

    async def wait_for(self, predicate: Callable[["InteractionRecord"], bool], timeout: float = 10.0) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: predicate(self)), timeout)

    async def wait_ack(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda r: r.ack_type is not None or bool(r.violations), timeout)

    async def wait_reply(self, timeout: float = 15.0) -> SentMessage:
        """The first real answer the member sees (not the "thinking…" placeholder)."""
        await self.wait_for(lambda r: (r.ack_type is not None and not r.pending) or bool(r.violations), timeout)
        if self.violations and not self.messages:
            raise AssertionError(f"interaction failed: {self.violations}")
        return self.messages[0]

    def _final(self) -> SentMessage | None:
        if self.ack_type == 4 and self.original is not None:
            return self.original
        # A progress update ("editing…", a preview image) has text and no embed.
        if self.original is not None and (self.original.embeds or (self.original.files and not self.original.content)):
            return self.original
        private = [m for m in self.followups if m.ephemeral]
        if private:
            return private[-1]
        if self.original is not None and self.original.ephemeral and self.original.edits and self.original.content:
            return self.original
        return None

    async def wait_result(self, timeout: float = 20.0) -> SentMessage:
        """The outcome a member ends up with: a message with images/an embed, or a private reply.

        Progress edits of a deferred message ("in the queue", "editing…") do not count.
        """
        await self.wait_for(lambda r: r._final() is not None or bool(r.violations), timeout)
        final = self._final()
        if final is None:
            raise AssertionError(f"interaction failed: {self.violations}")
        return final

    async def wait_messages(self, count: int, timeout: float = 15.0) -> list[SentMessage]:
        await self.wait_for(lambda r: not r.pending and len(r.messages) >= count, timeout)
        return self.messages

    async def wait_modal(self, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the member now sees (callback type 9); fails if the bot answered otherwise."""
        await self.wait_ack(timeout)
        if self.modal is None:
            raise AssertionError(f"no modal shown: ack type {self.ack_type}, violations {self.violations}")
        return self.modal

    async def wait_update(self, timeout: float = 10.0) -> SentMessage:
        """The clicked message after this interaction changed it (type 7, or PATCH @original after 6)."""
        await self.wait_for(lambda r: r.updates > 0 or bool(r.violations), timeout)
        if self.message is None or not self.updates:
            raise AssertionError(f"the clicked message was not updated: {self.violations}")
        return self.message


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0  # GUILD_TEXT
    nsfw: bool = False  # age-restricted

    def payload(self, position: int = 0) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": position,
            "permission_overwrites": [],
            "nsfw": self.nsfw,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    channel_id: int
    roles: list[FakeRole] = field(default_factory=list)
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    locale: str = "en-US"  # the server's preferred language: every interaction's `guild_locale`
    bot_can_post: bool = True
    channels: list[FakeChannel] = field(default_factory=list)  # besides #general (channel_id)


class FakeDiscord:
    def __init__(self, *, heartbeat_interval_ms: int = 1000, shard_count: int = 1, guild_shard: int = 0) -> None:
        self.app_id = snowflake()
        # What `gateway/bot` recommends; each shard is one websocket, identified by
        # [shard_id, shard_count], and a guild belongs to shard (guild_id >> 22) % count.
        self.shard_count = shard_count
        self.shards: dict[int, web.WebSocketResponse] = {}
        self.identifies: list[list[int]] = []
        self.bot_user = FakeUser(self.app_id, "Retouch", bot=True)
        self.owner = FakeUser(snowflake(), "owner", permissions=ADMINISTRATOR | MEMBER_DEFAULT_PERMISSIONS)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.valid_tokens: set[str] | None = None  # None accepts any token
        # Every server the bot is in (the test server first, others from add_guild) and the
        # server of each of their channels: an interaction, a click or a reply belongs to the
        # server of its channel.
        self.guilds: dict[int, Guild] = {}
        self._channel_guild: dict[int, Guild] = {}
        self.guild = self.add_guild("Test Server", shard=guild_shard)
        self.dm_channel_id = snowflake()
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.sync_calls: list[tuple[str, int | None]] = []
        self.interactions: dict[int, InteractionRecord] = {}
        self.channel_messages: list[SentMessage] = []  # posted by the bot through the REST API
        self.posted: list[SentMessage] = []  # posted by members (post_message)
        self.messages: dict[int, SentMessage] = {}  # every message that exists, by id
        self.attachments: dict[str, FakeAttachment] = {}
        self.requests: list[tuple[str, str]] = []
        self.rate_limits: dict[str, list[float]] = {}
        self.failures: list[tuple[str, str, int, int]] = []  # (method, path fragment, status, code)
        self.post_refusals: dict[int, tuple[int, int]] = {}  # channel id -> (status, code) for the bot's posts
        self.heartbeats: list[float] = []
        # Members the server knows (every member() made), and the bot's gateway requests
        # for some of them by id (op 8 REQUEST_GUILD_MEMBERS, answered by one chunk).
        self.known_members: dict[int, FakeUser] = {}
        self.member_requests: list[dict[str, Any]] = []
        self.identified = asyncio.Event()
        self.ready_sent = asyncio.Event()
        self.clock_offset = 0.0
        # Seconds an interaction takes to reach the bot after Discord created it (a slow
        # link, a bot whose event loop is busy): its 3 s still count from the creation.
        self.interaction_delivery_delay = 0.0
        self._pending_events: list[tuple[str, dict[str, Any]]] = []
        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self._ws_tasks: set[asyncio.Task] = set()
        self.port = 0

    # ----- lifecycle -------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> "FakeDiscord":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/gateway", self._gateway)
        app.router.add_get("/attachments/{channel}/{id}/{filename}", self._cdn)
        app.router.add_get("/ephemeral-attachments/{channel}/{id}/{filename}", self._cdn)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in {self._ws, *self.shards.values()} - {None}:
            if not ws.closed:
                await ws.close()
        for task in list(self._ws_tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeDiscord":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def patch_discord(self) -> Callable[[], None]:
        """Point this process's discord.py at the fake; returns an undo function."""
        import discord.gateway
        import discord.http
        import yarl

        old = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

        def undo() -> None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old

        return undo

    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move Discord's clock forward (e.g. past an interaction token's 15 minutes)."""
        self.clock_offset += seconds

    async def wait_ready(self, timeout: float = 15.0) -> None:
        await asyncio.wait_for(self.ready_sent.wait(), timeout)

    # ----- world building --------------------------------------------------------------
    def member(
        self, name: str = "member", *, roles: list[FakeRole] | None = None, permissions: int | None = None, locale: str = "en-US"
    ) -> FakeUser:
        role_ids = [r.id for r in roles or []]
        perms = MEMBER_DEFAULT_PERMISSIONS if permissions is None else permissions
        for role in roles or []:
            perms |= role.permissions
        user = FakeUser(snowflake(), name, roles=role_ids, permissions=perms, locale=locale)
        self.known_members[user.id] = user
        return user

    def moderator(self, name: str = "moderator", *, locale: str = "en-US") -> FakeUser:
        return self.member(name, permissions=MEMBER_DEFAULT_PERMISSIONS | MANAGE_GUILD, locale=locale)

    def role(self, name: str, permissions: int = 0, *, announce: bool = True) -> FakeRole:
        """A new server role; a connected bot hears GUILD_ROLE_CREATE before the next event
        (unless `announce` is False: a role the bot's cache missed, e.g. during a reconnect)."""
        role = FakeRole(snowflake(), name, permissions)
        self.guild.roles.append(role)
        if self.ready_sent.is_set() and announce:
            self._pending_events.append(
                ("GUILD_ROLE_CREATE", {"guild_id": str(self.guild.id), "role": role.payload(len(self.guild.roles) - 1)})
            )
        return role

    def text_channel(self, name: str, *, nsfw: bool = False) -> FakeChannel:
        """A new text channel in the server (announced to a connected bot like a role);
        `nsfw`: age-restricted."""
        channel = FakeChannel(snowflake(), name, nsfw=nsfw)
        self.guild.channels.append(channel)
        self._channel_guild[channel.id] = self.guild
        if self.ready_sent.is_set():
            self._pending_events.append(("CHANNEL_CREATE", {**channel.payload(len(self.guild.channels)), "guild_id": str(self.guild.id)}))
        return channel

    def refuse_posts(self, channel: FakeChannel | int, status: int = 403, code: int = 50013) -> None:
        """The bot's posts in `channel` fail (403 50013 Missing Permissions; 404 10003 Unknown Channel)."""
        self.post_refusals[channel.id if isinstance(channel, FakeChannel) else channel] = (status, code)

    def rate_limit(self, path_fragment: str, times: int = 1, retry_after: float = 0.2) -> None:
        """The next `times` requests whose path contains `path_fragment` answer 429."""
        self.rate_limits.setdefault(path_fragment, []).extend([retry_after] * times)

    # ----- gateway ---------------------------------------------------------------------
    async def _send(self, ws: web.WebSocketResponse, op: int, d: Any, t: str | None = None) -> None:
        payload: dict[str, Any] = {"op": op, "d": d, "s": None, "t": t}
        if op == 0:
            self._seq += 1
            payload["s"] = self._seq
        await ws.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await self._send(ws, 10, {"heartbeat_interval": self.heartbeat_interval_ms})
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            op = data.get("op")
            if op == 1:
                self.heartbeats.append(time.monotonic())
                await self._send(ws, 11, None)
            elif op == 2:
                token = data["d"]["token"]
                if self.valid_tokens is not None and token not in self.valid_tokens:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                shard_id, count = data["d"].get("shard") or [0, 1]
                if count != self.shard_count or not 0 <= shard_id < count:
                    await ws.close(code=4010, message=b"Invalid shard.")
                    break
                self.identifies.append([shard_id, count])
                self.shards[shard_id] = ws
                if shard_id == self.guild_shard():
                    self._ws = ws
                    self.identified.set()
                await self._send_ready(ws, shard_id)
            elif op == 6:
                session = str(data["d"].get("session_id", "fake-session-0"))
                shard_id = int(session.rsplit("-", 1)[1]) if session.rsplit("-", 1)[-1].isdigit() else 0
                self.shards[shard_id] = ws
                if shard_id == self.guild_shard():
                    self._ws = ws
                await self._send(ws, 0, {}, "RESUMED")
            elif op == 8:
                await self._member_chunk(ws, data["d"])
        return ws

    async def _member_chunk(self, ws: web.WebSocketResponse, request: dict[str, Any]) -> None:
        """Op 8 by user ids (no members intent needed, as on Discord): one GUILD_MEMBERS_CHUNK
        with the members still in the server; the others listed as not found."""
        self.member_requests.append(request)
        ids = [int(i) for i in request.get("user_ids") or []]
        found = [self.known_members[i] for i in ids if i in self.known_members and not self.known_members[i].left_server]
        await self._send(ws, 0, {
            "guild_id": str(request["guild_id"]),
            "members": [m.member_payload() for m in found],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(i) for i in ids if i not in {m.id for m in found}],
            "nonce": request.get("nonce"),
        }, "GUILD_MEMBERS_CHUNK")

    def add_guild(self, name: str, *, shard: int = 0) -> Guild:
        """Another server the bot is in, carried by `shard` (before the bot connects: it
        arrives with that shard's READY). Its members use it through `invoke(guild=...)`;
        clicks and replies follow their message's channel."""
        guild = Guild(id=_snowflake_on_shard(shard, self.shard_count), name=name, owner_id=self.owner.id, channel_id=snowflake())
        guild.roles.append(FakeRole(guild.id, "@everyone", MEMBER_DEFAULT_PERMISSIONS))
        self.guilds[guild.id] = guild
        self._channel_guild[guild.channel_id] = guild
        return guild

    def guild_of(self, channel_id: int) -> Guild:
        """The server a channel belongs to (the test server for one the fake does not know)."""
        return self._channel_guild.get(channel_id, self.guild)

    def guild_shard(self, guild_id: int | None = None) -> int:
        """The shard that carries a guild's events; direct messages go to shard 0."""
        guild_id = self.guild.id if guild_id is None else guild_id
        return 0 if not guild_id else (guild_id >> 22) % self.shard_count

    async def _send_ready(self, ws: web.WebSocketResponse, shard_id: int = 0) -> None:
        mine = shard_id == self.guild_shard()
        carried = [g for g in self.guilds.values() if self.guild_shard(g.id) == shard_id]
        await self._send(
            ws,
            0,
            {
                "v": 10,
                "user": {**self.bot_user.user_payload(), "verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in carried],
                "session_id": f"fake-session-{shard_id}",
                "shard": [shard_id, self.shard_count],
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(self.app_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
            },
            "READY",
        )
        for guild in carried:
            await self._send(ws, 0, self._guild_payload(guild), "GUILD_CREATE")
        if mine:
            self.ready_sent.set()

    def _guild_payload(self, guild: Guild | None = None) -> dict[str, Any]:
        g = guild or self.guild
        return {
            "id": str(g.id),
            "name": g.name,
            "icon": None,
            "owner_id": str(g.owner_id),
            "roles": [r.payload(i) for i, r in enumerate(g.roles)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": 3,
            "large": False,
            "unavailable": False,
            "premium_tier": 0,
            "preferred_locale": g.locale,
            "members": [{**self.bot_user_member(), "user": self.bot_user.user_payload()}],
            "channels": [
                {
                    "id": str(g.channel_id),
                    "type": 0,
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                    "topic": None,
                    "last_message_id": None,
                    "rate_limit_per_user": 0,
                }
            ]
            + [c.payload(i + 1) for i, c in enumerate(g.channels)],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "system_channel_id": None,
            "afk_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
        }

    def bot_user_member(self) -> dict[str, Any]:
        return {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0}

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event on the shard that carries it (its guild's, or shard 0 for DMs)."""
        guild_id = int(data.get("guild_id") or 0) if isinstance(data, dict) else 0
        ws = self.shards.get(self.guild_shard(guild_id)) if guild_id or self.shard_count > 1 else self._ws
        if ws is None or ws.closed:
            raise AssertionError(f"the bot is not connected to the fake gateway (shard {self.guild_shard(guild_id)})")
        while self._pending_events:
            pending_event, pending_data = self._pending_events.pop(0)
            await self._send(ws, 0, pending_data, pending_event)
        await self._send(ws, 0, data, event)

    async def disconnect_gateway(self) -> None:
        if self._ws is not None:
            await self._ws.close(code=4000, message=b"test disconnect")

    # ----- interactions ----------------------------------------------------------------
    def _find_command(self, name: str) -> tuple[dict[str, Any], list[str]]:
        parts = name.split()
        pool = self.guild_commands.get(self.guild.id, []) + self.global_commands
        for cmd in pool:
            if cmd["name"] == parts[0] and cmd.get("type", 1) == 1:
                return cmd, parts[1:]
        raise AssertionError(f"command /{parts[0]} was never synced; synced: {[c['name'] for c in pool]}")

    def _typed_options(
        self, schema: list[dict[str, Any]], values: dict[str, Any], resolved: dict[str, Any], focused: str | None, user: FakeUser | None = None
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in schema}
        options = []
        for key, value in values.items():
            if key not in by_name:
                raise AssertionError(f"option {key!r} is not in the synced schema {sorted(by_name)}")
            opt_type = by_name[key]["type"]
            option: dict[str, Any] = {"name": key, "type": opt_type}
            if opt_type == 6:  # USER
                assert isinstance(value, FakeUser)
                resolved.setdefault("users", {})[str(value.id)] = value.user_payload()
                if not value.left_server:
                    resolved.setdefault("members", {})[str(value.id)] = value.member_payload(with_user=False)
                option["value"] = str(value.id)
            elif opt_type == 8:  # ROLE
                assert isinstance(value, FakeRole)
                resolved.setdefault("roles", {})[str(value.id)] = value.payload(1)
                option["value"] = str(value.id)
            elif opt_type == 7:  # CHANNEL: resolved with the invoking member's permissions there
                assert isinstance(value, FakeChannel)
                resolved.setdefault("channels", {})[str(value.id)] = {
                    "id": str(value.id),
                    "type": value.type,
                    "name": value.name,
                    "permissions": str(user.permissions if user is not None else MEMBER_DEFAULT_PERMISSIONS),
                    "parent_id": None,
                    "nsfw": False,
                    "position": 0,
                }
                option["value"] = str(value.id)
            elif opt_type == 11:  # ATTACHMENT
                assert isinstance(value, FakeAttachment)
                self._host(value, self.guild.channel_id)
                resolved.setdefault("attachments", {})[str(value.id)] = value.payload()
                option["value"] = str(value.id)
            else:
                option["value"] = value
            if key == focused:
                option["focused"] = True
            options.append(option)
        return options

    def _host(self, attachment: FakeAttachment, channel_id: int, *, ephemeral: bool = False) -> FakeAttachment:
        """Put a member's file on the fake CDN (modal uploads live under ephemeral-attachments)."""
        folder = "ephemeral-attachments" if ephemeral else "attachments"
        attachment.url = f"{self.base}/{folder}/{channel_id}/{attachment.id}/{attachment.filename}"
        self.attachments[str(attachment.id)] = attachment
        return attachment

    def _new_record(
        self,
        *,
        kind: int,
        data: dict[str, Any],
        user: FakeUser,
        name: str,
        dm: bool = False,
        message: SentMessage | None = None,
        channel: FakeChannel | None = None,
        guild: Guild | None = None,
    ) -> InteractionRecord:
        """The INTERACTION_CREATE payload every interaction type shares, and its record
        (in #general of `guild` (the test server by default), in `channel`, or in the
        channel of `message`, the one a component is on)."""
        interaction_id = snowflake()
        token = f"tok-{interaction_id}"
        if dm:
            channel_id = self.dm_channel_id
        elif channel is not None:
            channel_id = channel.id
        elif message is not None and message.channel_id in self._channel_guild:
            channel_id = message.channel_id
        else:
            channel_id = (guild or self.guild).channel_id
        server = self.guild_of(channel_id)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": user.locale,
            "app_permissions": str(MEMBER_DEFAULT_PERMISSIONS),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(server.id)} if not dm else {"1": str(user.id)},
            "context": 1 if dm else 0,
            "attachment_size_limit": server.upload_limit,
        }
        if dm:
            payload["user"] = user.user_payload()
            payload["channel"] = {"id": str(channel_id), "type": 1, "recipients": [user.user_payload()]}
            payload["channel_id"] = str(channel_id)
        else:
            payload["guild_id"] = str(server.id)
            payload["guild_locale"] = server.locale
            payload["guild"] = {"id": str(server.id), "locale": server.locale, "features": []}
            payload["channel_id"] = str(channel_id)
            payload["channel"] = {"id": str(channel_id), "type": 0, "name": channel.name if channel else "general", "guild_id": str(server.id),
                                  "permission_overwrites": [], "position": 0, "nsfw": bool(channel and channel.nsfw)}
            payload["member"] = user.member_payload()
        if message is not None:
            # Component and modal-submit interactions carry the message the component is on.
            payload["message"] = self._payload(message)
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            name=name,
            user=user,
            guild_id=None if dm else server.id,
            channel_id=channel_id,
            created=self.now(),
            payload=payload,
            message=message,
        )
        self.interactions[interaction_id] = record
        return record

    def build_interaction(
        self,
        name: str,
        *,
        user: FakeUser,
        options: dict[str, Any],
        kind: int = 2,
        focused: str | None = None,
        dm: bool = False,
        channel: FakeChannel | None = None,
        guild: Guild | None = None,
    ) -> InteractionRecord:
        cmd, path = self._find_command(name)
        schema = cmd.get("options", [])
        resolved: dict[str, Any] = {}
        nested: list[dict[str, Any]]
        wrap: list[dict[str, Any]] = []
        for part in path:  # subcommand groups / subcommands
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise AssertionError(f"/{name}: no subcommand {part!r}")
            wrap.append({"name": part, "type": sub["type"], "options": []})
            schema = sub.get("options", [])
        nested = self._typed_options(schema, options, resolved, focused, user)
        if wrap:
            for outer, inner in zip(wrap, wrap[1:]):
                outer["options"] = [inner]
            wrap[-1]["options"] = nested
            nested = [wrap[0]]
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": nested}
        if resolved:
            data["resolved"] = resolved
        return self._new_record(kind=kind, data=data, user=user, name=name, dm=dm, channel=channel, guild=guild)

    async def _send_interaction(self, record: InteractionRecord) -> InteractionRecord:
        asyncio.get_running_loop().call_later(ACK_DEADLINE + 0.05, self._expire_unacked, record)
        if self.interaction_delivery_delay:
            await asyncio.sleep(self.interaction_delivery_delay)
        await self.dispatch("INTERACTION_CREATE", record.payload)
        return record

    async def invoke(
        self, name: str, *, by: FakeUser, dm: bool = False, in_channel: FakeChannel | None = None,
        guild: Guild | None = None, **options: Any
    ) -> InteractionRecord:
        """Member `by` runs `/name options...` (in #general of the test server or of `guild`,
        or in `in_channel`); returns the record to wait on."""
        return await self._send_interaction(
            self.build_interaction(name, user=by, options=options, dm=dm, channel=in_channel, guild=guild)
        )

    async def autocomplete(self, name: str, *, by: FakeUser, focused: str, **options: Any) -> list[dict[str, Any]]:
        record = self.build_interaction(name, user=by, options=options, kind=4, focused=focused)
        await self.dispatch("INTERACTION_CREATE", record.payload)
        await record.wait_for(lambda r: r.autocomplete_choices is not None or bool(r.violations), 5.0)
        return record.autocomplete_choices or []

    def fail_next(self, method: str, fragment: str, status: int = 500, code: int = 0) -> None:
        """The next `method` request whose path contains `fragment` fails with `status`/`code`."""
        self.failures.append((method, fragment, status, code))

    # ----- members' messages -----------------------------------------------------------
    def _payload(self, message: SentMessage) -> dict[str, Any]:
        return message.payload(self.app_id, self.bot_user, self.base)

    def _embed(self, embed: dict[str, Any], channel_id: int) -> dict[str, Any]:
        """An embed as Discord returns it; an `image`/`thumbnail` given as a FakeAttachment is
        put on the fake CDN and becomes {url, proxy_url, width, height, content_type}."""
        out = {"type": "rich", **embed}
        for key in ("image", "thumbnail"):
            media = embed.get(key)
            if isinstance(media, FakeAttachment):
                self._host(media, channel_id)
                out[key] = {"url": media.url, "proxy_url": media.url}
                if media.width is not None:
                    out[key] |= {"width": media.width, "height": media.height}
                if media.content_type:
                    out[key]["content_type"] = media.content_type
        return out

    def post_message(
        self,
        author: FakeUser,
        content: str = "",
        *,
        attachments: list[FakeAttachment] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        forwarded_from: SentMessage | list[FakeAttachment] | None = None,
        channel_id: int | None = None,
    ) -> SentMessage:
        """A message member `author` posts in the server channel, to be the target of a
        message command. `forwarded_from` makes it a forward: no content of its own, a
        `message_reference` of type 1 (FORWARD) and one frozen `message_snapshots` entry
        copied from a known message, or holding the given attachments (a message from
        elsewhere). The bot holds no message intents, so no MESSAGE_CREATE is sent."""
        channel = self.guild.channel_id if channel_id is None else channel_id
        message = SentMessage(snowflake(), channel, content=content, author=author, type=0, webhook=False)
        message.uploads = [self._host(a, channel) for a in attachments or []]
        message.embeds = [self._embed(e, channel) for e in embeds or []]
        if forwarded_from is not None:
            if content or attachments or embeds:
                raise AssertionError("a forward carries only the snapshot; Discord sends a comment as a separate message")
            if isinstance(forwarded_from, SentMessage):
                source = forwarded_from
            else:  # a message in some other channel the bot cannot see
                source = SentMessage(snowflake(), snowflake(), content="", author=author, type=0, webhook=False)
                source.uploads = [self._host(a, source.channel_id) for a in forwarded_from]
            message.snapshots = [source.snapshot(self.base)]
            message.reference = {"type": 1, "message_id": str(source.id), "channel_id": str(source.channel_id), "guild_id": str(self.guild.id)}
            message.flags |= HAS_SNAPSHOT
        self.messages[message.id] = message
        self.posted.append(message)
        return message

    def message(self, message_id: int) -> SentMessage:
        found = self.messages.get(int(message_id))
        if found is None:
            raise AssertionError(f"no message {message_id} (never sent, or deleted)")
        return found

    def _visible_to(self, message: SentMessage, user: FakeUser) -> None:
        if message.deleted or message.id not in self.messages:
            raise AssertionError(f"message {message.id} was deleted: nobody can use it")
        if message.ephemeral and (message.viewer is None or message.viewer.id != user.id):
            raise AssertionError(f"{user.name} cannot see ephemeral message {message.id}: only its viewer can use it")

    # ----- message commands, components, modals ----------------------------------------
    async def invoke_message_command(self, name: str, *, by: FakeUser, message: SentMessage) -> InteractionRecord:
        """Member `by` picks Apps > `name` on `message` (a message command, type 3)."""
        pool = [(c, True) for c in self.guild_commands.get(self.guild.id, [])] + [(c, False) for c in self.global_commands]
        found = next(((c, g) for c, g in pool if c["name"] == name and c.get("type", 1) == 3), None)
        if found is None:
            synced = [c["name"] for c, _ in pool if c.get("type", 1) == 3]
            raise AssertionError(f"no message command {name!r} was synced (type 3); synced message commands: {synced}")
        cmd, in_guild = found
        self._visible_to(message, by)
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": cmd["name"],
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): self._payload(message)}},
        }
        if in_guild:
            data["guild_id"] = str(self.guild.id)
        record = self._new_record(
            kind=2, data=data, user=by, name=name, dm=message.channel_id == self.dm_channel_id, guild=self.guild_of(message.channel_id)
        )
        record.target = message
        return await self._send_interaction(record)

    def _clickable(self, message: SentMessage, custom_id: str, by: FakeUser) -> dict[str, Any]:
        self._visible_to(message, by)
        component = message.component(custom_id)
        if component is None:
            raise AssertionError(f"message {message.id} has no component {custom_id!r}; it has {message.custom_ids}")
        if component.get("disabled"):
            raise AssertionError(f"component {custom_id!r} is disabled: a member cannot use it")
        return component

    async def click(self, message: SentMessage, custom_id: str, *, by: FakeUser) -> InteractionRecord:
        """Member `by` clicks the button `custom_id` on `message` (MESSAGE_COMPONENT, type 3)."""
        component = self._clickable(message, custom_id, by)
        if component.get("type") != ui_rules.BUTTON:
            raise AssertionError(f"{custom_id!r} is a component of type {component.get('type')}, not a button; use select()")
        data = {"custom_id": custom_id, "component_type": ui_rules.BUTTON, "id": component.get("id")}
        return await self._send_interaction(
            self._new_record(kind=3, data=data, user=by, name=custom_id, dm=message.channel_id == self.dm_channel_id, message=message)
        )

    async def select(self, message: SentMessage, custom_id: str, values: list[str], *, by: FakeUser) -> InteractionRecord:
        """Member `by` picks `values` in the string select `custom_id` on `message`."""
        component = self._clickable(message, custom_id, by)
        if component.get("type") != ui_rules.STRING_SELECT:
            raise AssertionError(f"{custom_id!r} is a component of type {component.get('type')}; the fake models string selects (3)")
        chosen = ui_rules.select_values(component, values, in_modal=False)
        data = {"custom_id": custom_id, "component_type": ui_rules.STRING_SELECT, "id": component.get("id"), "values": chosen}
        return await self._send_interaction(
            self._new_record(kind=3, data=data, user=by, name=custom_id, dm=message.channel_id == self.dm_channel_id, message=message)
        )

    async def submit_modal(
        self,
        record: InteractionRecord,
        *,
        values: dict[str, str | list[str]] | None = None,
        files: dict[str, list[FakeAttachment]] | None = None,
        by: FakeUser | None = None,
    ) -> InteractionRecord:
        """The member fills in and submits the modal `record` answered with (MODAL_SUBMIT, type 5).

        `values` maps a text input's custom_id to its text, a select's to its chosen values;
        `files` maps a file upload's custom_id to the files picked. Fields left out keep
        their pre-filled text / default options. Raises AssertionError for what the client
        would not let the member submit (a required field empty, too many files, ...).
        """
        modal = record.modal
        if modal is None:
            raise AssertionError(f"interaction {record.name!r} showed no modal (ack type {record.ack_type})")
        by = by or record.user
        if by.id != record.user.id:
            raise AssertionError(f"only {record.user.name} sees this modal, not {by.name}")
        if any(s.ack_type is not None for s in record.submits):
            raise AssertionError("this modal was already submitted and acknowledged: it is closed")
        values, files = dict(values or {}), dict(files or {})
        known = set(ui_rules.custom_ids(modal["components"]))
        unknown = sorted((set(values) | set(files)) - known)
        if unknown:
            raise AssertionError(f"the modal has no field(s) {unknown}; it has {sorted(known)}")
        channel_id = record.channel_id
        server = self.guild_of(channel_id)
        resolved: dict[str, Any] = {}

        def answer(component: dict[str, Any]) -> dict[str, Any]:
            # In a modal submit each input echoes `type` (not `component_type`), `id`, `custom_id`.
            kind, cid = component["type"], component["custom_id"]
            out = {"type": kind, "id": component["id"], "custom_id": cid}
            if kind != ui_rules.FILE_UPLOAD and cid in files:
                raise AssertionError(f"{cid!r} is not a file upload")
            if kind == ui_rules.TEXT_INPUT:
                out["value"] = ui_rules.text_input_value(component, values.get(cid))
            elif kind == ui_rules.STRING_SELECT:
                out["values"] = ui_rules.select_values(component, values.get(cid), in_modal=True)
            elif kind == ui_rules.FILE_UPLOAD:
                if cid in values:
                    raise AssertionError(f"{cid!r} is a file upload: pass files={{{cid!r}: [...]}}")
                uploads = list(files.get(cid, []))
                ui_rules.upload_count_ok(component, len(uploads))
                for upload in uploads:
                    size = upload.size if upload.size is not None else len(upload.data)
                    if size > server.upload_limit:
                        raise AssertionError(f"{upload.filename} ({size} bytes) is over the member's upload limit")
                    self._host(upload, channel_id, ephemeral=True)
                    # Modal uploads are ephemeral attachments until the bot posts them somewhere.
                    resolved.setdefault("attachments", {})[str(upload.id)] = upload.payload() | {"ephemeral": True}
                out["values"] = [str(u.id) for u in uploads]
            else:
                raise AssertionError(f"the fake does not model submitting component type {kind} yet")
            return out

        submitted: list[dict[str, Any]] = []
        for top in modal["components"]:
            if top["type"] == ui_rules.LABEL:
                submitted.append({"type": ui_rules.LABEL, "id": top["id"], "component": answer(top["component"])})
            elif top["type"] == ui_rules.ACTION_ROW:
                submitted.append({"type": ui_rules.ACTION_ROW, "id": top["id"], "components": [answer(c) for c in top["components"]]})
            else:  # text display: echoed with its type and id only
                submitted.append({"type": top["type"], "id": top["id"]})
        data: dict[str, Any] = {"custom_id": modal["custom_id"], "components": submitted}
        if resolved:
            data["resolved"] = resolved
        submit = self._new_record(
            kind=5, data=data, user=by, name=modal["custom_id"], dm=record.guild_id is None, message=record.message
        )
        submit.parent = record
        record.submits.append(submit)
        return await self._send_interaction(submit)

    def _expire_unacked(self, record: InteractionRecord) -> None:
        if record.ack_type is None:
            record.violations.append("not acknowledged within 3 s: the member sees 'The application did not respond'")

            async def notify() -> None:
                async with record.changed:
                    record.changed.notify_all()

            asyncio.ensure_future(notify())

    # ----- REST ------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return _json({"code": code, "message": message}, status=status)

    async def _read_body(self, request: web.Request) -> tuple[dict[str, Any], list[SentFile]]:
        if request.content_type.startswith("multipart/"):
            payload: dict[str, Any] = {}
            files: list[SentFile] = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files.append(SentFile(part.filename or "", bytes(await part.read()), part.headers.get("Content-Type")))
            return payload, files
        if request.can_read_body:
            text = await request.text()
            return (json.loads(text) if text else {}), []
        return {}, []

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        self.requests.append((request.method, path))
        for fragment, queue in self.rate_limits.items():
            if fragment in path and queue:
                retry_after = queue.pop(0)
                return _json(
                    {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                    status=429,
                    headers={
                        "Retry-After": str(max(1, int(retry_after))),
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset-After": str(retry_after),
                        "X-RateLimit-Bucket": "fake",
                        "X-RateLimit-Scope": "user",
                        "Via": "1.1 google",
                    },
                )
        for failure in self.failures:
            if failure[0] == request.method and failure[1] in path:
                self.failures.remove(failure)
                return self._error(failure[2], failure[3], f"{failure[2]}: failing on purpose (test)")
        parts = path.strip("/").split("/")
        method = request.method
        if path.startswith("/interactions/"):
            return await self._interaction_callback(request, int(parts[1]), parts[2])
        if path.startswith("/webhooks/"):
            return await self._webhook(request, parts[2], parts[3:])
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bot ") or (self.valid_tokens is not None and auth[4:] not in self.valid_tokens):
            return self._error(401, 0, "401: Unauthorized")
        if path == "/users/@me":
            return _json({**self.bot_user.user_payload(), "verified": True, "mfa_enabled": False, "flags": 0})
        if path == "/oauth2/applications/@me":
            return _json(self._application())
        if path in ("/gateway", "/gateway/bot"):
            return _json(
                {"url": self.gateway_url, "shards": self.shard_count, "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 16}}
            )
        if parts[:1] == ["applications"] and parts[2:3] == ["commands"]:
            return await self._commands(request, None)
        if parts[:1] == ["applications"] and parts[2:3] == ["guilds"]:
            return await self._commands(request, int(parts[3]))
        if parts[:1] == ["channels"] and parts[2:3] == ["messages"] and method == "POST":
            return await self._channel_message(request, int(parts[1]))
        if parts[:1] == ["channels"] and parts[2:3] == ["messages"] and len(parts) == 4 and parts[3].isdigit():
            return await self._channel_message_by_id(request, int(parts[1]), int(parts[3]))
        return self._error(404, 0, f"404: Not Found ({method} {path})")

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(self.app_id),
            "name": "Retouch",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner.user_payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
            "rpc_origins": [],
            "interactions_endpoint_url": None,
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        }

    async def _commands(self, request: web.Request, guild_id: int | None) -> web.Response:
        if request.method == "GET":
            return _json(self.global_commands if guild_id is None else self.guild_commands.get(guild_id, []))
        if request.method != "PUT":
            return self._error(405, 0, "405: Method Not Allowed")
        body = await request.json()
        problems = []
        for cmd in body:
            kind = cmd.get("type", 1)
            if kind in (2, 3) and cmd.get("description"):
                problems.append(f"{cmd['name']}: user and message commands take no description")
            if kind in (2, 3) and not 1 <= len(cmd.get("name", "")) <= 32:
                problems.append(f"{cmd.get('name')}: a context menu name is 1-32 characters")
        for cmd in body:
            problems += _naming_problems(cmd, slash=cmd.get("type", 1) == 1)
        names = [(cmd.get("type", 1), cmd.get("name")) for cmd in body]
        problems += [f"{name}: two commands of type {kind} share this name" for kind, name in sorted(set(names)) if names.count((kind, name)) > 1]
        if problems:
            return self._error(400, 50035, f"Invalid Form Body: {'; '.join(problems)}")
        stored = []
        for cmd in body:
            stored.append(
                {
                    **cmd,
                    "type": cmd.get("type", 1),
                    # Discord answers "" (not null, not absent) for a context menu's description.
                    "description": cmd.get("description") or "",
                    "id": str(snowflake()),
                    "application_id": str(self.app_id),
                    "version": str(snowflake()),
                    **({"guild_id": str(guild_id)} if guild_id else {}),
                }
            )
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        self.sync_calls.append(("global" if guild_id is None else "guild", guild_id))
        return _json(stored)

    async def _notify(self, record: InteractionRecord) -> None:
        async with record.changed:
            record.changed.notify_all()

    def _check_upload(self, record: InteractionRecord | None, files: list[SentFile]) -> web.Response | None:
        limit = (self.guild if record is None else self.guild_of(record.channel_id)).upload_limit
        total = sum(len(f.data) for f in files)
        if total > limit:
            if record is not None:
                record.violations.append(f"upload of {total} bytes over the {limit}-byte limit")
            return self._error(413, 40005, "Request entity too large")
        if len(files) > 10:
            return self._error(400, 50035, "Invalid Form Body: too many attachments (max 10)")
        return None

    async def _reject(self, record: InteractionRecord, status: int, code: int, message: str) -> web.Response:
        record.violations.append(message)
        await self._notify(record)
        return self._error(status, code, message)

    def _callback_type_error(self, record: InteractionRecord, kind: int | None) -> str | None:
        """Which callback types an interaction may answer with (receiving-and-responding)."""
        allowed = {
            2: {4, 5, 9},  # application command
            3: {4, 5, 6, 7, 9},  # component
            4: {8},  # autocomplete
            5: {4, 5, 6, 7},  # modal submit: no modal from a modal
        }.get(record.kind, set())
        if kind not in allowed:
            return f"callback type {kind} is not valid for an interaction of type {record.kind}"
        if kind in (6, 7) and record.message is None:
            return f"callback type {kind} needs a message: this modal was not opened from a component"
        return None

    async def _interaction_callback(self, request: web.Request, interaction_id: int, token: str) -> web.Response:
        record = self.interactions.get(interaction_id)
        if record is None or record.token != token:
            return self._error(404, 10062, "Unknown interaction")
        body, files = await self._read_body(request)
        if record.ack_type is not None:
            if body.get("type") == 9:
                record.violations.append("modal after the interaction was already acknowledged: a modal must be the first response")
            else:
                record.violations.append("acknowledged twice")
            await self._notify(record)
            return self._error(400, 40060, "Interaction has already been acknowledged.")
        if self.now() - record.created > ACK_DEADLINE:
            if not any("3 s" in v for v in record.violations):
                record.violations.append("acknowledged after 3 s")
            await self._notify(record)
            return self._error(404, 10062, "Unknown interaction")
        too_big = self._check_upload(record, files)
        if too_big is not None:
            await self._notify(record)
            return too_big
        kind = body.get("type")
        data = body.get("data") or {}
        invalid = self._callback_type_error(record, kind)
        if invalid is not None:
            return await self._reject(record, 400, 50035, f"Invalid Form Body: {invalid}")
        if kind == 9:
            modal = json.loads(json.dumps(data))
            problems = ui_rules.modal_errors(modal)
            if problems:
                return await self._reject(record, 400, 50035, f"Invalid Form Body: {'; '.join(problems)}")
            ui_rules.assign_ids(modal.get("components") or [])
        elif kind in (4, 7) and "components" in data:
            flags = int(data.get("flags") or 0) | (record.message.flags if kind == 7 and record.message else 0)
            problems = ui_rules.message_component_errors(data.get("components") or [], flags)
            if problems:
                return await self._reject(record, 400, 50035, f"Invalid Form Body: {'; '.join(problems)}")
        record.ack_type = kind
        record.ack_at = self.now()
        flags = int(data.get("flags") or 0)
        message_id: int | None = None
        resource: dict[str, Any] = {"type": kind}
        if kind == 8:  # autocomplete result
            record.autocomplete_choices = data.get("choices", [])
        elif kind == 9:  # the member now sees the modal
            record.modal = modal
        elif kind == 5:  # deferred channel message: "thinking…" (a NEW message, also for a click)
            record.deferred_ephemeral = bool(flags & EPHEMERAL)
            record.original = self._record_message(record, SentMessage(snowflake(), record.channel_id, flags=flags & EPHEMERAL))
            message_id = record.original.id
        elif kind == 4:
            record.original = self._record_message(record, self._message_from(body=data, files=files, channel_id=record.channel_id))
            message_id = record.original.id
            resource["message"] = self._payload(record.original)
        elif kind in (6, 7):  # from now on @original IS the clicked message
            assert record.message is not None
            record.original = record.message
            message_id = record.message.id
            flags = record.message.flags
            if kind == 7:  # update the clicked message in place
                self._apply(record.message, data, files)
                record.message.edits += 1
                record.updates += 1
                resource["message"] = self._payload(record.message)
        await self._notify(record)
        return _json(
            {
                "interaction": {
                    "id": str(record.id),
                    "type": record.kind,
                    "activity_instance_id": None,
                    "response_message_id": str(message_id) if message_id else None,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(flags & EPHEMERAL),
                },
                "resource": resource,
            }
        )

    def _metadata(self, record: InteractionRecord) -> dict[str, Any]:
        """`interaction_metadata` of a message an interaction created (who, how, on what)."""
        meta: dict[str, Any] = {
            "id": str(record.id),
            "type": record.kind,
            "user": record.user.user_payload(),
            "authorizing_integration_owners": record.payload["authorizing_integration_owners"],
        }
        data = record.payload["data"]
        if record.kind == 2:
            meta["name"] = record.name
            meta["command_type"] = data.get("type", 1)
            if record.target is not None:
                meta["target_message_id"] = str(record.target.id)
        elif record.kind == 3 and record.message is not None:
            meta["interacted_message_id"] = str(record.message.id)
        elif record.kind == 5 and record.parent is not None:
            meta["triggering_interaction_metadata"] = self._metadata(record.parent)
        return meta

    def _record_message(self, record: InteractionRecord, message: SentMessage, *, followup: bool = False) -> SentMessage:
        """Mark a message as created by `record` (type, reference, metadata, who sees it)."""
        message.viewer = record.user
        message.interaction_metadata = self._metadata(record)
        if followup and record.original is not None:
            message.interaction_metadata["original_response_message_id"] = str(record.original.id)
        if record.kind == 2 and record.target is not None:
            # A message command's answer is a CONTEXT_MENU_COMMAND message pointing at its target.
            message.type = 23
            message.reference = {"type": 0, "message_id": str(record.target.id), "channel_id": str(record.target.channel_id), "guild_id": str(self.guild_of(record.target.channel_id).id)}
        elif record.kind in (3, 5):
            # Answers to components reference the component's message instead (a REPLY);
            # a modal submit from a command answers like a plain message.
            if record.message is not None:
                message.type = 19
                message.reference = {"type": 0, "message_id": str(record.message.id), "channel_id": str(record.message.channel_id), "guild_id": str(self.guild_of(record.message.channel_id).id)}
            else:
                message.type = 0
        self.messages[message.id] = message
        return message

    def _message_from(self, *, body: dict[str, Any], files: list[SentFile], channel_id: int, flags: int | None = None) -> SentMessage:
        message = SentMessage(snowflake(), channel_id)
        self._apply(message, body, files)
        message.flags = int(body.get("flags") or 0) if flags is None else flags
        self.messages[message.id] = message
        return message

    @staticmethod
    def _apply(message: SentMessage, body: dict[str, Any], files: list[SentFile]) -> None:
        if "content" in body:
            message.content = body["content"]
        if "embeds" in body:
            message.embeds = body["embeds"] or []
        if "components" in body:
            message.components = json.loads(json.dumps(body["components"] or []))
            ui_rules.assign_ids(message.components)
        if "attachments" in body:
            # Existing attachments are kept by listing their ids; new uploads are listed by
            # their index in this request (0, 1, ...), which never matches a snowflake.
            kept_ids = {str(a.get("id")) for a in body["attachments"] or []}
            message.files = [f for f in message.files if str(f.id) in kept_ids] + list(files)
            message.uploads = [a for a in message.uploads if str(a.id) in kept_ids]
        elif files:
            message.files = message.files + list(files)
        message.history.append({"content": message.content, "embeds": message.embeds, "files": [f.filename for f in message.files]})
        message.edit_times.append(time.monotonic())

    def _component_problems(self, body: dict[str, Any], message: SentMessage | None) -> list[str]:
        if "components" not in body:
            return []
        flags = int(body.get("flags") or 0) | (message.flags if message is not None else 0)
        return ui_rules.message_component_errors(body.get("components") or [], flags)

    def delete_message(self, message: SentMessage) -> None:
        """Someone else removes `message` (a moderator, or the member dismissing it)."""
        self._delete(message)

    def _delete(self, message: SentMessage) -> None:
        message.deleted = True
        self.messages.pop(message.id, None)

    async def _webhook(self, request: web.Request, token: str, rest: list[str]) -> web.Response:
        record = next((r for r in self.interactions.values() if r.token == token), None)
        if record is None:
            return self._error(404, 10015, "Unknown Webhook")
        if self.now() - record.created > TOKEN_LIFETIME:
            return self._error(401, 50027, "Invalid Webhook Token")
        body, files = await self._read_body(request)
        too_big = self._check_upload(record, files) if request.method in ("POST", "PATCH") else None
        if too_big is not None:
            await self._notify(record)
            return too_big
        if record.ack_type is None:
            return self._error(404, 10015, "Unknown Webhook")
        if not rest and request.method == "POST":  # follow-up
            target = record.original if record.pending else None
            problems = self._component_problems(body, target)
            if problems:
                return await self._reject(record, 400, 50035, f"Invalid Form Body: {'; '.join(problems)}")
            if record.pending and record.original is not None:
                # Discord turns the first follow-up into the deferred message, keeping the defer's visibility.
                self._apply(record.original, body, files)
                record.original.flags = EPHEMERAL if record.deferred_ephemeral else 0
                record.original.edits += 1
                message = record.original
            else:
                message = self._message_from(body=body, files=files, channel_id=record.channel_id)
                self._record_message(record, message, followup=True)
                record.followups.append(message)
            await self._notify(record)
            return _json(self._payload(message))
        if rest[:1] == ["messages"] and len(rest) >= 2:
            target = self._find_message(record, rest[1])
            if target is None:
                return self._error(404, 10008, "Unknown Message")
            if request.method == "GET":
                return _json(self._payload(target))
            if request.method == "PATCH":
                problems = self._component_problems(body, target)
                if problems:
                    return await self._reject(record, 400, 50035, f"Invalid Form Body: {'; '.join(problems)}")
                self._apply(target, body, files)
                target.edits += 1
                if target is record.message:
                    record.updates += 1
                await self._notify(record)
                return _json(self._payload(target))
            if request.method == "DELETE":
                self._delete(target)
                if target is record.original:
                    record.original = None
                elif target in record.followups:
                    record.followups.remove(target)
                await self._notify(record)
                return web.Response(status=204)
        return self._error(405, 0, "405: Method Not Allowed")

    @staticmethod
    def _find_message(record: InteractionRecord, message_id: str) -> SentMessage | None:
        if message_id == "@original":
            found = record.original
        else:
            found = next((m for m in record.messages if str(m.id) == message_id), None)
        return None if found is None or found.deleted else found

    async def _channel_message(self, request: web.Request, channel_id: int) -> web.Response:
        if not self.guild_of(channel_id).bot_can_post:
            return self._error(403, 50013, "Missing Permissions")
        if channel_id in self.post_refusals:
            status, code = self.post_refusals[channel_id]
            return self._error(status, code, {50013: "Missing Permissions", 50001: "Missing Access", 10003: "Unknown Channel"}.get(code, "Refused"))
        body, files = await self._read_body(request)
        too_big = self._check_upload(None, files)
        if too_big is not None:
            return too_big
        problems = self._component_problems(body, None)
        if problems:
            return self._error(400, 50035, f"Invalid Form Body: {'; '.join(problems)}")
        message = self._message_from(body=body, files=files, channel_id=channel_id)
        message.type, message.webhook = 0, False  # a plain bot message, not an interaction's
        message.flags &= ~EPHEMERAL  # only interaction responses can be ephemeral
        self.channel_messages.append(message)
        return _json(self._payload(message))

    async def _channel_message_by_id(self, request: web.Request, channel_id: int, message_id: int) -> web.Response:
        """GET / PATCH / DELETE /channels/{c}/messages/{m} with the bot token.

        Ephemeral messages do not exist for these routes (only the interaction webhook
        reaches them), and the bot can edit only its own messages."""
        message = self.messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel_id or message.ephemeral:
            return self._error(404, 10008, "Unknown Message")
        if request.method == "GET":
            return _json(self._payload(message))
        if request.method == "PATCH":
            if message.author is not None:
                return self._error(403, 50005, "Cannot edit a message authored by another user")
            body, files = await self._read_body(request)
            too_big = self._check_upload(None, files)
            if too_big is not None:
                return too_big
            problems = self._component_problems(body, message)
            if problems:
                return self._error(400, 50035, f"Invalid Form Body: {'; '.join(problems)}")
            self._apply(message, body, files)
            message.edits += 1
            return _json(self._payload(message))
        if request.method == "DELETE":
            if message.author is not None:
                return self._error(403, 50013, "Missing Permissions")
            self._delete(message)
            return web.Response(status=204)
        return self._error(405, 0, "405: Method Not Allowed")

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        attachment = self.attachments.get(request.match_info["id"])
        if attachment is None:
            # A file the bot uploaded: served while its message exists.
            for message in self.messages.values():
                for f in message.files:
                    if str(f.id) == request.match_info["id"] and f.filename == request.match_info["filename"]:
                        return web.Response(body=f.data, content_type=f.content_type or "application/octet-stream")
            return web.Response(status=404, text="Not Found")
        if attachment.delay:
            await asyncio.sleep(attachment.delay)
        return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")

    # ----- measurements ----------------------------------------------------------------
    def heartbeat_lateness(self) -> float:
        """Largest gap between heartbeats beyond the interval, in seconds (0 when on time)."""
        gaps = [b - a for a, b in zip(self.heartbeats, self.heartbeats[1:])]
        interval = self.heartbeat_interval_ms / 1000
        return max([g - interval for g in gaps] + [0.0])
