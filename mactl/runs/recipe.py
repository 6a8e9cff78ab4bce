"""The `run:` section of a recipe: inbox, output folder and the steps to run, in order.

Paths are relative to the recipe file. Each step is a name, or a one-key mapping
``name: {options}``. Stage sections (``sources:``, ``identity:``, segments ...)
may live in the same file; a step's ``recipe`` option points at another file.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from pydantic import Field, field_validator

from mactl.errors import RecipeError
from mactl.recipe import StrictModel, read_yaml, validate

STEP_NAMES = (
    "import", "merge", "score", "segments", "assign",
    "export_assignments", "send_list", "export_people", "report",
)


class StepSpec(StrictModel):
    """One step and its options. Unused options are errors, so typos show."""

    step: str
    recipe: Optional[str] = None        # a stage recipe file (relative to the run recipe)
    model: Optional[str] = None         # score: scoring model file
    names: Optional[list[str]] = None   # segments: only these segments
    channel: Optional[str] = None       # send_list
    segment: Optional[str] = None
    list_name: Optional[str] = None
    cap: Optional[str] = None
    ab: Optional[str] = None
    holdout: Optional[int | str] = None  # send_list: e.g. 10 or "10%"
    out: Optional[str] = None           # file or folder name inside the output folder
    spend: Optional[str] = None         # report: CSV channel,spend

    @field_validator("step")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in STEP_NAMES:
            raise ValueError(f"unknown step {value!r}; steps are {', '.join(STEP_NAMES)}")
        return value


class RunSection(StrictModel):
    inbox: list[str] = Field(default_factory=list)   # folders, files or globs
    output: str = "out/{date}"                        # {date} = YYYY-MM-DD of as_of (or today)
    steps: list[StepSpec] = Field(min_length=1)

    @field_validator("steps", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            if isinstance(item, str):
                out.append({"step": item})
            elif isinstance(item, dict) and len(item) == 1:
                name, options = next(iter(item.items()))
                out.append({"step": name, **(options or {})})
            else:
                out.append(item)
        return out


class RunRecipe:
    """A validated run recipe with paths resolved against its folder."""

    def __init__(self, path: Path, section: RunSection):
        self.path = path.resolve()
        self.folder = self.path.parent
        self.section = section

    @property
    def steps(self) -> list[StepSpec]:
        return self.section.steps

    def resolve(self, relative: str | None) -> Path | None:
        if relative is None:
            return None
        candidate = Path(relative).expanduser()
        return Path(os.path.normpath(candidate if candidate.is_absolute() else self.folder / candidate))

    def inbox(self) -> list[str]:
        return [str(self.resolve(p)) for p in self.section.inbox]

    def output_dir(self, as_of: datetime | None, now: datetime) -> Path:
        day = (as_of or now).strftime("%Y-%m-%d")
        return self.resolve(self.section.output.replace("{date}", day))

    def stage_recipe(self, step: StepSpec) -> Path:
        """The recipe a stage reads: the step's own file, else the run recipe itself."""
        return self.resolve(step.recipe) if step.recipe else self.path


def load_run_recipe(path: str | Path) -> RunRecipe:
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or "run" not in data:
        raise RecipeError(str(path), ["no 'run:' section; a run recipe names its steps under run.steps"])
    section = validate(RunSection, data["run"], path, ("run",))
    return RunRecipe(path, section)
