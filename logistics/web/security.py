"""What keeps the web pages safe: security headers, the console's sessions, and cross-site request checks.

- Every page and asset goes out with a strict Content-Security-Policy (no script at all, styles and images
  from the service itself only, forms posting only to it, never framed), ``nosniff``, no referrer to other sites (a
  customer's page carries its token in its address) and no caching of pages.
- A repair centre signs in once with its centre key and gets a session: a random 256-bit id in an HttpOnly,
  SameSite=Strict cookie, kept in the process only as its hash, that lapses after a short idle time and
  after a working day in any case. The key itself never travels in an address and is never kept.
- Every form carries a token bound to what it acts on (the session, or the customer's link), and every POST
  must come from the service's own pages (``Origin`` and ``Sec-Fetch-Site``): a cross-site POST fails.

This module knows nothing of repairs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from logistics.clock import Clock

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # never to another site; "no-referrer" would make forms send Origin: null
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

SESSION_COOKIE = "lgx_console"
LOGIN_COOKIE = "lgx_login"  # the sign-in form's own token, before there is a session
SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=10)


def secure(response: web.StreamResponse, *, cache: str = "no-store") -> web.StreamResponse:
    """``response`` with the security headers every page and asset carries."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Cache-Control"] = cache
    return response


def from_own_pages(request: web.Request) -> bool:
    """Whether a POST comes from the service's own pages. Browsers say where a request comes from
    (``Sec-Fetch-Site``, ``Origin``); a request that says it comes from elsewhere is refused."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


@dataclass
class ConsoleSession:
    centre_id: str
    key_name: str
    form_token: str
    started_at: datetime
    expires_at: datetime


class FormTokens:
    """Tokens for forms that act on something a customer's link names: an HMAC of what the form acts on,
    under a key made at start (a form from before a restart is refused and the page says to reload)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def issue(self, purpose: str, subject: str) -> str:
        return hmac.new(self._key, f"{purpose}|{subject}".encode(), hashlib.sha256).hexdigest()[:32]

    def check(self, purpose: str, subject: str, token: str) -> bool:
        return hmac.compare_digest(self.issue(purpose, subject).encode(), token.encode("utf-8", "replace"))


class Sessions:
    """The console's sessions, in the process: a restart signs every centre out."""

    def __init__(self, clock: Clock, *, idle: timedelta = SESSION_IDLE, lifetime: timedelta = SESSION_LIFETIME):
        self._clock = clock
        self._idle = idle
        self._lifetime = lifetime
        self._by_hash: dict[str, ConsoleSession] = {}

    @staticmethod
    def _hash(session_id: str) -> str:
        return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()

    def open(self, centre_id: str, key_name: str) -> tuple[str, ConsoleSession]:
        now = self._clock.now()
        self._forget_lapsed(now)
        session_id = secrets.token_urlsafe(32)
        session = ConsoleSession(centre_id, key_name, secrets.token_urlsafe(24), now, now + self._idle)
        self._by_hash[self._hash(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> ConsoleSession | None:
        """The live session, its idle time restarted; None for an unknown, lapsed or closed one."""
        if not session_id or len(session_id) > 100:
            return None
        key = self._hash(session_id)
        session = self._by_hash.get(key)
        now = self._clock.now()
        if session is None:
            return None
        if session.expires_at <= now:
            del self._by_hash[key]
            return None
        session.expires_at = min(now + self._idle, session.started_at + self._lifetime)
        return session

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._by_hash.pop(self._hash(session_id), None)

    def _forget_lapsed(self, now: datetime) -> None:
        for key in [k for k, s in self._by_hash.items() if s.expires_at <= now]:
            del self._by_hash[key]
