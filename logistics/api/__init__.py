"""The HTTP API: thin aiohttp handlers, request and response shapes, middlewares. No business rules here."""
