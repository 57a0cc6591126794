"""Each kind of document in two languages, compared with a committed picture, so a layout change is seen.

The pictures (`tests/labels/snapshots/*.png`) are the documents rasterised at 100 dpi in grey, their pages
side by side. The comparison tolerates what differs between rasteriser builds (anti-aliasing, a pixel of
shift): a pixel counts as changed only when its grey is more than a quarter of the range away from every
pixel of the other picture's 3×3 neighbourhood there, and a document fails when more than 0.04 % of its
pixels changed. A moved, added or removed block changes ten times that, another case number about 0.05 %;
a single changed digit may pass (the text tests see those). After an intended change, write the pictures again with
`UPDATE_LABEL_SNAPSHOTS=1 pytest tests/labels/test_snapshots.py` and review them in the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops, ImageFilter

from labels import DeviceInfo, DispatchSlip, LabelDescription, PackedItem, PageFormat, render_label
from tests.labels.label_builders import customer_address, description, instructions, repair_centre_address

SNAPSHOTS = Path(__file__).parent / "snapshots"
DPI = 100
CHANGED_LEVEL = 64  # of 255
CHANGED_SHARE = 0.0004
LANGUAGES = ("fr", "de")

DEVICE = DeviceInfo(model="EliteBook 840 G9", serial_number="5CG1234XYZ")
ITEMS = (PackedItem(kind="ac_adapter"), PackedItem(kind="external_monitor", quantity=2), PackedItem(kind="dock"))


def _inbound(language: str) -> LabelDescription:
    return description(language=language, device=DEVICE, instructions=instructions(items_to_include=ITEMS))


def _drop_off(language: str) -> LabelDescription:
    drop = instructions(pickup=None, drop_off="Any UPS Access Point within five business days.", drop_off_language="en")
    return description(language=language, device=DEVICE, instructions=drop, contains_lithium_battery=False)


def _outbound(language: str) -> LabelDescription:
    slip = DispatchSlip(outcome="replaced", replacement_serial="5CG9999NEW", items=ITEMS)
    return description(
        language=language,
        direction="to_customer",
        sender=repair_centre_address(),
        recipient=customer_address(),
        instructions=None,
        device=DEVICE,
        dispatch=slip,
        service_name=None,
    )


def _pieces(language: str) -> LabelDescription:
    weights = (Decimal("4.9"), Decimal("7.5"), Decimal("7.5"))
    return _inbound(language).model_copy(
        update={"piece_count": 3, "piece_weights_kg": weights, "weight_kg": sum(weights)}
    )


def _battery(language: str) -> LabelDescription:
    items = (*ITEMS, PackedItem(kind="battery"))
    return description(
        language=language, device=DEVICE, instructions=instructions(items_to_include=items), lithium_mark_required=True
    )


KINDS: dict[str, tuple[Callable[[str], LabelDescription], PageFormat]] = {
    "inbound-4x6": (_inbound, "4x6"),
    "inbound-a4": (_inbound, "a4"),
    "drop-off-a4": (_drop_off, "a4"),
    "outbound-4x6": (_outbound, "4x6"),
    "outbound-a4": (_outbound, "a4"),
    "three-pieces-4x6": (_pieces, "4x6"),
    "battery-sticker-a4": (_battery, "a4"),
}
CASES = [(kind, language) for kind in KINDS for language in LANGUAGES]


def picture(pdf: bytes) -> Image.Image:
    """The document's pages side by side, in grey, at `DPI`."""
    document = pdfium.PdfDocument(pdf)
    try:
        pages = [page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L") for page in document]
    finally:
        document.close()
    sheet = Image.new("L", (sum(p.width for p in pages) + 4 * (len(pages) - 1), max(p.height for p in pages)), 128)
    x = 0
    for page in pages:
        sheet.paste(page, (x, 0))
        x += page.width + 4
    return sheet


def changed_share(expected: Image.Image, actual: Image.Image) -> float:
    """The share of pixels of either picture that no pixel of the other explains: a pixel is explained when
    its grey lies within `CHANGED_LEVEL` of the range of the other picture's 3×3 neighbourhood there."""
    if expected.size != actual.size:
        return 1.0
    changed = 0
    for one, other in ((expected, actual), (actual, expected)):
        low, high = other.filter(ImageFilter.MinFilter(3)), other.filter(ImageFilter.MaxFilter(3))
        for difference in (ImageChops.subtract(low, one), ImageChops.subtract(one, high)):
            changed += sum(difference.histogram()[CHANGED_LEVEL + 1 :])
    return changed / (2 * expected.width * expected.height)


@pytest.mark.parametrize(("kind", "language"), CASES, ids=[f"{k}-{lang}" for k, lang in CASES])
def test_documents_look_as_committed(kind: str, language: str, tmp_path: Path) -> None:
    build, page_format = KINDS[kind]
    actual = picture(render_label(build(language), page_format))
    path = SNAPSHOTS / f"{kind}-{language}.png"
    if os.environ.get("UPDATE_LABEL_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        actual.save(path, optimize=True)
        if os.environ.get("UPDATE_LABEL_SNAPSHOTS") != "1":
            pytest.fail(f"no snapshot yet: wrote {path}; review and commit it")
    with Image.open(path) as stored:
        expected = stored.convert("L")
    share = changed_share(expected, actual)
    if share > CHANGED_SHARE:
        actual.save(tmp_path / path.name)
        ImageChops.difference(expected, actual).save(tmp_path / f"difference-{path.name}")
        pytest.fail(
            f"{path.name}: {share:.2%} of the pixels changed; the new picture and the difference are in {tmp_path}"
        )


def test_the_comparison_sees_a_changed_layout_and_forgives_a_pixel_of_shift() -> None:
    label = _inbound("fr")
    original = picture(render_label(label, "4x6"))
    shifted = Image.new("L", original.size, 255)
    shifted.paste(original, (1, 1))
    assert changed_share(original, shifted) <= CHANGED_SHARE
    for change in ({"routing_code": None}, {"contains_lithium_battery": False}, {"case_reference": "CASE-2099-9"}):
        changed = picture(render_label(label.model_copy(update=change), "4x6"))
        assert changed_share(original, changed) > CHANGED_SHARE, change
