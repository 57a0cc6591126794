"""What ``logistics.storage.database`` takes from aiosqlite beyond its public API, pinned and checked.

aiosqlite has no public way to run a function of the ``sqlite3`` handle on its connection's thread, which
the group commit needs (the COMMIT goes there, the statements run on the loop's thread with the handle
itself). The writer therefore uses ``Connection._execute`` and ``Connection._conn``, and ``pyproject.toml``
pins aiosqlite exactly. Raising the pin means running these tests on the new version: they fail if either
private member changed its shape or its meaning.
"""

from __future__ import annotations

import inspect
import re
import sqlite3
import threading
import tomllib
from importlib.metadata import version
from pathlib import Path

import aiosqlite
import pytest

from logistics.storage.database import on_connection_thread

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_aiosqlite_is_pinned_to_the_version_installed() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [d for d in dependencies if re.match(r"^aiosqlite\b", d)]
    assert len(pins) == 1 and re.fullmatch(r"aiosqlite==[0-9][0-9.]*", pins[0]), pins
    assert pins[0].removeprefix("aiosqlite==") == version("aiosqlite")


def test_execute_is_a_coroutine_taking_a_function_and_its_arguments() -> None:
    execute = aiosqlite.Connection._execute
    assert inspect.iscoroutinefunction(execute)
    assert list(inspect.signature(execute).parameters) == ["self", "fn", "args", "kwargs"]
    assert isinstance(inspect.getattr_static(aiosqlite.Connection, "_conn"), property)


async def test_execute_runs_on_the_connection_thread_with_the_handle_conn_gives(tmp_path: Path) -> None:
    conn = await aiosqlite.connect(tmp_path / "db.sqlite", isolation_level=None, check_same_thread=False)
    try:
        seen: list[int] = []

        def where_am_i() -> int:
            seen.append(threading.get_ident())
            return 1

        await conn.create_function("where_am_i", 0, where_am_i)
        await conn.execute_fetchall("SELECT where_am_i()")  # public: runs on the connection's thread
        handle = conn._conn
        assert isinstance(handle, sqlite3.Connection)
        ran_on = await on_connection_thread(conn, lambda db: (threading.get_ident(), db is handle))
        assert ran_on == (seen[0], True)
        assert seen[0] != threading.get_ident()  # not the event loop's thread
    finally:
        await conn.close()
    with pytest.raises(ValueError, match="no active connection"):
        _ = conn._conn
