"""`python -m bot backup PATH`: a consistent copy of the database while the bot runs.

Uses SQLite's online backup API, a few pages at a time with a short pause between
steps, from inside one read transaction: in WAL mode a reader never blocks the bot's
writes, and the copy is one snapshot (the state after some commit, never half of one)
even while the bot keeps writing. It does not take the bot's instance lock.

The copy is a single self-contained file (journal mode DELETE, no -wal/-shm beside it),
checked with `PRAGMA integrity_check`, and only then moved to PATH; an existing PATH is
never overwritten.

With DATABASE_URL (PostgreSQL) the backup is PostgreSQL's own: `pg_dump --format=custom`
(one consistent snapshot while the bots run), checked with `pg_restore --list`, written to
PATH the same way (never overwriting). Without pg_dump on this machine (the bot's image has
none) it says so and how to run it where PostgreSQL is (README, Growing).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping

from bot.ops.container import in_container
from bot.private_files import create_private_file, make_private_dirs

PAGES_PER_STEP = 1024  # 4 MiB per step with the default 4 KiB pages
PAUSE_BETWEEN_STEPS = 0.005  # seconds; lets the bot's own statements run in between


class BackupError(Exception):
    """The backup could not be made; the message is one line for the operator."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_version: int
    seconds: float


def database_path_from_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Path:
    """DATABASE_PATH as the bot reads it, without requiring the bot's other settings
    (a backup needs no Discord token)."""
    from bot.config import Settings, read_environment

    values = read_environment(environ, env_file)
    for f in fields(Settings):
        if f.metadata["env"] == "DATABASE_PATH":
            raw = values.get("DATABASE_PATH", "")
            return f.metadata["parse"]("DATABASE_PATH", raw) if raw.strip() else Path(f.default)
    raise AssertionError("Settings has no DATABASE_PATH")  # pragma: no cover


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def backup_database(
    source: Path | str,
    destination: Path | str,
    *,
    pages: int = PAGES_PER_STEP,
    pause: float = PAUSE_BETWEEN_STEPS,
) -> BackupResult:
    source, destination = Path(source), Path(destination)
    started = time.monotonic()
    if not source.is_file():
        raise BackupError(f"no database at {source}: check DATABASE_PATH (in Docker, is the /data volume mounted?)")
    if _same_file(source, destination):
        raise BackupError("the backup path is the database itself: choose another path")
    if destination.exists() or destination.is_symlink():
        raise BackupError(f"{destination} already exists: choose a new file name (backups are never overwritten)")
    for suffix in ("-wal", "-shm", "-journal"):
        if Path(f"{destination}{suffix}").exists():
            raise BackupError(f"{destination}{suffix} exists: remove it or choose a new file name")
    try:
        make_private_dirs(destination.parent)
    except OSError as exc:
        raise BackupError(f"cannot create the folder {destination.parent}: {exc.strerror or exc}") from None

    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    try:
        _copy(source, partial, pages=pages, pause=pause)
        version = _verify(partial)
        _publish(partial, destination)
    except BaseException:
        for leftover in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    return BackupResult(destination, destination.stat().st_size, version, time.monotonic() - started)


