"""Reading request bodies: size limit, content type, JSON, then the pydantic model; each failure a clear 4xx."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from labels import unprintable
from logistics.errors import InvalidRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body may be at most {limit} bytes", code="request.too_large")
    try:
        body = await request.content.read(limit + 1)
    except ValueError as exc:
        raise InvalidRequest("the body could not be read", code="request.malformed", status=400) from exc
    if len(body) > limit:
        raise PayloadTooLarge(f"the body may be at most {limit} bytes", code="request.too_large")
    return body


def parse_json(request: web.Request, body: bytes) -> Any:
    if request.content_type != "application/json":
        raise InvalidRequest("send the body as application/json", code="request.unsupported_media_type", status=415)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}", code="request.malformed_json", status=400) from exc


def validation_fields(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "name": ".".join(str(p) for p in error["loc"]) or "(body)",
            "reason": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors(include_url=False, include_input=False)
    ]


def body_model(model: type[M], request: web.Request, body: bytes, *, optional: bool = False) -> M:
    """The request body as ``model``, validated strictly: a date must be a date string, not a number that
    happens to convert. ``optional`` bodies may be empty (an empty object then)."""
    if optional and not body:
        return model.model_validate({})
    data = parse_json(request, body)
    if not isinstance(data, dict):
        raise InvalidRequest(
            "the body must be a JSON object",
            code="request.invalid",
            fields=[{"name": "(body)", "reason": "expected an object", "type": "dict_type"}],
        )
    try:
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        fields = validation_fields(exc)
        raise InvalidRequest(
            f"{len(fields)} field(s) are not valid: " + "; ".join(f"{f['name']}: {f['reason']}" for f in fields[:5]),
            code="request.invalid",
            fields=fields,
        ) from exc


def query_model(model: type[M], request: web.Request) -> M:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        fields = [{**f, "in": "query"} for f in validation_fields(exc)]
        raise InvalidRequest(
            "the query is not valid: " + "; ".join(f"{f['name']}: {f['reason']}" for f in fields),
            code="request.invalid_query",
            fields=fields,
        ) from exc


def refuse_unprintable(printed: Iterable[tuple[str, str]]) -> None:
    """422 naming every field whose text the labels cannot print with real glyphs (CJK, right-to-left
    scripts, emoji outside the typeface), before anything is done with the request."""
    fields = [
        {"name": name, "reason": reason, "type": "unprintable"}
        for name, value in printed
        if (reason := unprintable(value)) is not None
    ]
    if fields:
        raise InvalidRequest(
            f"{len(fields)} field(s) cannot be printed on the labels: "
            + "; ".join(f"{f['name']}: {f['reason']}" for f in fields[:5]),
            code="request.unprintable",
            fields=fields,
        )
