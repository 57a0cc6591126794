"""The right document for each reader: the centre's dispatch documents, the customer's inbound pack, the
packing slip, and one label per piece with the weights the items make."""

from __future__ import annotations

import sqlite3
from typing import Any

import pypdfium2

from logistics.storage.codec import document_json
from tests.support.barcodes import decode_pdf
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request
from tests.support.service import Service


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8080")


def _texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    finally:
        document.close()


async def _dispatched(service: Service, case_id: str, dispatch: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, case_id))
    assert status == 201, created
    repair = created["repair"]
    centre = repair["centre_id"]
    status, _, _ = await service.call(
        "POST", f"/v1/centres/{centre}/receipts", centre, json={"repair_id": repair["id"], "items_received": []}
    )
    assert status == 200
    status, answer, _ = await service.call(
        "POST", f"/v1/centres/{centre}/dispatches", centre, json={"repair_id": repair["id"], **dispatch}
    )
    assert status == 201, answer
    return repair, answer


async def test_the_centre_gets_4x6_labels_and_a_dispatch_slip_with_the_replacement_serial(service: Service) -> None:
    repair, answer = await _dispatched(
        service, "C-DISPATCH-1", {"outcome": "replaced", "replacement_serial": "5CG9999NEW"}
    )
    status, pdf, response = await service.call("GET", _path(answer["label"]["url"]), None)
    assert status == 200 and response.content_type == "application/pdf"
    outbound = answer["repair"]["outbound"]["tracking_number"]
    texts = _texts(pdf)
    assert len(texts) == 2  # the label, then the slip
    barcodes = decode_pdf(pdf)
    assert ("Code128", outbound) in barcodes
    assert ("Code128", "5CG9999NEW") in barcodes  # the slip's serial scans into the centre's system
    assert any(
        fmt == "DataMatrix" and text.endswith(tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")) for fmt, text in barcodes
    )
    slip = texts[1]
    assert "Bordereau d'expédition" in slip and "Remplacé par un autre appareil" in slip
    assert "5CG9999NEW" in slip and "EliteBook 840 G9" in slip and "5CG1234XYZ" in slip
    assert "1 × Adaptateur secteur" in slip
    assert not any("Comment envoyer votre appareil" in text for text in texts)  # not the customer's pack
    centre = repair["centre_id"]
    _, from_route, _ = await service.call("GET", f"/v1/centres/{centre}/repairs/{repair['id']}/labels/outbound", centre)
    assert from_route == pdf


async def test_an_a4_outbound_document_has_the_label_and_the_dispatch_slip_but_no_customer_pack(
    service: Service,
) -> None:
    repair, _ = await _dispatched(service, "C-DISPATCH-2", {"outcome": "repaired"})
    status, pdf, _ = await service.call("GET", f"/v1/repairs/{repair['id']}/labels/outbound", params={"format": "a4"})
    assert status == 200
    (page,) = _texts(pdf)
    assert "Bordereau d'expédition" in page and "Réparé" in page and "L'appareil réparé" in page
    assert "Comment envoyer" not in page and "Bordereau de colisage" not in page


async def test_the_packing_slip_lists_model_serial_and_each_item_once_with_its_quantity(service: Service) -> None:
    items = [{"kind": "external_monitor"}, {"kind": "external_monitor"}, {"kind": "wired_keyboard", "quantity": 1}]
    body = repair_request(CORSICA_SITE, "C-SLIP-1", product_line="desktop", peripheral_care_pack=True)
    body["entitlement"]["items"] = items
    status, created, _ = await service.call("POST", "/v1/repairs", json=body)
    assert status == 201, created
    _, pdf, _ = await service.call("GET", _path(created["customer_label"]["url"]), None)
    slip = _texts(pdf)[-1]
    assert "Bordereau de colisage" in slip
    assert "Modèle: EliteBook 840 G9" in slip
    assert "5CG1234XYZ" in slip
    assert slip.count("Moniteur externe") == 1 and "2 × Moniteur externe" in slip
    assert "1 × Clavier filaire" in slip
    assert "Adaptateur" not in slip  # a desktop sent with a keyboard only: no adapter to tick


async def test_a_notebook_with_two_monitors_and_a_dock_travels_as_three_pieces_that_decode(service: Service) -> None:
    body = repair_request(PARIS_SITE, "C-PIECES-1", peripheral_care_pack=True)
    body["entitlement"]["items"] = [
        {"kind": "ac_adapter"},
        {"kind": "external_monitor", "quantity": 2},
        {"kind": "dock"},
    ]
    status, created, _ = await service.call("POST", "/v1/repairs", json=body)
    assert status == 201, created
    tracking = created["repair"]["inbound"]["tracking_number"]
    _, pdf, _ = await service.call("GET", _path(created["customer_label"]["url"]), None, params={"format": "4x6"})
    texts = _texts(pdf)
    assert len(texts) == 3
    for number, (text, weight) in enumerate(zip(texts, ("4,9 kg", "7,5 kg", "7,5 kg"), strict=True), start=1):
        assert f"Colis {number} sur 3" in text and weight in text
    barcodes = decode_pdf(pdf)
    assert barcodes.count(("Code128", tracking)) == 3
    assert len([text for fmt, text in barcodes if fmt == "DataMatrix"]) == 3
    alone = repair_request(PARIS_SITE, "C-PIECES-2")
    _, single, _ = await service.call("POST", "/v1/repairs", json=alone)
    _, pdf, _ = await service.call("GET", _path(single["customer_label"]["url"]), None, params={"format": "4x6"})
    (text,) = _texts(pdf)
    assert "Colis 1 sur 1" in text and "4,0 kg" in text  # 3.5 kg packed notebook and its 0.5 kg adapter


async def test_the_pack_gives_the_regions_support_phone_and_the_ship_by_date_or_the_pickup_offset(
    service: Service,
) -> None:
    _, shipped, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-LOOKS-1"))
    _, pdf, _ = await service.call("GET", _path(shipped["customer_label"]["url"]), None)
    first = _texts(pdf)[0]
    assert "Tél. +33 1 00 00 00 01" in first  # the region's support line, from the coverage
    ship_by = shipped["decision"]["ship_by"]
    year, month, day = ship_by.split("-")
    assert f"Déposez le colis au plus tard le {day}/{month}/{year}" in first
    assert "Emballez l'appareil dans son carton d'origine ou un carton rembourré" in first  # French drop-off
    _, picked, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-LOOKS-2"))
    _, pdf, _ = await service.call("GET", _path(picked["customer_label"]["url"]), None)
    first = _texts(pdf)[0]
    assert "heure locale (UTC+01:00)" in first or "heure locale (UTC+02:00)" in first
    assert "Europe/Paris" not in first


async def test_a_battery_sent_with_a_notebook_brings_the_lithium_mark_sticker(service: Service) -> None:
    body = repair_request(CORSICA_SITE, "C-LITHIUM-1")
    body["entitlement"]["items"] = [{"kind": "battery"}]
    _, created, _ = await service.call("POST", "/v1/repairs", json=body)
    _, pdf, _ = await service.call("GET", _path(created["customer_label"]["url"]), None, params={"format": "4x6"})
    texts = _texts(pdf)
    assert "UN3481" in texts[-1] and "batterie au lithium" in texts[-1]
    _, plain, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-LITHIUM-2"))
    _, pdf, _ = await service.call("GET", _path(plain["customer_label"]["url"]), None, params={"format": "4x6"})
    assert len(_texts(pdf)) == 1  # one notebook, its battery installed: no mark required


async def test_a_repair_stored_under_older_limits_gets_a_clear_refusal_not_a_500(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-OLD-1"))
    repair_id = created["repair"]["id"]
    with sqlite3.connect(service.services.settings.database_path) as conn:  # as an older version let it in
        (doc,) = conn.execute("SELECT doc FROM repairs WHERE id = ?", (repair_id,)).fetchone()
        older = document_json(doc)  # written as older releases wrote documents: JSON text
        conn.execute("UPDATE repairs SET doc = json_set(?, '$.site.name', '山田太郎') WHERE id = ?", (older, repair_id))
    status, problem, _ = await service.call("GET", f"/v1/repairs/{repair_id}/labels/inbound")
    assert status == 409 and problem["code"] == "label.unprintable"
    assert "U+5C71" in problem["detail"]
