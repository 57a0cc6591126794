"""The coverage file's JSON Schema, generated from the models that validate it (``logistics coverage schema``).

Editors that understand JSON Schema (VS Code's YAML extension, IntelliJ) complete and check a coverage
file with it: ``# yaml-language-server: $schema=coverage.schema.json`` at the top of the file. The schema
checks each value's form; what it cannot express (a repair centre that exists, overlapping postal
patterns, a subdivision the holiday calendar knows) is left to ``logistics coverage check``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logistics.domain.routing import Region, RepairCentre


class CoverageDocument(BaseModel):
    """A coverage file: the repair centres, the regions they serve, and ``x-`` keys for shared YAML anchors."""

    model_config = ConfigDict(extra="forbid", title="Coverage file")

    version: Literal[1] = 1
    centres: list[RepairCentre] = Field(min_length=1)
    regions: list[Region]


def coverage_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a coverage file."""
    schema = CoverageDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    # "x-" keys hold anchors that entries share; anything goes there.
    schema["patternProperties"] = {"^x-": {}}
    return schema
