"""The set of services the handlers call, built once by the composition root (``logistics.app``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carriers import CarrierAdapter
from logistics.api.idempotency import Idempotency
from logistics.api.metrics import Metrics
from logistics.clock import Clock
from logistics.config import Settings
from logistics.services.bookings import Bookings
from logistics.services.centres import Centres
from logistics.services.customer_labels import CustomerLabels
from logistics.services.customer_links import CustomerLinks
from logistics.services.housekeeping import Housekeeping
from logistics.services.label_documents import LabelDocuments
from logistics.services.notification_log import NotificationLog
from logistics.services.outboxes import Outboxes
from logistics.services.polling import Poller
from logistics.services.ports import Store
from logistics.services.repairs import Repairs
from logistics.services.routing import CoverageInService, Routing
from logistics.services.tracking import Tracking
from logistics.services.turnaround import TurnaroundWatch
from logistics.services.webhook_delivery import WebhookDelivery


@dataclass
class ServiceSet:
    settings: Settings
    clock: Clock
    store: Store
    metrics: Metrics
    coverage: CoverageInService
    routing: Routing
    repairs: Repairs
    customer_links: CustomerLinks
    centres: Centres
    bookings: Bookings
    tracking: Tracking
    labels: LabelDocuments
    idempotency: Idempotency
    carriers: Mapping[str, CarrierAdapter]
    # The background workers' steps; the app runs them in loops, tests step them by hand.
    poller: Poller
    delivery: WebhookDelivery
    turnaround: TurnaroundWatch
    housekeeping: Housekeeping
    notification_log: NotificationLog
    customer_labels: CustomerLabels
    outboxes: Outboxes
