"""Published length limits of label fields (data only: this module must not import or compute anything).

The limits follow the tightest common carrier constraints (UPS and DHL Express address lines are
35 characters, Colissimo allows 35 per line as well; names and companies 35; cities 35; phones 15-25)
with a little headroom where our own layout is generous. The layout is tested against values of
exactly these lengths, so they define the "longest allowed label". This module holds data only.
"""

from __future__ import annotations

from typing import Final

NAME_MAX: Final = 35
COMPANY_MAX: Final = 35
STREET_LINE_MAX: Final = 35
STREET_LINES_MIN: Final = 1
STREET_LINES_MAX: Final = 3
POSTAL_CODE_MAX: Final = 12
CITY_MAX: Final = 35
PHONE_MAX: Final = 25
CARRIER_NAME_MAX: Final = 30
SERVICE_NAME_MAX: Final = 35
TRACKING_NUMBER_MAX: Final = 28
ROUTING_CODE_MAX: Final = 30
CASE_REFERENCE_MAX: Final = 64
INTAKE_PAYLOAD_MAX: Final = 300
LANGUAGE_TAG_MAX: Final = 35
PIECE_COUNT_MAX: Final = 99
WEIGHT_KG_MAX: Final = 999
DROP_OFF_MAX: Final = 1000
ITEM_MAX: Final = 60
ITEMS_MAX: Final = 20
ITEM_QUANTITY_MAX: Final = 99
DEVICE_MODEL_MAX: Final = 100
SERIAL_NUMBER_MAX: Final = 50
CARRIER_LABEL_MAX_BYTES: Final = 5 * 1024 * 1024
