"""Load test: two `python -m bot` processes, one PostgreSQL, the fakes, a busy day.

    python bench/load.py                       # 500 members, 2,000 edits over 180 s (~4 min in all)
    python bench/load.py --members 40 --edits 150 --duration 20 --restart term

Two real bot processes split four shards of the fake Discord (A: 0,1 with the direct
messages; B: 2,3) over one throwaway PostgreSQL cluster with durable defaults (or
`--postgres-url`, whose user may create databases). The bot is in four servers, one per
shard (two served by A, two by B). Members, a fifth in DMs and the rest spread over the
servers, send edits at random times (mixed `n`, some provider failures, some
cancelled, some results re-rolled); half-way B is killed and started again. The scenario
and the invariants are in tests/support/load_run.py (the test suite runs a small one:
tests/e2e/test_load_small.py).

Printed: interactions per second, p50/p99 acknowledgement latency and time to result, CPU
per interaction and peak RSS of each process (read from /proc), and the invariant
verdicts; the exit status is 1 when an invariant fails or a process did not stop cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


async def run(args: argparse.Namespace) -> int:
    import asyncpg

    from tests.fakes.discord_server import FakeDiscord
    from tests.fakes.image_api import FakeImageAPI
    from tests.pg_cluster import Cluster
    from tests.support.load_run import LoadConfig, LoadRun

    config = LoadConfig(
        members=args.members, edits=args.edits, duration=args.duration, restart=args.restart,
        provider_delay=args.provider_delay, max_concurrent=args.max_concurrent_edits,
        quota_limit=args.quota_limit, global_limit=args.global_limit, seed=args.seed, dm_share=args.dm_share,
        servers=args.servers,
    )
    cluster = None
    server = args.postgres_url
    if not server:
        cluster = Cluster(durable=True)
        server = cluster.start()
        print(f"PostgreSQL: a throwaway cluster with durable defaults at {server}", flush=True)
    try:
        admin = await asyncpg.connect(server)
        name = "retouch_load"
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.execute(f"CREATE DATABASE {name}")
        await admin.close()
        url = server.rsplit("/", 1)[0] + "/" + name
        with tempfile.TemporaryDirectory(prefix="retouch-load-") as tmp:
            async with FakeDiscord(shard_count=4, guild_shard=2) as discord_fake, FakeImageAPI() as api:
                print("starting two bot processes...", flush=True)
                report = await LoadRun(config, Path(tmp), url, discord_fake, api).run()
        for line in report.lines():
            print(line)
        return 0 if report.ok else 1
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--edits", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds over which the edits are sent")
    parser.add_argument("--restart", choices=("kill", "term", "none"), default="kill", help="how B is stopped half-way")
    parser.add_argument("--provider-delay", type=float, default=0.5, help="seconds the fake provider takes per edit")
    parser.add_argument("--max-concurrent-edits", type=int, default=8, help="MAX_CONCURRENT_EDITS of each process")
    parser.add_argument("--quota-limit", type=int, default=8, help="QUOTA_DEFAULT_LIMIT")
    parser.add_argument("--global-limit", type=int, default=None, help="GLOBAL_DAILY_IMAGE_LIMIT (default: 6 per member)")
    parser.add_argument("--dm-share", type=float, default=0.2,
                        help="members in DMs (process A; the rest spread over the servers); 1 loads A alone")
    parser.add_argument("--servers", type=int, default=4,
                        help="servers the bot is in, one per shard (the first on B's shard 2, then 3, 0, 1)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--postgres-url", default="", help="a PostgreSQL server whose user may create databases")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
