"""Quota store throughput: reserve+commit pairs per second under concurrency.

    /work/venv/bin/python bench/quota.py [--attempts N] [--rows N] [--tasks N]

Phases, each on its own database file in a temporary directory, same
connection settings and workload (100 tasks sharing one connection):
  - baseline, naive: plain aiosqlite, SELECT SUM then INSERT then UPDATE, one
    fixed limit, no rules (can overspend: other tasks run between the two);
  - baseline, atomic: the same as one INSERT ... SELECT ... WHERE statement;
  - QuotaStore on an empty database;
  - QuotaStore on an empty database with money caps: every server has a budget and
    the bot has a spend cap, each reservation carries a cost estimate, so every
    reservation also checks both caps in its statement (caps high enough never to
    refuse: this measures what the check costs, not fewer commits);
  - QuotaStore with --rows older ledger rows (past periods, many members);
  - QuotaStore on PostgreSQL (DATABASE_URL), shared by TWO processes with half the tasks
    each (--tasks in all), the same workload split between them, each process with its
    own pool: what several bot processes sharing quotas do. A fresh database per round;
    the server is --postgres-url, or a throwaway cluster this script starts with
    PostgreSQL's durable defaults (fsync, synchronous_commit on); --no-postgres skips it;
  - the PostgreSQL floor: the same two processes, pools and Database layer, each pair a
    trivial durable insert then update of one row (no quota logic): how close the store
    comes to what one round trip and one commit per statement allow on this machine.
    --postgres-only runs just the store and its floor (the PostgreSQL target: >= 0.6x the
    floor, as the median of the rounds). With the throwaway cluster, or --postgres-data for a
    server on this machine, the server's CPU per pair is reported too.
Phases are interleaved for --rounds rounds and the best round is reported: the
machine may be shared. Every run checks that no member ended above their limit
("over-spend"), and no server or the bot above its money cap. Targets: >= 5,000
pairs/s, 1M-row rate >= 0.8x the empty rate, money caps >= 0.9x the empty rate; the
PostgreSQL goal (>= 5,000 pairs/s across two processes) is reported, not enforced:
on a 2-core machine the database server and both bot processes share the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiosqlite  # noqa: E402

from bot.store.sqlite import migrate, open_database  # noqa: E402
from bot.store.periods import period_bounds  # noqa: E402
from bot.store.quota import UNLIMITED, QuotaExceeded, QuotaStore  # noqa: E402

GUILDS = 50
USERS_PER_GUILD = 1000
ROLES_PER_GUILD = 5
BOT_DEFAULT = 10


@dataclass
class Result:
    name: str
    pairs: int
    refused: int
    seconds: float
    cpu_seconds: float
    overspent: int
    server_cpu_seconds: float | None = None  # PostgreSQL's, when its server runs on this machine

    @property
    def server_cpu_per_pair_us(self) -> float | None:
        return None if self.server_cpu_seconds is None else self.server_cpu_seconds / self.pairs * 1e6

    @property
    def rate(self) -> float:
        return self.pairs / self.seconds

    @property
    def cpu_per_pair_us(self) -> float:
        # Process CPU time (both threads) per committed pair: steadier than the
        # wall-clock rate on a machine shared with other work.
        return self.cpu_seconds / self.pairs * 1e6


def member_stream(seed: int):
    """Skewed traffic: a few hot members hit their limits, most never do."""
    rng = random.Random(seed)
    hot = [(rng.randrange(GUILDS), rng.randrange(USERS_PER_GUILD)) for _ in range(300)]
    while True:
        if rng.random() < 0.3:
            guild, user = rng.choice(hot)
        else:
            guild, user = rng.randrange(GUILDS), rng.randrange(USERS_PER_GUILD)
        yield guild + 1, user + 1, member_roles(guild, user), rng.choice((1, 1, 1, 2, 4))


def member_roles(guild: int, user: int) -> list[int]:
    """A member's roles are fixed (their effective limit must not change mid-run)."""
    pick = random.Random(guild * 1_000_003 + user)
    return [guild * 100 + r for r in pick.sample(range(ROLES_PER_GUILD), pick.choice((0, 0, 1, 2)))]


