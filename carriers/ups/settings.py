"""Settings of the UPS adapter: the slice of the service's settings that this carrier needs.

Secrets are ``SecretStr`` and are never logged. Nothing here reads the environment: the service builds one
validated settings object in ``main()`` and hands this part to the adapter factory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class UpsSettings(BaseModel):
    """Credentials and account data for UPS's REST APIs (OAuth, Pickup, Shipping, Tracking, Track Alert)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(
        default="https://wwwcie.ups.com",
        description="UPS host without a path: CIE https://wwwcie.ups.com, production https://onlinetools.ups.com",
    )
    client_id: SecretStr
    client_secret: SecretStr
    account_number: str = Field(
        min_length=6, max_length=10, description="UPS account that pays pickups and owns pending pickups"
    )
    shipper_number: str = Field(
        min_length=6, max_length=6, description="six-character UPS shipper number billed for shipments"
    )
    account_country: str = Field(default="FR", pattern=r"^[A-Z]{2}$", description="country of the UPS account")
    webhook_credential: SecretStr | None = Field(
        default=None,
        description="the Track Alert subscription's credential; UPS echoes it in the 'credential' header",
    )
    transaction_src: str = Field(
        default="repair-logistics", min_length=1, max_length=512, description="UPS transactionSrc header"
    )
    service_code: str = Field(default="11", min_length=2, max_length=2, description="Ship service (11 = Standard)")
    lithium_battery_regulation_set: Literal["ADR", "IATA", "CFR", "TDG"] | None = Field(
        default="ADR",
        description="a package holding a lithium battery (a notebook) declares it as lithium-ion batteries "
        "contained in equipment (UN 3481, PI 967, lightly regulated) under this regulation set: ADR for road "
        "within Europe (UPS Standard), IATA for air services; null: not declared",
    )
    pickup_service_code: str = Field(
        default="011", min_length=3, max_length=3, description="Pickup piece service code (011 = Standard)"
    )
    pickup_payment_method: str = Field(
        default="01", min_length=2, max_length=2, description="00 none, 01 shipper account, ..."
    )
    api_version: str = Field(default="v2409", description="path version of the Pickup and Shipping APIs")
    locale: str = Field(default="en_US", pattern=r"^[a-z]{2}_[A-Z]{2}$")
    request_timeout_s: float = Field(default=30.0, gt=0, description="one HTTP exchange, headers and body")
    token_refresh_margin_s: float = Field(
        default=300.0, ge=0, description="renew the OAuth token this long before UPS says it expires"
    )
    reference_lookback_days: int = Field(
        default=14, ge=1, le=60, description="how far back track-by-reference looks for our shipments"
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. https://onlinetools.ups.com")
        return value

    @field_validator("client_id", "client_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value
