"""Running the service: everything checked before it says it is serving, then the listener, until a signal.

Start-up order: the settings (already validated by their model), the database (opened, migrated, its schema
version known to this release, writable), the carriers and the coverage (every carrier a region books with
is enabled), then the listening socket. Each failure is one line on stderr naming the setting or the file,
and a non-zero exit: never a traceback, never a process left hanging. Only when the socket listens does the
service print "serving on".

Under ``serve --processes N`` each serving process runs ``run`` with a ``SupervisedChild``
(``logistics.processes``): it listens with ``SO_REUSEPORT`` on the port its supervisor holds, tells the
supervisor through a pipe instead of printing "serving on", leaves SIGINT to the supervisor, and stops when
the supervisor is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from logistics.api.connections import listen, raise_file_limit
from logistics.config import Settings

if TYPE_CHECKING:
    from carriers.registry import CarrierRegistry
    from logistics.domain.routing import Coverage
    from logistics.processes import SupervisedChild

logger = logging.getLogger(__name__)

EXIT_START_FAILED = 2


class StartupFailed(Exception):
    """Why the service cannot start, in one line that names the setting or the file."""


async def check_database(settings: Settings) -> None:
    """Open (and migrate) the database, and prove it takes a write; ``StartupFailed`` with the reason."""
    from logistics.storage.database import Database, SchemaTooNew

    if settings.database_url is not None:
        await _check_postgres(settings)
        return

    where = f"database_path {settings.database_path}"
    try:
        # First with the standard library alone: a file that cannot be opened or read fails here, with no
        # connection thread left behind to report it after the loop has closed.
        await asyncio.to_thread(_read_header, settings.database_path)
        database = await Database.open(settings.database_path)
    except SchemaTooNew as exc:
        raise StartupFailed(f"{where}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise StartupFailed(f"{where}: {_sqlite_reason(exc)}") from None
    except OSError as exc:
        raise StartupFailed(f"{where}: {exc.strerror or exc}") from None
    try:
        await database.probe_write()
    except sqlite3.Error as exc:
        raise StartupFailed(f"{where}: cannot write: {_sqlite_reason(exc)}") from None
    finally:
        await database.close()


async def _check_postgres(settings: Settings) -> None:
    """Connect, migrate (one instance at a time) and see that the server takes writes."""
    import asyncpg

    from logistics.storage.database import SchemaTooNew
    from logistics.storage.postgres import Engine, PostgresStore

    assert settings.database_url is not None
    where = settings.database_description
    try:
        engine = await Engine.open(settings.database_url.get_secret_value(), max_size=1)
    except SchemaTooNew as exc:
        raise StartupFailed(f"{where}: {exc}") from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StartupFailed(f"{where}: {exc or type(exc).__name__}") from None
    try:
        refusal = await PostgresStore(engine).writable()
    finally:
        await engine.close()
    if refusal is not None:
        raise StartupFailed(f"{where}: {refusal}")


def _read_header(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA schema_version").fetchone()


def _sqlite_reason(exc: sqlite3.Error) -> str:
    reason = str(exc)
    if "not a database" in reason or "malformed" in reason:
        return f"{reason} (the file is damaged or is not this service's database)"
    if "unable to open" in reason or "readonly" in reason:
        return f"{reason} (check that the folder exists and the service may write there)"
    return reason


def check_coverage(settings: Settings, registry: CarrierRegistry) -> Coverage:
    """The coverage file, loaded once: it must load and book only with enabled carriers."""
    from logistics.app import enabled_carriers, known_carrier_names, load_coverage_for
    from logistics.coverage import CoverageError, report_problems

    try:
        return load_coverage_for(settings, known_carrier_names(registry), enabled=enabled_carriers(settings)).current
    except CoverageError as exc:
        # The same report as ``logistics coverage check``: one line per problem, with its place in the file.
        report = io.StringIO()
        report_problems(exc.path, exc.problems, report)
        raise StartupFailed(
            f"coverage_path {exc.path}: the coverage file cannot be used:\n{report.getvalue().rstrip()}"
        ) from None
    except Exception as exc:  # every other refusal of the coverage is reported the same way, in one line
        where = settings.coverage_path or "the sample coverage"
        raise StartupFailed(f"coverage_path {where}: {_one_line(str(exc))}") from None


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def run(
    settings: Settings,
    app: web.Application,
    loop: asyncio.AbstractEventLoop,
    *,
    supervised: SupervisedChild | None = None,
) -> int:
    """Serve ``app`` until SIGINT or SIGTERM; the exit code. ``supervised``: this is one of the processes of
    ``serve --processes N``, sharing the port, telling its parent when it listens, stopping when it is gone."""
    try:
        return loop.run_until_complete(_serve(settings, app, supervised))
    except StartupFailed as exc:
        print(f"logistics: {exc}", file=sys.stderr, flush=True)
        return EXIT_START_FAILED
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _serve(settings: Settings, app: web.Application, supervised: SupervisedChild | None) -> int:
    file_limit = raise_file_limit()
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()  # opens every resource of the application (database, carriers, workers)
    except Exception as exc:
        await runner.cleanup()
        raise StartupFailed(f"the service could not start: {_one_line(str(exc)) or type(exc).__name__}") from None
    stop = asyncio.Event()
    try:
        try:
            listener, guard = await listen(
                runner,
                settings.host,
                settings.port,
                max_connections=settings.max_connections,
                header_timeout_s=settings.header_timeout_s,
                reuse_port=supervised is not None,
            )
        except OSError as exc:
            raise StartupFailed(
                f"host {settings.host}, port {settings.port}: cannot listen: {exc.strerror or exc}"
            ) from None
        _on_signals(stop.set, supervised=supervised is not None)
        logger.info(
            "listening: at most %d connections (open-file limit %d), request heads within %.0f s",
            guard.cap,
            file_limit,
            settings.header_timeout_s,
        )
        if supervised is None:
            print(f"serving on http://{settings.host}:{settings.port}", flush=True)
        else:
            logger.info("process %d serving on http://%s:%d", os.getpid(), settings.host, settings.port)
            supervised.watch_parent(stop.set)
            supervised.listening()
        await stop.wait()
        logger.info("stopping: no new connections; finishing requests in flight")
        listener.close()
        return 0
    finally:
        await runner.cleanup()


def _on_signals(stop: Callable[[], None], *, supervised: bool = False) -> None:
    loop = asyncio.get_running_loop()
    if supervised:
        # A Ctrl-C in the terminal reaches the whole process group: the supervisor alone acts on it and stops
        # its processes with SIGTERM, so that none of them is seen dying and started again meanwhile.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        loop.add_signal_handler(signal.SIGTERM, stop)
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
