"""A bot process that dies mid-request: run by test_crash.py, killed with SIGKILL.

    python crash_helper.py DB_PATH OWNER UNIX_TIME

Commits one 2-image request, reserves a 3-image one, prints READY and waits to be
killed before it can commit or refund it.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.store.database import migrate, open_database  # noqa: E402
from bot.store.quota import QuotaStore, Reservation  # noqa: E402

GUILD, USER = 111, 222


async def main(path: str, owner: str, at: float) -> None:
    conn = await open_database(path)
    await migrate(conn)
    now = datetime.fromtimestamp(at, UTC)
    store = QuotaStore(conn, owner=owner, default_limit=10, default_period="day", clock=lambda: now)
    done = await store.reserve(GUILD, USER, [], 2, model="m")
    assert isinstance(done, Reservation)
    await store.commit(done, 2, total_tokens=1234, cost_usd=0.5)
    running = await store.reserve(GUILD, USER, [], 3, model="m")
    assert isinstance(running, Reservation)
    print(f"READY {running.id}", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
