"""A 4×6 label without a carrier image stays under 30 KB, whatever script the addresses use."""

from __future__ import annotations

import pytest

from labels import render_label
from tests.labels.label_builders import customer_address, description, longest_description

LIMIT = 30 * 1024

GREEK_SENDER = customer_address(
    name="Ἀλέξανδρος Παπαδόπουλος-Ξενάκης",
    company="Ωμέγα Ψηφιακή Υπηρεσίες ΑΕ",
    street_lines=("Οδός Αθηνάς 12, Μοναστηράκι", "Διαμέρισμα 4Β, όροφος 3"),
    city="Θεσσαλονίκη",
    country="GR",
)
CYRILLIC_RECIPIENT = customer_address(
    name="Иван Петрович Сидоров-Щукин",
    company="ООО «Ремонт-Сервис Юг»",
    street_lines=("ул. Тверская, д. 7, кв. 15", "подъезд 2, этаж 5"),
    city="Екатеринбург",
    country="RU",
)


@pytest.mark.parametrize(
    "label",
    [
        description(),
        description(language="en", contains_lithium_battery=False, routing_code=None),
        description(sender=GREEK_SENDER, recipient=CYRILLIC_RECIPIENT, language="de"),
        longest_description("fr"),
    ],
    ids=["typical", "minimal", "greek-and-cyrillic", "longest"],
)
def test_thermal_label_is_under_30_kb(label: object) -> None:
    assert len(render_label(label, "4x6")) < LIMIT  # type: ignore[arg-type]
