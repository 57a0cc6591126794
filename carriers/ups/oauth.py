"""UPS OAuth client credentials: one bearer token, cached until shortly before it expires.

``POST /security/v1/oauth/token`` with HTTP Basic (client id and secret) and the form body
``grant_type=client_credentials``. UPS issues no refresh token, so renewing means asking again. UPS limits
token requests and has asked integrators not to fetch a token per call, hence the cache and the single
flight: when many calls find the token stale at once, one of them fetches and the others wait for it.
The token and the secret are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from pydantic import ValidationError

from carriers.base import Clock
from carriers.errors import CarrierAuthError, CarrierError, CarrierUnavailable
from carriers.http import error_from_exception, error_from_status
from carriers.ups import mapping, schemas
from carriers.ups.settings import UpsSettings

logger = logging.getLogger(__name__)

TOKEN_PATH = "/security/v1/oauth/token"  # noqa: S105 - a URL path, not a secret


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: datetime


class TokenProvider:
    """Hands out a valid bearer token; ``invalidate`` after a 401 makes the next caller fetch a new one."""

    def __init__(self, session: aiohttp.ClientSession, settings: UpsSettings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self, token: Token | None) -> bool:
        return token is not None and self._clock.now() < token.expires_at

    async def token(self) -> str:
        token = self._token
        if token is not None and self._fresh(token):
            return token.value
        async with self._lock:
            # Another caller may have fetched while we waited for the lock.
            token = self._token
            if token is not None and self._fresh(token):
                return token.value
            self._token = await self._fetch()
            return self._token.value

    async def refresh(self, rejected: str) -> str:
        """A request was refused with ``rejected``: fetch a new token unless someone already has."""
        async with self._lock:
            token = self._token
            if token is not None and token.value != rejected and self._fresh(token):
                return token.value
            self._token = await self._fetch()
            return self._token.value

    async def _fetch(self) -> Token:
        settings = self._settings
        credentials = f"{settings.client_id.get_secret_value()}:{settings.client_secret.get_secret_value()}"
        basic = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        url = settings.base_url.rstrip("/") + TOKEN_PATH
        headers = {
            "Authorization": basic,
            "x-merchant-id": settings.account_number,
            "Accept": "application/json",
        }
        self.fetches += 1
        requested_at = self._clock.now()
        try:
            async with self._session.post(
                url,
                data={"grant_type": "client_credentials"},
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=settings.request_timeout_s),
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                payload = mapping.json_or_none(await response.text(errors="replace"))
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            # Fetching a token changes nothing at UPS, so no failure here is ambiguous.
            raise error_from_exception(exc, carrier="ups", operation="oauth", creates=False) from exc
        if status == 200:
            try:
                body = schemas.TokenResponse.model_validate(payload)
                lifetime = float(body.expires_in)
            except (ValidationError, ValueError) as exc:
                raise CarrierUnavailable(
                    "UPS token answer unreadable", status=status, carrier="ups", operation="oauth"
                ) from exc
            # Count the lifetime from when we asked, and renew a margin early (at most half the lifetime).
            margin = min(settings.token_refresh_margin_s, lifetime / 2)
            logger.info("UPS token obtained, valid for %.0f s", lifetime)
            return Token(body.access_token, requested_at + timedelta(seconds=lifetime - margin))
        raise _token_error(status, payload, retry_after, self._clock.now())


def _token_error(status: int, payload: Any, retry_after: str | None, now: datetime) -> CarrierError:
    code, message = mapping.first_error(payload)
    text = f"UPS token request refused: {code} {message}".strip()
    if status == 429 or status >= 500:
        return error_from_status(
            status,
            carrier="ups",
            operation="oauth",
            creates=False,
            now=now,
            headers={"Retry-After": retry_after} if retry_after is not None else {},
            code=code,
            message=text,
        )
    # 400, 401 and 403 all mean the same here: these credentials do not get a token.
    return CarrierAuthError(f"HTTP {status}: {text}", carrier="ups", operation="oauth")
