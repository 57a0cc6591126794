"""After an ambiguous shipment create (a timeout, a reset or a 503 after the carrier applied it), the booking
found by our reference comes without its label: the carrier's own label is recovered through the carrier's
API (UPS Label Recovery, DHL's image retrieval), and there is still exactly one shipment at the carrier.
Where recovery fails, the leg is flagged for an operator and our own label is served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logistics.domain.journey import LegDirection
from tests.fakes.dhl_server import Fault as DhlFault
from tests.fakes.ups_server import Fault as UpsFault
from tests.support.barcodes import decode_pages
from tests.support.carriers import CarrierDriver, carrier_service
from tests.support.clock import ManualClock
from tests.support.journeys import CORSICA_SITE, repair_request

FAULTS: dict[str, dict[str, Any]] = {
    "ups": {
        "timeout": UpsFault("timeout_after_apply"),
        "reset": UpsFault("reset_after_apply"),
        "503": UpsFault("unavailable_after_apply"),
    },
    "dhl_express": {
        "timeout": DhlFault.stall_after_apply(),
        "reset": DhlFault.reset_after_apply(),
        "503": DhlFault.unavailable_after_apply(),
    },
}
QUICK = {"ups": {"request_timeout_s": 0.3}, "dhl_express": {"timeout_seconds": 0.3}}


def _inject(carrier: CarrierDriver, operation: str, fault: Any) -> None:
    if carrier.ups is not None:
        carrier.ups.inject(operation, fault)
    else:
        assert carrier.dhl is not None
        carrier.dhl.inject("get_image" if operation == "recover_label" else "create_shipment", fault)


def _issued(carrier: CarrierDriver, number: str) -> bytes:
    labels = carrier.ups.labels if carrier.ups is not None else carrier.dhl.labels if carrier.dhl else {}
    return labels[number]


async def _create(carrier: CarrierDriver, clock: ManualClock) -> dict[str, Any]:
    status, created, _ = await carrier.service.call("POST", "/v1/repairs", json=repair_request(CORSICA_SITE, "C-AMB"))
    repair_id = created["repair"]["id"]
    if carrier.dhl is not None:
        # DHL's search by reference lags (the fake's by 20 minutes): the outcome stays unknown, the booking
        # pending, and it is looked up only after reference_search_lag_s (30 minutes by default).
        assert status == 202 and created["repair"]["inbound"]["booking"] == "pending", created
        clock.advance(minutes=10)
        await carrier.service.services.bookings.run_due()
        assert carrier.shipments(f"{repair_id}-in") == 1  # not made again while the search lags
        clock.advance(minutes=21)
        assert await carrier.service.services.bookings.run_due() == 1
        _, repair, _ = await carrier.service.call("GET", f"/v1/repairs/{repair_id}")
        return dict(repair)
    assert status == 201, created
    return dict(created["repair"])


@pytest.mark.parametrize("fault", ["timeout", "reset", "503"])
@pytest.mark.parametrize("name", ["ups", "dhl_express"])
async def test_an_ambiguous_create_gets_the_carriers_own_label_back_and_books_once(
    name: str, fault: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with carrier_service(name, tmp_path, clock, carrier_settings=QUICK[name]) as carrier:
        _inject(carrier, "create_shipment", FAULTS[name][fault])
        repair = await _create(carrier, clock)
        number = repair["inbound"]["tracking_number"]
        assert carrier.shipments(f"{repair['id']}-in") == 1
        assert repair["flags"] == [] and repair["inbound"]["booking"] == "booked"
        stored = await carrier.service.services.store.reader().carrier_label(repair["id"], LegDirection.INBOUND)
        assert stored is not None and stored[1] == _issued(carrier, number)  # the carrier's label, as issued
        status, pdf, _ = await carrier.service.call("GET", f"/v1/repairs/{repair['id']}/labels/inbound")
        assert status == 200
        assert any(text == number for _, text in decode_pages(pdf)[0])


@pytest.mark.parametrize("name", ["ups", "dhl_express"])
async def test_a_label_that_cannot_be_recovered_is_flagged_and_ours_is_served(
    name: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with carrier_service(name, tmp_path, clock, carrier_settings=QUICK[name]) as carrier:
        _inject(carrier, "create_shipment", FAULTS[name]["503"])
        refusal = (
            UpsFault("reject", code="120801", message="No label found")
            if name == "ups"
            else DhlFault.rejected("1504: No document images found for the provided search criteria.")
        )
        _inject(carrier, "recover_label", refusal)
        repair = await _create(carrier, clock)
        assert carrier.shipments(f"{repair['id']}-in") == 1
        assert [flag["code"] for flag in repair["flags"]] == ["label.not_carriers"]
        stored = await carrier.service.services.store.reader().carrier_label(repair["id"], LegDirection.INBOUND)
        assert stored is None
        status, pdf, _ = await carrier.service.call("GET", f"/v1/repairs/{repair['id']}/labels/inbound")
        assert status == 200
        codes = [text for page in decode_pages(pdf) for _, text in page]
        assert repair["inbound"]["tracking_number"] in codes  # our own label, with the carrier's number
        if carrier.dhl is not None:
            carrier.dhl.violations.clear()  # the refusal was injected on purpose
