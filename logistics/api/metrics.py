"""Prometheus metrics of one service instance, in its own registry (no global state between apps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# A request's method is any token the client sends: outside the standard ones it is counted as "other", so a
# client cannot add series (and memory) at will. Routes are the app's own, or "unmatched".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "logistics_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "logistics_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.carrier_calls = Counter(
            "logistics_carrier_calls",
            "carrier call attempts by outcome",
            ["carrier", "operation", "outcome"],
            registry=self.registry,
        )
        self.carrier_latency = Histogram(
            "logistics_carrier_call_duration_seconds",
            "carrier attempt latency",
            ["carrier", "operation"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "logistics_outbox_depth",
            "pending items in the durable outboxes",
            ["outbox"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "logistics_notifications",
            "notification delivery attempts by outcome: delivered, failed (to be retried), abandoned",
            ["outcome"],
            registry=self.registry,
        )
        self.notification_latency = Histogram(
            "logistics_notification_delivery_seconds",
            "time from a notification's queueing (or redelivery request) to its delivery",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 3 * 86400),
        )
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._carrier_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self.label_renders = Counter(
            "logistics_label_renders",
            "labels rendered, by format and cache outcome",
            ["format", "cache"],
            registry=self.registry,
        )

    def request_done(self, method: str, route: str, status: int, elapsed_s: float) -> None:
        """Count one request and observe its latency."""
        if method not in KNOWN_METHODS:
            method = "other"
        _count_and_observe(
            self._request_children,
            (method, route, status),
            lambda: (self.requests.labels(method, route, str(status)), self.latency.labels(route)),
            elapsed_s,
        )

    def notification_outcome(self, outcome: str, latency_s: float | None) -> None:
        """Count one delivery attempt's outcome; a delivery also observes its latency."""
        self.notifications.labels(outcome).inc()
        if latency_s is not None:
            self.notification_latency.observe(max(0.0, latency_s))

    def carrier_attempt(self, carrier: str, operation: str, outcome: str, latency_s: float) -> None:
        """Count one carrier attempt by outcome and observe its latency."""
        _count_and_observe(
            self._carrier_children,
            (carrier, operation, outcome),
            lambda: (
                self.carrier_calls.labels(carrier, operation, outcome),
                self.carrier_latency.labels(carrier, operation),
            ),
            latency_s,
        )


def _count_and_observe(
    kept: dict[Any, tuple[Any, Any]], key: Any, series: Callable[[], tuple[Any, Any]], seconds: float
) -> None:
    """Increment a counter's series and observe a histogram's, both looked up once per ``key`` and then kept:
    prometheus_client's ``labels()`` resolves them under a lock on every call."""
    children = kept.get(key)
    if children is None:
        children = kept[key] = series()
    children[0].inc()
    children[1].observe(seconds)
