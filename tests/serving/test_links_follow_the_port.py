"""With only the port changed, the service's label links and ``logistics demo`` follow it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from logistics.config import Settings
from tests.support.process import free_port, logistics_command, running, service_environment


def test_unset_the_public_url_is_the_listening_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTICS_PORT", "9191")
    assert Settings().public_base_url == "http://127.0.0.1:9191"
    assert Settings(host="0.0.0.0").public_base_url == "http://127.0.0.1:9191"
    assert Settings(host="::").public_base_url == "http://[::1]:9191"
    assert Settings(host="::1", port=8443).public_base_url == "http://[::1]:8443"


def test_a_public_url_given_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTICS_PORT", "9191")
    assert Settings(public_base_url="https://logistics.example.com/").public_base_url == (
        "https://logistics.example.com"
    )


def test_the_demo_runs_against_a_server_whose_port_alone_was_changed(tmp_path: Path) -> None:
    port = free_port()
    env = service_environment(tmp_path, port, dev_keys_path=str(tmp_path / "dev-keys.json"))
    for unset in ("LOGISTICS_PUBLIC_BASE_URL", "LOGISTICS_API_KEYS"):  # development keys, links by default
        del env[unset]
    with running(logistics_command("serve"), env, tmp_path / "serve.log"):
        demo = subprocess.run(
            logistics_command("demo"), env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert f"customer's label link: http://127.0.0.1:{port}/v1/labels/" in demo.stdout
