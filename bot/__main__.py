"""`python -m bot [run|doctor|backup PATH|health|migrate-db [--to URL]]`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import ConfigError, load_settings
from bot.ops.migrate_db import MIGRATE_DB_TO
from bot.ops.logs import setup_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Retouch: a self-hosted Discord bot that edits images with AI.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    sub.add_parser("doctor", help="check every setting, the database, the Discord token and the image API")
    backup = sub.add_parser("backup", help="write a consistent copy of the database while the bot runs")
    backup.add_argument("path", help="where to write the copy, e.g. backups/retouch-2026-11-21.db")
    sub.add_parser("health", help="exit 0 when the running bot is connected and its database writable (for Docker)")
    move = sub.add_parser("migrate-db", help="copy the SQLite database into an empty PostgreSQL database (stop the bot first)")
    move.add_argument(
        "--to", metavar="URL",
        help="the PostgreSQL database, e.g. postgresql://retouch:password@localhost:5432/retouch; "
        f"better in the environment variable {MIGRATE_DB_TO} (a command line is visible to every user in ps)",
    )
    move.add_argument("--from", dest="source", metavar="PATH", help="the SQLite file (default: DATABASE_PATH)")
    return parser


def fail(message: str, code: int = 2) -> int:
    print(f"retouch: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    # These read the settings themselves: doctor reports every bad setting instead of
    # stopping at the first, and health/backup need only HEALTH_FILE/DATABASE_PATH.
    if command == "doctor":
        from bot.ops.doctor import main as doctor

        return doctor()
    if command == "health":
        from bot.ops.health import main as health

        return health()
    if command == "migrate-db":
        from bot.ops.migrate_db import main as migrate_db

        return migrate_db(args.to, args.source)
    if command == "backup":
        from bot.ops.backup import main as backup

        return backup(args.path)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(f"configuration error: {exc}")
    setup_logging(settings.log_level, settings.secrets, settings.log_format)
    if command == "run":
        from bot.ops.runner import StartupError, run_bot

        try:
            asyncio.run(run_bot(settings))
        except StartupError as exc:
            return fail(str(exc), 1)
        except KeyboardInterrupt:
            pass
        return 0
    return fail(f"'{command}' is not available in this version", 2)


if __name__ == "__main__":
    sys.exit(main())
