"""Settings of the DHL Express (MyDHL API) adapter: one validated, frozen object built by the service.

MyDHL authenticates every call with HTTP Basic (API key and secret). MyDHL offers no tracking push, so
there is no push credential here: tracking is polled.
"""

from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

TEST_BASE_URL = "https://express.api.dhl.com/mydhlapi/test"
PRODUCTION_BASE_URL = "https://express.api.dhl.com/mydhlapi"


class DhlExpressSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(default=TEST_BASE_URL, description="MyDHL API root, without a trailing slash")
    api_key: SecretStr = Field(description="MyDHL API key (the Basic auth user name)")
    api_secret: SecretStr = Field(description="MyDHL API secret (the Basic auth password)")
    account_number: str = Field(min_length=1, max_length=12, description="DHL Express shipper account")
    return_payer_account_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=12,
        description="account billed for customer return shipments (usually an import account); "
        "the shipper account pays when absent",
    )
    return_service_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=6,
        description="value-added service added to return shipments, e.g. 'PH' (return to seller) where "
        "the DHL contract includes it",
    )
    lithium_battery_service_code: Literal["HV", "HD", "HW", "HM"] | None = Field(
        default="HV",
        description="special service declaring the lithium battery of a parcel that holds one (a notebook): "
        "HV lithium-ion contained in equipment (PI 967, a notebook's), HD lithium-ion packed with equipment "
        "(PI 966), HW and HM lithium metal contained in and packed with equipment (PI 970, 969); sent with "
        "its dangerous-goods content ID on shipments; null: not declared",
    )
    product_code: str = Field(default="P", min_length=1, max_length=6, description="international product")
    domestic_product_code: str = Field(default="N", min_length=1, max_length=6, description="domestic product")
    label_template: str = Field(default="ECOM26_84_001", max_length=25, description="label for our printers")
    return_label_template: str = Field(
        default="ECOM26_84_A4_001", max_length=25, description="label a customer prints on A4 paper"
    )
    shipping_time: time = Field(
        default=time(14, 0), description="local time of day the parcel is tendered on the ship date"
    )
    shipping_time_zone: str = Field(
        default="Europe/Paris",
        description="IANA zone of shipment origins: the programme serves devices within one country",
    )
    tracking_time_zone: str | None = Field(
        default=None,
        description="IANA zone of the local times GET /tracking gives without an offset (the facilities' "
        "zone); shipping_time_zone when absent",
    )
    requestor_name: str = Field(default="Repair logistics", min_length=1, description="named on cancellations")
    cancel_reason: str = Field(default="Pickup no longer required", min_length=1)
    timeout_seconds: float = Field(default=30.0, gt=0, description="total time allowed for one call")
    reference_search_lag_s: float = Field(
        default=1800.0,
        ge=0,
        description="how long a new shipment may take to appear in DHL's search by reference (10 to 30 "
        "minutes): a create whose outcome is unknown is looked up only after this, never created again sooner",
    )
    reference_search_days: int = Field(
        default=30, ge=1, le=90, description="how far back a lookup by our reference searches"
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @property
    def tracking_zone(self) -> str:
        return self.tracking_time_zone or self.shipping_time_zone

    @field_validator("shipping_time_zone", "tracking_time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value
