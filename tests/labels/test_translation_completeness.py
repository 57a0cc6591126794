"""Every word on every document comes from the catalogue of the customer's language.

Two checks. The catalogues: every language has every key, translated (a short list of words that are the
same in both languages is allowed by name). The documents: each kind of document is laid out with a
pseudo-language whose every message is wrapped in ⟦…⟧; once the wrapped texts and the description's own
data (names, addresses, numbers) are taken out, nothing with a letter may remain. A word written into the
code instead of the catalogue ("Mon–Fri", "Return", an item name) is caught in every language at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from labels import CarrierLabelImage, DeviceInfo, DispatchSlip, LabelDescription, PackedItem, PageFormat
from labels.catalogue import FALLBACK_LANGUAGE, ITEM_KINDS, SUPPORTED_LANGUAGES, Catalogue, messages
from labels.geometry import TextBlock
from labels.layout import grouped_for_reading
from labels.pages import compose_pages
from logistics.domain.routing import ItemKind
from tests.labels.label_builders import description, instructions

# Words that are spelt the same in English and the language, checked by a reader of that language.
SAME_AS_ENGLISH = {
    "fr": {"item_quantity", "service_to_customer"},  # "Standard"
    "de": {"item_quantity", "item_headset", "phone", "service_to_customer", "support_title"},
    "es": {"item_quantity", "phone"},  # "Tel."
    "it": {"item_quantity", "item_dock", "phone", "service_to_customer", "support_hours", "text_in_language"},
    "nl": {"item_quantity", "item_headset", "phone", "model"},
}
# Tokens that are the same in every language: the UN number, units, the UTC offset's prefix.
UNIVERSAL = re.compile(r"UN3481|\bkg\b|UTC")
WRAPPED = re.compile(r"⟦[^⟦⟧]*⟧")
TINY_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU"
    b"\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb4\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.mark.parametrize("language", [lang for lang in SUPPORTED_LANGUAGES if lang != FALLBACK_LANGUAGE])
def test_every_message_is_translated(language: str) -> None:
    english, own = messages(FALLBACK_LANGUAGE), messages(language)
    assert set(own) == set(english)
    same = {key for key in english if own[key] == english[key]}
    assert same <= SAME_AS_ENGLISH[language], f"untranslated in {language}: {sorted(same - SAME_AS_ENGLISH[language])}"


def test_every_item_kind_the_service_accepts_has_a_name_in_the_catalogue() -> None:
    assert {kind.value for kind in ItemKind} <= ITEM_KINDS
    for language in SUPPORTED_LANGUAGES:
        assert all(f"item_{kind}" in messages(language) for kind in ITEM_KINDS), language


def _documents() -> Iterator[tuple[str, LabelDescription, PageFormat]]:
    every_item = tuple(PackedItem(kind=kind, quantity=2) for kind in sorted(ITEM_KINDS))
    noted = (PackedItem(kind="other_peripheral", note="Hub USB-C Zq"),)
    pickup = instructions(items_to_include=every_item[:10])
    drop_off = instructions(
        pickup=None,
        drop_off="Abgabe im Paketshop Zq",
        drop_off_language="de",
        ship_by=date(2025, 3, 11),
        items_to_include=every_item[10:] + noted,
    )
    image = CarrierLabelImage(content_type="image/png", data=TINY_PNG)
    device = DeviceInfo(model="EliteBook 840 G9 Zq", serial_number="5CG1234XYZ")
    replaced = DispatchSlip(outcome="replaced", replacement_serial="5CG9999NEW", items=every_item[:3] + noted)
    repaired = DispatchSlip(outcome="repaired", items=every_item[3:])
    pieces = {"piece_count": 3, "piece_weights_kg": (Decimal("4.2"), Decimal("7.5"), Decimal("7.5"))}
    outbound = {"direction": "to_customer", "instructions": None, "service_name": None, "device": device}
    kinds: dict[str, dict[str, Any]] = {
        "inbound with pickup": {"instructions": pickup, "device": device},
        "inbound with drop-off": {"instructions": drop_off, "contains_lithium_battery": False},
        "inbound in three pieces": {"instructions": pickup, "weight_kg": Decimal("19.2"), **pieces},
        "inbound with the carrier's label": {"instructions": pickup, "carrier_label": image},
        "outbound, replaced": {**outbound, "dispatch": replaced},
        "outbound, repaired, in three pieces": {
            **outbound,
            "dispatch": repaired,
            "weight_kg": Decimal("19.2"),
            **pieces,
        },
        "outbound with the carrier's label": {**outbound, "dispatch": repaired, "carrier_label": image},
    }
    for name, changes in kinds.items():
        for page_format in ("4x6", "a4"):
            yield f"{name}, {page_format}", description(**changes), page_format


def _data_values(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _data_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _data_values(item)


def _pseudo_catalogue() -> Catalogue:
    return Catalogue("en", {key: f"⟦{text}⟧" for key, text in messages(FALLBACK_LANGUAGE).items()})


@pytest.mark.parametrize(("name", "label", "page_format"), list(_documents()), ids=lambda v: str(v)[:40])
def test_documents_print_no_word_outside_the_catalogue(
    name: str, label: LabelDescription, page_format: PageFormat
) -> None:
    pages = compose_pages(label, page_format, _pseudo_catalogue())
    data = sorted(
        {
            value
            for value in [
                *_data_values(label.model_dump(mode="json", exclude={"language", "carrier_label"})),
                grouped_for_reading(label.tracking_number),  # the tracking number as people read it out
            ]
            if value
        },
        key=len,
        reverse=True,
    )
    for page in pages:
        for block in (element for element in page.elements if isinstance(element, TextBlock)):
            text = " ".join(line.text for line in block.lines)
            while WRAPPED.search(text):
                text = WRAPPED.sub(" ", text)
            for value in data:
                text = text.replace(value, " ")
            left = UNIVERSAL.sub(" ", text)
            assert not re.search(r"[^\W\d_]", left), f"{name}: printed outside the catalogue: {left.strip()!r}"


def test_a_region_text_not_in_the_customers_language_says_which_language_it_is_in() -> None:
    german_text = instructions(pickup=None, drop_off="Abgabe im Paketshop", drop_off_language="de")
    french_text = instructions(pickup=None, drop_off="Dépôt en point relais", drop_off_language="fr")

    foreign = _all_text(description(language="fr", instructions=german_text))
    own = _all_text(description(language="fr", instructions=french_text))

    assert "En allemand : Abgabe im Paketshop" in foreign
    assert "Dépôt en point relais" in own and "En français" not in own


def _all_text(label: LabelDescription) -> str:
    pages = compose_pages(label, "a4")
    return " ".join(
        line.text for page in pages for block in page.elements if isinstance(block, TextBlock) for line in block.lines
    )


def test_the_coverage_gives_the_drop_off_text_in_the_customers_language_when_it_has_it() -> None:
    from logistics.domain.routing.coverage import SelfShipment

    terms = SelfShipment(carrier="sim", drop_off="Any relay point", drop_off_by_language={"fr": "Tout point relais"})

    assert terms.drop_off_with_language("fr") == ("Tout point relais", "fr")
    assert terms.drop_off_with_language("en") == ("Any relay point", "en")
    assert terms.drop_off_with_language("nl") == ("Any relay point", "en")  # no Dutch text: the English one, said so
