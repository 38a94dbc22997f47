"""A bot process that dies mid-request: run by test_crash.py, killed with SIGKILL.

    python crash_helper.py DB_PATH_OR_POSTGRES_URL OWNER UNIX_TIME

Commits one 2-image request, reserves a 3-image one, prints READY and waits to be
killed before it can commit or refund it. On PostgreSQL it also holds its liveness lock
and `processes` row, as the bot does (bot/store/postgres.py).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.store.backend import SqliteDatabase  # noqa: E402
from bot.store.sqlite import migrate, open_database  # noqa: E402
from bot.store.quota import QuotaStore, Reservation  # noqa: E402

GUILD, USER = 111, 222


async def main(where: str, owner: str, at: float) -> None:
    if where.startswith("postgresql://"):
        from bot.store import postgres

        db = await postgres.connect(where)
        await postgres.migrate(db)
        liveness = postgres.ProcessLiveness(db, owner)  # held (referenced) until killed
        await liveness.start(at)
    else:
        conn = await open_database(where)
        await migrate(conn)
        db = SqliteDatabase(conn, where)
    now = datetime.fromtimestamp(at, UTC)
    store = QuotaStore(db, owner=owner, default_limit=10, default_period="day", clock=lambda: now)
    done = await store.reserve(GUILD, USER, [], 2, model="m")
    assert isinstance(done, Reservation)
    await store.commit(done.id, 2, total_tokens=1234, cost_usd=0.5)
    running = await store.reserve(GUILD, USER, [], 3, model="m")
    assert isinstance(running, Reservation)
    print(f"READY {running.id}", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
