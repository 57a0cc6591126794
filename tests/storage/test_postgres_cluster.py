"""The tests' private PostgreSQL cluster: missing server binaries skip the PostgreSQL tests saying what to
install, except in CI, where they fail."""

from __future__ import annotations

import pytest

from logistics.storage.migrations import MIGRATIONS
from tests.support.postgres import PostgresCluster, require_postgres


def test_missing_postgresql_skips_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_BIN", "/nonexistent/postgresql/bin")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="POSTGRES_BIN=/nonexistent/postgresql/bin has no initdb"):
        require_postgres()


def test_missing_postgresql_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_BIN", "/nonexistent/postgresql/bin")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI installs it in \.ci/run"):
        require_postgres()


def test_each_test_gets_its_own_migrated_database(postgres_cluster: PostgresCluster, postgres_url: str) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    assert postgres_cluster.sql("SELECT max(version) FROM schema_version", name) == str(len(MIGRATIONS))
    assert postgres_cluster.pid is not None
    assert postgres_url.startswith(f"postgresql://postgres@127.0.0.1:{postgres_cluster.port}/")
