"""Checks answers against ``openapi.yaml``: every answer a test receives must be one the spec describes."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


@functools.cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _registry() -> Registry:
    registry: Registry = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(spec()))
    return registry


@functools.cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in spec()["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        routes.append((re.compile(pattern), template))
    # Literal segments win over parameters: the longest template first.
    routes.sort(key=lambda r: (-r[1].count("/"), r[1].count("{")))
    return routes


class SpecMismatch(AssertionError):
    pass


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_response(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    template = next((t for pattern, t in _routes() if pattern.match(path)), None)
    if template is None:
        if status in (404, 405):
            return  # unrouted paths answer a problem; the spec has nothing to say about them
        raise SpecMismatch(f"{method} {path} is not in the spec")
    operation = spec()["paths"][template].get(method.lower())
    if operation is None:
        if status == 405:
            return
        raise SpecMismatch(f"{method} {template} is not in the spec")
    responses = operation["responses"]
    if str(status) not in responses:
        raise SpecMismatch(f"{method} {template} answered {status}, not documented ({sorted(responses)})")
    response = _resolve(responses[str(status)])
    content = response.get("content")
    if not content:
        return
    if content_type not in content:
        raise SpecMismatch(f"{method} {template} {status} answered {content_type}, spec says {sorted(content)}")
    if not content_type.endswith("json"):
        return
    schema = (
        {"$ref": "urn:openapi#" + content[content_type]["schema"]["$ref"].removeprefix("#")}
        if "$ref" in content[content_type]["schema"]
        else content[content_type]["schema"]
    )
    validator = Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: list(e.path))
    if errors:
        raise SpecMismatch(
            f"{method} {template} {status}: "
            + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
        )


def check_notification(payload: Any) -> None:
    """A notification body must be the one the spec's ``webhooks:`` section describes for its ``type``."""
    kind = payload.get("type") if isinstance(payload, dict) else None
    webhook = spec().get("webhooks", {}).get(kind) if isinstance(kind, str) else None
    if webhook is None:
        raise SpecMismatch(f"notification type {kind!r} is not in the spec's webhooks")
    schema = webhook["post"]["requestBody"]["content"]["application/json"]["schema"]
    ref = {"$ref": "urn:openapi#" + schema["$ref"].removeprefix("#")} if "$ref" in schema else schema
    errors = sorted(Draft202012Validator(ref, registry=_registry()).iter_errors(payload), key=lambda e: list(e.path))
    if errors:
        raise SpecMismatch(
            f"notification {kind}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
        )


def is_valid(component: str, instance: Any) -> bool:
    """Whether ``instance`` is valid for the spec's schema ``components/schemas/<component>``."""
    ref = {"$ref": f"urn:openapi#/components/schemas/{component}"}
    return bool(Draft202012Validator(ref, registry=_registry()).is_valid(instance))
