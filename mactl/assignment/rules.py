"""The assignment recipe: teams with reps and a strategy, ordered rules, SLA and CRM feedback values."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from mactl.conditions import ConditionError, compile_condition
from mactl.errors import RecipeError
from mactl.recipe import StrictModel, load_section
from mactl.workspace import utc_now

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "assignment.yaml"


class Rep(StrictModel):
    name: str
    weight: float = Field(1.0, gt=0)
    daily_capacity: int | None = Field(None, ge=0)
    weekly_capacity: int | None = Field(None, ge=0)


class Team(StrictModel):
    strategy: Literal["round_robin", "weighted", "least_loaded"] = "round_robin"
    reps: list[Rep] = Field(min_length=1)


class Rule(StrictModel):
    name: str
    when: Any = None                       # a condition; omitted = every lead
    team: str | None = None
    rep: str | None = None


class Sla(StrictModel):
    accept_hours: float = Field(24, gt=0)


class Feedback(StrictModel):
    """CRM stage values (from crm_update events) that mean accepted, rejected or qualified."""

    accepted: list[str] = ["SAL", "accepted", "已接受", "跟进中"]
    rejected: list[str] = ["rejected", "已拒绝", "无效"]
    qualified: list[str] = ["SQL", "qualified", "Opportunity", "商机"]


class AssignmentRecipe(StrictModel):
    select: Any = {"field": "stage", "op": "equals", "value": "MQL"}
    sticky: bool = True
    sla: Sla = Sla()
    feedback: Feedback = Feedback()
    teams: dict[str, Team] = {}
    rules: list[Rule] = Field(min_length=1)


def load_recipe(path: str | Path | None) -> AssignmentRecipe:
    path = Path(path) if path else DEFAULT_RECIPE
    recipe = load_section(path, "assignment", AssignmentRecipe, required=path == DEFAULT_RECIPE)
    if recipe is None:  # a run recipe without its own assignment: section uses the shipped rules
        path, recipe = DEFAULT_RECIPE, load_section(DEFAULT_RECIPE, "assignment", AssignmentRecipe, required=True)
    problems: list[str] = []
    conditions = [("assignment.select", recipe.select)]
    conditions += [(f"assignment.rules[{i}].when", r.when) for i, r in enumerate(recipe.rules) if r.when is not None]
    for where, cond in conditions:
        try:
            compile_condition(cond, utc_now(), path=where)
        except ConditionError as exc:
            problems.append(f"{exc.path}: {exc.message}")
    for i, rule in enumerate(recipe.rules):
        if (rule.team is None) == (rule.rep is None):
            problems.append(f"assignment.rules[{i}]: rule {rule.name!r} needs exactly one of team or rep")
        elif rule.team is not None and rule.team not in recipe.teams:
            problems.append(f"assignment.rules[{i}].team: unknown team {rule.team!r}; teams: "
                            f"{', '.join(sorted(recipe.teams))}")
    if problems:
        raise RecipeError(str(path), problems)
    return recipe
