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
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from carriers import CarrierAdapter, CarrierContext, Sleep
from carriers.registry import CarrierRegistry
from carriers.resilience import AttemptRecord, ResilientCarrier
from logistics.api import routes_centres, routes_public, routes_repairs
from logistics.api.access_log import access_middleware
from logistics.api.auth import KeyRing, auth_middleware
from logistics.api.idempotency import Idempotency
from logistics.api.keys import SERVICES
from logistics.api.metrics import Metrics
from logistics.api.problems import problem_middleware
from logistics.api.services import ServiceSet
from logistics.clock import Clock, SystemClock
from logistics.config import ApiKey, Settings
from logistics.coverage import SAMPLE_COVERAGE_PATH, load_coverage
from logistics.domain.routing import BusinessCalendar, calendar_for
from logistics.services.bookings import Bookings
from logistics.services.centres import Centres
from logistics.services.customer_links import CustomerLinks
from logistics.services.housekeeping import Housekeeping
from logistics.services.label_documents import LabelDocuments
from logistics.services.label_links import SealedTokens
from logistics.services.polling import Poller
from logistics.services.repairs import Repairs
from logistics.services.routing import CoverageInService, Routing
from logistics.services.tracking import Tracking
from logistics.services.turnaround import CalendarOf, TurnaroundWatch, site_and_centre
from logistics.services.webhook_delivery import WebhookDelivery
from logistics.storage.database import Database
from logistics.storage.sqlite_store import SqliteStore
from logistics.web import setup_web

logger = logging.getLogger(__name__)

WORKER_PAUSE_S = 1.0


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
        middlewares=[access_middleware(metrics), problem_middleware, auth_middleware(ring)],
        client_max_size=settings.max_body_bytes,
    )
    app.add_routes(routes_repairs.routes)
    app.add_routes(routes_centres.routes)
    app.add_routes(routes_public.routes)
    setup_web(app, ring=ring, clock=clock, secure_cookies=settings.public_base_url.startswith("https://"))
    app.cleanup_ctx.append(_service_context(settings, clock, sleep, registry, label_executor, metrics))
    return app


def known_carrier_names(registry: CarrierRegistry) -> list[str]:
    """Every carrier a coverage file may name: the plug-ins found, whether enabled here or not."""
    return sorted({info.name for info in registry.describe()})


def load_coverage_for(settings: Settings, known_carriers: list[str]) -> CoverageInService:
    path = settings.coverage_path or SAMPLE_COVERAGE_PATH

    def loader() -> Any:
        return load_coverage(path, known_carriers=known_carriers)

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
            database = await Database.open(settings.database_path)
            stack.push_async_callback(database.close)
            store = SqliteStore(database)

            session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
            stack.push_async_callback(session.close)

            plugins = registry or CarrierRegistry.discover(disabled=settings.disabled_carriers)
            carriers = await _build_carriers(settings, plugins, session, clock, sleep, metrics, stack)
            coverage = load_coverage_for(settings, known_carrier_names(plugins))

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

            routing = Routing(coverage, clock)
            bookings = Bookings(
                store,
                clock,
                carriers,
                retry_max_s=settings.booking_retry_max_s,
                lease=timedelta(seconds=settings.booking_lease_s),
                call_deadline=timedelta(seconds=settings.call_policy.deadline_s),
            )
            ttl = timedelta(days=settings.label_link_ttl_days)
            secret = settings.intake_secret.get_secret_value().encode()
            tracking = Tracking(store, clock)
            repairs = Repairs(store, clock, routing, bookings, link_ttl=ttl)
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
                delivery=WebhookDelivery(store, clock, settings.webhook, session),
                turnaround=TurnaroundWatch(store, clock, _calendar_of(routing)),
                housekeeping=Housekeeping(
                    store, clock, idempotency_retention=timedelta(days=settings.idempotency_retention_days)
                ),
            )
            app[SERVICES] = services
            stack.push_async_callback(services.idempotency.drain)  # answers sent are stored before the close
            if settings.workers_enabled:
                workers = _start_workers(settings, services)
                stack.push_async_callback(_stop_workers, workers)
            logger.info(
                "service ready: database %s, carriers %s, coverage %s",
                settings.database_path,
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
        carriers[name] = ResilientCarrier(adapter, settings.call_policy, sleep=sleep, on_attempt=on_attempt)
    return carriers


def _start_workers(settings: Settings, services: ServiceSet) -> list[asyncio.Task[None]]:
    loops: list[tuple[str, Callable[[], Awaitable[int]], float]] = [
        ("bookings", services.bookings.run_due, WORKER_PAUSE_S),
        ("notifications", services.delivery.deliver_due, WORKER_PAUSE_S),
        ("turnaround", services.turnaround.evaluate, 60.0),
        ("housekeeping", services.housekeeping.run, 300.0),
    ]
    if settings.polling.enabled:
        loops.append(("polling", services.poller.poll_due, settings.polling.interval_s))
    return [asyncio.create_task(_loop(name, step, pause), name=f"worker:{name}") for name, step, pause in loops]


def _calendar_of(routing: Routing) -> CalendarOf:
    """Transit in the site's calendar, time at the centre in the centre's own (from the coverage in service)."""

    def centre_calendar(centre_id: str) -> BusinessCalendar:
        centre = routing.coverage.centres[centre_id]
        return calendar_for(centre.calendar.country, centre.calendar.subdivision, centre.time_zone)

    return site_and_centre(centre_calendar)


async def _loop(name: str, step: Callable[[], Awaitable[int]], pause: float) -> None:
    """Run one worker step after another; a failing step is logged and the loop goes on."""
    while True:
        try:
            done = await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("worker %s failed; it will try again", name)
            done = 0
        if not done:
            await asyncio.sleep(pause)


async def _stop_workers(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
