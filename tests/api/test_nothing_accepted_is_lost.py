"""Through the API: whatever a create accepts prints whole on the customer's documents; what it cannot print
is refused with 422 naming the field. Bodies are drawn from a seeded generator (so the test is the same on
every run): text of every length up to and past the limits, in the scripts of the countries served, in
right-to-left scripts, and in ones the labels cannot print (CJK, emoji, vowel points)."""

from __future__ import annotations

import random
import unicodedata
from typing import Any

import pypdfium2

from tests.support.journeys import CORSICA_SITE, repair_request
from tests.support.service import Service

SERVED = "WMШЖabcdefghijklmnopqrstuvwxyzÀÉÈÇÖÜßŁłŚśŻżČřŐőĞİşΑΩαωЖжЯяẮặỹ0123456789.,-/'&"
RIGHT_TO_LEFT = ["דוד כהן", "محمد الأحمد", "שרה לוי", "فاطمة"]
UNPRINTABLE = ["山田太郎", "佐藤 花子", "Café 😀", "שָׁלוֹם", "e\u0301\u0327\u0304x"]
LIMITS = {"name": 35, "company": 35, "street": 35, "city": 35, "phone": 25, "model": 100, "serial": 50, "note": 60}


def _text(rng: random.Random, limit: int) -> str:
    length = rng.choice([1, limit // 2, limit - 1, limit, limit])
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append("".join(rng.choice(SERVED) for _ in range(rng.randint(1, 12))))
    text = " ".join(words)[:length].strip()
    return text if text else "W"


def _body(rng: random.Random, index: int) -> tuple[dict[str, Any], str | None]:
    """A create body and the field made unprintable or too long, if any."""
    site = dict(CORSICA_SITE)
    site.update(
        name=_text(rng, LIMITS["name"]),
        company=_text(rng, LIMITS["company"]),
        street_lines=[_text(rng, LIMITS["street"]) for _ in range(rng.randint(1, 3))],
        city=_text(rng, LIMITS["city"]),
        phone="+33 " + "".join(rng.choice("0123456789 ") for _ in range(rng.randint(4, 21))).strip(),
    )
    body = repair_request(site, f"C-PROP-{index:03d}-" + "X" * rng.choice([0, 20, 50]))
    body["device"]["model"] = _text(rng, LIMITS["model"])
    body["device"]["serial_number"] = _text(rng, LIMITS["serial"])
    body["entitlement"]["items"] = [
        {"kind": kind, "description": _text(rng, LIMITS["note"]), "quantity": rng.randint(1, 99)}
        for kind in ("ac_adapter", "wired_mouse", "wired_keyboard")[: rng.randint(1, 3)]
    ]
    spoiled: str | None = None
    roll = rng.random()
    if roll < 0.2:
        site["name"] = rng.choice(RIGHT_TO_LEFT)
    elif roll < 0.45:
        site["city"], spoiled = rng.choice(UNPRINTABLE), "site.city"
    elif roll < 0.55:
        body["device"]["model"], spoiled = "M" * (LIMITS["model"] + 1), "device.model"
    return body, spoiled


def _printed_values(body: dict[str, Any]) -> list[str]:
    site = body["site"]
    values = [site["name"], site["company"], *site["street_lines"], site["city"], site["postal_code"], site["phone"]]
    values += [body["case_id"], body["device"]["model"], body["device"]["serial_number"]]
    values += [item["description"] for item in body["entitlement"]["items"]]
    return values


def _squeezed(text: str) -> str:
    # Readers put right-to-left lines back in logical order; NFKC maps joined Arabic forms back to letters.
    return "".join(unicodedata.normalize("NFKC", text.replace("\ufffe", "-")).split())


def _page_texts(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


async def test_what_a_create_accepts_prints_whole_and_what_it_cannot_print_is_refused(service: Service) -> None:
    rng = random.Random(20261205)
    outcomes = {"printed": 0, "refused": 0}
    for index in range(14):
        body, spoiled = _body(rng, index)
        status, answer, _ = await service.call("POST", "/v1/repairs", json=body)
        if spoiled is not None:
            assert status == 422, (spoiled, answer)
            assert spoiled in [field["name"] for field in answer["fields"]], answer
            outcomes["refused"] += 1
            continue
        assert status in (201, 202), answer
        url = answer["customer_label"]["url"].removeprefix("http://127.0.0.1:8080")
        _, pack, _ = await service.call("GET", url, None)
        text = _page_texts(pack)
        assert "\ufffd" not in text
        for value in _printed_values(body):
            assert _squeezed(value) in _squeezed(text), f"{value!r} is not printed whole"
        outcomes["printed"] += 1
    assert outcomes["printed"] >= 5 and outcomes["refused"] >= 3  # both ways were exercised
