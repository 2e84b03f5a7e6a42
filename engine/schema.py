"""The JSON Schema of the definition language, so editors can autocomplete and check definition files."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from engine.definitions import Catalog, Definition, Profile

DefinitionFile = Annotated[Union[Definition, Catalog, Profile], Field(discriminator="kind")]


def language_schema() -> dict[str, Any]:
    """One JSON Schema (draft 2020-12) covering all three file kinds: process, catalog, profile."""
    schema = TypeAdapter(DefinitionFile).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Regie process definition file"
    return schema
