"""The step registry: each step name calls one stage function, found by import path at run time.

A stage that does not provide its function yet makes the step fail clearly,
never silently succeed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mactl.errors import MactlError
from mactl.runs.recipe import RunRecipe, StepSpec
from mactl.workspace import Workspace


class StepUnavailableError(MactlError):
    """The stage a step needs is not part of this mactl (yet)."""


class StepFailedError(MactlError):
    """A step finished but reported failures (e.g. files that could not be imported)."""


@dataclass
class StepContext:
    ws: Workspace
    recipe: RunRecipe
    spec: StepSpec
    output_dir: Path
    as_of: datetime | None
    progress: Any = None


def stage_function(step: str, module: str, name: str) -> Callable:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise StepUnavailableError(
            f"step {step!r}: not available in this mactl ({module}.{name} is missing)"
        ) from None


def summary_dict(result: Any) -> dict:
    """Scalar numbers and words of a stage's summary, for the run log."""
    if result is None:
        return {}
    if hasattr(result, "to_dict"):
        data = result.to_dict()
    elif is_dataclass(result):
        data = asdict(result)
    elif isinstance(result, dict):
        data = result
    elif isinstance(result, (int, float)):
        data = {"rows": result}
    else:
        data = {"result": str(result)}
    return {k: v for k, v in data.items() if isinstance(v, (int, float, str, bool)) or v is None}


def run_import(ctx: StepContext) -> dict:
    import_paths = stage_function("import", "mactl.importing", "import_paths")
    inbox = ctx.recipe.inbox()
    if not inbox:
        return {"imported": 0, "skipped": 0, "failed": 0, "records": 0}
    summary = import_paths(ctx.ws, inbox, recipe_path=ctx.recipe.stage_recipe(ctx.spec), progress=ctx.progress)
    counts = summary_dict(summary)
    if summary.failed:
        names = ", ".join(Path(f.path).name if hasattr(f, "path") else str(f) for f in summary.failed)
        raise StepFailedError(f"step 'import': {len(summary.failed)} file(s) could not be imported: {names}. "
                              "Run 'mactl import FILE' on them to see why")
    return counts


def run_merge(ctx: StepContext) -> dict:
    merge = stage_function("merge", "mactl.identity", "merge")
    return summary_dict(merge(ctx.ws, recipe_path=ctx.recipe.stage_recipe(ctx.spec), progress=ctx.progress))


def run_score(ctx: StepContext) -> dict:
    score = stage_function("score", "mactl.scoring", "score")
    model = ctx.recipe.resolve(ctx.spec.model) if ctx.spec.model else ctx.recipe.stage_recipe(ctx.spec)
    return summary_dict(score(ctx.ws, model_path=model, as_of=ctx.as_of, progress=ctx.progress))


def run_segments(ctx: StepContext) -> dict:
    build = stage_function("segments", "mactl.segments", "build_segments")
    return summary_dict(build(ctx.ws, recipe_path=ctx.recipe.stage_recipe(ctx.spec), names=ctx.spec.names,
                              as_of=ctx.as_of, progress=ctx.progress))


def run_assign(ctx: StepContext) -> dict:
    assign = stage_function("assign", "mactl.assignment", "assign")
    return summary_dict(assign(ctx.ws, recipe_path=ctx.recipe.stage_recipe(ctx.spec), as_of=ctx.as_of,
                               progress=ctx.progress))


def run_export_assignments(ctx: StepContext) -> dict:
    export = stage_function("export_assignments", "mactl.assignment", "export_assignments")
    out = ctx.output_dir / (ctx.spec.out or "assignments")
    out.mkdir(parents=True, exist_ok=True)
    return summary_dict(export(ctx.ws, out, as_of=ctx.as_of))


def run_send_list(ctx: StepContext) -> dict:
    export = stage_function("send_list", "mactl.sendlists", "export_send_list")
    spec = ctx.spec
    if not spec.channel:
        raise StepFailedError("step 'send_list': no channel; add channel: email (or sms, wechat) to the step")
    name = spec.out or f"send_{spec.channel}_{spec.list_name or spec.segment or 'all'}.csv"
    return summary_dict(export(ctx.ws, channel=spec.channel, out=ctx.output_dir / name, segment=spec.segment,
                               list_name=spec.list_name, cap=spec.cap, ab=spec.ab, holdout=spec.holdout,
                               as_of=ctx.as_of))


def run_export_people(ctx: StepContext) -> dict:
    export = stage_function("export_people", "mactl.identity.review", "export_people")
    return {"people": export(ctx.ws, ctx.output_dir / (ctx.spec.out or "people.xlsx"))}


def run_report(ctx: StepContext) -> dict:
    from mactl.report import build_report, write_report_json, write_report_xlsx

    report = build_report(ctx.ws, spend_path=ctx.recipe.resolve(ctx.spec.spend), as_of=ctx.as_of)
    write_report_xlsx(report, ctx.output_dir / (ctx.spec.out or "report.xlsx"))
    write_report_json(report, ctx.output_dir / "report.json")
    return {"sections": len(report.sections)}


STEPS: dict[str, Callable[[StepContext], dict]] = {
    "import": run_import,
    "merge": run_merge,
    "score": run_score,
    "segments": run_segments,
    "assign": run_assign,
    "export_assignments": run_export_assignments,
    "send_list": run_send_list,
    "export_people": run_export_people,
    "report": run_report,
}

# Steps that only write files: they read inside a transaction but change no table
# (send_list does: its send log, inside the step's transaction).
WRITES_FILES = {"export_assignments", "send_list", "export_people", "report"}
