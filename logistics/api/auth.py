"""Bearer API keys: looked up by their SHA-256 digest; the key itself is never stored or logged.

Routes that need no key (health, customers' label links, carriers' pushes, which carry their own
credentials) are listed here, and so are the operations routes (metrics, the spec) that need the operator's;
every other route needs a known key. Role checks are done where
the route is declared (``require``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from aiohttp import web

from logistics.api.context import PRINCIPAL, Handler, Principal, principal_of
from logistics.config import ApiKey
from logistics.errors import Forbidden, NotAuthenticated, NotFound

# The web pages (``/web/``) have their own sign-in: a repair centre's session cookie (``logistics.web``).
PUBLIC_PREFIXES = ("/health", "/v1/labels/", "/v1/carriers/", "/web/")
# What tells an outsider how the service runs: the operator key, unless ``metrics_public`` (a scraper behind
# the operator's own network) says otherwise. Anyone who can reach a customer's label link can reach these.
OPERATIONS_PATHS = ("/metrics", "/openapi.yaml")


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._by_digest = {key.sha256: key for key in keys}

    def principal(self, secret: str) -> Principal | None:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        key = self._by_digest.get(digest)
        if key is None:
            return None
        # The dict lookup already matched; compare again in constant time for good measure.
        if not hmac.compare_digest(digest, key.sha256):
            return None
        return Principal(name=key.name, role=key.role, centre_id=key.centre_id)


def auth_middleware(ring: KeyRing, *, operations_public: bool = False) -> web.middleware:  # type: ignore[valid-type]
    public = PUBLIC_PREFIXES + OPERATIONS_PATHS if operations_public else PUBLIC_PREFIXES

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(public):
            request[PRINCIPAL] = Principal(name="anonymous", role="public")
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthenticated("a bearer API key is required", code="auth.required")
        principal = ring.principal(secret.strip())
        if principal is None:
            raise NotAuthenticated("the API key is not known", code="auth.unknown_key")
        request[PRINCIPAL] = principal
        return await handler(request)

    return middleware


def require_operator_unless_public(request: web.Request) -> None:
    """The operations routes: the operator's key, unless the middleware let them through as public."""
    if principal_of(request).role not in ("operator", "public"):
        raise Forbidden("this is for operators", code="auth.role_forbidden")


def require_operator(request: web.Request) -> Principal:
    principal = principal_of(request)
    if principal.role != "operator":
        raise Forbidden("this operation is for operators", code="auth.role_forbidden")
    return principal


def require_case_system(request: web.Request) -> Principal:
    principal = principal_of(request)
    if principal.role != "case_system":
        raise Forbidden("this operation is for the case system", code="auth.role_forbidden")
    return principal


def require_centre(request: web.Request, centre_id: str) -> Principal:
    """A centre acts only as itself. Another centre's id answers 404, as if it did not exist."""
    principal = principal_of(request)
    if principal.role != "repair_centre":
        raise Forbidden("this operation is for repair centres", code="auth.role_forbidden")
    if principal.centre_id != centre_id:
        raise NotFound("no such centre", code="centre.not_found")
    return principal