async def configure_rules(store: QuotaStore) -> None:
    for guild in range(1, GUILDS + 1):
        if guild % 2:
            await store.set_guild_default(guild, 20, "day")
        await store.set_role_limit(guild, (guild - 1) * 100 + 0, 40, "week")
        await store.set_role_limit(guild, (guild - 1) * 100 + 1, 5, "day")
        await store.set_user_limit(guild, 1, 0, "day")  # blocked
        await store.set_user_limit(guild, 2, UNLIMITED, "day")


# Generous caps: checked on every reservation, never reached (see the docstring).
SERVER_BUDGET_USD = 100_000.0
GLOBAL_SPEND_USD = 1_000_000.0
COST_PER_IMAGE = 0.13


async def run_store(db: aiosqlite.Connection, name: str, attempts: int, tasks: int, *, money: bool = False) -> Result:
    store = QuotaStore(
        db, owner="bench", default_limit=BOT_DEFAULT, default_period="day",
        global_spend_limit_usd=GLOBAL_SPEND_USD if money else None,
    )
    await configure_rules(store)
    if money:
        for guild in range(1, GUILDS + 1):
            await store.set_budget(guild, SERVER_BUDGET_USD, "month")
    stream = member_stream(1)
    work = [next(stream) for _ in range(attempts)]
    granted: dict[tuple[int, int], list[int]] = {}
    refused = 0

    async def worker(index: int) -> None:
        nonlocal refused
        for guild, user, roles, images in work[index::tasks]:
            cost = COST_PER_IMAGE * images if money else None
            result = await store.reserve(guild, user, roles, images, model="gpt-image-2", cost_usd=cost)
            if isinstance(result, QuotaExceeded):
                refused += 1
                continue
            delivered = images if images == 1 else images - 1
            await store.commit(result.id, delivered, input_tokens=500, output_tokens=4000,
                               total_tokens=4500, cost_usd=0.12)
            granted.setdefault((guild, user), roles)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(tasks)))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started

    overspent = 0
    for (guild, user), roles in granted.items():
        usage = await store.usage_for(guild, user, roles)
        if usage.limit != UNLIMITED and usage.used > usage.limit:
            overspent += 1
    if money:
        for guild in range(1, GUILDS + 1):
            spend = await store.spend_status(guild)
            overspent += any(c is not None and c.spent_micros > c.limit_micros for c in (spend.server, spend.global_))
    pairs = attempts - refused
    return Result(name, pairs, refused, seconds, cpu_seconds, overspent)


BASELINE_SCHEMA = """
CREATE TABLE plain (id INTEGER PRIMARY KEY, guild_id INTEGER, user_id INTEGER,
                    images INTEGER, delivered INTEGER, status TEXT, created_at REAL);
CREATE INDEX plain_member_time ON plain (guild_id, user_id, created_at);
"""

_PLAIN_USED = (
    "SELECT COALESCE(SUM(CASE status WHEN 'reserved' THEN images WHEN 'committed' THEN delivered "
    "ELSE 0 END), 0) FROM plain WHERE guild_id = ? AND user_id = ? AND created_at >= ?"
)


async def run_baseline(db: aiosqlite.Connection, attempts: int, tasks: int, *, atomic: bool) -> Result:
    """Plain aiosqlite with one fixed limit, one index, no rules and no day summary.

    naive: SELECT the sum, decide in Python, INSERT. Other tasks run between the
    read and the insert, so it can overspend.
    atomic: the same check as one INSERT ... SELECT ... WHERE statement.
    """
    await db.executescript(BASELINE_SCHEMA)
    stream = member_stream(1)
    work = [next(stream) for _ in range(attempts)]
    refused = 0

    async def reserve(guild: int, user: int, images: int, now: float, start: float) -> int | None:
        if atomic:
            rows = await db.execute_fetchall(
                "INSERT INTO plain (guild_id, user_id, images, status, created_at) "
                f"SELECT ?, ?, ?, 'reserved', ? WHERE ? + ({_PLAIN_USED}) <= ? RETURNING id",
                (guild, user, images, now, images, guild, user, start, BOT_DEFAULT),
            )
            return rows[0][0] if rows else None
        rows = await db.execute_fetchall(_PLAIN_USED, (guild, user, start))
        if rows[0][0] + images > BOT_DEFAULT:
            return None
        row = await db.execute_insert(
            "INSERT INTO plain (guild_id, user_id, images, status, created_at) VALUES (?, ?, ?, 'reserved', ?)",
            (guild, user, images, now),
        )
        return row[0]  # type: ignore[index]

    async def worker(index: int) -> None:
        nonlocal refused
        for guild, user, _roles, images in work[index::tasks]:
            now = datetime.now(UTC)
            start = period_bounds("day", now)[0].timestamp()
            reservation = await reserve(guild, user, images, now.timestamp(), start)
            if reservation is None:
                refused += 1
                continue
            delivered = images if images == 1 else images - 1
            await db.execute_fetchall(
                "UPDATE plain SET status = 'committed', delivered = ? WHERE id = ? AND status = 'reserved' "
                "RETURNING id",
                (delivered, reservation),
            )

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(tasks)))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    rows = await db.execute_fetchall(
        "SELECT COUNT(*) FROM (SELECT guild_id, user_id FROM plain GROUP BY 1, 2 HAVING SUM(delivered) > ?)",
        (BOT_DEFAULT,),
    )
    name = "baseline, atomic" if atomic else "baseline, naive"
    return Result(name, attempts - refused, refused, seconds, cpu_seconds, list(rows)[0][0])


