"""The API description: a valid OpenAPI 3.1 document, served by the service as it is in the repository."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.support.openapi import SPEC_PATH, spec
from tests.support.service import Service


def test_spec_is_valid_openapi_3_1() -> None:
    validate(spec())
    assert spec()["openapi"].startswith("3.1")


async def test_spec_is_served(service: Service) -> None:
    status, body, response = await service.call("GET", "/openapi.yaml", None)
    assert status == 200 and response.content_type == "application/yaml"
    assert body == SPEC_PATH.read_bytes()


async def test_every_route_is_documented(service: Service) -> None:
    documented = {(m.upper(), p) for p, ops in spec()["paths"].items() for m in ops}
    served = {
        (route.method, route.resource.canonical)
        for route in service.app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert served == documented


async def test_health_and_metrics(service: Service) -> None:
    status, health, _ = await service.call("GET", "/health", None)
    assert status == 200 and health["checks"]["database"] == "ok"
    await service.call("GET", "/v1/repairs")
    status, text, response = await service.call("GET", "/metrics", None)
    assert status == 200 and response.content_type == "text/plain"
    lines = text.decode()
    assert 'logistics_http_requests_total{method="GET",route="/v1/repairs",status="200"}' in lines
    assert "logistics_http_request_duration_seconds_bucket" in lines
    assert 'logistics_outbox_depth{outbox="bookings"}' in lines
