"""The scoring model: typed, validated recipe section (`scoring:`), and its content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from mactl.errors import RecipeError
from mactl.recipe import StrictModel, read_yaml, validate

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "recipes" / "scoring.yaml"

PERSON_FIELDS = (
    "name", "email", "phone", "company", "title", "department", "industry", "company_size", "province",
    "city", "country", "crm_owner", "crm_stage", "consent", "email_is_role", "email_is_freemail",
)
EVENT_FIELDS = ("channel", "campaign", "form_name", "utm_source", "url", "watch_minutes", "detail")
Scalar = Union[str, int, float, bool]


class Condition(StrictModel):
    """field + op + value. Fields: person columns, `attr.<column>` (source attributes, e.g. BANT)."""

    field: str
    op: Literal["equals", "not_equals", "in", "contains_any", "starts_with", "gte", "lte", "between",
                "is_empty", "not_empty"]
    value: Optional[Union[Scalar, list[Scalar]]] = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("is_empty", "not_empty"):
            if self.value is not None:
                raise ValueError(f"op {self.op} takes no value")
        elif self.op in ("in", "contains_any"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op {self.op} needs a non-empty list value")
        elif self.op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError("op between needs [low, high]")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"op {self.op} needs a single value")
        if self.op in ("gte", "lte") and not isinstance(self.value, (int, float)):
            raise ValueError(f"op {self.op} needs a number")
        return self


class FitRule(Condition):
    id: str
    label: Optional[str] = None
    points: float
    when: list[Condition] = Field(default_factory=list)  # extra conditions, all must hold

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in PERSON_FIELDS and not (value.startswith("attr.") and len(value) > 5):
            raise ValueError(f"unknown person field {value!r}; use one of {', '.join(PERSON_FIELDS)} or attr.<column>")
        return value


class EventCondition(Condition):
    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in EVENT_FIELDS:
            raise ValueError(f"unknown event field {value!r}; use one of {', '.join(EVENT_FIELDS)}")
        return value


class PeriodCap(StrictModel):
    days: float = Field(gt=0)      # periods counted back from the as-of time
    cap: float = Field(gt=0)       # most points this rule gives one person in one period


class EngagementRule(StrictModel):
    id: str
    label: Optional[str] = None
    event: str
    points: float
    where: list[EventCondition] = Field(default_factory=list)
    cap: Optional[float] = Field(None, gt=0)          # most points this rule gives one person
    half_life_days: Optional[float] = Field(None, gt=0)  # overrides the model's half-life
    period_cap: Optional[PeriodCap] = None

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        from mactl.schema import EVENT_TYPES

        if value not in EVENT_TYPES:
            raise ValueError(f"unknown event type {value!r}; use one of {', '.join(EVENT_TYPES)}")
        return value


class Grade(StrictModel):
    grade: str
    min_fit: float


class Reset(StrictModel):
    """Marketo-style step reset: after this many days without activity, engagement is at most this."""

    after_days: int = Field(gt=0)
    at_most: float


class Engagement(StrictModel):
    half_life_days: Optional[float] = Field(30, gt=0)   # null = no decay
    max_points: Optional[float] = Field(None, gt=0)     # cap on the whole engagement score
    channel_weights: dict[str, float] = Field(default_factory=dict)
    rules: list[EngagementRule] = Field(default_factory=list)
    resets: list[Reset] = Field(default_factory=list)   # on top of decay (or instead of it, with half_life_days: null)


class Mql(StrictModel):
    min_total: float = 60
    min_grade: Optional[str] = "B"
    # BANT shortcut: a person whose attributes fill all these is MQL whatever the score
    bant_fields: list[str] = Field(default_factory=list)


class Stages(StrictModel):
    mql: Mql = Field(default_factory=Mql)
    silent_days: list[int] = Field(default_factory=lambda: [30, 60, 90])
    crm_stage_map: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CRM_MAP))


class Temperature(StrictModel):
    hot_min_engagement: float = 30
    hot_within_days: float = 7
    warm_within_days: float = 30


DEFAULT_CRM_MAP = {
    "mql": "MQL", "sal": "SAL", "accepted": "SAL", "sql": "SQL", "qualified": "SQL",
    "opportunity": "Opportunity", "customer": "Customer", "won": "Customer", "closed won": "Customer",
    "rejected": "Recycled", "recycled": "Recycled", "disqualified": "Recycled",
}
FORWARD_STAGES = ("MIL", "MQL", "SAL", "SQL", "Opportunity", "Customer")


class ScoringModel(StrictModel):
    grades: list[Grade] = Field(default_factory=lambda: [Grade(grade="A", min_fit=60), Grade(grade="B", min_fit=40),
                                                         Grade(grade="C", min_fit=20)])
    lowest_grade: str = "D"
    fit: list[FitRule] = Field(default_factory=list)
    engagement: Engagement = Field(default_factory=Engagement)
    stages: Stages = Field(default_factory=Stages)
    temperature: Temperature = Field(default_factory=Temperature)

    @model_validator(mode="after")
    def _consistent(self) -> ScoringModel:
        problems = []
        ids = [r.id for r in self.fit] + [r.id for r in self.engagement.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"rule ids must be unique: {', '.join(duplicates)}")
        mins = [g.min_fit for g in self.grades]
        if mins != sorted(mins, reverse=True):
            problems.append("grades must be listed from best to worst (min_fit decreasing)")
        names = self.grade_names()
        if self.stages.mql.min_grade is not None and self.stages.mql.min_grade not in names:
            problems.append(f"stages.mql.min_grade {self.stages.mql.min_grade!r} is not a grade ({', '.join(names)})")
        bad = sorted({v for v in self.stages.crm_stage_map.values() if v not in FORWARD_STAGES + ("Recycled",)})
        if bad:
            problems.append(f"stages.crm_stage_map maps to unknown stages: {', '.join(bad)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def grade_names(self) -> list[str]:
        return [g.grade for g in self.grades] + [self.lowest_grade]


def model_json(model: ScoringModel) -> str:
    """The model's content as canonical JSON (stored with every run, so explain can replay it)."""
    return json.dumps(model.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def model_from_json(text: str) -> ScoringModel:
    return ScoringModel.model_validate(json.loads(text))


def model_hash(model: ScoringModel) -> str:
    """Hash of the model's content (not its file layout): same rules → same hash."""
    return hashlib.sha256(model_json(model).encode("utf-8")).hexdigest()[:16]


def load_model(path: str | Path | None = None) -> ScoringModel:
    """Read the `scoring:` section of a file (default: the shipped recipes/scoring.yaml), validated."""
    path = Path(path) if path is not None else DEFAULT_MODEL
    data: Any = read_yaml(path)
    if not isinstance(data, dict):
        raise RecipeError(str(path), ["the file must be a mapping with a 'scoring:' section"])
    if "scoring" not in data:
        raise RecipeError(str(path), ["missing section 'scoring:' (copy recipes/scoring.yaml to start)"])
    return validate(ScoringModel, data["scoring"], path, ("scoring",))
