"""A busy day over two bot processes: the load of bench/load.py and of its small test.

Two real `python -m bot` processes share one PostgreSQL and split four shards of one fake
Discord: A runs shards 0,1 (direct messages arrive on shard 0), B runs 2,3. The bot is in
`servers` servers, one per shard (the test server on shard 2, the others on the next shards),
so each process serves servers of its own, and A also the direct messages. Members are
spread over the servers and DMs. Edits
arrive at random times over `duration` seconds, each by a random member with a random `n`;
some get a provider failure (a 500, refunded), some are cancelled with their placeholder's
Cancel button, some delivered results are re-rolled (in the server by another member, in a
DM by the member). Half-way (`restart_at`), process B is stopped (SIGKILL, or SIGTERM) and started again
on the same shards and data folder: the interactions sent while it is down go unanswered,
as on Discord.

A click reaches the process that runs its server's shard, so a Re-roll (clicked a while after
its result, up to the end of the run) runs on another process than the result's maker when the result
was made by B before the restart and clicked after it: B's successor never saw it and reads
what it needs from PostgreSQL and from the clicked message.

Afterwards (once every reservation is settled, bounded) the invariants are checked on the
shared ledger against what the fake Discord received:
- no reservation left open;
- no member over QUOTA_DEFAULT_LIMIT, the bot over GLOBAL_DAILY_IMAGE_LIMIT, nor a member
  over MAX_EDITS_PER_MEMBER reservations at once in one process;
- every delivered image counted exactly once: per member, the images in the messages of
  their interactions equal the images the ledger committed for them.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.discord_server import FakeAttachment, FakeDiscord, FakeUser, Guild, InteractionRecord
from tests.fakes.image_api import FakeImageAPI, Reply, make_image
from tests.support.bot_processes import BotProcess, query, start_process, stop

MAX_EDITS_PER_MEMBER = 3


@dataclass
class LoadConfig:
    members: int = 500
    edits: int = 2000
    duration: float = 180.0  # seconds over which the edits are sent
    dm_share: float = 0.2  # members who use the bot in DMs (process A); the rest in the servers
    servers: int = 4  # servers the bot is in, one per shard: 2 on A's shards, 2 on B's
    fail_share: float = 0.05  # edits answered by a provider 500
    cancel_share: float = 0.05  # edits cancelled by their member from the placeholder
    reroll_share: float = 0.1  # delivered results re-rolled
    restart: str = "kill"  # how B is stopped: kill (SIGKILL), term (SIGTERM), none
    restart_at: float = 0.5  # when, as a share of `duration`
    provider_delay: float = 0.5  # seconds the fake provider takes per edit
    quota_limit: int = 8  # QUOTA_DEFAULT_LIMIT: images per member per day
    global_limit: int | None = None  # GLOBAL_DAILY_IMAGE_LIMIT; default: 6 images per member
    max_concurrent: int = 8  # MAX_CONCURRENT_EDITS per process
    result_timeout: float = 60.0  # how long a member waits for an answer
    settle_timeout: float = 90.0  # how long every reservation may take to settle at the end
    seed: int = 22

    @property
    def daily_limit(self) -> int:
        return self.global_limit if self.global_limit is not None else 6 * self.members


@dataclass
class Outcome:
    kind: str  # edit, reroll
    process: str  # A, B
    member: int
    record: InteractionRecord | None
    instance: str = ""  # which run of the process got it: A, B1, or B2 after the restart
    made_by: str = ""  # a re-roll: the run that made the result
    result: str = "pending"  # delivered, refused, failed, cancelled, unanswered, not-acknowledged
    detail: str = ""  # not-acknowledged: what the fake Discord saw
    ack_s: float | None = None
    result_s: float | None = None


@dataclass
class ProcessFigures:
    name: str
    interactions: int = 0
    delivered: int = 0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    pids: list[int] = field(default_factory=list)

    @property
    def cpu_per_edit_s(self) -> float:
        return self.cpu_s / self.interactions if self.interactions else float("nan")


@dataclass
class LoadReport:
    config: LoadConfig
    wall_s: float
    outcomes: list[Outcome]
    processes: dict[str, ProcessFigures]
    invariants: list[tuple[str, bool, str]]
    ledger_rows: int
    images_committed: int
    images_received: int
    restart_downtime_s: float | None
    unclean_exits: list[str]
    driver_cpu_s: float = 0.0  # this process: the fakes and the members
    abandoned: int = 0  # reservations refunded because their process stopped running
    rows_per_server: dict[str, int] = field(default_factory=dict)
    refunds: dict[str, int] = field(default_factory=dict)  # refunded ledger rows by reason  # ledger rows: "server name (process)" or "DMs (A)"

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.invariants) and not self.unclean_exits

    def cross_process_rerolls(self) -> int:
        """Re-rolls delivered by another process than the one that made the result."""
        return sum(o.kind == "reroll" and o.result == "delivered" and o.instance != o.made_by for o in self.outcomes)

    def counts(self) -> Counter[str]:
        return Counter(f"{o.kind} {o.result}" for o in self.outcomes)

    def lines(self) -> list[str]:
        c = self.config
        sent = len(self.outcomes)
        acks = [o.ack_s for o in self.outcomes if o.ack_s is not None]
        results = [o.result_s for o in self.outcomes if o.result_s is not None]
        out = [
            f"load: {c.members} members ({c.dm_share:.0%} in DMs -> process A, the rest over {c.servers} servers, "
            f"one per shard: A runs shards 0,1, B 2,3), "
            f"{c.edits} edits over {c.duration:g} s, provider {c.provider_delay:g} s per edit, "
            f"MAX_CONCURRENT_EDITS={c.max_concurrent}, restart of B: {c.restart}",
            f"interactions sent: {sent} (edits and re-rolls) in {self.wall_s:.1f} s = {sent / self.wall_s:.2f}/s; "
            f"delivered {sum(o.result == 'delivered' for o in self.outcomes)} "
            f"= {sum(o.result == 'delivered' for o in self.outcomes) / self.wall_s:.2f}/s",
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts().items())),
            *(f"  not acknowledged: {o.kind} on {o.instance}: {o.detail}" for o in self.outcomes if o.result == "not-acknowledged"),
            f"re-rolls delivered by another process than the result's maker (B's successor): {self.cross_process_rerolls()}",
            f"ack: p50 {ms(pct(acks, 50))}  p99 {ms(pct(acks, 99))}  max {ms(max(acks, default=None))}  (n={len(acks)})",
            *(
                f"  {kind}s: p50 {ms(pct(a, 50))}  p99 {ms(pct(a, 99))}  max {ms(max(a, default=None))}  (n={len(a)}; "
                f"{sum(o.kind == kind and o.result == 'not-acknowledged' for o in self.outcomes)} not acknowledged in 3 s)"
                for kind in ("edit", "reroll")
                for a in [[o.ack_s for o in self.outcomes if o.kind == kind and o.ack_s is not None]]
            ),
            f"time to result (delivered): p50 {sec(pct(results, 50))}  p99 {sec(pct(results, 99))}  (n={len(results)})",
        ]
        if self.restart_downtime_s is not None:
            out.append(f"restart of B: shards back after {self.restart_downtime_s:.1f} s")
        for p in self.processes.values():
            if not p.interactions:
                out.append(f"process {p.name}: idle (CPU {p.cpu_s:.1f} s), peak RSS {p.peak_rss_mb:.0f} MB")
                continue
            per_delivered = f"{p.cpu_s / p.delivered * 1000:.1f} ms per delivered edit (~{60 * p.delivered / p.cpu_s:,.0f} " \
                "delivered per minute per core)" if p.delivered and p.cpu_s else "nothing delivered"
            out.append(
                f"process {p.name}: {p.interactions} interactions, CPU {p.cpu_s:.1f} s = {p.cpu_per_edit_s * 1000:.1f} ms per "
                f"interaction, {per_delivered}, peak RSS {p.peak_rss_mb:.0f} MB"
            )
        out.append(f"the driver (fake Discord, fake provider, members): CPU {self.driver_cpu_s:.1f} s "
                   f"= {self.driver_cpu_s / self.wall_s:.0%} of a core")
        out.append("refunds by reason: " + ", ".join(f"{k} {v}" for k, v in self.refunds.items()))
        out.append("ledger rows per server: " + ", ".join(f"{k} {v}" for k, v in self.rows_per_server.items()))
        out.append(f"ledger: {self.ledger_rows} rows ({self.abandoned} refunded as abandoned by a stopped process), "
                   f"{self.images_committed} images committed; "
                   f"the fake Discord received {self.images_received} result images")
        for name, ok, detail in self.invariants:
            out.append(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}")
        for line in self.unclean_exits:
            out.append(f"FAIL  {line}")
        return out


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.0f} ms"


def sec(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} s"


class LoadRun:
    def __init__(self, config: LoadConfig, folder: Path, database_url: str, discord_fake: FakeDiscord, api: FakeImageAPI) -> None:
        self.c = config
        self.folder = folder
        self.url = database_url
        self.fake = discord_fake
        self.api = api
        self.rng = random.Random(config.seed)
        self.png = make_image(32, 32)
        self.outcomes: list[Outcome] = []
        self.procs: dict[str, BotProcess] = {}
        self.figures = {name: ProcessFigures(name) for name in ("A", "B")}
        self.restart_downtime: float | None = None
        self.kill_at: float | None = None  # the fake Discord's clock when B was stopped
        self.instance = {"A": "A", "B": "B1"}
        self.end = 0.0
        self.exits: list[str] = []
        # The test server is on shard 2 (B's); the others on the shards after it, round the four.
        first = discord_fake.guild_shard()
        self.servers: list[Guild] = [discord_fake.guild] + [
            discord_fake.add_guild(f"Server {k}", shard=(first + k) % discord_fake.shard_count) for k in range(1, config.servers)
        ]
        n_dm = round(config.members * config.dm_share)
        # (member, their server or None for DMs)
        self.members: list[tuple[FakeUser, Guild | None]] = [
            (discord_fake.member(f"m{i}"), None if i < n_dm else self.servers[i % len(self.servers)]) for i in range(config.members)
        ]
        self.server_members: dict[int, list[FakeUser]] = defaultdict(list)
        for member, server in self.members:
            if server is not None:
                self.server_members[server.id].append(member)

    def process_of(self, server: Guild | None) -> str:
        """Which process gets a server's interactions (DMs: shard 0's, A's)."""
        return "A" if server is None or self.fake.guild_shard(server.id) in (0, 1) else "B"

    def settings(self) -> dict[str, str]:
        return {
            "QUOTA_DEFAULT_LIMIT": str(self.c.quota_limit),
            "GLOBAL_DAILY_IMAGE_LIMIT": str(self.c.daily_limit),
            "MAX_CONCURRENT_EDITS": str(self.c.max_concurrent),
            "MAX_EDITS_PER_MEMBER": str(MAX_EDITS_PER_MEMBER),
        }

    async def start(self, name: str) -> BotProcess:
        shards = "0,1" if name == "A" else "2,3"
        bot = await start_process(self.folder / name, self.fake, self.api, self.url, shards, **self.settings())
        self.procs[name] = bot
        self.figures[name].pids.append(bot.pid)
        return bot

    def _account(self, name: str, bot: BotProcess, cpu0: float) -> None:
        """Add what `bot` used since `cpu0` to its figures (before it ends)."""
        fig = self.figures[name]
        fig.cpu_s += bot.cpu_seconds() - cpu0
        fig.peak_rss_mb = max(fig.peak_rss_mb, bot.peak_rss_bytes() / 2**20)

    async def run(self) -> LoadReport:
        self.api.set_default(Reply.images(delay=self.c.provider_delay))
        await self.start("A")
        await self.start("B")
        try:
            return await self._load()
        finally:
            for name, bot in self.procs.items():
                if bot.returncode is None:
                    bot.kill()
                    await bot.wait()

    async def _load(self) -> LoadReport:
        cpu0 = {name: bot.cpu_seconds() for name, bot in self.procs.items()}
        driver0 = time.process_time()
        start = time.monotonic()
        self.end = start + self.c.duration
        times = sorted(self.rng.uniform(0, self.c.duration) for _ in range(self.c.edits))
        tasks = [asyncio.create_task(self._edit(i, start + t)) for i, t in enumerate(times)]
        restarter = None
        if self.c.restart != "none":
            restarter = asyncio.create_task(self._restart_b(start + self.c.duration * self.c.restart_at, cpu0))
        await asyncio.gather(*tasks, *([restarter] if restarter else []))
        wall = time.monotonic() - start
        driver = time.process_time() - driver0

        await self._settled()
        for name, bot in self.procs.items():
            self._account(name, bot, cpu0[name])
        rows = await query(
            self.url,
            "SELECT id, guild_id, user_id, status, images_reserved, images_delivered, refund_reason, owner, created_at, settled_at "
            "FROM ledger ORDER BY id",
        )
        invariants, committed, received = self._invariants(rows)
        for name, bot in self.procs.items():
            out = await stop(bot)
            if bot.returncode != 0 or "Retouch stopped cleanly" not in out:
                self.exits.append(f"process {name} did not stop cleanly (exit {bot.returncode}): {out[-1500:]}")
        return LoadReport(
            self.c, wall, self.outcomes, self.figures, invariants, len(rows), committed, received, self.restart_downtime, self.exits,
            driver, sum(r["status"] == "refunded" and r["refund_reason"] == "abandoned" for r in rows),
            self._rows_per_server(rows),
            dict(Counter(r["refund_reason"] or "-" for r in rows if r["status"] == "refunded").most_common()),
        )

    def _rows_per_server(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        names = {s.id: f"{s.name} ({self.process_of(s)})" for s in self.servers}
        counted = Counter(names.get(r["guild_id"], "DMs (A)" if not r["guild_id"] else f"unknown server {r['guild_id']}") for r in rows)
        return dict(sorted(counted.items()))

    async def _restart_b(self, at: float, cpu0: dict[str, float]) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        old = self.procs["B"]
        self._account("B", old, cpu0["B"])
        down = time.monotonic()
        self.kill_at = self.fake.now()
        if self.c.restart == "kill":
            old.kill()
            await old.wait()
        else:
            out = await stop(old)
            if old.returncode != 0:
                self.exits.append(f"process B (first run) exit {old.returncode} on SIGTERM: {out[-1500:]}")
        bot = await self.start("B")
        self.instance["B"] = "B2"
        self.restart_downtime = time.monotonic() - down
        cpu0["B"] = bot.cpu_seconds()

    async def _settled(self) -> None:
        """Wait (bounded) until no reservation is open: a killed process's are released by the
        other once its liveness lock is free and its beats are old."""
        deadline = time.monotonic() + self.c.settle_timeout
        while time.monotonic() < deadline:
            [row] = await query(self.url, "SELECT count(*) AS open FROM ledger WHERE status = 'reserved'")
            if row["open"] == 0:
                return
            await asyncio.sleep(0.5)

    # ----- the members ---------------------------------------------------------------
    async def _edit(self, i: int, at: float) -> None:
        member, server = self.members[self.rng.randrange(len(self.members))]
        dm = server is None
        n = self.rng.choice((1, 1, 2, 2, 3, 4))
        fail = self.rng.random() < self.c.fail_share
        cancel = self.rng.random() < self.c.cancel_share
        reroll = self.rng.random() < self.c.reroll_share
        reroller = member if server is None else self.rng.choice(self.server_members[server.id])
        # A re-roll comes a while after the result, up to the end of the run: results made
        # before the restart are often re-rolled on B's successor.
        reroll_after = self.rng.uniform(0, max(0.0, self.end - at))
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        if fail:
            self.api.queue(Reply.error(500, "The server had an error while processing your request.", code="server_error"))
        outcome = Outcome("edit", self.process_of(server), member.id, None)
        outcome.instance = self.instance[outcome.process]
        self.outcomes.append(outcome)
        self.figures[outcome.process].interactions += 1
        try:
            outcome.record = await self.fake.invoke(
                "edit", by=member, image=FakeAttachment.image(self.png), prompt=f"load edit {i}", n=n, dm=dm, guild=server
            )
        except (AssertionError, ConnectionError):  # its process is down: on Discord, "did not respond"
            outcome.result = "unanswered"
            return
        if cancel:
            asyncio.create_task(self._cancel(outcome.record, member))
        message = await self._wait(outcome)
        if message is not None and reroll:
            ids = [c for c in message.custom_ids if c.startswith("retouch:reroll:")] if message.components else []
            if ids:
                await asyncio.sleep(reroll_after)
                again = Outcome("reroll", outcome.process, reroller.id, None, self.instance[outcome.process], outcome.instance)
                self.outcomes.append(again)
                self.figures[again.process].interactions += 1
                try:
                    again.record = await self.fake.click(message, ids[0], by=reroller)
                except (AssertionError, ConnectionError):  # the process is down
                    again.result = "unanswered"
                    return
                await self._wait(again)

    async def _cancel(self, record: InteractionRecord, member: FakeUser) -> None:
        def has_cancel(r: InteractionRecord) -> bool:
            return r.original is not None and any(c.startswith("retouch:cancel:") for c in r.original.custom_ids)

        try:
            await record.wait_for(lambda r: has_cancel(r) or r._final() is not None or bool(r.violations), 20)
        except TimeoutError:
            return
        if record._final() is None and has_cancel(record) and record.original is not None:
            cid = next(c for c in record.original.custom_ids if c.startswith("retouch:cancel:"))
            try:
                await self.fake.click(record.original, cid, by=member)
            except (AssertionError, ConnectionError):
                pass  # gone meanwhile (delivered, or the process is down)

    async def _wait(self, outcome: Outcome) -> Any:
        record = outcome.record
        assert record is not None
        try:
            message = await record.wait_result(self.c.result_timeout)
        except TimeoutError:
            outcome.result = "unanswered"
            self._note_ack(outcome)
            return None
        except AssertionError:
            # Sent to B's first run less than 3 s before it was killed, or in the moment after
            # (before the fake Discord saw its connection drop): on Discord, "did not respond",
            # as for the interactions sent while it was down.
            killed = self.c.restart == "kill" and self.kill_at is not None and outcome.instance == "B1" \
                and record.created > self.kill_at - 3.0 and all(v.startswith("not acknowledged") for v in record.violations)
            outcome.result = "unanswered" if killed else "not-acknowledged"
            outcome.detail = "; ".join(record.violations)
            return None
        self._note_ack(outcome)
        if message.files:
            outcome.result = "delivered"
            self.figures[outcome.process].delivered += 1
            outcome.result_s = self.fake.now() - record.created
            return message
        text = message.text.lower()
        outcome.result = "cancelled" if "cancel" in text else "refused" if message.ephemeral and "refunded" not in text else "failed"
        return None

    @staticmethod
    def _note_ack(outcome: Outcome) -> None:
        r = outcome.record
        if r is not None and r.ack_at is not None:
            outcome.ack_s = r.ack_at - r.created

    # ----- the invariants --------------------------------------------------------------
    def _invariants(self, rows: list[dict[str, Any]]) -> tuple[list[tuple[str, bool, str]], int, int]:
        results: list[tuple[str, bool, str]] = []
        open_rows = [r["id"] for r in rows if r["status"] == "reserved"]
        results.append(("no reservation left open", not open_rows, f"{len(open_rows)} open: ids {open_rows[:10]}" if open_rows else ""))

        used: dict[tuple[int, int], int] = defaultdict(int)
        for r in rows:
            if r["status"] == "committed":
                used[(r["guild_id"], r["user_id"])] += r["images_delivered"] or 0
        over = {k: v for k, v in used.items() if v > self.c.quota_limit}
        results.append((f"no member over QUOTA_DEFAULT_LIMIT={self.c.quota_limit}", not over,
                        f"{len(over)} over, e.g. {next(iter(over.items()))}" if over else f"most used {max(used.values(), default=0)}"))
        total = sum(used.values())
        results.append((f"the bot not over GLOBAL_DAILY_IMAGE_LIMIT={self.c.daily_limit}", total <= self.c.daily_limit, f"{total} used"))

        worst, who = 0, None
        spans: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
        for r in rows:
            spans[(r["owner"], r["user_id"])].append((r["created_at"], r["settled_at"] or float("inf")))
        for key, items in spans.items():
            events = sorted([(s, 1) for s, _ in items] + [(e, -1) for _, e in items], key=lambda x: (x[0], x[1]))
            live = 0
            for _, step in events:
                live += step
                if live > worst:
                    worst, who = live, key
        results.append((f"no member over MAX_EDITS_PER_MEMBER={MAX_EDITS_PER_MEMBER} reservations at once in one process",
                        worst <= MAX_EDITS_PER_MEMBER, f"at most {worst}" + (f" ({who})" if worst > MAX_EDITS_PER_MEMBER else "")))

        received: dict[int, int] = defaultdict(int)
        for o in self.outcomes:
            if o.record is not None:
                received[o.member] += sum(len(m.files) for m in o.record.messages if not m.ephemeral)
        in_channels = sum(len(m.files) for m in self.fake.channel_messages)
        by_user: dict[int, int] = defaultdict(int)
        for (_, user), images in used.items():
            by_user[user] += images
        differ = {u: (received.get(u, 0), by_user.get(u, 0)) for u in set(received) | set(by_user)
                  if received.get(u, 0) != by_user.get(u, 0)}
        got = sum(received.values()) + in_channels
        results.append(("every delivered image counted exactly once (per member: images Discord received == images committed)",
                        not differ and got == total,
                        f"{got} received, {total} committed" + (f"; {len(differ)} members differ (received, committed), e.g. "
                                                               f"{list(differ.items())[:3]}" if differ else "")))
        return results, total, got
