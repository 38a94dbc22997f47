"""The Discord bot process: owns the HTTP session, the database and the extensions."""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any, Iterable

import aiohttp
import aiosqlite
import discord
from discord.ext import commands

from bot.config import Settings
from bot.discord_app.moderation.audit_log import AuditLog
from bot.discord_app.command_sync import sync_commands
from bot.discord_app.command_translator import CatalogueTranslator
from bot.discord_app.error_handler import RetouchTree
from bot.edits.order_builder import OrderBuilder
from bot.edits.reservations import ReservationKeeper
from bot.edits.safety import SafetyCheck
from bot.edits.server_rules import ServerRules
from bot.edits.service import EditService
from bot.metrics.edit_metrics import EditMetrics
from bot.metrics.server import MetricsServer
from bot.ops.health import HealthReporter, health_state
from bot.provider.client import ImageEditClient
from bot.provider.moderation import ModerationClient
from bot.provider.models import load_model_table
from bot.provider.pricing import load_prices
from bot.reports.chart import ChartRenderer
from bot.store import connect, shared_settings
from bot.store.backend import Database, SqliteDatabase
from bot.store.meta import MetaStore
from bot.store.quota import QuotaStore
from bot.store.results import ResultStore
from bot.store.server_settings import ServerSettingsStore
from bot.store.strikes import StrikeStore

log = logging.getLogger("retouch")

USER_AGENT = "Retouch (self-hosted Discord image-editing bot)"
# Kept results are checked for expiry and the storage bound this often (and at start).
RESULT_CLEANUP_SECONDS = 15 * 60


def discover_extensions(package: str = "cogs") -> list[str]:
    """Every module in `cogs/` is an extension; a new file needs no registration."""
    module = importlib.import_module(package)
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__) if not m.name.startswith("_"))


