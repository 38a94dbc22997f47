"""The audit log's queue and poster, without Discord: bounded, batched, flushed at close."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from bot.discord_app.moderation import audit_log
from bot.discord_app.moderation.audit_log import AuditLog
from bot.edits.events import EditEvent, Outcome
from bot.edits.order import Requester
from bot.store.server_settings import ServerSettings
from tests.support.polling import eventually

GUILD = 10


class Settings:
    async def get(self, guild_id: int) -> ServerSettings:
        return ServerSettings(guild_id, log_channel_id=99)


class Channel:
    def __init__(self, client: "Client") -> None:
        self.client = client

    async def send(self, **kwargs: Any) -> None:
        self.client.sending.set()
        await self.client.gate.wait()
        if self.client.fail is not None:
            raise self.client.fail
        self.client.sent.append(kwargs)


class Client:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.sending = asyncio.Event()  # a post has reached "Discord"
        self.fail: Exception | None = None

    def get_partial_messageable(self, channel_id: int, *, guild_id: int) -> Channel:
        return Channel(self)


def event(n: int, guild: int | None = GUILD) -> EditEvent:
    return EditEvent(Outcome.DELIVERED, Requester(user_id=n, guild_id=guild), "/edit", model="m", images=1, edit_id=n)


def http_error(status: int, code: int) -> discord.HTTPException:
    class Response:
        def __init__(self) -> None:
            self.status = status
            self.reason = "test"

    cls = discord.Forbidden if status == 403 else discord.NotFound
    return cls(Response(), {"code": code, "message": "refused"})


async def test_the_queue_is_bounded_and_drops_the_oldest() -> None:
    client = Client()
    client.gate.clear()  # Discord is slow: nothing gets out
    log = AuditLog(client, Settings(), limit=5)  # type: ignore[arg-type]
    log.start()
    log.edit_ended(event(0))
    await asyncio.wait_for(client.sending.wait(), 5)  # the poster took it and waits on Discord
    for n in range(1, 12):
        log.edit_ended(event(n))
    assert log.dropped == 6  # one is in flight, five wait, the six oldest of the rest were dropped
    client.gate.set()
    await log.close(timeout=5)
    posted = [e["title"] for m in client.sent for e in (x.to_dict() for x in m["embeds"])]
    assert posted == [f"Edit delivered · #{n}" for n in (0, 7, 8, 9, 10, 11)]


async def test_bursts_are_batched_ten_embeds_per_message_without_pings() -> None:
    client = Client()
    client.gate.clear()
    log = AuditLog(client, Settings())  # type: ignore[arg-type]
    log.start()
    for n in range(25):
        log.edit_ended(event(n))
    log.edit_ended(event(99, guild=None))  # direct messages have no log channel
    client.gate.set()
    await log.close(timeout=5)
    assert [len(m["embeds"]) for m in client.sent] == [10, 10, 5]
    assert all(m["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict() for m in client.sent)


async def test_close_is_bounded_when_discord_does_not_answer() -> None:
    client = Client()
    client.gate.clear()
    log = AuditLog(client, Settings())  # type: ignore[arg-type]
    log.start()
    log.edit_ended(event(1))
    async with asyncio.timeout(2):
        await log.close(timeout=0.2)
    assert client.sent == []


async def test_a_refusing_channel_is_reported_once_and_retried_later(monkeypatch, caplog) -> None:
    monkeypatch.setattr(audit_log, "PROBLEM_RETRY_SECONDS", 0.5)
    client = Client()
    client.fail = http_error(403, 50013)
    log = AuditLog(client, Settings())  # type: ignore[arg-type]
    log.start()
    for n in range(3):
        log.edit_ended(event(n))
        await eventually(lambda: log.unposted == n + 1)
    assert "missing permissions" in log.problem_for(GUILD)
    assert len([r for r in caplog.records if "cannot post" in r.getMessage()]) == 1
    # Until the retry time, nothing is even tried (Discord bans bots that keep making refused requests).
    client.fail = None
    log.edit_ended(event(3))
    await eventually(lambda: log.unposted == 4)
    assert client.sent == []
    # Then, once the retry time has passed (time itself is the scenario here, not a
    # synchronisation), a post that works clears the problem.
    await asyncio.sleep(audit_log.PROBLEM_RETRY_SECONDS)
    log.edit_ended(event(4))
    await eventually(lambda: len(client.sent) == 1)
    assert log.problem_for(GUILD) is None
    await log.close()


@pytest.mark.parametrize("failure", [RuntimeError("boom"), http_error(404, 10003)])
async def test_the_listener_never_raises_into_the_edit(failure) -> None:
    client = Client()
    client.fail = failure
    log = AuditLog(client, Settings())  # type: ignore[arg-type]
    log.start()
    log.edit_ended(event(1))
    log.edit_ended(event(2))
    await log.close(timeout=2)
