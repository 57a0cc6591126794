"""One log line per request, with a request id, and the request metrics.

The request id is taken from ``X-Request-Id`` when the caller sends a sane one, else generated; it is
echoed in the response and bound to every log line of the request through a context variable.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from aiohttp import web

from logistics.api.context import PRINCIPAL, REQUEST_ID, Handler, loggable_path, request_id_var
from logistics.api.metrics import Metrics

logger = logging.getLogger("logistics.access")

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def access_middleware(metrics: Metrics) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("X-Request-Id", "")
        request_id = given if _SANE_ID.match(given) else secrets.token_hex(8)
        request[REQUEST_ID] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            response.headers["X-Request-Id"] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            elapsed = time.perf_counter() - started
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            metrics.request_done(request.method, route, status, elapsed)
            if logger.isEnabledFor(logging.INFO):
                principal = request.get(PRINCIPAL)
                path = loggable_path(request)
                logger.info(
                    "%s %s %d %.1fms",
                    request.method,
                    path,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": request.method,
                        "path": path,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "principal": principal.actor_key if principal else None,
                    },
                )
            request_id_var.reset(token)

    return middleware
