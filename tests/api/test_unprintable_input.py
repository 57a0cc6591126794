"""Text the labels cannot print with real glyphs is refused when a repair is created, naming the field;
Hebrew and Arabic are printed (shaped, right to left)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service
from tests.support.snapshot import database_digest


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(repair_request(PARIS_SITE, "C-SCRIPT"))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


REFUSED = [
    ("a Japanese name", ("site", "name"), "山田太郎", "site.name"),
    ("Hebrew vowel points", ("site", "street_lines"), ["14 rue Oberkampf", "רְחוֹב הֶרְצֵל 5"], "site.street_lines.1"),
    ("an Arabic letter the typeface lacks", ("site", "city"), "ؠرية", "site.city"),
    ("an emoji in a model", ("device", "model"), "EliteBook 😀", "device.model"),
    ("a joiner in a company", ("site", "company"), "Atelier\u200dMartin", "site.company"),
    (
        "an emoji in an item's description",
        ("entitlement", "items"),
        [{"kind": "ac_adapter", "description": "Adaptateur 👍"}],
        "entitlement.items.0.description",
    ),
]


@pytest.mark.parametrize(("name", "path", "value", "field"), REFUSED, ids=[case[0] for case in REFUSED])
async def test_text_without_real_glyphs_is_refused_with_the_field(
    service: Service, name: str, path: tuple[str, ...], value: Any, field: str
) -> None:
    before = database_digest(service.services.settings.database_path)
    status, problem, response = await service.call("POST", "/v1/repairs", json=_with(path, value))
    assert status == 422, problem
    assert response.content_type == "application/problem+json"
    assert problem["code"] == "request.unprintable"
    assert [f["name"] for f in problem["fields"]] == [field]
    assert database_digest(service.services.settings.database_path) == before


async def test_scripts_of_the_countries_served_and_right_to_left_ones_are_accepted(service: Service) -> None:
    body = _with(("site", "name"), "Ἀλέξανδρος Łukasiewicz")
    body["site"]["street_lines"] = ["ул. Тверская 7", "Nguyễn Văn Thắng", "רחוב הרצל 5"]
    body["site"]["company"] = "شركة الأمل"
    body["site"]["city"] = "Pari\u0301s"  # a combining accent is printed in its composed form
    status, created, _ = await service.call("POST", "/v1/repairs", json=body)
    assert status in (201, 202), created