async def fill_history(db: aiosqlite.Connection, count: int) -> float:
    """Insert `count` ledger rows spread over the two years before this month,
    in time order like a real ledger, through the real schema and triggers."""
    rng = random.Random(7)
    month_start = period_bounds("month", datetime.now(UTC))[0]
    first = (month_start - timedelta(days=730)).timestamp()
    span = month_start.timestamp() - 1 - first
    statuses = ["committed"] * 18 + ["refunded"]
    prompt = "make the sky purple and add a small boat"

    def rows():
        for i in range(count):
            status = rng.choice(statuses)
            reserved = rng.choice((1, 1, 1, 2, 4))
            created = first + span * i / count
            yield (
                rng.randrange(GUILDS * 4) + 1, rng.randrange(USERS_PER_GUILD * 10) + 1, "gpt-image-1",
                reserved, reserved if status == "committed" else 0, status,
                None if status == "committed" else "provider error",
                600, 4000, 4600, 0.13, "server default", None, 20, "day",
                created, created + 40, "history", prompt,
            )

    started = time.perf_counter()
    await db.execute("BEGIN IMMEDIATE")
    await db.executemany(
        "INSERT INTO ledger (guild_id, user_id, model, images_reserved, images_delivered, status, "
        "refund_reason, input_tokens, output_tokens, total_tokens, cost_usd, rule, rule_detail, "
        "quota_limit, period, created_at, settled_at, owner, prompt) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    await db.execute("COMMIT")
    return time.perf_counter() - started


# ----- PostgreSQL, two processes -----------------------------------------------------------

POSTGRES_NAME = "postgresql, 2 processes"
POSTGRES_POOL = 10  # connections per process, as the bot's pool (bot/store/postgres.py)


POSTGRES_FLOOR_NAME = "postgresql floor"
# The floor: the same processes, pools and Database layer, each pair two trivial durable
# statements (an insert, then an update of that row) with no quota logic at all. What this
# machine's PostgreSQL can do at best with one round trip and one commit per statement.
FLOOR_TABLE = "CREATE TABLE IF NOT EXISTS bench_floor (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v INTEGER NOT NULL)"
FLOOR_INSERT = "INSERT INTO bench_floor (v) VALUES (:v) RETURNING id"
FLOOR_UPDATE = "UPDATE bench_floor SET v = :v WHERE id = :id RETURNING id"


async def postgres_worker(url: str, index: int, of: int, attempts: int, tasks: int, floor: bool = False) -> None:
    """One of the processes: its share of the same work stream, started on "GO"."""
    from bot.store.connect import open_postgres

    db = await open_postgres(url, min_size=POSTGRES_POOL, max_size=POSTGRES_POOL)
    store = QuotaStore(db, owner=f"bench-{index}", default_limit=BOT_DEFAULT, default_period="day")
    stream = member_stream(1)
    work = [next(stream) for _ in range(attempts)][index::of]
    granted: dict[tuple[int, int], list[int]] = {}
    refused = 0
    for guild in range(1, GUILDS + 1):
        await store.effective_limit(guild, 0)  # rules cached before the clock starts, as a warm bot has them
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def worker(i: int) -> None:
        nonlocal refused
        for guild, user, roles, images in work[i::tasks]:
            if floor:
                row = await db.fetchone(FLOOR_INSERT, {"v": images})
                await db.fetchone(FLOOR_UPDATE, {"v": images + 1, "id": row[0]})
                continue
            result = await store.reserve(guild, user, roles, images, model="gpt-image-2")
            if isinstance(result, QuotaExceeded):
                refused += 1
                continue
            delivered = images if images == 1 else images - 1
            await store.commit(result.id, delivered, input_tokens=500, output_tokens=4000, total_tokens=4500, cost_usd=0.12)
            granted.setdefault((guild, user), roles)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(tasks)))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    await db.close()
    print(json.dumps({"pairs": len(work) - refused, "refused": refused, "seconds": seconds, "cpu": cpu_seconds,
                      "granted": [[g, u, r] for (g, u), r in granted.items()]}), flush=True)


