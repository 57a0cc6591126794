"""The API description: a valid OpenAPI 3.1 document, served by the service as it is in the repository."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.support.openapi import SPEC_PATH, spec
from tests.support.service import Service


def test_spec_is_valid_openapi_3_1() -> None:
    validate(spec())
    assert spec()["openapi"].startswith("3.1")


async def test_spec_is_served(service: Service) -> None:
    status, body, response = await service.call("GET", "/openapi.yaml", "operator")
    assert status == 200 and response.content_type == "application/yaml"
    assert body == SPEC_PATH.read_bytes()


async def test_every_route_is_documented(service: Service) -> None:
    documented = {(m.upper(), p) for p, ops in spec()["paths"].items() for m in ops}
    served = {
        (route.method, route.resource.canonical)
        for route in service.app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        # The console's pages and assets are for people with a browser, not part of the API (see README).
        and not route.resource.canonical.startswith("/web/")
    }
    assert served == documented


async def test_health_and_metrics(service: Service) -> None:
    status, health, _ = await service.call("GET", "/health", None)
    assert status == 200 and health["checks"]["database"] == "ok"
    await service.call("GET", "/v1/repairs")
    status, text, response = await service.call("GET", "/metrics", "operator")
    assert status == 200 and response.content_type == "text/plain"
    lines = text.decode()
    assert 'logistics_http_requests_total{method="GET",route="/v1/repairs",status="200"}' in lines
    assert "logistics_http_request_duration_seconds_bucket" in lines
    assert 'logistics_outbox_depth{outbox="bookings"}' in lines


async def test_unusual_methods_are_counted_as_other(service: Service) -> None:
    """Methods outside the standard ones (the WebDAV ones the HTTP parser lets through, any token at all with the
    pure-Python parser) share one "other" series: a client cannot add series at will."""
    unusual = ("PROPFIND", "MKCOL", "LOCK", "UNLOCK", "SEARCH")
    for method in unusual:
        async with service.http.request(method, service.base_url + "/health") as response:
            assert response.status == 405
    _, text, _ = await service.call("GET", "/metrics", "operator")
    lines = text.decode()
    assert not any(method in lines for method in unusual)
    assert 'logistics_http_requests_total{method="other",route="unmatched",status="405"} 5.0' in lines


async def test_label_renders_are_counted(service: Service) -> None:
    from tests.support.journeys import CORSICA_SITE, repair_request

    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-METRICS"))
    path = created["customer_label"]["url"].removeprefix("http://127.0.0.1:8080")
    for _ in range(2):
        await service.call("GET", path, None)
    _, text, _ = await service.call("GET", "/metrics", "operator")
    lines = text.decode()
    assert 'logistics_label_renders_total{cache="rendered",format="a4"} 1.0' in lines
    assert 'logistics_label_renders_total{cache="hit",format="a4"} 1.0' in lines
    assert 'logistics_carrier_calls_total{carrier="sim",operation="create_shipment",outcome="success"} 1.0' in lines
