"""Simulated tracking numbers in the UPS "1Z" format, with UPS's mod-10 check digit.

Layout (18 characters): ``1Z`` + 6-character shipper number + 2-digit service code + 7-digit package
serial + 1 check digit. The check digit is computed over the 15 characters between ``1Z`` and the check
digit: letters become digits as ``(ord(letter) - 63) % 10`` (A=2 … H=9, I=0, J=1 …), characters at odd
positions (0-based) are doubled, and the check digit brings the total to a multiple of 10. Real UPS numbers
pass ``is_valid_tracking_number`` too (e.g. ``1Z999AA10123456784``), which is the point: label barcodes and
scanners are exercised with numbers of a realistic shape.
"""

from __future__ import annotations

import re

_FORMAT = re.compile(r"^1Z[0-9A-Z]{15}[0-9]$")


def check_digit(body: str) -> int:
    """The check digit for the 15 characters after ``1Z``."""
    total = 0
    for index, char in enumerate(body):
        value = int(char) if char.isdigit() else (ord(char) - 63) % 10
        total += value * 2 if index % 2 else value
    return (10 - total % 10) % 10


def make_tracking_number(shipper_number: str, service_code: str, serial: int) -> str:
    """``1Z`` + shipper + service + 7-digit serial + check digit."""
    if not re.fullmatch(r"[0-9A-Z]{6}", shipper_number):
        raise ValueError("shipper_number must be 6 characters A-Z or 0-9")
    if not re.fullmatch(r"[0-9]{2}", service_code):
        raise ValueError("service_code must be 2 digits")
    if not 0 <= serial < 10_000_000:
        raise ValueError("serial must fit in 7 digits")
    body = f"{shipper_number}{service_code}{serial:07d}"
    return f"1Z{body}{check_digit(body)}"


def is_valid_tracking_number(number: str) -> bool:
    """True for an 18-character ``1Z`` number whose check digit is right."""
    return bool(_FORMAT.fullmatch(number)) and check_digit(number[2:17]) == int(number[17])
