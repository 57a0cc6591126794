"""Settings are validated once with clear errors; the example configuration loads; the commands work."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from logistics.cli import main
from logistics.config import Settings

REPO = Path(__file__).resolve().parents[2]


async def test_the_example_configuration_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTICS_CONFIG_FILE", str(REPO / "config.example.yaml"))
    settings = Settings()
    assert settings.public_base_url == "https://logistics.example.com"
    assert {key.role for key in settings.api_keys} == {"case_system", "operator", "repair_centre"}
    assert settings.webhook.url is not None
    assert settings.event_loop == "uvloop"


async def test_environment_wins_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTICS_CONFIG_FILE", str(REPO / "config.example.yaml"))
    monkeypatch.setenv("LOGISTICS_PORT", "9090")
    monkeypatch.setenv("LOGISTICS_WEBHOOK__TIMEOUT_S", "3")
    settings = Settings()
    assert settings.port == 9090 and settings.webhook.timeout_s == 3


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"api_keys": [{"name": "c", "role": "repair_centre", "sha256": "0" * 64}]}, "centre_id"),
        ({"booking_lease_s": 10}, "booking_lease_s"),
        ({"port": 70000}, "port"),
        ({"webhook": {"retry_for_s": 3600}}, "retry_for_s"),
    ],
)
async def test_invalid_settings_name_the_setting(values: dict[str, object], names: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)  # type: ignore[arg-type]
    assert names in str(refused.value)


async def test_a_missing_configuration_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOGISTICS_CONFIG_FILE", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ValueError, match="cannot read the configuration file"):
        Settings()


async def test_coverage_check_and_carriers_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", "check", str(REPO / "logistics" / "coverage" / "sample-coverage.yaml")]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["carriers", "list"]) == 0
    listing = capsys.readouterr().out
    for name in ("sim", "ups", "dhl_express", "colissimo"):
        assert name in listing
    assert "capabilities:" in listing


async def test_coverage_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "coverage",
            "explain",
            "--country",
            "FR",
            "--postal-code",
            "67000",
            "--product-line",
            "notebook",
            "--service-level",
            "either",
            "--country-of-purchase",
            "FR",
            "--at",
            "2026-04-03T10:00:00+02:00",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "fr-alsace" in out


def test_serve_runs_on_the_configured_event_loop() -> None:
    import asyncio

    import uvloop

    from logistics.cli import _event_loop

    chosen = _event_loop("uvloop")
    standard = _event_loop("asyncio")
    try:
        assert isinstance(chosen, uvloop.Loop)
        assert not isinstance(standard, uvloop.Loop) and isinstance(standard, asyncio.AbstractEventLoop)
    finally:
        chosen.close()
        standard.close()
    with pytest.raises(ValidationError, match="event_loop"):
        Settings(event_loop="trio")


@pytest.mark.parametrize("carrier", ["ups", "dhl_express"])
async def test_the_example_configuration_documents_valid_carrier_settings(carrier: str) -> None:
    import yaml

    from carriers.registry import CarrierRegistry

    text = (REPO / "config.example.yaml").read_text(encoding="utf-8")
    block = text.split(f"# --- {carrier} (begin) ---\n")[1].split(f"  # --- {carrier} (end) ---")[0]
    uncommented = "\n".join(line.replace("  # ", "  ", 1) for line in block.splitlines())
    configured = yaml.safe_load(uncommented)
    assert set(configured) == {carrier}
    registry = CarrierRegistry.discover()
    assert registry.settings_problems(configured) == []
    plugin = registry.get(carrier)
    assert set(configured[carrier]) == set(plugin.settings_model.model_fields)  # every setting is shown
