"""Per-request context shared by the middlewares: the request id and the caller."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a case system, one repair centre, or (for public routes) nobody in particular."""

    name: str
    role: Literal["case_system", "repair_centre", "operator", "public"]
    centre_id: str | None = None

    @property
    def actor_key(self) -> str:
        return f"{self.role}:{self.name}"


PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)


def request_id_of(request: web.Request) -> str:
    return str(request.get(REQUEST_ID, "-"))


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


# Routes whose paths carry a credential (a customer's label token): logged by their template, never as sent.
SECRET_PATH_ROUTES = frozenset({"/v1/labels/{token}", "/v1/labels/{token}/pickup"})


def loggable_path(request: web.Request) -> str:
    """The request's path as it may be written to a log: with any credential it carries left out."""
    resource = request.match_info.route.resource
    if resource is not None and resource.canonical in SECRET_PATH_ROUTES:
        return resource.canonical
    return request.path
