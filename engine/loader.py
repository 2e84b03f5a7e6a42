"""Read definition files into models, remembering the line of every key so problems can point at it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.definitions import Catalog, Definition, Profile
from engine.errors import DefinitionError
from engine.model_errors import explain, yaml_path
from engine.process import Process

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "process_definitions"


class RegieLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. PyYAML's YAML 1.1 default turns the key `on:` (used by
    extensions and scenario events) and values such as `no` or `yes` into booleans, silently."""


RegieLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RegieLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """Parse YAML text the way every Regie file is read (see RegieLoader)."""
    return yaml.load(text, Loader=RegieLoader)
_KINDS = {"process": Definition, "catalog": Catalog, "profile": Profile}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a definition file: `file:line: element: what is wrong`."""

    file: str
    element: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.element}: {self.message}"


@dataclass
class Library:
    """Every definition, the catalogue and the profiles found in a set of files."""

    definitions: dict[str, Definition] = field(default_factory=dict)
    catalog: Catalog | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """`id@version`, `catalog` or `profile:<id>` -> the file it came from"""
    lines: dict[str, dict[tuple, int]] = field(default_factory=dict)
    """file -> YAML path -> line number"""

    def line(self, file: str, path: tuple) -> int | None:
        """The line of a YAML path in a file (the nearest enclosing key that has one)."""
        table = self.lines.get(file, {})
        for n in range(len(path), -1, -1):
            if path[:n] in table:
                return table[path[:n]]
        return None

    def latest(self, definition_id: str) -> Definition:
        """The highest version of a definition."""
        versions = [d for d in self.definitions.values() if d.id == definition_id]
        if not versions:
            raise KeyError(f"onbekende definitie '{definition_id}' (bekend: {', '.join(sorted(self.definitions))})")
        return max(versions, key=lambda d: d.version)

    def resolve(self, name: str) -> Definition:
        """A definition by `id@version`, or by `id` for its latest version."""
        if "@" in name:
            if name not in self.definitions:
                raise KeyError(f"onbekende definitie '{name}' (bekend: {', '.join(sorted(self.definitions))})")
            return self.definitions[name]
        return self.latest(name)

    def process(self, name: str, profile: str | None = None) -> Process:
        """The process a case of `name` runs: it and every definition it calls, with a profile."""
        root = self.resolve(name)
        needed: dict[str, Definition] = {}
        pending = [root]
        while pending:
            d = pending.pop()
            if d.ref in needed:
                continue
            needed[d.ref] = d
            for e in d.elements:
                if e.type == "call_activity":
                    pending.append(self.resolve(f"{e.process}@{e.version}"))
        chosen = None
        if profile is not None:
            if profile not in self.profiles:
                raise KeyError(f"onbekend gemeenteprofiel '{profile}' (bekend: "
                               f"{', '.join(sorted(self.profiles)) or 'geen'})")
            chosen = self.profiles[profile]
        return Process(root=root, definitions=needed, catalog=self.catalog, profile=chosen)


def yaml_files(paths: list[Path]) -> list[Path]:
    """Every .yaml/.yml file under the given files and folders, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            found.append(path)
    return sorted(set(found))


def read_yaml(path: Path, label: str) -> tuple[Any, dict[tuple, int]]:
    """Parse one YAML file; return the data and a map from key path to line. Raises DefinitionError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError([Problem(label, "-", f"niet te lezen: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise DefinitionError([Problem(label, "-", "niet te lezen: geen UTF-8-tekst")]) from None
    try:
        node = yaml.compose(text, Loader=RegieLoader)
        data = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = f"YAML-syntaxis: {exc.problem or exc.context}"
        raise DefinitionError([Problem(label, "-", what, line)]) from None
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses (a ReaderError has no mark)
        raise DefinitionError([Problem(label, "-", f"YAML: {str(exc).splitlines()[0]}")]) from None
    except RecursionError:
        raise DefinitionError([Problem(label, "-", "YAML te diep genest om te lezen")]) from None
    lines: dict[tuple, int] = {}
    _walk(node, (), lines)
    return data, lines


def _walk(node: Any, path: tuple, lines: dict[tuple, int]) -> None:
    if node is None:
        return
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = path + (key.value,)
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines)


def load_library(paths: list[Path] | None = None, base: Path | None = None) -> tuple[Library, list[Problem]]:
    """Load every definition file under `paths` (default: process_definitions/), collecting problems."""
    paths = paths or [DEFAULT_DIR]
    library = Library()
    problems: list[Problem] = []
    for path in yaml_files(paths):
        label = _label(path, base)
        try:
            data, lines = read_yaml(path, label)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        library.lines[label] = lines
        if not isinstance(data, dict) or data.get("kind") not in _KINDS:
            kinds = ", ".join(_KINDS)
            problems.append(Problem(label, "-", f"bovenaan hoort `kind:` met een van: {kinds}", lines.get((), 1)))
            continue
        model = _KINDS[data["kind"]]
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, data, label, lines))
            continue
        problems.extend(_register(library, parsed, label, lines))
    return library, problems


def _label(path: Path, base: Path | None) -> str:
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def _register(library: Library, parsed: Any, label: str, lines: dict[tuple, int]) -> list[Problem]:
    if isinstance(parsed, Definition):
        key, store = parsed.ref, library.definitions
    elif isinstance(parsed, Profile):
        key, store = f"profile:{parsed.id}", library.profiles
    else:
        if library.catalog is not None:
            return [Problem(label, "catalog", f"een tweede catalogus (de eerste staat in {library.files['catalog']})")]
        library.catalog = parsed
        library.files["catalog"] = label
        return []
    if key in library.files:
        return [Problem(label, key, f"twee keer gedefinieerd (ook in {library.files[key]})"
, lines.get(("id",)))]
    library.files[key] = label
    store[parsed.ref if isinstance(parsed, Definition) else parsed.id] = parsed
    return []


def _validation_problems(exc: ValidationError, data: Any, label: str, lines: dict[tuple, int]) -> list[Problem]:
    problems = []
    for error in exc.errors():
        keys, message = explain(error, data)
        element = _element_at(data, tuple(error["loc"]))
        # An unknown key has a line of its own; a missing one is pointed at by its element.
        exact = yaml_path(data, tuple(error["loc"]))
        line = None
        for n in range(len(exact), -1, -1):
            if exact[:n] in lines:
                line = lines[exact[:n]]
                break
        # Inside an element the element's id already says where; name only the keys below it.
        inside = keys[2:] if keys[:1] in (("elements",), ("clocks",), ("message_handlers",)) else keys
        where = ".".join(str(p) for p in inside if p != element)
        problems.append(Problem(label, element, f"{where}: {message}" if where else message, line))
    return problems


def _element_at(data: Any, loc: tuple) -> str:
    if len(loc) >= 2 and loc[0] in ("elements", "clocks", "message_handlers") and isinstance(loc[1], int):
        try:
            item = data[loc[0]][loc[1]]
            return str(item.get("id", f"{loc[0]}[{loc[1]}]"))
        except (KeyError, IndexError, TypeError, AttributeError):
            return f"{loc[0]}[{loc[1]}]"
    if isinstance(data, dict) and "id" in data:
        return str(data["id"])
    return "-"
