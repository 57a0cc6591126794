"""The ``logistics`` command: serve the API, migrate, drive a demo journey, check coverage, list and check
carriers, retry failed bookings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import ValidationError

from logistics.processes import SUPERVISED_FLAG, SupervisedChild

if TYPE_CHECKING:
    from carriers.registry import CarrierRegistry
    from logistics.config import ApiKey, Settings
    from logistics.domain.routing import Coverage

logger = logging.getLogger(__name__)
DEV_KEYS = "var/dev-api-keys.json"
MAX_PROCESSES = 256
GC_YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


def tune_collector() -> None:
    """Set the garbage collector up for serving, once the service has started."""
    # What exists now (modules, coverage, calendars, schemas) lives as long as the process: move it out of
    # the collector's sight, so the collections that requests' garbage triggers do not walk it every time.
    gc.collect()
    gc.freeze()
    # A request leaves almost no cyclic garbage, yet its short-lived containers triggered a young
    # collection every 700 net allocations: about 4% of a create's CPU. Every 20,000 they cost nothing
    # measurable, and what cycles there are wait a little longer to be freed.
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


def _settings() -> object:
    from logistics.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or '(settings)'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        ]
        print(f"logistics: settings not valid: {'; '.join(problems)}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValueError as exc:  # the configuration file could not be read
        print(f"logistics: settings not valid: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def carrier_settings_valid(settings: Settings, registry: CarrierRegistry) -> bool:
    """Check the enabled carriers' settings before serving: each problem is one line naming the setting,
    on standard error, without a traceback."""
    problems = registry.settings_problems(settings.carriers)
    for problem in problems:
        print(f"logistics: setting {problem}", file=sys.stderr)
    return not problems


def _event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """uvloop where configured and installed: the same asyncio API on libuv, with far cheaper socket I/O and
    cross-thread wake-ups (each COMMIT and each read on the reader connection is one) than the standard
    library's selector loop."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            logger.warning("event_loop is uvloop but uvloop is not installed: using asyncio's own loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve(args: argparse.Namespace) -> int:
    from carriers.registry import CarrierRegistry
    from logistics.app import create_app
    from logistics.config import Settings
    from logistics.logconfig import configure_logging
    from logistics.server import StartupFailed, check_coverage, check_database, run

    settings = _settings()
    assert isinstance(settings, Settings)
    supervised: SupervisedChild | None = None
    if args.supervised is not None:
        supervised, port = SupervisedChild.parse(args.supervised)
        settings = settings.model_copy(update={"port": port})  # the port the supervisor holds for its children
    elif args.processes > 1 and (refusal := processes_refusal(settings)) is not None:
        print(f"logistics: {refusal}", file=sys.stderr)
        return 2
    # Plug-ins are found once: the checks below and the application use the same registry.
    registry = CarrierRegistry.discover(disabled=settings.disabled_carriers)
    if not carrier_settings_valid(settings, registry):
        return 2
    configure_logging(settings.log_level, settings.log_format)
    loop = _event_loop(settings.event_loop)
    try:
        coverage = check_coverage(settings, registry)
        loop.run_until_complete(check_database(settings))
        keys = _api_keys(settings, coverage)
    except StartupFailed as exc:
        loop.close()
        print(f"logistics: {exc}", file=sys.stderr)
        return 2
    if supervised is None and args.processes > 1:
        # Checked (and migrated) once here; each serving process checks again, finding nothing to do.
        loop.close()
        return supervise(settings, args.processes)
    app = create_app(settings, api_keys=keys, registry=registry)

    async def on_startup(app: web.Application) -> None:
        from logistics.api.keys import SERVICES

        loop = asyncio.get_running_loop()

        def reload() -> None:
            from logistics.coverage import CoverageError

            try:
                app[SERVICES].coverage.reload()
            except CoverageError as exc:  # the file's problems, as `coverage check` lists them
                logger.error("coverage reload refused; the previous coverage stays in service: %s", exc)
            except Exception:
                logger.exception("coverage reload refused; the previous coverage stays in service")

        loop.add_signal_handler(signal.SIGHUP, reload)
        tune_collector()

    app.on_startup.append(on_startup)
    return run(settings, app, loop, supervised=supervised)


