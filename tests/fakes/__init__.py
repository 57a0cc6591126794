"""Fake carrier servers for tests: real aiohttp apps on 127.0.0.1 that speak the carriers' own formats."""
