"""Settings of the Colissimo adapter: the SLS label web service and La Poste's tracking API (Suivi v2).

Two credentials, from two La Poste portals: the SLS ``apiKey`` (Colissimo Box, label and pickup calls) and
the Okapi key of the Suivi v2 subscription (developer.laposte.fr, tracking). Both are ``SecretStr`` and are
never logged. Without them the plug-in is enabled but *not configured*: every call is refused with
``CarrierAuthError`` before anything is sent, so a development service can route French parcels to Colissimo
(and see those bookings flagged) without an account. SLS's deprecated ``contractNumber``/``password`` body
fields are not offered: SLS refuses a call that sends both kinds of credential.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

SLS_BASE_URL = "https://ws.colissimo.fr/sls-ws/SlsServiceWSRest/2.0"
SUIVI_BASE_URL = "https://api.laposte.fr/suivi/v2"
#: The label formats the service can show a customer or print: SLS's PDFs. (SLS also renders ZPL and DPL for
#: thermal printers; the neutral label model carries PDF and images only.)
PRINTING_TYPES = frozenset({"PDF_10x15_300dpi", "PDF_A4_300dpi"})


class ColissimoSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(default=SLS_BASE_URL, description="SLS REST root, without a trailing slash")
    api_key: SecretStr | None = Field(
        default=None, description="SLS apiKey (sent in the 'apiKey' header); absent: every SLS call is refused"
    )
    tracking_base_url: str = Field(default=SUIVI_BASE_URL, description="La Poste Suivi v2 root")
    okapi_key: SecretStr | None = Field(
        default=None,
        description="La Poste Okapi key of the Suivi v2 subscription ('X-Okapi-Key'); absent: tracking is refused",
    )
    return_product: str = Field(default="CORE", description="Colissimo Retour France (8R)")
    international_return_product: str = Field(default="CORF", description="Colissimo Retour International (CQ)")
    overseas_return_product: str = Field(default="CORI", description="Colissimo Retour Outre-Mer (7R)")
    outbound_product: str = Field(default="DOS", description="home delivery with signature, for the way back")
    output_printing_type: str = Field(
        default="PDF_10x15_300dpi", description="label format: the 10x15 cm PDF, or the A4 page"
    )
    commercial_name: str = Field(
        default="Repair logistics", min_length=1, max_length=35, description="our name in La Poste's e-mails"
    )
    service_info: str | None = Field(
        default="Service réparations",
        max_length=35,
        description="department of the repair centre printed on return labels (SLS addressee.serviceInfo)",
    )
    email_label_to_customer: bool = Field(
        default=False, description="SLS also e-mails the return label to the customer (returnType SendPDFByMail)"
    )
    tracking_language: str = Field(
        default="fr_FR", pattern=r"^(fr_FR|en_GB|de_DE|it_IT|es_ES|nl_NL)$", description="Suivi v2 'lang'"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="total time allowed for one call")

    @field_validator("base_url", "tracking_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("output_printing_type")
    @classmethod
    def _printing_type(cls, value: str) -> str:
        if value not in PRINTING_TYPES:
            raise ValueError(f"must be one of {', '.join(sorted(PRINTING_TYPES))}")
        return value
