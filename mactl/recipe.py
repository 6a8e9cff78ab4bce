"""Loading YAML recipes into typed models, reporting every problem with file and line.

Each stage defines a pydantic model for its section; :func:`load_section` reads
the YAML, remembers the line of every key, validates, and raises one
RecipeError listing all problems as ``line N: path.to.field: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from mactl.errors import MissingInputError, RecipeError

Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for recipe models: unknown keys are errors (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of each mapping key and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        lines[key] = value_node.start_mark.line + 1
    return _LinedDict(mapping, lines, node.start_mark.line + 1)


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode, deep: bool = False):
    items = yaml.SafeLoader.construct_sequence(loader, node, deep=True)
    return _LinedList(items, [n.start_mark.line + 1 for n in node.value], node.start_mark.line + 1)


class _LinedDict(dict):
    def __init__(self, data: dict, lines: dict, line: int):
        super().__init__(data)
        self.lines = lines
        self.line = line


class _LinedList(list):
    def __init__(self, data: list, lines: list[int], line: int):
        super().__init__(data)
        self.lines = lines
        self.line = line


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; returns dicts/lists that remember their line numbers."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(str(path), "recipe file not found", "Check the path")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RecipeError(str(path), ["the file is not UTF-8 text; save it as UTF-8"]) from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(str(path), [f"{where}invalid YAML: {problem}"]) from None
    return {} if data is None else data


def line_of(data: Any, loc: tuple) -> int | None:
    """Best line number for a pydantic error location inside YAML data."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, _LinedDict) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, _LinedList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lines[part]
            node = node[part]
        else:
            break
    return line


def format_loc(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def validation_problems(exc: ValidationError, data: Any, prefix: tuple = ()) -> list[str]:
    problems = []
    for error in exc.errors():
        # pydantic puts union/tagged-union member names into loc; keep only real keys
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        full = prefix + loc
        line = line_of(data, loc)
        where = f"line {line}: " if line else ""
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        problems.append(f"{where}{format_loc(full) or '(top level)'}: {message}")
    return problems


def validate(model: type[Model], data: Any, path: str | Path, prefix: tuple = ()) -> Model:
    """Validate data against a model; raise RecipeError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(str(path), validation_problems(exc, data, prefix)) from None


def load_section(path: str | Path, section: str, model: type[Model], *, required: bool = False) -> Model | None:
    """Read ``section`` of a recipe file and validate it; None when absent and not required."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise RecipeError(str(path), ["the recipe must be a mapping of sections (sources:, identity:, ...)"])
    if section not in data:
        if required:
            raise RecipeError(str(path), [f"missing section '{section}:'"])
        return None
    section_data = data[section]
    try:
        return model.model_validate(section_data)
    except ValidationError as exc:
        raise RecipeError(str(path), validation_problems(exc, section_data, (section,))) from None
