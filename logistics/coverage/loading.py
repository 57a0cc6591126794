"""Reading coverage files: YAML in, an indexed ``Coverage`` out, or errors that name file, entry and field.

YAML is read the YAML 1.2 way for numbers: ``16:00`` stays the string "16:00" instead of becoming the
base-60 integer 960 that YAML 1.1 makes of it (the coverage models still refuse numbers for times, for
documents that come from elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from labels import unprintable
from logistics.domain.routing import Coverage, CoverageInvalid, CoverageProblem


class CoverageError(Exception):
    """A coverage file that cannot be used; the message names the file and every problem found."""

    def __init__(self, path: Path, problems: Collection[CoverageProblem | str]) -> None:
        self.path = path
        self.problems = tuple(str(p) for p in problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s) in the coverage file:\n{listing}")


class _CoverageYamlLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers."""


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_CoverageYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NUMBER_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# PyYAML's own patterns, less their base-60 alternatives.
_CoverageYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_CoverageYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_document(path: Path) -> Any:
    """The parsed YAML of ``path``; raises ``CoverageError`` when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CoverageError(path, [f"cannot read the file: {exc}"]) from exc
    try:
        return yaml.load(text, Loader=_CoverageYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CoverageError(path, [f"not valid YAML: {exc}"]) from exc


def load_coverage(path: Path, known_carriers: Collection[str] | None = None) -> Coverage:
    """Read, validate and index the coverage file at ``path``.

    Raises ``CoverageError`` naming the file and, for each problem, the entry (``regions[12] id 'fr-67'``)
    and the field. ``known_carriers`` are the carrier plug-in names the service has, if it wants them checked.
    """
    document = read_document(path)
    try:
        coverage = Coverage.from_document(document, known_carriers)
    except CoverageInvalid as exc:
        raise CoverageError(path, exc.problems) from exc
    problems = printing_problems(coverage)
    if problems:
        raise CoverageError(path, problems)
    return coverage


def printing_problems(coverage: Coverage) -> list[CoverageProblem]:
    """Texts of the coverage that labels print (centre addresses, drop-off texts) but cannot with real glyphs."""
    problems = []
    for index, centre in enumerate(coverage.centres.values()):
        address = centre.address
        texts = [("name", address.name), ("company", address.company), ("city", address.city)]
        texts += [(f"street_lines[{n}]", line) for n, line in enumerate(address.street_lines)]
        texts += [("postal_code", address.postal_code), ("phone", address.phone)]
        for field, text in texts:
            if text is not None and (reason := unprintable(text)) is not None:
                problems.append(CoverageProblem(reason, f"centres[{index}]", centre.id, f"address.{field}"))
    for index, region in enumerate(coverage.regions.values()):
        if region.support_phone is not None and (reason := unprintable(region.support_phone)) is not None:
            problems.append(CoverageProblem(reason, f"regions[{index}]", region.id, "support_phone"))
        terms = region.self_shipment
        if terms is None:
            continue
        for field, text in [("drop_off", terms.drop_off)] + [
            (f"drop_off_by_language.{language}", translated)
            for language, translated in terms.drop_off_by_language.items()
        ]:
            if (reason := unprintable(text)) is not None:
                problems.append(CoverageProblem(reason, f"regions[{index}]", region.id, f"self_shipment.{field}"))
    return problems


def check_coverage(path: Path, known_carriers: Collection[str] | None = None) -> list[str]:
    """Every problem of the coverage file at ``path``, as sentences; empty when it loads."""
    try:
        document = read_document(path)
    except CoverageError as exc:
        return list(exc.problems)
    problems = Coverage.check_document(document, known_carriers)
    if problems:
        return [str(problem) for problem in problems]
    return [str(problem) for problem in printing_problems(Coverage.from_document(document, known_carriers))]
