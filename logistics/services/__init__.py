"""Use cases of the service. They depend on the ports in ``ports``, never on aiohttp or SQLite."""
