"""Reading request bodies: size limit, content type, JSON, then the pydantic model; each failure a clear 4xx.

A body is read whole before anything looks at it: it may arrive in any number of TCP segments, with or
without ``Content-Length`` (chunked), and a signature over it is only meaningful on all of it. Past the
limit it is refused with 413, whatever the framing. JSON is decoded by orjson, which refuses what a strict
reader should (NaN, invalid UTF-8, lone surrogates, numbers beyond a double) and bounds nesting in C; the
nesting that reaches the models is bounded again, far lower, before any validation walks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ValidationError

from labels import unprintable
from logistics.errors import InvalidRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 16  # the deepest request the API has is 4 levels (entitlement.items[].description)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the body may be at most {limit} bytes", code="request.too_large", limit=limit)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, however it was framed or segmented; 413 once it exceeds ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except (ValueError, HttpProcessingError) as exc:  # broken chunked framing, a body cut short
        raise InvalidRequest("the body could not be read", code="request.malformed", status=400) from exc
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` containers (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return False


def decode_json(body: bytes) -> Any:
    """Decode a JSON document strictly, with its nesting bounded; a clear 400 for anything else."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}", code="request.malformed_json", status=400) from exc
    if isinstance(data, dict | list) and _depth_exceeds(data, MAX_DEPTH):
        raise InvalidRequest(
            f"the body nests deeper than {MAX_DEPTH} levels",
            code="request.too_deep",
            status=400,
            fields=[{"name": "(body)", "reason": f"at most {MAX_DEPTH} levels of nesting", "type": "too_deep"}],
        )
    return data


def parse_json(request: web.Request, body: bytes) -> Any:
    if request.content_type != "application/json":
        raise InvalidRequest("send the body as application/json", code="request.unsupported_media_type", status=415)
    return decode_json(body)


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


_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def iso_instant_only(value: Any) -> Any:
    """A ``mode="before"`` validator: an instant is given as ISO 8601 text, never as a number of seconds
    (which pydantic would otherwise read as a Unix time)."""
    if value is not None and (not isinstance(value, str) or not _ISO_INSTANT.match(value)):
        raise ValueError("an ISO 8601 date and time with a UTC offset, e.g. 2025-03-03T09:00:00+01:00")
    return value


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
