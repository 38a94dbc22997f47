"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temporary
folder, `pg_ctl start` on a free port of 127.0.0.1, one database, removed at stop.

    python -m tests.pg_cluster start DIR   # prints the URL; .ci/run uses it
    python -m tests.pg_cluster stop DIR

PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user
that Debian's package creates (the folder is given to it). The binaries are found in
/usr/lib/postgresql/*/bin (Debian's layout, newest first), else on PATH, else in the
`pgserver` wheel the test requirements install (PostgreSQL 16, for machines without it).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

START_TIMEOUT = 60


def find_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    # The test requirements bring PostgreSQL's binaries in a wheel (pgserver); found without
    # importing it (its import has side effects we don't need).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if (bundled / "initdb").is_file():
            return bundled
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One cluster in `folder` (created if needed). `durable=False` turns fsync off: for
    tests, whose data is thrown away; benchmarks keep PostgreSQL's durable defaults.
    With `password`, connections over TCP must give it (scram-sha-256), as on a real
    server; the Unix socket in `folder` stays trusted, for set-up."""

    def __init__(
        self, folder: Path | str | None = None, *, durable: bool = False, bin_dir: Path | None = None, password: str | None = None
    ) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        if self.bin_dir is None:
            raise RuntimeError(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                "apt-get install postgresql, or set RETOUCH_TEST_POSTGRES_URL"
            )
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="retouch-pg-"))
        self.data = self.folder / "data"
        self.durable = durable
        self.password = password
        self.port = 0
        self.user = "retouch"
        self.database = "retouch"
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no `postgres` user to run PostgreSQL as") from None
            self._run_as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> str:
        result = subprocess.run(
            [*self._run_as, *args], capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): {(result.stdout + result.stderr)[-2000:]}")
        return result.stdout

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            shutil.chown(self.folder, "postgres", "postgres")
            self.folder.chmod(0o700)
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256"] if self.password else ["--auth=trust"]
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, *auth,
                  "-E", "UTF8", "--locale=C", "--no-sync")
        self.port = _free_port()
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.folder}",
            "-c max_connections=200",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-o", " ".join(options), "-w", "-t", str(START_TIMEOUT), "start")
        host = str(self.folder) if self.password else "127.0.0.1"
        self._run(str(self.bin_dir / "createdb"), "-h", host, "-p", str(self.port), "-U", self.user, self.database)
        if self.password:
            literal = "'" + self.password.replace("'", "''") + "'"
            self._run(str(self.bin_dir / "psql"), "-h", host, "-p", str(self.port), "-U", self.user, "-d", self.database,
                      "-v", "ON_ERROR_STOP=1", "-q", "-c", f"ALTER ROLE {self.user} PASSWORD {literal}")
        (self.folder / "url").write_text(self.url)
        return self.url

    def stop(self) -> None:
        if self.data.is_dir():
            try:
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.pg_cluster start|stop DIR", file=sys.stderr)
        return 2
    cluster = Cluster(argv[1])
    if argv[0] == "start":
        print(cluster.start(), flush=True)
    else:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
