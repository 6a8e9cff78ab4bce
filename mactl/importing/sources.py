"""The `sources:` section of a recipe: how to read particular export files.

Built-in header names and channel inference handle most files; a source rule
fixes what they cannot guess, for the files (and sheets) its glob matches.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, RootModel, field_validator

from mactl.importing.fields import ALL_FIELDS
from mactl.recipe import StrictModel, read_yaml, validate
from mactl.schema import CHANNELS, EVENT_TYPES

COLUMN_TARGETS = ALL_FIELDS + ("ignore", "attribute")


class SourceRule(StrictModel):
    name: Optional[str] = None
    match: str = Field(description="glob on the file name, e.g. '2026*展会*.xlsx'")
    sheet: Optional[str] = Field(None, description="glob on the sheet name")
    channel: Optional[str] = None
    event_type: Optional[str] = None
    campaign: Optional[str] = None
    header_row: Optional[int] = Field(None, ge=1)
    encoding: Optional[str] = None
    timezone: Optional[str] = None
    columns: dict[str, str] = Field(default_factory=dict, description="header → field, 'ignore' or 'attribute'")
    values: dict[str, str] = Field(default_factory=dict, description="field → fixed value for every row")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value):
        if value is not None and value not in CHANNELS:
            raise ValueError(f"unknown channel '{value}'; use one of {', '.join(CHANNELS)}")
        return value

    @field_validator("event_type")
    @classmethod
    def _event_type(cls, value):
        if value is not None and value not in EVENT_TYPES:
            raise ValueError(f"unknown event type '{value}'; use one of {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("columns")
    @classmethod
    def _columns(cls, value):
        bad = sorted({v for v in value.values() if v not in COLUMN_TARGETS})
        if bad:
            raise ValueError(f"unknown field(s) {', '.join(bad)}; fields are {', '.join(COLUMN_TARGETS)}")
        return value

    @field_validator("values")
    @classmethod
    def _values(cls, value):
        bad = sorted(k for k in value if k not in ALL_FIELDS)
        if bad:
            raise ValueError(f"unknown field(s) {', '.join(bad)}; fields are {', '.join(ALL_FIELDS)}")
        return {k: str(v) for k, v in value.items()}

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value):
        if value is not None:
            check_timezone(value)
        return value

    def matches(self, file_name: str, sheet: str | None = None) -> bool:
        if not fnmatch.fnmatch(file_name, self.match):
            return False
        if self.sheet is not None and sheet is not None:
            return fnmatch.fnmatch(sheet, self.sheet)
        return True


class Sources(RootModel[list[SourceRule]]):
    pass


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}'; use a name such as Asia/Shanghai or UTC") from None
    return name


def load_sources(path: str | Path | None) -> list[SourceRule]:
    if path is None:
        return []
    data = read_yaml(path)
    if not isinstance(data, dict) or "sources" not in data:
        return []
    return validate(Sources, data["sources"], path, ("sources",)).root


def rule_for(rules: list[SourceRule], file_name: str, sheet: str | None = None) -> SourceRule | None:
    """The first rule matching the file (and sheet, when the rule names one)."""
    for rule in rules:
        if rule.matches(file_name, sheet):
            return rule
    return None
