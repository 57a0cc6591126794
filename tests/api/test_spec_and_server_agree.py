"""The request shapes the spec allows are the ones the server takes, for the rules a schema can state.

Each body is checked against ``openapi.yaml``'s schema and against the model the handler validates it with
(strictly, from JSON, as ``logistics.api.bodies.body_model`` does): both must say yes, or both no. The
schemathesis run (``test_schemathesis.py``) generates such bodies at random; these are the edges named.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from logistics.api.routes_public import RetryBookings
from logistics.domain.routing.request import Item, SiteAddress
from logistics.services.centres import Dispatch, Receipt
from tests.support.openapi import is_valid, spec

SITE = {
    "name": "Camille Martin",
    "street_lines": ["12 rue de la Paix"],
    "city": "Paris",
    "postal_code": "75002",
    "country": "FR",
    "phone": "+33 1 23 45 67 89",
}

CASES: list[tuple[str, type[BaseModel], str, dict[str, Any], bool]] = [
    ("receipt by scan", Receipt, "Receipt", {"scan": "LGX1:abc"}, True),
    ("receipt by repair id, the others blank", Receipt, "Receipt", {"scan": " ", "repair_id": "rp_1"}, True),
    ("receipt by repair id, the others null", Receipt, "Receipt", {"tracking_number": None, "repair_id": "x"}, True),
    ("receipt naming nothing", Receipt, "Receipt", {"condition": "as_expected"}, False),
    ("receipt naming only blanks", Receipt, "Receipt", {"scan": "", "repair_id": "\u3000"}, False),
    ("receipt naming two", Receipt, "Receipt", {"scan": "LGX1:abc", "tracking_number": "1Z"}, False),
    ("repaired, no serial", Dispatch, "Dispatch", {"repair_id": "rp_1", "outcome": "repaired"}, True),
    (
        "repaired, null serial",
        Dispatch,
        "Dispatch",
        {"repair_id": "rp_1", "outcome": "repaired", "replacement_serial": None},
        True,
    ),
    (
        "repaired with a serial",
        Dispatch,
        "Dispatch",
        {"repair_id": "rp_1", "outcome": "repaired", "replacement_serial": "SN1"},
        False,
    ),
    (
        "replaced with a serial",
        Dispatch,
        "Dispatch",
        {"repair_id": "rp_1", "outcome": "replaced", "replacement_serial": "SN1"},
        True,
    ),
    ("replaced, no serial", Dispatch, "Dispatch", {"repair_id": "rp_1", "outcome": "replaced"}, False),
    (
        "replaced, blank serial",
        Dispatch,
        "Dispatch",
        {"repair_id": "rp_1", "outcome": "replaced", "replacement_serial": "  "},
        False,
    ),
    ("a whole number written 1.0", Item, "Item", {"kind": "battery", "quantity": 1.0}, True),
    ("a fraction", Item, "Item", {"kind": "battery", "quantity": 1.5}, False),
    ("a number as text", Item, "Item", {"kind": "battery", "quantity": "2"}, False),
    ("a site", SiteAddress, "SiteAddress", SITE, True),
    ("a blank city", SiteAddress, "SiteAddress", SITE | {"city": " \u00a0 "}, False),
    ("a phone of two characters once trimmed", SiteAddress, "SiteAddress", SITE | {"phone": " 12 "}, False),
    ("a phone of four characters inside spaces", SiteAddress, "SiteAddress", SITE | {"phone": " 1234 "}, True),
]

RETRIES: list[tuple[str, dict[str, Any], bool]] = [
    ("all", {"all": True}, True),
    ("one carrier", {"carrier": "ups", "all": False}, True),
    ("one repair, null carrier", {"repair_id": "rp_1", "carrier": None}, True),
    ("nothing", {}, False),
    ("all false", {"all": False}, False),
    ("a repair and all", {"repair_id": "rp_1", "all": True}, False),
]


def _server_takes(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate_json(json.dumps(body), strict=True)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("name", "model", "component", "body", "valid"), CASES, ids=[c[0] for c in CASES])
def test_the_spec_and_the_model_agree(
    name: str, model: type[BaseModel], component: str, body: dict[str, Any], valid: bool
) -> None:
    assert is_valid(component, body) is valid
    assert _server_takes(model, body) is valid


@pytest.mark.parametrize(("name", "body", "valid"), RETRIES, ids=[c[0] for c in RETRIES])
def test_the_spec_and_the_model_agree_on_a_retry_scope(name: str, body: dict[str, Any], valid: bool) -> None:
    content = spec()["paths"]["/v1/admin/bookings/retry"]["post"]["requestBody"]["content"]["application/json"]
    assert Draft202012Validator(content["schema"]).is_valid(body) is valid
    assert _server_takes(RetryBookings, body) is valid
