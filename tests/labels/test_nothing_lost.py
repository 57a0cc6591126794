"""Every value within the published limits prints whole, inside its box, with real glyphs.

A property test: descriptions are drawn from the limits (lengths up to the maximum, the scripts of the
countries served, the widest glyphs, every item kind, 20 items with notes, the longest drop-off text), laid
out on every document, and checked geometrically: no block cut, every line inside its block's box and the
page, every data value found whole in one block (wrapping moves words, never drops them), every line at a
legible size, every character with its own glyph. The PDF is then rendered and its text extracted: no
replacement character ever appears.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, get_args

import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from labels import (
    DeviceInfo,
    DispatchSlip,
    LabelAddress,
    LabelDescription,
    PackedItem,
    PackingInstructions,
    PageFormat,
    PickupInfo,
    SupportHours,
    limits,
    render_label,
    unprintable,
)
from labels.catalogue import ITEM_KINDS, SUPPORTED_LANGUAGES
from labels.geometry import TextBlock
from labels.pages import compose_pages
from labels.typeface import typeface
from logistics.domain.routing import Entitlement, SiteAddress
from tests.support.openapi import spec

# Letters of the scripts of the countries served (and their neighbours), the widest glyphs first.
WIDE = "WMШЩЮЖ@%"
LETTERS = (
    WIDE
    + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    + "àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆñÑáíóúÁÍÓÚßẞåøÅØ"
    + "ąćęłńóśźżĄĆĘŁŃÓŚŹŻčďěňřšťůžČĎĚŇŘŠŤŮŽőűŐŰğıİşĞŞ"
    + "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩἈἀέή"
    + "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    + "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
    + ".,-/'&()+#"
)
MIN_DATA_SIZE = 4.5  # points: the smallest size a data field is printed at (openapi.yaml says so)


def _line(max_size: int, *, min_size: int = 1) -> st.SearchStrategy[str]:
    words = st.text(alphabet=LETTERS, min_size=1, max_size=max_size)
    widest = st.builds(lambda n: ("W" * n)[:max_size], st.integers(min_size, max_size))
    spaced = st.lists(words, min_size=1, max_size=8).map(lambda ws: " ".join(ws)[:max_size].strip())
    return st.one_of(widest, spaced, words).filter(lambda text: len(text.strip()) >= min_size)


@st.composite
def addresses(draw: st.DrawFn) -> LabelAddress:
    return LabelAddress(
        name=draw(_line(limits.NAME_MAX)),
        company=draw(st.none() | _line(limits.COMPANY_MAX)),
        street_lines=tuple(draw(st.lists(_line(limits.STREET_LINE_MAX), min_size=1, max_size=3))),
        postal_code=draw(_line(limits.POSTAL_CODE_MAX)),
        city=draw(_line(limits.CITY_MAX)),
        country="FR",
        phone=draw(_line(limits.PHONE_MAX, min_size=3)),
    )


@st.composite
def descriptions(draw: st.DrawFn) -> LabelDescription:
    items = draw(
        st.lists(
            st.builds(
                PackedItem,
                kind=st.sampled_from(sorted(ITEM_KINDS)),
                note=st.none() | _line(limits.ITEM_MAX),
                quantity=st.integers(1, limits.ITEM_QUANTITY_MAX),
            ),
            max_size=limits.ITEMS_MAX,
        )
    )
    pickup = PickupInfo(date=date(2025, 3, 5), ready_time="09:00", close_time="17:00", time_zone="Europe/Paris")
    by_pickup = draw(st.booleans())
    case_id = draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:", min_size=1, max_size=64))
    instructions = PackingInstructions(
        pickup=pickup if by_pickup else None,
        drop_off=None if by_pickup else draw(_line(limits.DROP_OFF_MAX)),
        drop_off_language=draw(st.sampled_from(SUPPORTED_LANGUAGES)),
        ship_by=None if by_pickup else date(2025, 3, 12),
        defective_media_retention=draw(st.booleans()),
        include_self_test_results=draw(st.booleans()),
        items_to_include=tuple(items),
        support_hours=SupportHours(first_day=1, last_day=5, opens="08:00", closes="17:00"),
        support_phone=draw(_line(limits.PHONE_MAX, min_size=3)),
        case_reference=case_id,
    )
    inbound = draw(st.booleans())
    device = DeviceInfo(model=draw(_line(limits.DEVICE_MODEL_MAX)), serial_number=draw(_line(limits.SERIAL_NUMBER_MAX)))
    replaced = draw(st.booleans())
    dispatch = DispatchSlip(
        outcome="replaced" if replaced else "repaired",
        replacement_serial=draw(_line(limits.SERIAL_NUMBER_MAX)) if replaced else None,
        items=tuple(items),
    )
    weights = tuple(Decimal(w) / 10 for w in draw(st.lists(st.integers(1, 999), min_size=1, max_size=4)))
    return LabelDescription(
        language=draw(st.sampled_from(SUPPORTED_LANGUAGES)),
        direction="to_repair_centre" if inbound else "to_customer",
        carrier_name=draw(st.sampled_from(["UPS", "DHL Express", "Simulated Carrier", "W" * limits.CARRIER_NAME_MAX])),
        sender=draw(addresses()),
        recipient=draw(addresses()),
        tracking_number=draw(st.text(alphabet="0123456789ABCDEFGHJKLMNPRSTUVWXYZ", min_size=8, max_size=22)),
        weight_kg=sum(weights, Decimal(0)),
        piece_number=1,
        piece_count=len(weights),
        piece_weights_kg=weights if len(weights) > 1 else (),
        ship_date=date(2025, 3, 4),
        case_reference=case_id,
        intake_payload="LGX1|rp_0123456789ab01234567|inbound|ABCDEFGHIJKLMNOP",
        contains_lithium_battery=draw(st.booleans()),
        instructions=instructions if inbound else None,
        device=device,
        dispatch=None if inbound else dispatch,
    )


def _data_values(label: LabelDescription, page_format: PageFormat) -> list[str]:
    values: list[Any] = [label.carrier_name, label.tracking_number, label.case_reference]
    for address in (label.sender, label.recipient):
        values += [address.name, address.company, *address.street_lines, address.postal_code, address.city]
        values.append(address.phone)
    if label.instructions is not None and page_format == "a4":  # the instructions are the A4 pack's
        values += [label.instructions.drop_off, label.instructions.support_phone]
        values += [item.note for item in label.instructions.items_to_include]
    if label.device is not None and (label.dispatch is not None or page_format == "a4"):  # on either slip
        values += [label.device.model, label.device.serial_number]
    if label.dispatch is not None:
        values += [label.dispatch.replacement_serial, *(item.note for item in label.dispatch.items)]
    return [value for value in values if value]


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _carries(line: str, value: str) -> bool:
    # A line carries part of the value when its text is a piece of the value or holds the value whole.
    line, value = _squeezed(line), _squeezed(value)
    return bool(line) and (line in value or value in line)


def check_pages(label: LabelDescription, page_format: PageFormat) -> None:
    faces = {"regular": typeface("regular"), "bold": typeface("bold")}
    pages = compose_pages(label, page_format)
    blocks: list[tuple[TextBlock, str]] = []
    for page in pages:
        for block in (element for element in page.elements if isinstance(element, TextBlock)):
            assert not block.truncated, [line.text for line in block.lines]
            assert page.box.contains(block.box)
            for line in block.lines:
                assert block.box.contains(line.extent, tolerance=0.01), line
                assert all(faces[line.weight].has_glyph(char) for char in line.text), line.text
                assert "\ufffd" not in line.text
            blocks.append((block, _squeezed("".join(line.text for line in block.lines))))
    for value in _data_values(label, page_format):
        holding = [block for block, text in blocks if _squeezed(value) in text]
        assert holding, f"{value!r} is not printed whole on the {page_format} document"
        assert any(
            all(line.size >= MIN_DATA_SIZE for line in block.lines if _carries(line.text, value)) for block in holding
        ), f"{value!r} is printed below {MIN_DATA_SIZE} pt"


# Deterministic and bounded; the explain phase is left out (it traces every line and takes minutes).
PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)


@PROPERTY
@given(descriptions())
def test_any_accepted_values_print_whole_inside_their_boxes(label: LabelDescription) -> None:
    for page_format in get_args(PageFormat):
        check_pages(label, page_format)


@PROPERTY.__class__(PROPERTY, max_examples=8)
@given(descriptions())
def test_extracted_pages_never_show_a_replacement_character(label: LabelDescription) -> None:
    for page_format in get_args(PageFormat):
        document = pdfium.PdfDocument(render_label(label, page_format))
        try:
            for page in document:
                # pdfium marks a hyphen it takes for a word broken at the end of a line with U+FFFE.
                text = page.get_textpage().get_text_range().replace("\ufffe", "-")
                assert "\ufffd" not in text
                assert unprintable("".join(text.split())) is None, text
        finally:
            document.close()


def test_the_api_limits_are_the_labels_limits() -> None:
    """What the API accepts is what the labels are tested to print: pydantic, openapi.yaml and labels agree."""
    schemas = spec()["components"]["schemas"]
    site = schemas["SiteAddress"]["properties"]
    expected = {
        "name": limits.NAME_MAX,
        "company": limits.COMPANY_MAX,
        "city": limits.CITY_MAX,
        "postal_code": limits.POSTAL_CODE_MAX,
        "phone": limits.PHONE_MAX,
    }
    for field, maximum in expected.items():
        assert site[field]["maxLength"] == maximum, field
        assert _max_length(SiteAddress, field) == maximum, field
    assert site["street_lines"]["items"]["maxLength"] == limits.STREET_LINE_MAX
    assert site["street_lines"]["maxItems"] == limits.STREET_LINES_MAX
    assert schemas["CreateRepair"]["properties"]["case_id"]["maxLength"] == limits.CASE_REFERENCE_MAX
    item = schemas["Item"]["properties"]
    assert item["description"]["maxLength"] == limits.ITEM_MAX
    assert item["quantity"]["maximum"] == limits.ITEM_QUANTITY_MAX
    assert schemas["Entitlement"]["properties"]["items"]["maxItems"] == limits.ITEMS_MAX
    assert _max_length(Entitlement, "items") == limits.ITEMS_MAX


def _max_length(model: Any, field: str) -> int:
    info = model.model_fields[field]
    found = [getattr(m, "max_length", None) for m in info.metadata]
    annotation_args = get_args(info.annotation)
    for arg in annotation_args:
        for meta in getattr(arg, "__metadata__", ()):
            found.append(getattr(meta, "max_length", None))
    lengths = [length for length in found if length is not None]
    assert lengths, field
    return int(lengths[0])


@pytest.mark.parametrize("text", ["山田太郎", "שָׁלוֹם", "😀", "a\u200db", "e\u0327\u0301\u0302", "a\u202eb"])
def test_text_without_real_glyphs_cannot_reach_a_label(text: str) -> None:
    assert unprintable(text) is not None
    with pytest.raises(ValueError, match="U\\+"):
        LabelAddress(name=text, street_lines=("x",), postal_code="1", city="x", country="FR", phone="123")
