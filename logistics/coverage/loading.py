"""Reading coverage files: YAML in, an indexed ``Coverage`` out, or errors that name file, entry and field.

Each problem carries the line and column of the value it is about (or of the nearest enclosing value
when the field is missing). A value written once under a YAML anchor and used through aliases by many
entries is one mistake: it is reported once, at the anchor, with the entries that use it.

YAML is read the YAML 1.2 way for numbers: ``16:00`` stays the string "16:00" instead of becoming the
base-60 integer 960 that YAML 1.1 makes of it (the coverage models still refuse numbers for times, for
documents that come from elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
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
    """SafeLoader without YAML 1.1's base-60 numbers, keeping the anchors' names for messages."""

    anchor_names: dict[int, str]

    def compose_document(self) -> yaml.Node | None:
        # PyYAML's own, less the forgetting of the anchors' names.
        self.get_event()  # type: ignore[no-untyped-call]  # DocumentStart
        node: yaml.Node | None = self.compose_node(None, None)  # type: ignore[arg-type]
        self.get_event()  # type: ignore[no-untyped-call]  # DocumentEnd
        self.anchor_names = {id(anchored): name for name, anchored in self.anchors.items()}
        self.anchors = {}
        return node


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


@dataclass(frozen=True)
class LocatedDocument:
    """A parsed coverage document with the YAML nodes it came from, to locate problems in the file."""

    data: Any
    root: yaml.Node | None
    anchor_names: Mapping[int, str]

    def locate(self, problem: CoverageProblem) -> tuple[yaml.Node | None, bool, str | None]:
        """The node a problem is about (the deepest one found on its path), whether it is the value itself,
        and the name of the anchor that value is written under, if any."""
        path: list[str | int] = []
        if problem.entry is not None:
            key, _, index = problem.entry.partition("[")
            path += [key, int(index.rstrip("]"))] if index else [key]
        if problem.field:
            path += [int(part) if part.isdigit() else part for part in problem.field.split(".")]
        node, exact, anchor = self.root, True, None
        for step in path:
            child = _child(node, step)
            if child is None:
                exact = False
                break
            node = child
            anchor = self.anchor_names.get(id(node), anchor)
        return node, exact, anchor

    def describe(self, problems: Iterable[CoverageProblem]) -> list[str]:
        """Each problem as a sentence starting with its line and column; one per anchored value."""
        grouped: dict[tuple[object, ...], list[CoverageProblem]] = {}
        places: dict[tuple[object, ...], tuple[yaml.Node | None, str | None]] = {}
        for problem in problems:
            node, exact, anchor = self.locate(problem)
            if exact and anchor is not None:
                # Aliases share the anchored nodes: one node, one message, one mistake.
                key: tuple[object, ...] = ("anchor", id(node), problem.message)
            else:
                key, anchor = ("entry", id(problem)), None
            grouped.setdefault(key, []).append(problem)
            places[key] = (node, anchor)
        lines = []
        for key, group in grouped.items():
            node, anchor = places[key]
            where = f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}: " if node else ""
            first = group[0]
            if anchor is None:
                lines.append(f"{where}{first}")
                continue
            users = ", ".join(p.entry + (f" id {p.entry_id!r}" if p.entry_id else "") for p in group if p.entry)
            lines.append(f"{where}anchor &{anchor}, used by {users}: {first.message}")
        return lines


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                found: yaml.Node = value_node
                return found
        # Merge keys ("<<: *terms") bring their mapping's values.
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:merge":
                merged = _child(value_node, step)
                if merged is not None:
                    return merged
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        item: yaml.Node = node.value[step]
        return item
    return None


def read_located(path: Path) -> LocatedDocument:
    """The parsed YAML of ``path`` with its nodes; raises ``CoverageError`` when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CoverageError(path, [f"cannot read the file: {exc}"]) from exc
    loader = _CoverageYamlLoader(text)
    try:
        root: yaml.Node | None = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        # One line, placed like every other problem: "line L, column C: what the parser expected".
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise CoverageError(path, [f"{where}not valid YAML: {problem}"]) from exc
    finally:
        loader.dispose()
    return LocatedDocument(data, root, getattr(loader, "anchor_names", {}))


def read_document(path: Path) -> Any:
    """The parsed YAML of ``path``; raises ``CoverageError`` when it cannot be read or parsed."""
    return read_located(path).data


def load_coverage(path: Path, known_carriers: Collection[str] | None = None) -> Coverage:
    """Read, validate and index the coverage file at ``path``.

    Raises ``CoverageError`` naming the file and, for each problem, its line and column, the entry
    (``regions[12] id 'fr-67'``) and the field. ``known_carriers`` are the carrier plug-in names the service
    has, if it wants them checked.
    """
    located = read_located(path)
    try:
        coverage = Coverage.from_document(located.data, known_carriers)
    except CoverageInvalid as exc:
        raise CoverageError(path, located.describe(exc.problems)) from exc
    problems = printing_problems(coverage)
    if problems:
        raise CoverageError(path, located.describe(problems))
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
        located = read_located(path)
    except CoverageError as exc:
        return list(exc.problems)
    problems = Coverage.check_document(located.data, known_carriers)
    if problems:
        return located.describe(problems)
    return located.describe(printing_problems(Coverage.from_document(located.data, known_carriers)))
