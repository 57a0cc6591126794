"""The composition root: the only place where settings, storage, carriers, labels and the API meet.

``create_app(settings)`` builds the aiohttp application. Every resource lives in a cleanup context, opened
in order before the first request and closed in reverse order at shutdown: the database (migrated at
open), the shared HTTP client session, the carrier adapters, the label process pool, the services, and the
background workers (bookings outbox, tracking polls, notifications, turnaround clocks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from carriers import CarrierAdapter, CarrierContext, Sleep
from carriers.registry import CarrierRegistry
from carriers.resilience import AttemptRecord, ResilientCarrier
from labels import warm_up
from logistics.api import routes_centres, routes_notifications, routes_public, routes_repairs
from logistics.api.access_log import access_middleware
from logistics.api.auth import KeyRing, auth_middleware
from logistics.api.idempotency import Idempotency
from logistics.api.keys import SERVICES
from logistics.api.metrics import Metrics
from logistics.api.problems import name_the_server, problem_middleware
from logistics.api.services import ServiceSet
from logistics.clock import Clock, SystemClock
from logistics.config import ApiKey, Settings
from logistics.coverage import SAMPLE_COVERAGE_PATH, load_coverage
from logistics.domain.routing import BusinessCalendar
from logistics.services.bookings import Bookings
from logistics.services.centres import Centres
from logistics.services.customer_labels import CustomerLabels
from logistics.services.customer_links import CustomerLinks
from logistics.services.housekeeping import Housekeeping
from logistics.services.label_documents import LabelDocuments
from logistics.services.label_links import SealedTokens
from logistics.services.notification_log import NotificationLog
from logistics.services.outboxes import Outboxes
from logistics.services.passes import ClaimedPass, instance_name
from logistics.services.polling import Poller
from logistics.services.ports import Store
from logistics.services.repairs import Repairs
from logistics.services.routing import CoverageInService, Routing
from logistics.services.tracking import Tracking
from logistics.services.turnaround import CalendarOf, TurnaroundWatch, centre_calendar, site_and_centre
from logistics.services.webhook_delivery import WebhookDelivery
from logistics.storage.database import Database
from logistics.storage.postgres import COVERAGE_CHANNEL, WORK_CHANNEL, Engine, PostgresStore
from logistics.storage.sqlite_store import SqliteStore
from logistics.web import setup_web
from logistics.workers import WorkerLoop

logger = logging.getLogger(__name__)

WORKER_PAUSE_S = 1.0
TURNAROUND_PERIOD_S = 60.0  # how often the turnaround clocks are read again
HOUSEKEEPING_PERIOD_S = 300.0


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    registry: CarrierRegistry | None = None,
    label_executor: Executor | None = None,
    api_keys: list[ApiKey] | None = None,
) -> web.Application:
    """Build the application. Tests pass a manual ``clock``, an explicit ``registry`` or executor."""
    clock = clock or SystemClock()
    metrics = Metrics()
    keys = api_keys if api_keys is not None else settings.api_keys
    ring = KeyRing(keys)
    app = web.Application(
        middlewares=[
            access_middleware(metrics),
            problem_middleware,
            auth_middleware(ring, operations_public=settings.metrics_public),
        ],
        client_max_size=settings.max_body_bytes,
    )
    app.add_routes(routes_repairs.routes)
    app.add_routes(routes_centres.routes)
    app.add_routes(routes_public.routes)
    app.on_response_prepare.append(name_the_server)
    app.add_routes(routes_notifications.routes)
    setup_web(app, ring=ring, clock=clock, secure_cookies=settings.public_base_url.startswith("https://"))
    app.cleanup_ctx.append(_service_context(settings, clock, sleep, registry, label_executor, metrics))
    return app


async def open_store(settings: Settings, stack: contextlib.AsyncExitStack) -> Store:
    """The store ``settings`` name, opened (and migrated) and closed with ``stack``: PostgreSQL when
    ``database_url`` is set, else the SQLite file at ``database_path``."""
    if settings.database_url is not None:
        engine = await Engine.open(settings.database_url.get_secret_value(), max_size=settings.database_pool_size)
        stack.push_async_callback(engine.close)
        # An outbox claim (a notification's delivery, a leg's poll) is held as long as a booking attempt.
        return PostgresStore(engine, lease=timedelta(seconds=settings.booking_lease_s))
    database = await Database.open(settings.database_path)
    stack.push_async_callback(database.close)
    return SqliteStore(database)


def known_carrier_names(registry: CarrierRegistry) -> list[str]:
    """Every carrier a coverage file may name: the plug-ins found, whether enabled here or not."""
    return sorted({info.name for info in registry.describe()})


def enabled_carriers(settings: Settings) -> list[str]:
    """The carriers this instance books with: configured and not disabled."""
    return [name for name in settings.carriers if name not in settings.disabled_carriers]


class CoverageNeedsCarriers(ValueError):
    """The coverage books with carriers this instance has not enabled: every such booking would fail."""


def load_coverage_for(
    settings: Settings, known_carriers: list[str], *, enabled: list[str] | None = None
) -> CoverageInService:
    """The coverage in service, loaded now and on each reload. With ``enabled``, a coverage whose regions book
    with another carrier is refused (at start, and at a reload, which then keeps the previous coverage)."""
    path = settings.coverage_path or SAMPLE_COVERAGE_PATH

    def loader() -> Any:
        coverage = load_coverage(path, known_carriers=known_carriers)
        if enabled is not None:
            missing = sorted(
                f"region {region.id} books with {carrier!r}"
                for region in coverage.regions.values()
                for carrier in region.carriers()
                if carrier not in enabled
            )
            if missing:
                raise CoverageNeedsCarriers(
                    f"{'; '.join(missing)}, which is not enabled here (settings carriers / disabled_carriers;"
                    f" enabled: {', '.join(sorted(enabled)) or 'none'})"
                )
        return coverage

    return CoverageInService(loader(), loader, str(path))


def _service_context(
    settings: Settings,
    clock: Clock,
    sleep: Sleep | None,
    registry: CarrierRegistry | None,
    label_executor: Executor | None,
    metrics: Metrics,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            store = await open_store(settings, stack)

            session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
            stack.push_async_callback(session.close)

            plugins = registry or CarrierRegistry.discover(disabled=settings.disabled_carriers)
            carriers = await _build_carriers(settings, plugins, session, clock, sleep, metrics, stack)
            coverage = load_coverage_for(settings, known_carrier_names(plugins), enabled=sorted(carriers))

            executor = label_executor
            if executor is None:
                # Rendering runs at a lower priority than the event loop, so that on a shared core a burst of
                # downloads slows the downloads, not every other request.
                pool = ProcessPoolExecutor(
                    max_workers=settings.label_workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=os.nice,
                    initargs=(10,),
                )
                stack.callback(pool.shutdown, wait=True, cancel_futures=True)
                executor = pool
                # Start every worker now, each rendering a label once (fonts parsed, caches warm): the first
                # downloads after a start do not wait for a process to spawn.
                await asyncio.gather(
                    *(asyncio.wrap_future(pool.submit(warm_up)) for _ in range(settings.label_workers))
                )

            routing = Routing(coverage, clock)
            bookings = Bookings(
                store,
                clock,
                carriers,
                retry_max_s=settings.booking_retry_max_s,
                lease=timedelta(seconds=settings.booking_lease_s),
                call_deadline=timedelta(seconds=settings.call_policy.deadline_s),
                budget=timedelta(seconds=settings.booking_budget_s) if settings.booking_budget_s else None,
            )
            stack.push_async_callback(bookings.drain)
            ttl = timedelta(days=settings.label_link_ttl_days)
            secret = settings.intake_secret.get_secret_value().encode()
            tracking = Tracking(
                store, clock, future_tolerance=timedelta(minutes=settings.tracking.future_tolerance_min)
            )
            repairs = Repairs(store, clock, routing, bookings, link_ttl=ttl, packing=settings.packing.rules())
            services = ServiceSet(
                settings=settings,
                clock=clock,
                store=store,
                metrics=metrics,
                coverage=coverage,
                routing=routing,
                repairs=repairs,
                customer_links=CustomerLinks(store, clock, routing, repairs),
                centres=Centres(store, clock, routing, bookings, intake_secret=secret, link_ttl=ttl),
                bookings=bookings,
                tracking=tracking,
                labels=LabelDocuments(
                    store,
                    clock,
                    routing,
                    executor,
                    intake_secret=secret,
                    cache_entries=settings.label_cache_entries,
                    concurrency=2 * settings.label_workers,
                    on_render=lambda page_format, cache: metrics.label_renders.labels(page_format, cache).inc(),
                ),
                idempotency=Idempotency(store, clock, SealedTokens(store, clock)),
                carriers=carriers,
                poller=Poller(store, clock, carriers, tracking, settings.polling),
                delivery=WebhookDelivery(
                    store, clock, settings.webhook, session, on_outcome=metrics.notification_outcome
                ),
                turnaround=TurnaroundWatch(store, clock, _calendar_of(routing)),
                housekeeping=Housekeeping(
                    store, clock, idempotency_retention=timedelta(days=settings.idempotency_retention_days)
                ),
                notification_log=NotificationLog(store, clock),
                customer_labels=CustomerLabels(store, clock, link_ttl=ttl),
                outboxes=Outboxes(store.reader()),
            )
            app[SERVICES] = services
            wake: dict[str, asyncio.Event] = {}
            if isinstance(store, PostgresStore):
                wake = await _share_with_instances(store, coverage, stack)
            # Bookings that failed on our own configuration (credentials refused, a carrier not enabled) are
            # retried once the service starts again, presumably with the settings fixed.
            await bookings.retry_failed(configuration_only=True)
            stack.push_async_callback(services.idempotency.drain)  # answers sent are stored before the close
            if settings.workers_enabled:
                workers = _start_workers(settings, services, wake)
                stack.push_async_callback(_stop_workers, workers)
            logger.info(
                "service ready: %s, carriers %s, coverage %s",
                settings.database_description,
                ", ".join(sorted(carriers)),
                coverage.source,
            )
            yield

    return context


async def _build_carriers(
    settings: Settings,
    registry: CarrierRegistry | None,
    session: aiohttp.ClientSession,
    clock: Clock,
    sleep: Sleep | None,
    metrics: Metrics,
    stack: contextlib.AsyncExitStack,
) -> dict[str, CarrierAdapter]:
    registry = registry or CarrierRegistry.discover(disabled=settings.disabled_carriers)
    for name, error in registry.broken.items():
        logger.warning("carrier plug-in %s is broken: %s", name, error)
    enabled = [name for name in settings.carriers if name not in settings.disabled_carriers]
    registry.ensure_usable(enabled)
    context = CarrierContext(session=session, clock=clock, sleep=sleep or asyncio.sleep)

    def on_attempt(record: AttemptRecord) -> None:
        metrics.carrier_attempt(record.carrier, record.operation, str(record.outcome), record.latency_s)

    carriers: dict[str, CarrierAdapter] = {}
    for name in enabled:
        adapter = registry.build(name, settings.carriers[name], context)
        stack.push_async_callback(adapter.aclose)
        policy = settings.call_policy
        if name in settings.carrier_call_limits:
            policy = policy.model_copy(update={"max_concurrency": settings.carrier_call_limits[name]})
        carriers[name] = ResilientCarrier(adapter, policy, sleep=sleep, on_attempt=on_attempt)
    return carriers


async def _share_with_instances(
    store: PostgresStore, coverage: CoverageInService, stack: contextlib.AsyncExitStack
) -> dict[str, asyncio.Event]:
    """What instances sharing one database tell each other, by NOTIFY: new outbox work (returned: the events
    that wake the workers at once) and a coverage reload (every instance reloads its file)."""
    me = secrets.token_hex(8)
    wake = {name: asyncio.Event() for name in ("bookings", "notifications")}
    announcing: set[asyncio.Task[Any]] = set()

    def on_work(payload: str) -> None:
        for name in payload.split() or list(wake):  # empty: notifications may have been missed, look at all
            if name in wake:
                wake[name].set()

    def on_coverage(payload: str) -> None:
        if not payload or payload == me:
            return
        try:
            coverage.reload(announce=False)
        except Exception:
            logger.exception("coverage reload asked by another instance refused; the previous one stays")

    def announce() -> None:
        task = asyncio.get_running_loop().create_task(
            store.engine.fetch("SELECT pg_notify(?, ?)", (COVERAGE_CHANNEL, me))
        )
        announcing.add(task)
        task.add_done_callback(announcing.discard)

    coverage.on_reload = announce
    await stack.enter_async_context(store.engine.listening({WORK_CHANNEL: on_work, COVERAGE_CHANNEL: on_coverage}))
    return wake


def _start_workers(
    settings: Settings, services: ServiceSet, wake: dict[str, asyncio.Event]
) -> list[asyncio.Task[None]]:
    holder = instance_name()

    def claimed(name: str, run: Callable[[], Awaitable[int]], period_s: float) -> Callable[[], Awaitable[int]]:
        return ClaimedPass(services.store, services.clock, name, timedelta(seconds=period_s), run, holder=holder)

    loops: list[tuple[str, Callable[[], Awaitable[int]], float]] = [
        ("bookings", services.bookings.run_due, WORKER_PAUSE_S),
        ("notifications", services.delivery.deliver_due, WORKER_PAUSE_S),
        # Passes over the whole store: one instance of several runs each (logistics.services.passes).
        ("turnaround", claimed("turnaround", services.turnaround.evaluate, TURNAROUND_PERIOD_S), TURNAROUND_PERIOD_S),
        (
            "housekeeping",
            claimed("housekeeping", services.housekeeping.run, HOUSEKEEPING_PERIOD_S),
            HOUSEKEEPING_PERIOD_S,
        ),
    ]
    if settings.polling.enabled:
        loops.append(("polling", services.poller.poll_due, settings.polling.interval_s))
    return [
        asyncio.create_task(WorkerLoop(name, step, pause, wake=wake.get(name)).run(), name=f"worker:{name}")
        for name, step, pause in loops
    ]


def _calendar_of(routing: Routing) -> CalendarOf:
    """Transit in the site's calendar, time at the centre in the centre's own (from the coverage in service)."""

    def calendar_of_centre(centre_id: str) -> BusinessCalendar:
        return centre_calendar(routing.coverage.centres[centre_id])

    return site_and_centre(calendar_of_centre)


async def _stop_workers(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
