"""A private PostgreSQL cluster for the tests: Debian's server binaries, a temporary folder, a free loopback port.

Nothing depends on a server being there already. ``PostgresCluster.start`` runs ``initdb`` once and the
postmaster as a child of the test process (so its pid is known and it is stopped by that pid); when the tests
run as root, the server binaries run as the ``postgres`` system user, since PostgreSQL refuses to run as
root. Connections use trust authentication on 127.0.0.1 and a unix socket inside the temporary folder only.

The suite shares one cluster (``postgres_cluster``, session-scoped) and gives each test a database of its
own (``postgres_url``), created from a template at the start of the test and dropped at its end. A test that
needs to stop or restart the server (crash tests, a restart under load) starts a cluster of its own.

Where PostgreSQL is missing the tests that need it are skipped, saying what to install; with ``CI`` set
they fail instead (``.ci/run`` installs the server package).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import grp
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.system_packages import missing

SUPERUSER = "postgres"
MISSING = (
    "PostgreSQL is not installed: the PostgreSQL store's tests need Debian's `postgresql` package "
    "(`sudo apt-get install postgresql`; `initdb` and `pg_ctl` from /usr/lib/postgresql/<version>/bin or PATH), "
    "or POSTGRES_BIN=/path/to/bin"
)
# Settings for a throw-away cluster: durability is not what these tests check (the crash tests that do
# check it pass ``durable=True``), and each test's database is small.
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
BASE = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "max_locks_per_transaction": "128",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
    "logging_collector": "off",
    "dynamic_shared_memory_type": "posix",
}


def postgres_bin() -> Path | None:
    """The folder of ``initdb``, ``postgres`` and ``pg_isready``: POSTGRES_BIN, Debian's newest, or PATH."""
    named = os.environ.get("POSTGRES_BIN")
    if named:
        folder = Path(named)
        return folder if (folder / "initdb").exists() else None
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    return None


def require_postgres() -> Path:
    """The server binaries' folder; skips the test (fails it in CI) naming what is missing."""
    folder = postgres_bin()
    if folder is None:
        named = os.environ.get("POSTGRES_BIN")
        missing(f"POSTGRES_BIN={named} has no initdb" if named else MISSING, tests="the PostgreSQL tests")
    return folder


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    """One PostgreSQL server in ``root`` (data, unix socket and log inside), listening on 127.0.0.1:``port``."""

    root: Path
    bin: Path
    port: int = 0
    durable: bool = False
    settings: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _template: str = ""
    _dropping: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    # -- the server's lifetime -------------------------------------------------------------------------------

    def _as_server_user(self) -> dict[str, object]:
        """Popen arguments that run a server binary as the ``postgres`` user when we are root."""
        if os.geteuid() != 0:
            return {}
        user = pwd.getpwnam("postgres")
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "env": self._env(user.pw_dir)}

    def _env(self, home: str) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets):
                os.chown(path, user.pw_uid, grp.getgrnam("postgres").gr_gid)
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **self._as_server_user(),  # type: ignore[call-overload]
        )

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server (on the same port as before, if it ran before) and wait until it accepts."""
        if not self.data.exists():
            self.init()
        if not self.port:
            self.port = free_port()
        options = {**BASE, **({} if self.durable else FAST), **self.settings}
        options.update(port=str(self.port), unix_socket_directories=str(self.sockets))
        args = [str(self.bin / "postgres"), "-D", str(self.data)]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the tests, not the server
                **self._as_server_user(),  # type: ignore[call-overload]
            )
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL did not start: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop("immediate")
                raise RuntimeError(f"PostgreSQL did not accept connections within {timeout_s}s: {self.log_tail()}")
            time.sleep(0.05)

    def ready(self) -> bool:
        probe = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER],
            check=False,
        )
        return probe.returncode == 0

    def stop(self, mode: str = "fast", timeout_s: float = 30.0) -> None:
        """Stop the server by its pid: ``fast`` (SIGINT: roll back, checkpoint), ``immediate`` (SIGQUIT: as a
        crash, recovered at the next start) or ``smart`` (SIGTERM: after the clients leave)."""
        for dropping in self._dropping:
            dropping.wait()
        self._dropping.clear()
        process = self.process
        if process is None or process.poll() is not None:
            return
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        process.send_signal(sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # The server's own sockets and lock file go with it; a killed one leaves postmaster.pid behind.

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------------------------

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement as the superuser through ``psql``; returns its unaligned output."""
        done = subprocess.run(self._psql(statement, database), check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def _psql(self, statement: str, database: str) -> list[str]:
        psql = self.bin / "psql"
        return [
            str(psql if psql.exists() else "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.sockets),
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            statement,
        ]

    def create_database(self, template: str = "template1") -> str:
        """A new, empty database (a copy of ``template``); returns its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database(self, name: str, *, wait: bool = True) -> None:
        """Drop a database (closing its connections); with ``wait=False`` in the background, while the next
        test starts (``stop`` waits for such drops)."""
        statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        if wait:
            self.sql(statement)
            return
        self._dropping = [p for p in self._dropping if p.poll() is None]
        self._dropping.append(
            subprocess.Popen(self._psql(statement, "postgres"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )

    def migrated_template(self) -> str:
        """A database with the service's schema applied, to copy for each test (made once)."""
        if not self._template:
            import asyncio

            import asyncpg

            from logistics.storage.postgres.engine import migrate

            name = self.create_database()

            async def apply() -> None:
                conn = await asyncpg.connect(self.url(name))
                try:
                    await migrate(conn)
                finally:
                    await conn.close()

            # On a thread of its own: the caller may be a fixture running on the test's event loop.
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
                thread.submit(asyncio.run, apply()).result()
            self._template = name
        return self._template


def start_cluster(*, durable: bool = False, settings: Mapping[str, str] | None = None) -> PostgresCluster:
    """A new cluster in a new temporary folder (call ``destroy`` when done); skips if PostgreSQL is missing.

    The folder is made directly under the system's temporary folder: pytest's own (``/tmp/pytest-of-<user>``)
    is private to its user, and the server may run as another one.
    """
    folder = require_postgres()
    root = Path(tempfile.mkdtemp(prefix="logistics-pg-"))
    os.chmod(root, 0o700)
    cluster = PostgresCluster(root=root, bin=folder, durable=durable, settings=dict(settings or {}))
    try:
        cluster.start()
    except BaseException:
        cluster.destroy()
        raise
    return cluster


@contextlib.contextmanager
def private_cluster(*, durable: bool = False, settings: Mapping[str, str] | None = None) -> Iterator[PostgresCluster]:
    """A cluster of one's own for the length of a block: stopped by its pid and removed afterwards."""
    cluster = start_cluster(durable=durable, settings=settings)
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One cluster for the whole run (fsync off), stopped by its pid at the end."""
    with private_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh database of the shared cluster for one test, with the service's schema already applied (a
    copy of a migrated template), dropped afterwards in the background."""
    name = postgres_cluster.create_database(template=postgres_cluster.migrated_template())
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name, wait=False)


@pytest.fixture
def empty_postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database of the shared cluster (no schema: for migration tests)."""
    name = postgres_cluster.create_database()
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name, wait=False)
