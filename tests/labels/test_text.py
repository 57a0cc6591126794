"""Names and addresses in any European script come out of the PDF exactly as given."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from labels import render_label
from tests.labels.label_builders import customer_address, description

NAMES = {
    "Polish": ("Zofia Łukasiewicz-Żółćńska", "ul. Świętokrzyska 12"),
    "Czech": ("Řehoř Dvořák Šťastný", "Žluťoučká 7, Černošice"),
    "Hungarian": ("Szőke Ödön Győri", "Kőrösi Csoma út 31"),
    "Turkish": ("Gülşen Yılmaz Çağlar", "İstiklal Caddesi No: 3"),
    "Greek": ("Ἀλέξανδρος Παπαδόπουλος", "Οδός Αθηνάς 12"),
    "Cyrillic": ("Иван Петрович Сидоров", "ул. Тверская, д. 7"),
    "Nordic": ("Lars Ødegård Åsmund", "Storgata 5, Tromsø"),
}


def _text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("script", sorted(NAMES))
@pytest.mark.parametrize("page_format", ["4x6", "a4"])
def test_names_and_streets_extract_exactly(script: str, page_format: str) -> None:
    name, street = NAMES[script]
    label = description(sender=customer_address(name=name, street_lines=(street,), city="Αθήνα"))

    text = _text_of(render_label(label, page_format))  # type: ignore[arg-type]

    assert name in text
    assert street in text
    assert "Αθήνα" in text


def test_every_field_of_the_label_is_printed() -> None:
    label = description()

    text = _text_of(render_label(label, "4x6"))

    for expected in (
        label.carrier_name,
        label.service_name,
        "1Z99 9AA1 0123 4567 84",  # the tracking number, grouped for reading
        label.routing_code,
        label.case_reference,
        "RETOUR",
        "UN3481",
        "2,5 kg",
        "Colis 1 sur 1",
        "04/03/2025",
        label.recipient.phone,
        label.sender.phone,
        *label.recipient.street_lines,
    ):
        assert expected is not None
        assert expected in text


def test_outbound_label_has_no_return_mark_and_no_lithium_mark_when_not_asked() -> None:
    label = description(language="en", direction="to_customer", contains_lithium_battery=False)

    text = " ".join(_text_of(render_label(label, "4x6")).split())

    assert "RETURN" not in text
    assert "UN3481" not in text
    assert "Repaired device to customer" in text


def test_a4_pack_says_what_the_instructions_ask() -> None:
    label = description(language="en")

    text = " ".join(_text_of(render_label(label, "a4")).split())

    assert "erase private and confidential data" in text
    assert "not responsible for the loss of any data" in text
    assert "remove the hard drive or SSD and keep it" in text
    assert "self-test" in text
    assert "AC adapter" not in text  # only the items the case lists
    assert "1 × Docking station" in text and "1 × Wireless keyboard" in text
    assert "external monitors" in text
    assert "2025-03-05, between 09:00 and 17:00 local time (UTC+01:00)" in text
    assert "Tel. +48 22 000 00 00" in text
    assert "Mon–Fri, 08:00–17:00" in text
    assert "Packing slip" in text
    assert "Hard drive / SSD removed, kept by the customer" in text
    assert label.case_reference in text


def test_drop_off_replaces_the_pickup_window() -> None:
    from tests.labels.label_builders import instructions

    label = description(language="en", instructions=instructions(pickup=None, drop_off="Any UPS Access Point"))

    text = " ".join(_text_of(render_label(label, "a4")).split())

    assert "Any UPS Access Point" in text
    assert "Courier pickup" not in text