def processes_refusal(settings: Settings) -> str | None:
    """Why ``serve --processes N`` (N > 1) cannot run on these settings, or None."""
    if settings.database_url is None:
        return (
            "--processes needs the PostgreSQL store (database_url): the SQLite store takes one serving process, "
            "whose in-process group commit assumes it is the only writer"
        )
    return None


def supervise(settings: Settings, count: int) -> int:
    """Run ``count`` serving processes sharing ``settings.port``; the parent's exit code."""
    from logistics.processes import PortUnavailable, Supervisor, child_command, reserve_port

    try:
        held = reserve_port(settings.host, settings.port)
    except PortUnavailable as exc:
        print(f"logistics: {exc}", file=sys.stderr)
        return 2
    with held:
        port = int(held.getsockname()[1])
        supervisor = Supervisor(child_command(), count, port=port)
        logger.info("starting %d serving processes on port %d (supervisor pid %d)", count, port, os.getpid())
        return asyncio.run(supervisor.run(f"serving on http://{settings.host}:{port}"))


def _api_keys(settings: Settings, coverage: Coverage) -> list[ApiKey]:
    """The configured keys, or the development keys file (made once, a key per centre of ``coverage``) when
    none are configured."""
    from logistics.dev_keys import load_or_create
    from logistics.server import StartupFailed

    if settings.api_keys:
        return settings.api_keys
    if settings.dev_keys_path is None:
        raise StartupFailed("api_keys: none are configured and dev_keys_path is unset")
    try:
        keys, _ = load_or_create(settings.dev_keys_path, coverage.centres)
    except OSError as exc:
        raise StartupFailed(f"dev_keys_path {settings.dev_keys_path}: {exc.strerror or exc}") from None
    print(f"development API keys: {settings.dev_keys_path.resolve()}", flush=True)
    return keys


def migrate(args: argparse.Namespace) -> int:
    from logistics.config import Settings
    from logistics.server import StartupFailed, check_database

    settings = _settings()
    assert isinstance(settings, Settings)
    try:
        asyncio.run(check_database(settings))
    except StartupFailed as exc:
        print(f"logistics: {exc}", file=sys.stderr)
        return 2
    print(f"{settings.database_description} is up to date")
    return 0


def coverage_check(args: argparse.Namespace) -> int:
    from logistics.coverage.commands import run_check

    return run_check(Path(args.file), args.carriers)


def coverage_schema(args: argparse.Namespace) -> int:
    from logistics.coverage.commands import run_schema

    return run_schema()


def coverage_explain(args: argparse.Namespace) -> int:
    from logistics.coverage.commands import run_explain_arguments

    return run_explain_arguments(args, datetime.now(UTC))


def carriers_list(args: argparse.Namespace) -> int:
    from carriers.registry import CarrierRegistry
    from logistics.config import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    registry = CarrierRegistry.discover(disabled=settings.disabled_carriers)
    for info in registry.describe():
        configured = "configured" if info.name in settings.carriers else "not configured"
        print(f"{info.name:<12} {info.status.value:<9} {configured:<15} {info.source}")
        if info.capabilities:
            print(f"{'':<12} capabilities: {', '.join(sorted(c.value for c in info.capabilities))}")
        if info.error:
            print(f"{'':<12} error: {info.error}")
    return 0


def bookings_retry(args: argparse.Namespace) -> int:
    from logistics.app import open_store
    from logistics.clock import SystemClock
    from logistics.config import Settings
    from logistics.services.bookings import Bookings

    settings = _settings()
    assert isinstance(settings, Settings)

    async def run() -> int:
        async with contextlib.AsyncExitStack() as stack:
            # Only re-queued here: the service's bookings worker makes them, looking each up first.
            bookings = Bookings(await open_store(settings, stack), SystemClock(), {})
            queued = await bookings.retry_failed(repair_id=args.repair, carrier=args.carrier)
        for intent in queued:
            print(f"{intent.reference:<32} {intent.carrier:<12} {intent.operation:<16} was: {intent.last_error}")
        print(f"{len(queued)} failed booking(s) put back in the outbox; the running service books them")
        return 0

    return asyncio.run(run())


