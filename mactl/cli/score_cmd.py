"""`mactl score` and `mactl score explain`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

from mactl.cli import app, new_app, ui

score_app = new_app("Score people (fit + engagement with decay), grade them and move lifecycle stages.")
score_app.info.no_args_is_help = False
app.add_typer(score_app, name="score")

JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@score_app.callback(invoke_without_command=True)
def score_command(ctx: typer.Context,
                  model: Optional[Path] = typer.Option(None, "--model", "-m", help="Scoring model file with a scoring: section (default: recipes/scoring.yaml)."),
                  as_of: Optional[datetime] = typer.Option(None, "--as-of", help="Score as of this UTC time (default: now), for reproducible runs and backtests."),
                  json_output: bool = JSON) -> None:
    """Score every person; print the distribution by grade and stage and what changed since the last run."""
    from mactl.scoring import score

    if ctx.invoked_subcommand:
        return
    with ui.workspace(ctx) as ws, ui.progress_bar(ctx) as progress:
        summary = score(ws, model_path=model, as_of=as_of, progress=progress)
    if json_output:
        ui.emit_json(summary.to_dict())
        return
    ui.print_heading(f"Score run {summary.score_run_id} as of {summary.as_of:%Y-%m-%d %H:%M} UTC, model {summary.model_hash}: "
                     f"{summary.people} people; {summary.went_up} up, {summary.went_down} down, {summary.new_mqls} new MQLs")
    ui.print_table("By grade", ["grade", "people"], sorted(summary.by_grade.items()), numeric=["people"])
    ui.print_table("By stage", ["stage", "people"], sorted(summary.by_stage.items()), numeric=["people"])
    if summary.transitions:
        ui.print_table("Stage changes", ["from -> to", "people"], list(summary.transitions.items()), numeric=["people"])


@score_app.command("explain")
def explain_command(ctx: typer.Context, person_id: str = typer.Argument(..., help="Person id, e.g. P000123."),
                    json_output: bool = JSON) -> None:
    """Show every contribution to a person's score (rule, event, raw points, decay), score history and stage changes."""
    from mactl.scoring import explain

    with ui.workspace(ctx, read_only=True) as ws:
        info = explain(ws, person_id)
    if json_output:
        ui.emit_json(info)
        return
    ui.print_heading(f"{info['person_id']}: {info['grade']}, {info['total']:g} (fit {info['fit']:g}, engagement "
                     f"{info['engagement']:g}); stage {info['stage']}, {info['temperature']}; model {info['model_hash']}")
    ui.print_table("Contributions", ["factor", "rule", "event", "occurred (UTC)", "raw", "decay", "weight", "points"],
                   [(c["factor"], c["label"], c["event_id"], c["occurred_at"] and f"{c['occurred_at']:%Y-%m-%d %H:%M}",
                     f"{c['raw_points']:g}", f"{c['decay']:g}", f"{c['channel_weight']:g}", f"{c['points']:+g}")
                    for c in info["contributions"]], numeric=["raw", "decay", "weight", "points"])
    ui.print_table("History", ["run", "as of (UTC)", "total", "grade", "stage"],
                   [(h["score_run_id"], f"{h['as_of']:%Y-%m-%d %H:%M}", f"{h['total']:g}", h["grade"], h["stage"])
                    for h in info["history"]], numeric=["total"])
    ui.print_table("Stage changes", ["from", "to", "when (UTC)", "why"],
                   [(s["from_stage"], s["to_stage"], f"{s['changed_at']:%Y-%m-%d %H:%M}", s["reason"]) for s in info["stages"]])
