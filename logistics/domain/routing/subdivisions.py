"""Which holiday calendar a postal code lies in: the subdivision that the address itself decides.

A coverage author should not have to know that Strasbourg keeps Good Friday or that Réunion is three hours
ahead of Paris: the address says so. ``derive(country, postal_code)`` answers, for the countries where the
``holidays`` library's calendars differ by subdivision and the postal code tells them apart:

* France: departments 57 (Moselle) and 67, 68 (Alsace, the library's "6AE"); the overseas departments
  971–976 and collectivities 975 (PM), 97133 (BL), 97150 (MF), 986 (WF), 987 (PF), 988 (NC). Every other
  code is the national calendar; its department ("75" for 75011) is accepted as a subdivision too.
  Monaco (980xx) is not France.
* Spain: the province (the code's first two digits) gives the autonomous community; the city of
  Barcelona (08001–08042) has its own calendar.
* United Kingdom: the postcode area (district where a district straddles a border) gives England,
  Scotland, Wales or Northern Ireland; Jersey, Guernsey and the Isle of Man are not the United Kingdom.
* Portugal: 9000–9499 Madeira ("30"), 9500–9999 the Azores ("20"); the mainland is national.
* Italy: the province (its patron saint's day), from the code's first two or three digits, and the cities
  the library names (Andria, Barletta, Trani, Cesena, Forlì, Pesaro, Urbino) from their own codes.
* Germany: the Land where the postal region lies wholly in one Land (Munich, Berlin, Stuttgart…), the
  city states and the Saarland by their ranges, and the city of Augsburg; elsewhere the postal code does
  not decide and the site's own subdivision is used.

Austria, Belgium, Ireland, Luxembourg, the Netherlands and Poland have one calendar for all their
subdivisions in the library (nothing to derive); Switzerland's postal codes cross cantons, so the canton
comes from the site. ``Derived.calendars`` lists every calendar the code may be in, the usual one first
(two for a postcode district on the England–Wales or England–Scotland border). This module is pure data
and lookups: no I/O, no clock; each lookup is a few dict probes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Derived:
    """What a postal code says about the site's calendar.

    ``calendars``: the library codes of the calendars the code may lie in (None: the national calendar), the
    usual one first. ``accepted``: other subdivision codes a site may give for this code (its French
    department, the Italian province of a city) that mean the first calendar. ``place``: the part of the code
    that decided, for messages ("department 67", "postcode district TD15"). ``foreign``: the country the code
    belongs to when it is not the one given (a Jersey postcode given as GB). ``local_choices``: the first
    calendar is the right one unless the site says otherwise (Portugal's mainland districts add only their
    capital's municipal holiday), so nothing is assumed.
    """

    calendars: tuple[str | None, ...]
    place: str
    accepted: frozenset[str] = frozenset()
    foreign: str | None = None
    local_choices: bool = False  # the other calendars only add local holidays a site may opt into

    @property
    def determined(self) -> bool:
        return len(self.calendars) == 1 and self.foreign is None


# --- France -------------------------------------------------------------------------------------------

_FR_DEPARTMENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "57": "57",
        "67": "6AE",
        "68": "6AE",
        "971": "971",
        "972": "972",
        "973": "973",
        "974": "974",
        "975": "PM",
        "976": "976",
        "986": "WF",
        "987": "PF",
        "988": "NC",
    }
)


# Collectivities whose postal codes sit inside Guadeloupe's block.
_FR_CODES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {"97133": ("BL", "Saint-Barthélemy"), "97150": ("MF", "Saint-Martin")}
)


def _france(code: str) -> Derived | None:
    if len(code) != 5 or not code.isdigit():
        return None
    if code.startswith("980"):  # Monaco's codes continue France's numbering
        return Derived((None,), f"postal code {code} (Monaco)", foreign="MC")
    collectivity = _FR_CODES.get(code)
    if collectivity is not None:
        return Derived((collectivity[0],), f"postal code {code} ({collectivity[1]})")
    department = code[:3] if code.startswith(("97", "98")) else code[:2]
    if department == "20":  # Corsica: postal 20xxx, departments 2A and 2B
        return Derived((None,), "department 20 (Corsica)", frozenset({"20", "2A", "2B"}))
    calendar = _FR_DEPARTMENTS.get(department)
    accepted = frozenset({department, department.lstrip("0") or "0"})
    return Derived((calendar,), f"department {department}", accepted)


# --- Spain: province (first two digits) to autonomous community -----------------------------------------

_ES_COMMUNITIES_BY_PROVINCE = (
    "PV CM VC AN CL EX IB CT CL EX AN VC CM AN GA CM CT AN CM PV AN AR AN CL CT RI GA MD AN MC NC GA AS "
    "CL CN GA CL CN CB CL AN CL CT AR CM VC CL PV CL AR CE ML"
)  # provinces 01 (Álava) to 52 (Melilla), in order
_ES_PROVINCES: Final[Mapping[str, str]] = MappingProxyType(
    {f"{n:02d}": community for n, community in enumerate(_ES_COMMUNITIES_BY_PROVINCE.split(), start=1)}
)


def _spain(code: str) -> Derived | None:
    if len(code) != 5 or not code.isdigit():
        return None
    if "08001" <= code <= "08042":  # the city of Barcelona keeps its own holidays
        return Derived(("Barcelona",), "the city of Barcelona (08001-08042)", frozenset({"CT"}))
    community = _ES_PROVINCES.get(code[:2])
    if community is None:
        return None
    return Derived((community,), f"province {code[:2]}")


# --- United Kingdom: postcode area, or district on a border ---------------------------------------------

_GB_AREAS_BY_NATION: Final[Mapping[str, str]] = MappingProxyType(
    {
        "SCT": "AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE",
        "WLS": "CF LD LL NP SA",
        "NIR": "BT",
    }
)
_GB_AREAS: Final[Mapping[str, str]] = MappingProxyType(
    {area: nation for nation, areas in _GB_AREAS_BY_NATION.items() for area in areas.split()}
)
# Districts whose nation is not their area's, or that straddle a border (the usual nation first).
_GB_DISTRICTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "TD12": ("SCT", "ENG"),
        "TD15": ("ENG",),  # Berwick-upon-Tweed
        "CH4": ("ENG", "WLS"),
        "CH5": ("WLS",),
        "CH6": ("WLS",),
        "CH7": ("WLS",),
        "CH8": ("WLS",),
        "SY10": ("ENG", "WLS"),
        "SY13": ("ENG", "WLS"),
        "SY14": ("ENG", "WLS"),
        **{f"SY{n}": ("WLS",) for n in range(15, 26)},
        "LD7": ("WLS", "ENG"),
        "LD8": ("WLS", "ENG"),
        "HR2": ("ENG", "WLS"),
        "HR3": ("ENG", "WLS"),
        "HR5": ("ENG", "WLS"),
        "NP16": ("WLS", "ENG"),
        "NP25": ("WLS", "ENG"),
    }
)
# Crown dependencies: their own calendars, not the United Kingdom's.
_GB_FOREIGN: Final[Mapping[str, str]] = MappingProxyType({"JE": "JE", "GY": "GG", "IM": "IM"})


def _united_kingdom(code: str) -> Derived | None:
    # An inward code is a digit and two letters; what comes before it is the outward code (area + district).
    outward = code[:-3] if len(code) >= 5 and code[-3].isdigit() else code
    area = outward[:2] if len(outward) >= 2 and outward[1].isalpha() else outward[:1]
    if not area.isalpha() or not outward[len(area) :][:1].isdigit():
        return None
    foreign = _GB_FOREIGN.get(area)
    if foreign is not None:
        return Derived((None,), f"postcode area {area}", foreign=foreign)
    district = _GB_DISTRICTS.get(outward[:-1] if outward[-1].isalpha() else outward)
    if district is not None:
        return Derived(district, f"postcode district {outward}")
    return Derived((_GB_AREAS.get(area, "ENG"),), f"postcode area {area}")


# --- Portugal: the autonomous regions -------------------------------------------------------------------


def _portugal(code: str) -> Derived | None:
    if len(code) not in (4, 7) or not code.isdigit():
        return None
    number = int(code[:4])
    if 9000 <= number <= 9499:
        return Derived(("30",), "Madeira (9000-9499)")
    if 9500 <= number <= 9999:
        return Derived(("20",), "the Azores (9500-9999)")
    # The mainland: the national calendar, or the district the site gives (its capital's municipal holiday).
    return Derived((None, *(f"{n:02d}" for n in range(1, 19))), "the mainland", local_choices=True)


# --- Italy: provinces by their postal prefix ------------------------------------------------------------

_IT_BY_TWO: Final[Mapping[str, str]] = MappingProxyType(
    {
        "00": "RM", "01": "VT", "02": "RI", "03": "FR", "04": "LT", "05": "TR", "06": "PG", "07": "SS",
        "08": "NU", "10": "TO", "11": "AO", "12": "CN", "13": "VC", "14": "AT", "15": "AL", "16": "GE",
        "17": "SV", "18": "IM", "19": "SP", "20": "MI", "21": "VA", "22": "CO", "23": "SO", "24": "BG",
        "25": "BS", "26": "CR", "27": "PV", "28": "NO", "29": "PC", "30": "VE", "31": "TV", "32": "BL",
        "33": "UD", "34": "TS", "35": "PD", "36": "VI", "37": "VR", "38": "TN", "39": "BZ", "40": "BO",
        "41": "MO", "42": "RE", "43": "PR", "44": "FE", "45": "RO", "46": "MN", "47": "FC", "48": "RA",
        "50": "FI", "51": "PT", "52": "AR", "53": "SI", "54": "MS", "55": "LU", "56": "PI", "57": "LI",
        "58": "GR", "59": "PO", "60": "AN", "61": "PU", "62": "MC", "63": "AP", "64": "TE", "65": "PE",
        "66": "CH", "67": "AQ", "70": "BA", "71": "FG", "72": "BR", "73": "LE", "74": "TA", "75": "MT",
        "76": "BT", "80": "NA", "81": "CE", "82": "BN", "83": "AV", "84": "SA", "85": "PZ", "86": "CB",
        "87": "CS", "88": "CZ", "89": "RC", "90": "PA", "91": "TP", "92": "AG", "93": "CL", "94": "EN",
        "95": "CT", "96": "SR", "97": "RG", "98": "ME",
    }
)  # fmt: skip
# Provinces made later out of older ones took the "8xx"/"9xx" block of their parent's prefix.
_IT_BY_THREE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "138": "BI", "208": "MB", "209": "MB", "238": "LC", "239": "LC", "268": "LO", "269": "LO",
        "288": "VB", "289": "VB", "478": "RN", "479": "RN", "638": "FM", "639": "FM",
        "888": "KR", "889": "KR", "898": "VV", "899": "VV",
    }
)  # fmt: skip
_IT_BY_FOUR: Final[Mapping[str, str]] = MappingProxyType(
    {"3307": "PN", "3308": "PN", "3309": "PN", "3317": "PN", "3407": "GO", "3417": "GO", "8607": "IS",
     "8608": "IS", "8609": "IS", "8617": "IS", "0907": "OR", "0908": "OR", "0909": "OR", "0917": "OR"}
)  # fmt: skip
# Cities the library gives their own calendar, by their own codes; the province is accepted too.
_IT_CITIES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "76123": ("Andria", "BT"), "76121": ("Barletta", "BT"), "76125": ("Trani", "BT"),
        "47521": ("Cesena", "FC"), "47522": ("Cesena", "FC"), "47121": ("Forli", "FC"),
        "47122": ("Forli", "FC"), "61121": ("Pesaro", "PU"), "61122": ("Pesaro", "PU"),
        "61029": ("Urbino", "PU"),
    }
)  # fmt: skip
# Codes of other states inside Italy's numbering.
_IT_FOREIGN: Final[Mapping[str, str]] = MappingProxyType({"4789": "SM", "00120": "VA"})


def _italy(code: str) -> Derived | None:
    if len(code) != 5 or not code.isdigit():
        return None
    foreign = _IT_FOREIGN.get(code[:4]) or _IT_FOREIGN.get(code)
    if foreign is not None:
        return Derived((None,), f"postal code {code}", foreign=foreign)
    city = _IT_CITIES.get(code)
    if city is not None:
        return Derived((city[0],), f"postal code {code} ({city[0]})", frozenset({city[1]}))
    # South Sardinia shares Cagliari's block; either is accepted, Cagliari's calendar is the usual one.
    if code.startswith(("0901", "0902", "0903", "0904", "0905", "0906")):
        return Derived(("CA", "SU"), f"postal code {code[:4]}x (Cagliari or South Sardinia)")
    province = _IT_BY_FOUR.get(code[:4]) or _IT_BY_THREE.get(code[:3]) or _IT_BY_TWO.get(code[:2])
    if province is None:
        return None
    return Derived((province,), f"province {province}")


# --- Germany: the postal regions that lie in one Land ----------------------------------------------------

_DE_REGIONS_BY_LAND: Final[Mapping[str, str]] = MappingProxyType(
    {
        "SN": "01 09",
        "BE": "10 12 13",
        "MV": "18",
        "BB": "15 16",
        "SH": "24",
        "NI": "30",
        "NW": "33 40 41 42 44 45 46 47 50 51",
        "ST": "39",
        "RP": "54",
        "HE": "60",
        "BW": "70 71 72 73 78 79",
        "BY": "80 81 82 83 84 85 86 90 91 92 93 94 95",
        "TH": "99",
    }
)
_DE_REGIONS: Final[Mapping[str, str]] = MappingProxyType(
    {region: land for land, regions in _DE_REGIONS_BY_LAND.items() for region in regions.split()}
)
# City states and the Saarland, whose codes share postal regions with their neighbours: by range.
_DE_RANGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("20000", "20999", "HH"),
    ("21029", "21149", "HH"),
    ("22041", "22769", "HH"),
    ("27568", "27580", "HB"),  # Bremerhaven
    ("28195", "28779", "HB"),
    ("66111", "66459", "SL"),
    ("66538", "66839", "SL"),
)


def _germany(code: str) -> Derived | None:
    if len(code) != 5 or not code.isdigit():
        return None
    if "86150" <= code <= "86199":
        return Derived(("Augsburg",), "Augsburg (86150-86199)", frozenset({"BY"}))
    for first, last, city_state in _DE_RANGES:
        if first <= code <= last:
            return Derived((city_state,), f"postal codes {first}-{last}")
    land = _DE_REGIONS.get(code[:2])
    if land is None:
        return None
    return Derived((land,), f"postal region {code[:2]}")


_RULES: Final = MappingProxyType(
    {"FR": _france, "ES": _spain, "GB": _united_kingdom, "PT": _portugal, "IT": _italy, "DE": _germany}
)

DERIVING_COUNTRIES: Final[frozenset[str]] = frozenset(_RULES)


def derive(country: str, postal_code: str) -> Derived | None:
    """What the normalised ``postal_code`` says about the calendar in ``country``; None when it says nothing
    (a country without a rule, a code the rule does not read, a German region across several Länder)."""
    rule = _RULES.get(country)
    return rule(postal_code) if rule is not None else None


def pattern_probe(country: str, low: str) -> str | None:
    """A postal code that a pattern beginning ``low`` (normalised) covers, as a site would write it."""
    if country == "GB":
        if low[-1:].isalpha():
            return f"{low}1 1AA"
        return f"{low} 1AA" if len(low) <= 4 else low
    width = {"FR": 5, "ES": 5, "IT": 5, "DE": 5, "PT": 7}.get(country)
    if width is None or not low.isdigit() or len(low) > width:
        return None
    return low.ljust(width, "0")


# Representative postal codes of every calendar a rule can give, for ``coverage check``'s report of the
# calendars a region spans (each is looked up as a site would be).
def calendar_probes(country: str) -> tuple[tuple[str, str], ...]:
    """(postal code, what it stands for) pairs, one per derived calendar area of ``country``."""
    if country == "FR":
        probes = [("75001", "the rest of France")]
        probes += [(f"{d}000" if len(d) == 2 else f"{d}00", f"department {d}") for d in _FR_DEPARTMENTS]
        probes += [(code, f"postal code {code}") for code in _FR_CODES]
        return tuple(probes)
    if country == "ES":
        return (("08001", "the city of Barcelona"), *((f"{p}100", f"province {p}") for p in _ES_PROVINCES))
    if country == "GB":
        return tuple((f"{area}1 1AA", f"postcode area {area}") for area in ("SW", "EH", "CF", "BT"))
    if country == "PT":
        return (("1000-001", "the mainland"), ("9000-001", "Madeira"), ("9500-001", "the Azores"))
    if country == "IT":
        return tuple((f"{p}100", f"postal prefix {p}") for p in _IT_BY_TWO)
    if country == "DE":
        probes = [(f"{p}100", f"postal region {p}") for p in _DE_REGIONS]
        probes += [(first, f"postal codes {first}-{last}") for first, last, _ in _DE_RANGES]
        return (("86150", "Augsburg"), *probes)
    return ()
