"""Settings: one validated object, built once at start from the environment and an optional file.

Precedence: environment variables (prefix ``LOGISTICS_``, nested with ``__``) over the file named by
``LOGISTICS_CONFIG_FILE`` (YAML) over the embedded defaults. The embedded defaults serve a development
instance on 127.0.0.1:8080 with a SQLite file under ``var/``, the simulated carrier and the sample coverage.
Nothing outside this module reads ``os.environ``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from carriers.resilience import CallPolicy
from logistics.domain.routing import ItemKind
from logistics.services.carrier_requests import ITEM_WEIGHTS_KG, OWN_BOX_CM, PackingRules

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# Listening on every interface, the service is reached from its own machine on the loopback.
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def _development_carriers() -> dict[str, dict[str, Any]]:
    # The simulated carrier keeps its bookings in a file so that a restarted service still finds them. The
    # sample coverage ships French customers' devices by Colissimo: enabled without keys, its bookings are
    # refused and flagged until carriers.colissimo is configured, while everything else runs.
    return {"sim": {"state_path": "var/sim-carrier.json"}, "colissimo": {}}


class ApiKey(BaseModel):
    """A bearer key, stored only as its SHA-256 hex digest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    role: Literal["case_system", "repair_centre", "operator"]
    centre_id: str | None = None
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _centre_bound(self) -> ApiKey:
        if self.role == "repair_centre" and not self.centre_id:
            raise ValueError("a repair_centre key must name its centre_id")
        if self.role != "repair_centre" and self.centre_id:
            raise ValueError(f"a {self.role} key is not bound to a centre")
        return self

    @staticmethod
    def digest(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()


class WebhookSettings(BaseModel):
    """Notifications to the case system (Standard Webhooks). No URL: notifications queue until one is set."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None
    secret: SecretStr = SecretStr("whsec_" + "ZGV2ZWxvcG1lbnQtd2ViaG9vay1zZWNyZXQtMzJi")
    previous_secret: SecretStr | None = Field(
        default=None, description="during a rotation, the old secret: every notification is signed with both"
    )
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    retry_for_s: float = Field(
        default=3 * 24 * 3600 + 3600,
        ge=3 * 24 * 3600,
        description="keep retrying a notification for at least three days",
    )
    max_backoff_s: float = Field(default=3600.0, gt=0)
    batch: int = Field(default=50, ge=1, le=1000)


class PackingSettings(BaseModel):
    """What each kind of item adds to the declared weight, and which kinds travel in a box of their own."""

    model_config = ConfigDict(extra="forbid")

    item_weights_kg: dict[ItemKind, Annotated[Decimal, Field(gt=0, le=100)]] = Field(
        default_factory=lambda: {ItemKind(kind): weight for kind, weight in ITEM_WEIGHTS_KG.items()},
        description="packed weight per item kind; kinds left out weigh 1 kg",
    )
    own_box_items: dict[ItemKind, tuple[int, int, int]] = Field(
        default_factory=lambda: {ItemKind(kind): box for kind, box in OWN_BOX_CM.items()},
        description="kinds shipped as parcels of their own (one per unit), with their box in cm",
    )

    def rules(self) -> PackingRules:
        return PackingRules(
            item_weights_kg={kind.value: weight for kind, weight in self.item_weights_kg.items()},
            own_box_cm={kind.value: box for kind, box in self.own_box_items.items()},
        )


# Minutes between two polls of a leg last seen at each tracking stage (LegStatus values): hours while a label
# waits to be used, about an hour in transit, a quarter of an hour out for delivery. A delivered or cancelled
# leg is never polled again, so it has no cadence.
POLL_CADENCE_MIN: dict[str, float] = {
    "booking_pending": 360,
    "unknown": 240,
    "label_created": 360,
    "pickup_scheduled": 120,
    "picked_up": 60,
    "dropped_off": 60,
    "in_transit": 60,
    "exception": 30,
    "out_for_delivery": 15,
    "awaiting_collection": 240,
    "returned_to_sender": 120,
}


class PollingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    interval_s: float = Field(default=30.0, gt=0, description="how often the poller looks for due legs")
    per_carrier_batch: int = Field(default=50, ge=1, le=1000)
    cadence_min: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(POLL_CADENCE_MIN),
        description="minutes until a leg is polled again, by the stage it was last seen at; the stages named "
        "replace their defaults, the others keep theirs",
    )
    error_retry_min: float = Field(default=10, gt=0, description="a leg whose poll failed is asked again after this")
    not_found_retry_min: float = Field(
        default=240, gt=0, description="a number the carrier does not know yet (no scan) is asked again after this"
    )

    @field_validator("cadence_min")
    @classmethod
    def _known_stages(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(POLL_CADENCE_MIN))
        if unknown:
            raise ValueError(f"unknown tracking stage(s) {', '.join(unknown)}; one of {', '.join(POLL_CADENCE_MIN)}")
        return {**POLL_CADENCE_MIN, **value}


class TrackingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    future_tolerance_min: int = Field(
        default=15,
        ge=0,
        le=24 * 60,
        description="carrier events dated more than this many minutes after the service's clock are refused",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOGISTICS_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str = Field(
        default="",
        description="where customers reach the service; used in label links (when unset: http://<host>:<port>)",
    )
    database_path: Path = Path("var/logistics.db")
    database_url: SecretStr | None = Field(
        default=None,
        description="a PostgreSQL database (postgresql://user:password@host:5432/name) instead of the SQLite file "
        "at database_path: what several instances share",
    )
    database_pool_size: int = Field(
        default=10, ge=1, le=200, description="connections each process keeps to the PostgreSQL database at most"
    )
    coverage_path: Path | None = Field(default=None, description="coverage file; the sample when absent")
    api_keys: list[ApiKey] = Field(default_factory=list)
    dev_keys_path: Path | None = Field(
        default=Path("var/dev-api-keys.json"),
        description="when no api_keys are configured, development keys are generated here once",
    )
    label_link_ttl_days: int = Field(default=30, ge=1, le=365)
    idempotency_retention_days: int = Field(
        default=7, ge=1, le=365, description="how long answers are kept for Idempotency-Key replays"
    )
    intake_secret: SecretStr = SecretStr("development-intake-secret")
    carriers: dict[str, dict[str, Any]] = Field(
        default_factory=_development_carriers,
        description="enabled carriers and their settings, by plug-in name",
    )
    disabled_carriers: list[str] = Field(default_factory=list)
    call_policy: CallPolicy = Field(default_factory=CallPolicy)
    carrier_call_limits: dict[str, Annotated[int, Field(ge=1, le=1000)]] = Field(
        default_factory=dict,
        description="calls in flight at once per carrier, by plug-in name, instead of call_policy.max_concurrency: "
        "size it from what the carrier's contract allows",
    )
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    booking_retry_max_s: float = Field(default=600.0, gt=0)
    booking_budget_s: float | None = Field(
        default=5.0,
        gt=0,
        description="how long a create or a dispatch waits for its carrier booking before it answers with the "
        "booking pending (the booking goes on and the case system is notified); none: wait for it",
    )
    booking_lease_s: float = Field(
        default=120.0, gt=0, description="how long an attempt holds a booking before another may take it over"
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    label_workers: int = Field(default=2, ge=1, le=32)
    label_cache_entries: int = Field(default=512, ge=0)
    max_connections: int = Field(
        default=10_000,
        ge=1,
        description="open connections at most; never more than the open-file limit allows (see README)",
    )
    header_timeout_s: float = Field(
        default=15.0, gt=0, le=600, description="a connection that sends no whole request head in this time is closed"
    )
    metrics_public: bool = Field(
        default=False, description="serve /metrics and /openapi.yaml without a key (otherwise: the operator key)"
    )
    packing: PackingSettings = Field(default_factory=PackingSettings)
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: str = "INFO"
    workers_enabled: bool = Field(
        default=True, description="run the booking, polling, notification, turnaround and housekeeping workers"
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop", description="the event loop ``serve`` runs on; asyncio's own where uvloop is not installed"
    )

    @model_validator(mode="after")
    def _lease_outlasts_calls(self) -> Settings:
        if self.booking_lease_s <= self.call_policy.deadline_s:
            raise ValueError(
                f"booking_lease_s ({self.booking_lease_s}) must exceed call_policy.deadline_s "
                f"({self.call_policy.deadline_s}): a lease that ends during a call lets a second attempt start"
            )
        return self

    @property
    def local_url(self) -> str:
        """Where this machine reaches the API: the address it listens on, a wildcard read as the loopback."""
        host = WILDCARD_HOSTS.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @model_validator(mode="after")
    def _links_follow_the_listener(self) -> Settings:
        # Unset, the public URL is the listening address, so that a port changed alone changes the links too.
        if not self.public_base_url:
            self.public_base_url = self.local_url
        return self

    @field_validator("public_base_url")
    @classmethod
    def _an_http_url(cls, value: str) -> str:
        if not value.strip():
            return ""  # unset: the listening address (``_links_follow_the_listener``)
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an http(s) URL with a host and no query, e.g. https://logistics.example.com")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _a_postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or "host=" in parts.query):
            raise ValueError("must be a PostgreSQL URL, e.g. postgresql://logistics@127.0.0.1:5432/logistics")
        if not parts.path.strip("/"):
            raise ValueError("must name the database, e.g. postgresql://logistics@127.0.0.1:5432/logistics")
        return SecretStr(value.get_secret_value().strip())

    @property
    def database_description(self) -> str:
        """Where the data is, for logs and messages: the PostgreSQL URL without its password, or the file."""
        if self.database_url is None:
            return f"database_path {self.database_path}"
        parts = urlsplit(self.database_url.get_secret_value())
        host = parts.hostname or "local socket"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return f"database_url postgresql://{user}{host}{port}{parts.path}"

    @field_validator("log_level")
    @classmethod
    def _a_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("host")
    @classmethod
    def _a_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            labels = value.rstrip(".").split(".")
            if all(label.isdigit() for label in labels) or not all(HOST_LABEL.fullmatch(label) for label in labels):
                raise ValueError("must be an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::1)") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlFileSource(settings_cls))


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the YAML file named by ``LOGISTICS_CONFIG_FILE``, if any."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        name = os.environ.get("LOGISTICS_CONFIG_FILE")
        if not name:
            return {}
        path = Path(name)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read the configuration file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "not YAML"
            raise ValueError(f"the configuration file {path} is not valid YAML{where}: {problem}") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"the configuration file {path} must hold a mapping at the top")
        return data
