"""Postal-code patterns and the index that finds the most specific one for a postal code without a scan.

A pattern is either a *prefix* ("75", "EH", "G1") or an inclusive *range* of codes of one length
("01000..95999"). Codes and patterns are compared after normalisation: upper case, spaces and hyphens
removed ("EH1 1YZ" is "EH11YZ", "1000-001" is "1000001").

Specificity decides between overlapping patterns: a prefix of length n scores 2n; a range scores
2c + 1, where c is the length of the common prefix of its bounds. So the longest matching prefix wins, a
range beats a prefix no longer than the range's fixed part ("67000..67499" beats "67"), and a longer prefix
beats a range ("675" beats "67000..67499"). Two different regions matching the same code with the same
score is an ambiguous overlap: the index reports it when it is built, never at lookup time.

Lookup cost does not depend on the number of patterns: prefixes sit in a dict probed once per distinct
prefix length (longest first); ranges are cut at load into disjoint segments, each owned by its most
specific range, and found by bisection. All ranges of one country must have bounds of one length, which is
what makes one bisection enough.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

RANGE_SEPARATOR = ".."


def normalise_postal_code(code: str) -> str:
    """Upper case without spaces or hyphens: the form in which codes and patterns are compared."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


@dataclass(frozen=True, slots=True)
class PostalPattern:
    """A prefix (``high`` is None) or an inclusive range of normalised codes of one length."""

    text: str
    low: str
    high: str | None = None

    @classmethod
    def parse(cls, text: str) -> PostalPattern:
        """Parse "75", "EH" or "01000..95999"; raises ValueError with a reason."""
        if RANGE_SEPARATOR in text:
            low_text, _, high_text = text.partition(RANGE_SEPARATOR)
            low, high = normalise_postal_code(low_text), normalise_postal_code(high_text)
            if not low or not high:
                raise ValueError(f"range {text!r} needs both bounds")
            if len(low) != len(high):
                raise ValueError(f"range {text!r} has bounds of different lengths")
            if low > high:
                raise ValueError(f"range {text!r} has its lower bound above its upper bound")
            return cls(text=text, low=low, high=high)
        prefix = normalise_postal_code(text)
        if not prefix:
            raise ValueError("an empty postal prefix; leave postal_codes out to cover the whole country")
        if not prefix.isalnum():
            raise ValueError(f"postal prefix {text!r} may hold only letters and digits")
        return cls(text=text, low=prefix)

    @property
    def is_range(self) -> bool:
        return self.high is not None

    @property
    def specificity(self) -> int:
        if self.high is None:
            return 2 * len(self.low)
        fixed = 0
        for a, b in zip(self.low, self.high, strict=True):
            if a != b:
                break
            fixed += 1
        return 2 * fixed + 1