async def run_postgres(server: str, round_: int, attempts: int, tasks: int, processes: int = 2,
                       *, floor: bool = False, postmaster_pid: int | None = None) -> Result:
    import asyncpg

    from bot.store import postgres

    name = f"retouch_bench_{os.getpid()}_{round_}"
    base = server.rpartition("/")[0]
    admin = await asyncpg.connect(server)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    url = f"{base}/{name}"
    try:
        db = await postgres.connect(url)
        await postgres.migrate(db)
        await configure_rules(QuotaStore(db, owner="bench", default_limit=BOT_DEFAULT, default_period="day"))
        if floor:
            # Here, once: two workers creating it at once race in PostgreSQL's catalog
            # (IF NOT EXISTS does not help), and one of them fails.
            await db.execute(FLOOR_TABLE)
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "--postgres-worker", url, "--worker-index", str(i), "--worker-count", str(processes),
                 "--attempts", str(attempts), "--tasks", str(tasks // processes), *(["--floor"] if floor else [])],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            for i in range(processes)
        ]
        for w in workers:
            line = await asyncio.to_thread(w.stdout.readline)  # type: ignore[union-attr]
            assert line.strip() == "READY", line
        server_started = server_cpu_seconds(postmaster_pid)
        started = time.perf_counter()
        for w in workers:
            w.stdin.write("GO\n")  # type: ignore[union-attr]
            w.stdin.flush()  # type: ignore[union-attr]
        outputs = [json.loads(await asyncio.to_thread(w.stdout.readline)) for w in workers]  # type: ignore[union-attr]
        seconds = time.perf_counter() - started
        for w in workers:
            w.wait(30)
        # The workers' backends ended with their pools: their CPU is the postmaster's now.
        server_ended = server_cpu_seconds(postmaster_pid)
        server_cpu = None if server_started is None or server_ended is None else server_ended - server_started
        # Over-spend, read back from the shared database after both processes finished.
        store = QuotaStore(db, owner="bench-check", default_limit=BOT_DEFAULT, default_period="day")
        overspent = 0
        members = {(g, u): r for out in outputs for g, u, r in out["granted"]}
        for (guild, user), roles in members.items():
            usage = await store.usage_for(guild, user, roles)
            if usage.limit != UNLIMITED and usage.used > usage.limit:
                overspent += 1
        await db.close()
    finally:
        admin = await asyncpg.connect(server)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    pairs = sum(o["pairs"] for o in outputs)
    return Result(POSTGRES_FLOOR_NAME if floor else POSTGRES_NAME, pairs, sum(o["refused"] for o in outputs), seconds,
                  sum(o["cpu"] for o in outputs), overspent, server_cpu)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_cpu_seconds(postmaster_pid: int | None) -> float | None:
    """CPU used so far by a local PostgreSQL server: its postmaster's reaped children
    (backends that ended, such as a finished phase's pools) plus the children alive now
    (checkpointer, WAL writer, ...). None when unknown (a server elsewhere)."""
    if postmaster_pid is None:
        return None
    try:
        def times(pid: int, children: bool) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            # After the name: state is field 3; utime 14, stime 15, cutime 16, cstime 17.
            picked = (fields[13], fields[14]) if children else (fields[11], fields[12])
            return sum(int(v) for v in picked) / _TICKS

        total = times(postmaster_pid, True)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster_pid:
                total += times(int(entry.name), False)
        return total
    except OSError:
        return None


