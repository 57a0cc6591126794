"""A carrier's own label in each image format it may come in (GIF, PNG, PDF) is served as page 1 of the leg's
label, by every label route, in both paper formats; the ETag follows the image's bytes."""

from __future__ import annotations

import pytest

from logistics.domain.journey import LegDirection
from tests.fakes.carrier_labels import dhl_label_pdf, ups_label
from tests.support.barcodes import decode_pages
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service

FORMATS = {
    "image/gif": lambda number: ups_label(number, "GIF"),
    "image/png": lambda number: ups_label(number, "PNG"),
    "application/pdf": lambda number: dhl_label_pdf(number, f"JD0146{number}", "ref"),
}


async def _give_carrier_label(service: Service, repair_id: str, content_type: str, data: bytes) -> None:
    async with service.services.store.transaction() as tx:
        repair = await tx.get_repair(repair_id)
        assert repair is not None and repair.inbound is not None
        repair.inbound.carrier_label = True
        await tx.save_carrier_label(repair_id, LegDirection.INBOUND, content_type, data)
        await tx.save_repair(repair)


@pytest.mark.parametrize("content_type", sorted(FORMATS))
async def test_each_carrier_label_format_is_served_as_page_one(service: Service, content_type: str) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-FMT-1"))
    repair_id = created["repair"]["id"]
    number = created["repair"]["inbound"]["tracking_number"]
    carrier_number = "1ZA1B2C31100000015" if content_type.startswith("image/") else "1234567890"
    await _give_carrier_label(service, repair_id, content_type, FORMATS[content_type](carrier_number))
    link = created["customer_label"]["url"].removeprefix("http://127.0.0.1:8080")
    etags = set()
    for path, who in ((link, None), (f"/v1/repairs/{repair_id}/labels/inbound", "case_system")):
        for page_format in ("a4", "4x6"):
            status, pdf, response = await service.call("GET", path, who, params={"format": page_format})
            assert status == 200 and response.content_type == "application/pdf"
            pages = decode_pages(pdf)
            assert any(text == carrier_number for _, text in pages[0]), pages[0]
            assert number not in {text for page in pages for _, text in page}  # ours is not drawn over theirs
            etags.add((page_format, response.headers["ETag"]))
    assert len(etags) == 2  # one per paper format, the same by either route

    # Another image (a label issued again) is another document: the cache and the ETag follow its bytes.
    await _give_carrier_label(service, repair_id, content_type, FORMATS[content_type](carrier_number[:-1] + "7"))
    status, _, response = await service.call("GET", f"/v1/repairs/{repair_id}/labels/inbound", params={"format": "a4"})
    assert status == 200 and ("a4", response.headers["ETag"]) not in etags
