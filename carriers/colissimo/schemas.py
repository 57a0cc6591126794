"""Colissimo wire models: the parts of SLS's and Suivi v2's JSON answers that the adapter reads.

Field names are La Poste's own. Unknown fields are ignored, because La Poste adds fields between versions;
``null`` where a list or an object is expected reads as empty. Requests are not modelled here: ``mapping``
builds them as plain dicts shaped after SLS's published description, which the tests validate against
Colissimo's own OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _none_to_empty_list(value: Any) -> Any:
    return [] if value is None else value


def _to_text(value: Any) -> Any:
    # SLS sends message ids as strings ("30108"); some gateways send numbers.
    return str(value) if isinstance(value, int | float) else value


Listed = BeforeValidator(_none_to_empty_list)
Text = BeforeValidator(_to_text)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- SLS ------------------------------------------------------------------------------------------------------


class SlsMessage(_Wire):
    """``{"id": "30108", "type": "ERROR", "messageContent": "…"}``; ``type`` is ERROR, WARNING or INFOS."""

    id: Annotated[str, Text] = ""
    type: str = ""
    messageContent: str = ""

    @property
    def is_error(self) -> bool:
        return self.type.upper() == "ERROR"


class LabelV2Response(_Wire):
    parcelNumber: str | None = None
    parcelNumberPartner: str | None = None
    pdfUrl: str | None = None


class SlsEnvelope(_Wire):
    """The ``jsonInfos`` of every SLS answer (and the whole body of its plain JSON errors)."""

    messages: Annotated[list[SlsMessage], Listed] = Field(default_factory=list)
    labelV2Response: LabelV2Response | None = None

    def first_error(self) -> SlsMessage | None:
        return next((m for m in self.messages if m.is_error), None)


# --- Suivi v2 -------------------------------------------------------------------------------------------------


class SuiviEvent(_Wire):
    """One event; Suivi lists them newest first. ``date`` carries an offset: ``2025-03-04T09:14:00+01:00``."""

    code: str = ""
    label: str = ""
    date: str = ""


class SuiviShipment(_Wire):
    idShip: str
    holder: int | None = None
    product: str | None = None
    isFinal: bool = False
    event: Annotated[list[SuiviEvent], Listed] = Field(default_factory=list)


class SuiviUnit(_Wire):
    """One id's answer: ``returnCode`` 200 with its shipment, or 104 (not yet), 105, 109 … without."""

    returnCode: int | None = None
    returnMessage: str | None = None
    idShip: str | None = None
    shipment: SuiviShipment | None = None

    @property
    def found(self) -> bool:
        return self.returnCode in (200, 201) and self.shipment is not None


class SuiviError(_Wire):
    """An error answer: Suivi's ``returnCode``/``returnMessage``, or the Okapi gateway's ``code``/``message``."""

    returnCode: Annotated[str | None, Text] = None
    returnMessage: str | None = None
    code: Annotated[str | None, Text] = None
    message: str | None = None


__all__ = ["LabelV2Response", "SlsEnvelope", "SlsMessage", "SuiviError", "SuiviEvent", "SuiviShipment", "SuiviUnit"]
