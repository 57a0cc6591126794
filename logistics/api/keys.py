"""Every typed application key in one place."""

from __future__ import annotations

from aiohttp import web

from logistics.api.services import ServiceSet

SERVICES: web.AppKey[ServiceSet] = web.AppKey("services", ServiceSet)