def carriers_check(args: argparse.Namespace) -> int:
    import aiohttp

    from carriers.base import CarrierContext
    from carriers.registry import CarrierRegistry, check_access
    from logistics.clock import SystemClock
    from logistics.config import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    registry = CarrierRegistry.discover(disabled=settings.disabled_carriers)

    async def run() -> int:
        async with aiohttp.ClientSession() as session:
            context = CarrierContext(session=session, clock=SystemClock(), sleep=asyncio.sleep)
            verdicts = await check_access(registry, settings.carriers, context, timeout_s=args.timeout)
        for verdict in verdicts:
            print(f"{verdict.carrier:<12} {'ok' if verdict.ok else 'FAILED':<7} {verdict.detail}")
        if not verdicts:
            print("no carrier is enabled")
        return 0 if verdicts and all(v.ok for v in verdicts) else 1

    return asyncio.run(run())


def demo(args: argparse.Namespace) -> int:
    from logistics.config import Settings
    from logistics.demo import read_keys, run_demo

    base_url, keys_path = args.base_url, args.keys
    if base_url is None or keys_path is None:  # those of the server ``logistics serve`` runs with these settings
        settings = _settings()
        assert isinstance(settings, Settings)
        base_url = base_url or settings.local_url
        keys_path = keys_path or settings.dev_keys_path or DEV_KEYS
    keys = read_keys(Path(keys_path))
    if keys is None:
        return 2
    return asyncio.run(run_demo(base_url, keys))


def build_parser() -> argparse.ArgumentParser:
    from logistics.coverage.commands import add_check_arguments, add_explain_arguments

    parser = argparse.ArgumentParser(prog="logistics", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve", help="serve the API (the default)")
    serve_parser.add_argument(
        "--processes",
        type=_process_count,
        default=1,
        metavar="N",
        help="serving processes sharing the port (SO_REUSEPORT), watched by this one; more than 1 needs "
        "the PostgreSQL store (database_url)",
    )
    serve_parser.add_argument(SUPERVISED_FLAG, help=argparse.SUPPRESS)  # set by the supervisor for its children
    serve_parser.set_defaults(func=serve)
    sub.add_parser("migrate", help="create or upgrade the database").set_defaults(func=migrate)
    demo_parser = sub.add_parser("demo", help="drive one journey of each method against a running server")
    demo_parser.add_argument(
        "--base-url", default=None, help="the server's URL; by default the address the settings make it listen on"
    )
    demo_parser.add_argument("--keys", default=None, help="the development keys file; by default the settings' one")
    demo_parser.set_defaults(func=demo)
    coverage = sub.add_parser("coverage", help="coverage files").add_subparsers(dest="coverage_command", required=True)
    check = coverage.add_parser("check", help="validate a coverage file and list every problem")
    add_check_arguments(check)
    check.set_defaults(func=coverage_check)
    explain = coverage.add_parser("explain", help="the routing decision for an address, with its reasons")
    add_explain_arguments(explain)
    explain.set_defaults(func=coverage_explain)
    coverage.add_parser(
        "schema", help="the coverage file's JSON Schema, for editors (generated from the model)"
    ).set_defaults(func=coverage_schema)
    carriers = sub.add_parser("carriers", help="carrier plug-ins").add_subparsers(
        dest="carriers_command", required=True
    )
    carriers.add_parser(
        "list", help="every adapter, where it came from, its capabilities, enabled or not"
    ).set_defaults(func=carriers_list)
    check_carriers = carriers.add_parser(
        "check", help="ask each enabled carrier for a token or another harmless call; a verdict per carrier"
    )
    check_carriers.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each carrier")
    check_carriers.set_defaults(func=carriers_check)
    bookings = sub.add_parser("bookings", help="carrier bookings").add_subparsers(
        dest="bookings_command", required=True
    )
    retry = bookings.add_parser("retry", help="retry failed bookings once their cause is fixed")
    scope = retry.add_mutually_exclusive_group(required=True)
    scope.add_argument("--repair", metavar="ID", help="the failed bookings of one repair")
    scope.add_argument("--carrier", metavar="NAME", help="the failed bookings of one carrier")
    scope.add_argument("--all", action="store_true", help="every failed booking")
    retry.set_defaults(func=bookings_retry)
    return parser


def _process_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= count <= MAX_PROCESSES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_PROCESSES}, not {count}")
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:  # no command: serve, with the serve command's defaults
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "serve"])
    return int(args.func(args))