def _copy(source: Path, target: Path, *, pages: int, pause: float) -> None:
    # Read-only: the backup can never change the bot's database, whoever runs it.
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database {source}: {exc}") from None
    try:
        create_private_file(target)  # 0600, and so its journal and the published backup
        dst = sqlite3.connect(target, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        src.close()
        raise BackupError(f"cannot write in {target.parent}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        # One read transaction for the whole copy: every step reads the same snapshot,
        # so the bot's commits meanwhile neither tear the copy nor restart it.
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchall()

        def breathe(status: int, remaining: int, total: int) -> None:
            if remaining:
                time.sleep(pause)

        src.backup(dst, pages=pages, progress=breathe)
        src.execute("COMMIT")
        # A self-contained single file: restoring it is copying one file.
        dst.execute("PRAGMA journal_mode = DELETE").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"copying {source} failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def _verify(path: Path) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the copy failed its integrity check: {exc}") from None
    finally:
        conn.close()
    if [r[0] for r in rows] != ["ok"]:
        first = rows[0][0] if rows else "no answer"
        raise BackupError(f"the copy failed its integrity check ({first}); the database itself may be damaged: run `python -m bot doctor`")
    return version


def _publish(partial: Path, destination: Path) -> None:
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    try:
        os.link(partial, destination)  # fails if destination appeared meanwhile: never overwrite
    except FileExistsError:
        raise BackupError(f"{destination} already exists: choose a new file name (backups are never overwritten)") from None
    except OSError:
        # Filesystems without hard links (some network shares): check, then rename.
        if destination.exists():
            raise BackupError(f"{destination} already exists: choose a new file name") from None
        os.rename(partial, destination)
    else:
        partial.unlink()
    try:
        dir_fd = os.open(destination.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


PG_DUMP_HINT = (
    "back it up with PostgreSQL's pg_dump where it is installed, e.g. "
    "`pg_dump --format=custom --file retouch.dump \"$DATABASE_URL\"` "
    "(docker compose: `docker compose exec postgres pg_dump -U retouch --format=custom retouch > retouch.dump`); "
    "restore with pg_restore into an empty database"
)


def backup_postgres(url: str, destination: Path | str, *, timeout: float = 3600) -> BackupResult:
    """pg_dump's custom format, verified with pg_restore --list, published without overwriting."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    from bot.redact import url_password, with_encoded_credentials, without_credentials

    url = with_encoded_credentials(url)  # as the bot reads DATABASE_URL (bot.config)
    destination = Path(destination)
    started = time.monotonic()
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if pg_dump is None or pg_restore is None:
        raise BackupError(f"DATABASE_URL is PostgreSQL and pg_dump is not installed here: {PG_DUMP_HINT}")
    if destination.exists() or destination.is_symlink():
        raise BackupError(f"{destination} already exists: choose a new file name (backups are never overwritten)")
    try:
        make_private_dirs(destination.parent)
    except OSError as exc:
        raise BackupError(f"cannot create the folder {destination.parent}: {exc.strerror or exc}") from None
    # The password travels in the environment, never on a command line others can read.
    env = dict(os.environ)
    password = url_password(url)
    parts = urlsplit(url)
    if password:
        env["PGPASSWORD"] = unquote(password)  # the URL holds it percent-encoded
        netloc = parts.netloc.replace(f":{password}@", "@", 1)
        url = urlunsplit(parts._replace(netloc=netloc))
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    try:
        create_private_file(partial)  # pg_dump truncates and writes it, keeping the mode
        done = subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", "--file", str(partial), f"--dbname={url}"],
            env=env, capture_output=True, text=True, timeout=timeout,
        )
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise BackupError(f"pg_dump of {without_credentials(url)} failed: {reason}")
        listed = subprocess.run([pg_restore, "--list", str(partial)], capture_output=True, text=True, timeout=300)
        if listed.returncode != 0 or "TABLE DATA" not in listed.stdout:
            raise BackupError("the dump could not be read back with pg_restore --list; the database may be damaged: run `python -m bot doctor`")
        _publish(partial, destination)
    except subprocess.TimeoutExpired:
        raise BackupError(f"pg_dump took longer than {timeout:.0f} s") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(destination, destination.stat().st_size, 0, time.monotonic() - started)


def main(path: str, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> int:
    """`python -m bot backup PATH`: exit 0 with the path and size, 1 with one line why."""
    from bot.config import read_environment

    try:
        database_url = read_environment(environ, env_file).get("DATABASE_URL", "").strip()
    except Exception:  # noqa: BLE001 - the SQLite path below reports an unreadable .env
        database_url = ""
    if database_url:
        return _main_postgres(database_url, path)
    hint = ""
    if in_container(environ) and not Path(path).absolute().is_relative_to("/data"):
        hint = " (in the container only /data is kept and writable: use e.g. /data/backups/retouch.db)"
    try:
        source = database_path_from_settings(environ, env_file)
        result = backup_database(source, Path(path))
    except BackupError as exc:
        writing = str(exc).startswith(("cannot create", "cannot write"))
        print(f"retouch: backup failed: {exc}{hint if writing else ''}", file=sys.stderr, flush=True)
        return 1
    except OSError as exc:
        print(f"retouch: backup failed: {exc.strerror or exc} ({getattr(exc, 'filename', '') or path}){hint}", file=sys.stderr, flush=True)
        return 1
    print(
        f"backup written: {result.path} ({result.size:,} bytes, schema version {result.schema_version}, "
        f"integrity ok, {result.seconds:.1f} s)",
        flush=True,
    )
    return 0


def _main_postgres(url: str, path: str) -> int:
    from bot.redact import password_spellings, redact, register_secret

    for password in password_spellings(url):
        register_secret(password)
    try:
        result = backup_postgres(url, Path(path))
    except BackupError as exc:
        print(redact(f"retouch: backup failed: {exc}"), file=sys.stderr, flush=True)
        return 1
    except OSError as exc:
        print(redact(f"retouch: backup failed: {exc.strerror or exc}"), file=sys.stderr, flush=True)
        return 1
    print(
        f"backup written: {result.path} ({result.size:,} bytes, pg_dump custom format, readable by pg_restore, "
        f"{result.seconds:.1f} s); restore: pg_restore --dbname=NEW_EMPTY_DATABASE {result.path}",
        flush=True,
    )
    return 0
