"""Runs the bot until SIGTERM/SIGINT, then shuts down cleanly and exits 0."""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
import discord

from bot.config import Settings
from bot.discord_app.retouch_bot import Retouch
from bot.metrics.server import MetricsPortError
from bot.ops.instance_lock import InstanceLock
from bot.store.connect import DatabaseOpenError, describe, uses_postgres
from bot.store.sqlite import MigrationError

log = logging.getLogger("retouch")


class StartupError(Exception):
    """A failure the operator can fix; its message is printed as one line."""


async def run_bot(settings: Settings, *, bot: Retouch | None = None) -> None:
    # One process per SQLite file; several processes may share one PostgreSQL database
    # (each proves it is alive there itself: bot/store/postgres.py).
    lock = None if uses_postgres(settings) else InstanceLock(settings.database_path)
    try:
        if lock is not None:
            lock.acquire()
    except Exception as exc:
        raise StartupError(str(exc)) from None
    bot = bot or Retouch(settings)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop(signame: str) -> None:
        if not stopping.is_set():
            log.info("%s received: finishing running edits, then stopping", signame)
            stopping.set()

    # discord.py does not handle SIGTERM itself, and `docker stop` sends exactly that.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)
    try:
        async with bot:
            runner = asyncio.create_task(bot.start(settings.discord_token))
            stopper = asyncio.create_task(stopping.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                stopper.cancel()
                runner.result()  # re-raise a login/connect failure
            else:
                await bot.close()
                await asyncio.wait_for(runner, timeout=30)
    except MigrationError as exc:
        raise StartupError(f"database {describe(settings)}: {exc}") from None
    except (DatabaseOpenError, MetricsPortError) as exc:
        raise StartupError(str(exc)) from None
    except discord.LoginFailure:
        raise StartupError("DISCORD_TOKEN was rejected by Discord: copy a fresh bot token from the Developer Portal (Bot > Reset Token)") from None
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        # Only start-up gets here: once connected, discord.py reconnects by itself.
        raise StartupError(
            f"cannot reach Discord ({type(exc).__name__}: {exc}); check this machine's internet connection, DNS and firewall"
        ) from None
    except discord.DiscordServerError as exc:
        raise StartupError(f"Discord answered {exc.status} while logging in; it may be having an outage, try again shortly") from None
    except discord.PrivilegedIntentsRequired:
        raise StartupError("Discord refused the gateway intents; Retouch needs no privileged intents, so check the application") from None
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if lock is not None:
            lock.release()
    log.info("Retouch stopped cleanly")