class Retouch(commands.AutoShardedBot):
    settings: Settings
    http_session: aiohttp.ClientSession
    # The aiosqlite connection with SQLite; the PostgreSQL pool's Database otherwise.
    db: aiosqlite.Connection | Database
    database: Database
    meta: MetaStore
    store: QuotaStore
    server_settings: ServerSettingsStore
    server_rules: ServerRules
    audit_log: AuditLog
    reservations: ReservationKeeper
    image_client: ImageEditClient
    edits: EditService
    orders: OrderBuilder
    results: ResultStore
    strikes: StrikeStore
    safety: SafetyCheck
    boot_id: str
    metrics: EditMetrics | None = None  # with METRICS_PORT only
    metrics_server: MetricsServer | None = None

    def __init__(
        self,
        settings: Settings,
        *,
        extensions: Iterable[str] | None = None,
        extra_extensions: Iterable[str] = (),
        **client_options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # slash commands need no privileged intents
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=RetouchTree,
            # Every command is offered to servers that added the bot, never as a user-installed app.
            allowed_installs=discord.app_commands.AppInstallationType(guild=True, user=False),
            allowed_mentions=discord.AllowedMentions.none(),
            activity=discord.CustomActivity(name="/edit an image"),
            # Without SHARD_COUNT, Discord says how many shards to run and this process runs them all.
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
            **client_options,
        )
        self.settings = settings
        self.boot_id = uuid.uuid4().hex
        self.accepting_work = True
        self.failed_extensions: dict[str, str] = {}
        self._extensions = list(extensions) if extensions is not None else discover_extensions()
        self._extensions += list(extra_extensions)
        self._background: set[asyncio.Task] = set()
        self.sync_summary = ""
        self.charts = ChartRenderer()  # /quota report's chart, drawn in a worker process

    async def setup_hook(self) -> None:
        self.http_session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        await self.open_database()
        self.open_metrics()
        await self.open_edit_service()
        if self.metrics is not None:
            await self.start_metrics_server()
        for name in self._extensions:
            try:
                await self.load_extension(name)
            except Exception as exc:
                # One broken cog must not take the others down with it.
                self.failed_extensions[name] = f"{type(exc).__name__}: {exc}"
                log.exception("extension %s failed to load", name)
        assert self.application_id is not None
        # Localized names and descriptions (loads the catalogues, off the event loop).
        started = time.perf_counter()
        await self.tree.set_translator(CatalogueTranslator())
        log.info("language catalogues loaded in %.0f ms", (time.perf_counter() - started) * 1000)
        try:
            self.sync_summary = await sync_commands(
                self.tree, application_id=self.application_id, meta=self, dev_guild_id=self.settings.dev_guild_id
            )
        except discord.HTTPException as exc:
            # Commands synced earlier keep working; the next start tries again.
            self.sync_summary = f"command sync FAILED ({exc.status} {exc.text[:200]}); commands from the last sync stay active"
            log.warning("could not sync application commands: %s %s", exc.status, exc.text[:200])

    async def open_database(self) -> None:
        settings = self.settings
        self.database = await connect.open_database(settings)
        self.db = self.database.conn if isinstance(self.database, SqliteDatabase) else self.database
        applied = await connect.migrate(self.database)
        if applied:
            log.info("database %s upgraded to schema version %d", self.database.location, applied[-1])
        self.meta = MetaStore(self.database)
        self.store = QuotaStore(
            self.database,
            owner=self.boot_id,
            default_limit=settings.quota_default_limit,
            default_period=settings.quota_default_period,  # type: ignore[arg-type]
            global_daily_limit=settings.global_daily_image_limit,
            global_spend_limit_usd=settings.global_spend_limit_usd,
            global_spend_period=settings.global_spend_period,  # type: ignore[arg-type]
            store_prompts=settings.store_prompts,
        )
        self.server_settings = ServerSettingsStore(self.database)
        liveness = None
        if self.database.dialect == "postgresql":
            # Several processes share the database: this one's presence (bot/store/postgres.py).
            from bot.store.postgres import ProcessLiveness

            shards = ",".join(map(str, settings.shard_ids)) if settings.shard_ids is not None else "all"
            liveness = ProcessLiveness(
                self.database, self.boot_id, shards=shards, shared_settings=shared_settings.describe(settings)  # type: ignore[arg-type]
            )
            await liveness.start(self.store.now())
            await liveness.tell_of_disagreements(self.store.now())
        self.reservations = ReservationKeeper(
            self.store, stale_after=settings.reservation_ttl_seconds, journal=connect.journal_path(settings), liveness=liveness
        )
        # SQLite: the instance lock proves no other process is alive, so every open
        # reservation from an earlier process was abandoned by a crash. PostgreSQL: only
        # those of processes whose liveness lock is free and whose beats stopped, and only
        # once this process's own liveness has been steady a while (the keeper's loop).
        await self.reservations.recover(self.boot_id)
        self.reservations.start()
        if settings.health_file is not None:
            self.spawn(HealthReporter(settings.health_file).run(lambda: health_state(self, self.db)))

    async def open_edit_service(self) -> None:
        settings = self.settings
        models = load_model_table(settings.image_models_json)
        self.image_client = ImageEditClient.from_settings(
            self.http_session, settings, models=models,
            on_answer=self.metrics.provider_answered if self.metrics is not None else None,
        )
        # Providers get an opaque per-member id (abuse reports), never the Discord id.
        salt = await self.get_meta("user_id_salt")
        if salt is None:
            salt = secrets.token_hex(16)
            await self.set_meta("user_id_salt", salt)
        self.results = ResultStore(
            self.database,
            settings.database_path.parent / "results",
            retention=timedelta(days=settings.result_retention_days),
            max_bytes=settings.result_storage_mb * 1024 * 1024 if settings.result_retention_days else 0,
        )
        self.spawn(self._clean_results_forever())
        # A server's own rules are checked before anything is reserved; every edit that
        # ends is posted to the server's audit log channel.
        self.server_rules = ServerRules(
            self.server_settings, bot_models=lambda: self.edits.allowed_models(), blocked_words=settings.blocked_words
        )
        self.audit_log = AuditLog(self, self.server_settings)
        self.audit_log.start()
        self.strikes = StrikeStore(self.database)
        self.safety = SafetyCheck(
            settings=settings,
            store=self.strikes,
            client=ModerationClient(
                self.http_session, base_url=settings.moderation_base_url, api_key=settings.moderation_key,
                model=settings.moderation_model, timeout=settings.moderation_timeout,
            ),
            alert=self.audit_log.alert,
        )
        self.edits = EditService(
            settings=settings,
            results=self.results,
            store=self.store,
            client=self.image_client,
            models=models,
            prices=load_prices(settings.image_prices_json),
            keeper=self.reservations,
            salt=salt,
            policies=[self.server_rules],
            listeners=[self.audit_log] + ([self.metrics] if self.metrics is not None else []),
            default_model=self.server_rules.default_model,
            screens=[self.safety],
            on_safety_rejection=self.safety.provider_rejected,
        )
        # Waiting edits' files a crashed process left on disk (its lock is free).
        await self.edits.waiting_inputs.remove_leftovers()
        # Every entry point builds its order here: the server's models, its default, sizes.
        self.orders = OrderBuilder(self.server_rules, sizes_for=self.edits.sizes_for)

    # -- metrics (README, Monitoring) ------------------------------------------------------

    def open_metrics(self) -> None:
        if self.settings.metrics_port is None:
            return  # off: no listener, no hook, nothing served
        self.metrics = EditMetrics(queue_sizes=self._queue_sizes, latencies=lambda: list(self.latencies))

    def _queue_sizes(self) -> tuple[int, int] | None:
        edits = getattr(self, "edits", None)
        return (edits.queue.waiting, edits.queue.running) if edits is not None else None

    async def start_metrics_server(self) -> None:
        assert self.metrics is not None and self.settings.metrics_port is not None
        self.metrics_server = MetricsServer(self.metrics.registry, self.settings.metrics_host, self.settings.metrics_port)
        await self.metrics_server.start()

    async def _clean_results_forever(self) -> None:
        try:
            # PostgreSQL: results this process kept on its disk before they lived in the
            # database move in, so their buttons work on every process.
            await self.results.adopt_local_files()
        except Exception:
            log.exception("could not move kept results from %s into the database", self.results.root)
        while True:
            try:
                removed = await self.results.cleanup()
                if removed:
                    log.info("removed %d kept result(s) (expired, or over RESULT_STORAGE_MB)", removed)
            except Exception:
                log.exception("could not clean up kept results")
            await asyncio.sleep(RESULT_CLEANUP_SECONDS)

    async def get_meta(self, key: str) -> str | None:
        return await self.meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        await self.meta.set(key, value)

    def spawn(self, coro) -> asyncio.Task:  # type: ignore[no-untyped-def]
        """A background task the bot keeps a reference to and cancels at close."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info(
            "Retouch ready: logged in as %s (id %s) in %d server(s); %s%s",
            self.user,
            self.user.id,
            len(self.guilds),
            self.sync_summary,
            f"; FAILED extensions: {', '.join(self.failed_extensions)}" if self.failed_extensions else "",
        )

    async def close(self) -> None:
        # Cogs drain their work first, while the Discord connection can still deliver
        # messages; super().close() then unloads them and disconnects; our resources go last.
        self.accepting_work = False
        # Drain while every command is still registered, so late interactions get a
        # "restarting" answer instead of "unknown command".
        if hasattr(self, "edits"):
            await self.edits.drain()
        # The last log entries (e.g. edits refunded by the drain) while Discord is reachable.
        if hasattr(self, "audit_log"):
            await self.audit_log.close()
        await super().close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if hasattr(self, "reservations"):
            await self.reservations.close()
        if self.metrics_server is not None:
            await self.metrics_server.close()
        if hasattr(self, "http_session"):
            await self.http_session.close()
        if hasattr(self, "database"):
            await self.database.close()
