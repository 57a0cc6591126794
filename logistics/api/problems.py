"""Errors as ``application/problem+json`` (RFC 9457), with a stable ``code`` per error.

One middleware turns every ``LogisticsError`` (and aiohttp's own HTTP errors) into a problem document;
anything else is a 500 that is logged with its traceback and tells the caller nothing internal.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web

from logistics.api.context import Handler, loggable_path, request_id_of
from logistics.errors import LogisticsError

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
SERVER_NAME = "repair-logistics"  # the Server header: the service's name, never its software's versions

_HTTP_CODES = {
    400: "request.malformed",
    401: "auth.required",
    404: "not_found",
    405: "method.not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
}


def problem(status: int, code: str, title: str, detail: str, request: web.Request, **extra: Any) -> web.Response:
    body: dict[str, Any] = {
        "type": f"urn:problem:logistics:{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": request.path,
        "request_id": request_id_of(request),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": 'Bearer realm="logistics"'} if status == 401 else None
    return web.Response(status=status, text=json.dumps(body, default=str), content_type=PROBLEM_TYPE, headers=headers)


def problem_for(exc: LogisticsError, request: web.Request) -> web.Response:
    # The title names the kind of problem for a person (the status's phrase); ``code`` is for machines.
    answer = problem(exc.status, exc.code, _title(exc.status), exc.message, request, **exc.extra)
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        answer.headers["Retry-After"] = str(retry_after)
    return answer


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def name_the_server(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every answer names the service, not the software it runs on."""
    response.headers["Server"] = SERVER_NAME


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except LogisticsError as exc:
        return problem_for(exc, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, f"http.{exc.status}")
        answer = problem(exc.status, code, exc.reason, exc.text or exc.reason, request)
        if "Allow" in exc.headers:  # a 405 says which methods the resource has (RFC 9110)
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, loggable_path(request))
        return problem(
            500, "internal", "Internal Server Error", "the service failed; the request id says where", request
        )