def summarize(name: str, runs: list[Result]) -> Result:
    """The best round: on a machine shared with other work, the fastest run is
    the one least disturbed (as timeit reports the minimum)."""
    best = max(runs, key=lambda r: r.rate)
    rates = sorted(r.rate for r in runs)
    server = [r.server_cpu_per_pair_us for r in runs if r.server_cpu_per_pair_us is not None]
    server_text = f" + {statistics.median(server):4.0f} us server (median)" if server else ""
    print(f"  {name:<22} best {best.rate:7,.0f} pairs/s  median {statistics.median(rates):7,.0f}  "
          f"{best.cpu_per_pair_us:4.0f} us CPU/pair{server_text}  ({best.pairs:,} committed, {best.refused:,} refused)  "
          f"over-spend: {max(r.overspent for r in runs)}")
    return best


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=20_000, help="reservations tried per round")
    parser.add_argument("--rows", type=int, default=1_000_000, help="older ledger rows in the last phase")
    parser.add_argument("--tasks", type=int, default=100, help="concurrent tasks")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every phase, interleaved")
    parser.add_argument("--postgres-url", default=os.environ.get("RETOUCH_BENCH_POSTGRES_URL", ""),
                        help="a PostgreSQL server whose user may create databases (default: start a throwaway cluster)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL phase")
    parser.add_argument("--postgres-data", default="",
                        help="with --postgres-url on this machine: its data folder, to count the server's CPU too")
    parser.add_argument("--postgres-only", action="store_true",
                        help="only the PostgreSQL store and its floor (faster, for PostgreSQL work)")
    parser.add_argument("--postgres-worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-count", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.postgres_worker:
        await postgres_worker(args.postgres_worker, args.worker_index, args.worker_count, args.attempts, args.tasks,
                              floor=args.floor)
        return 0

    cluster = None
    postgres_url = args.postgres_url
    if not args.no_postgres and not postgres_url:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pg_cluster import Cluster

        cluster = Cluster(durable=True)
        postgres_url = cluster.start()
        print(f"PostgreSQL: a throwaway cluster with durable defaults at {postgres_url}")
    if args.postgres_data:
        args.postmaster_pid = int(Path(args.postgres_data, "postmaster.pid").read_text().split()[0])
    elif cluster is not None:
        args.postmaster_pid = int(Path(cluster.data, "postmaster.pid").read_text().split()[0])
    else:
        args.postmaster_pid = None
    try:
        return await measure(args, postgres_url if not args.no_postgres else "")
    finally:
        if cluster is not None:
            cluster.stop()


async def measure_postgres(args: argparse.Namespace, postgres_url: str) -> int:
    """The PostgreSQL store against its floor only, interleaved round by round."""
    runs: dict[str, list[Result]] = {}
    for round_ in range(args.rounds):
        pid = args.postmaster_pid
        runs.setdefault(POSTGRES_NAME, []).append(
            await run_postgres(postgres_url, round_, args.attempts, args.tasks, postmaster_pid=pid))
        runs.setdefault(POSTGRES_FLOOR_NAME, []).append(
            await run_postgres(postgres_url, round_, args.attempts, args.tasks, floor=True, postmaster_pid=pid))
        store, floor = runs[POSTGRES_NAME][-1], runs[POSTGRES_FLOOR_NAME][-1]
        server = (f"; server {store.server_cpu_per_pair_us:.0f} vs {floor.server_cpu_per_pair_us:.0f} us"
                  if store.server_cpu_per_pair_us is not None and floor.server_cpu_per_pair_us is not None else "")
        print(f"round {round_ + 1}: store {store.rate:,.0f}, floor {floor.rate:,.0f}, {store.rate / floor.rate:.2f}x; "
              f"CPU/pair bot {store.cpu_per_pair_us:.0f} vs {floor.cpu_per_pair_us:.0f} us{server}", flush=True)
    best = {name: summarize(name, results) for name, results in runs.items()}
    ratios = [s.rate / f.rate for s, f in zip(runs[POSTGRES_NAME], runs[POSTGRES_FLOOR_NAME], strict=True)]
    print(f"  PostgreSQL / its floor:          best {best[POSTGRES_NAME].rate / best[POSTGRES_FLOOR_NAME].rate:.2f}x, "
          f"median of rounds {statistics.median(ratios):.2f}x (target >= 0.60)")
    overspent = sum(r.overspent for r in runs[POSTGRES_NAME])
    print(json.dumps({name: round(r.rate) for name, r in best.items()}))
    ok = overspent == 0 and statistics.median(ratios) >= 0.6
    print("PASS" if ok else "FAIL: below target or over-spent")
    return 0 if ok else 1


async def measure(args: argparse.Namespace, postgres_url: str) -> int:
    if args.postgres_only:
        return await measure_postgres(args, postgres_url)
    runs: dict[str, list[Result]] = {}
    history_name = f"{args.rows:,} older rows"
    with tempfile.TemporaryDirectory(prefix="retouch-bench-") as tmp:
        template = Path(tmp, "history-template.db")
        db = await open_database(template)
        await migrate(db)
        fill_seconds = await fill_history(db, args.rows)
        await db.close()  # checkpoints: the template is one self-contained file
        print(f"inserted {args.rows:,} older ledger rows in {fill_seconds:.1f} s "
              f"({template.stat().st_size / 2**20:,.0f} MiB)")

        for round_ in range(args.rounds):
            # Every round starts from the same state: fresh files, and a copy of
            # the filled template for the history phase.
            for atomic in (False, True):
                db = await open_database(Path(tmp, f"baseline-{atomic}-{round_}.db"))
                result = await run_baseline(db, args.attempts, args.tasks, atomic=atomic)
                runs.setdefault(result.name, []).append(result)
                await db.close()

            db = await open_database(Path(tmp, f"empty-{round_}.db"))
            await migrate(db)
            runs.setdefault("empty database", []).append(await run_store(db, "empty", args.attempts, args.tasks))
            await db.close()

            db = await open_database(Path(tmp, f"money-{round_}.db"))
            await migrate(db)
            runs.setdefault("empty, money caps", []).append(await run_store(db, "money", args.attempts, args.tasks, money=True))
            await db.close()

            history = Path(tmp, f"history-{round_}.db")
            shutil.copyfile(template, history)
            db = await open_database(history)
            await migrate(db)
            runs.setdefault(history_name, []).append(await run_store(db, "history", args.attempts, args.tasks))
            await db.close()
            history.unlink()
            if postgres_url:
                runs.setdefault(POSTGRES_NAME, []).append(
                    await run_postgres(postgres_url, round_, args.attempts, args.tasks, postmaster_pid=args.postmaster_pid))
                runs.setdefault(POSTGRES_FLOOR_NAME, []).append(
                    await run_postgres(postgres_url, round_, args.attempts, args.tasks, floor=True, postmaster_pid=args.postmaster_pid))
            rates = ", ".join(f"{name} {results[-1].rate:,.0f}" for name, results in runs.items())
            print(f"round {round_ + 1}: {rates}")

    print(f"{args.tasks} concurrent tasks (SQLite: on one connection; PostgreSQL: {args.tasks // 2} in each of 2 processes), "
          f"{args.attempts:,} reservations tried per round, best of {args.rounds} rounds:")
    best = {name: summarize(name, results) for name, results in runs.items()}
    naive, atomic = best["baseline, naive"], best["baseline, atomic"]
    empty, full, money = best["empty database"], best[history_name], best["empty, money caps"]
    print(f"  with history / empty:            {full.rate / empty.rate:.2f}x (target >= 0.80)")
    print(f"  money caps / empty:              {money.rate / empty.rate:.2f}x (target >= 0.90)")
    print(f"  QuotaStore / naive baseline:     {empty.rate / naive.rate:.2f}x")
    print(f"  QuotaStore / atomic baseline:    {empty.rate / atomic.rate:.2f}x")
    checked = ["empty database", "empty, money caps", history_name]
    if POSTGRES_NAME in best:
        pg_rate = best[POSTGRES_NAME].rate
        print(f"  PostgreSQL, 2 processes / SQLite: {pg_rate / empty.rate:.2f}x; goal >= 5,000 pairs/s: "
              f"{'met' if pg_rate >= 5000 else 'NOT met'} ({pg_rate:,.0f})")
        floor = best[POSTGRES_FLOOR_NAME].rate
        print(f"  PostgreSQL / its floor:          {pg_rate / floor:.2f}x (the floor: a trivial durable insert "
              f"and update per pair, same processes and pools: {floor:,.0f} pairs/s)")
        checked.append(POSTGRES_NAME)
    overspent = sum(r.overspent for name in checked for r in runs[name])
    ok = (
        overspent == 0
        and min(empty.rate, full.rate) >= 5000
        and full.rate >= 0.8 * empty.rate
        and money.rate >= 0.9 * empty.rate
    )
    print(json.dumps({name: round(r.rate) for name, r in best.items()}))
    print("PASS" if ok else "FAIL: below target or over-spent")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