@dataclass(frozen=True, slots=True)
class PostalMatch:
    region_id: str
    pattern: PostalPattern


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two regions that claim the same postal codes with the same specificity."""

    country: str
    first: PostalMatch
    second: PostalMatch

    def describe(self) -> str:
        return (
            f"ambiguous overlap in {self.country}: region {self.first.region_id!r} "
            f"({self.first.pattern.text!r}) and region {self.second.region_id!r} "
            f"({self.second.pattern.text!r}) match the same postal codes with the same specificity"
        )


# Segment boundaries are strings: a range [low, high] opens at low + "\x00" and closes at high + "\x02"; a
# code c is probed as c + "\x01", which sorts after every range opening at c and before every range closing
# at c. (All bounds of a country have one length, and normalised codes hold no control characters.) Plain
# strings bisect faster than tuples.
_OPEN, _PROBE, _CLOSE = "\x00", "\x01", "\x02"


class CountryPostalIndex:
    """The postal patterns of one country, indexed."""

    __slots__ = ("_bounds", "_lengths", "_owners", "_prefixes", "_range_length")

    def __init__(
        self,
        prefixes: Mapping[str, PostalMatch],
        range_length: int | None,
        bounds: list[str],
        owners: list[PostalMatch | None],
    ) -> None:
        self._prefixes = MappingProxyType(dict(prefixes))
        self._lengths = tuple(sorted({len(p) for p in prefixes}, reverse=True))
        self._range_length = range_length
        self._bounds = bounds
        self._owners = owners

    def lookup(self, postal_code: str) -> PostalMatch | None:
        """The most specific pattern matching ``postal_code`` (already normalised), or None."""
        best: PostalMatch | None = None
        for length in self._lengths:
            if length <= len(postal_code):
                best = self._prefixes.get(postal_code[:length])
                if best is not None:
                    break
        n = self._range_length
        if n is not None and len(postal_code) >= n:
            i = bisect_right(self._bounds, postal_code[:n] + _PROBE) - 1
            if 0 <= i < len(self._owners):
                ranged = self._owners[i]
                if ranged is not None and (best is None or ranged.pattern.specificity > best.pattern.specificity):
                    best = ranged
        return best


@dataclass(frozen=True, slots=True)
class PostalIndexBuild:
    index: Mapping[str, CountryPostalIndex]
    overlaps: tuple[Overlap, ...]
    problems: tuple[str, ...]  # e.g. ranges of different lengths in one country


def build_postal_index(entries: Iterable[tuple[str, str, PostalPattern]]) -> PostalIndexBuild:
    """Index (country, region id, pattern) entries; report ambiguous overlaps and unusable ranges."""
    prefixes: dict[str, dict[str, PostalMatch]] = defaultdict(dict)
    ranges: dict[str, list[PostalMatch]] = defaultdict(list)
    overlaps: list[Overlap] = []
    problems: list[str] = []
    for country, region_id, pattern in entries:
        match = PostalMatch(region_id, pattern)
        if pattern.is_range:
            ranges[country].append(match)
            continue
        held = prefixes[country].get(pattern.low)
        if held is None:
            prefixes[country][pattern.low] = match
        elif held.region_id != region_id:
            overlaps.append(Overlap(country, held, match))
    index: dict[str, CountryPostalIndex] = {}
    for country in sorted(set(prefixes) | set(ranges)):
        lengths = {len(m.pattern.low) for m in ranges.get(country, [])}
        if len(lengths) > 1:
            problems.append(
                f"postal ranges in {country} have bounds of different lengths ({sorted(lengths)}); "
                f"use one length per country"
            )
            ranges[country] = []
            lengths = set()
        bounds, owners = _segments(country, ranges.get(country, []), overlaps)
        index[country] = CountryPostalIndex(
            prefixes.get(country, {}), lengths.pop() if lengths else None, bounds, owners
        )
    return PostalIndexBuild(MappingProxyType(index), tuple(overlaps), tuple(problems))


def _segments(
    country: str, ranges: list[PostalMatch], overlaps: list[Overlap]
) -> tuple[list[str], list[PostalMatch | None]]:
    """Cut possibly nested ranges into disjoint segments, each owned by its most specific range."""
    opening: dict[str, list[PostalMatch]] = defaultdict(list)
    closing: dict[str, list[PostalMatch]] = defaultdict(list)
    for match in ranges:
        assert match.pattern.high is not None
        opening[match.pattern.low + _OPEN].append(match)
        closing[match.pattern.high + _CLOSE].append(match)
    bounds = sorted(set(opening) | set(closing))
    owners: list[PostalMatch | None] = []
    # Active ranges by specificity; a Counter because one region may repeat a range.
    active: dict[int, Counter[PostalMatch]] = defaultdict(Counter)
    reported: set[frozenset[str]] = set()
    for bound in bounds:
        for match in closing.get(bound, ()):
            bucket = active[match.pattern.specificity]
            bucket[match] -= 1
            if bucket[match] <= 0:
                del bucket[match]
            if not bucket:
                del active[match.pattern.specificity]
        for match in opening.get(bound, ()):
            active[match.pattern.specificity][match] += 1
        if not active:
            owners.append(None)
            continue
        top = active[max(active)]
        winners = sorted(top, key=lambda m: (m.region_id, m.pattern.text))
        if len({m.region_id for m in winners}) > 1:
            pair = frozenset(m.region_id for m in winners[:2])
            if pair not in reported:
                reported.add(pair)
                first = winners[0]
                second = next(m for m in winners if m.region_id != first.region_id)
                overlaps.append(Overlap(country, first, second))
        owners.append(winners[0])
    return bounds, owners
