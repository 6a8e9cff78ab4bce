"""`mactl assign`; `mactl export assignments`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

from mactl.cli import app, ui
from mactl.cli.export_cmd import export_app

JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@app.command("assign")
def assign_command(
    ctx: typer.Context,
    recipe: Optional[Path] = typer.Option(None, "--recipe", "-r", help="Recipe with an assignment: section (default: recipes/assignment.yaml)."),
    as_of: Optional[datetime] = typer.Option(None, "--as-of", help="Run as of this UTC time (default: now), e.g. 2026-03-01T12:00."),
    json_output: bool = JSON,
) -> None:
    """Apply CRM feedback, recycle leads past their SLA, and assign new MQLs to reps by rules."""
    from mactl.assignment import assign

    with ui.workspace(ctx) as ws, ui.progress_bar(ctx) as progress:
        summary = assign(ws, recipe_path=recipe, as_of=as_of, progress=progress)
    if json_output:
        ui.emit_json(summary.to_dict())
        return
    fb = summary.feedback
    ui.print_heading(f"{summary.assigned} leads assigned ({summary.sticky} to existing owners), {summary.recycled} recycled, "
                     f"{summary.unassigned} waiting; CRM feedback: {fb.get('accepted', 0)} accepted, "
                     f"{fb.get('rejected', 0)} rejected, {fb.get('qualified', 0)} qualified")
    ui.print_table("By rep", ["rep", "leads"], sorted(summary.by_rep.items()), numeric=["leads"])


@export_app.command("assignments")
def export_assignments_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for one .xlsx per rep and assignments.csv."),
    json_output: bool = JSON,
) -> None:
    """Write each rep's open leads (profile, score reasons, recent activity, sources, due time) to files."""
    from mactl.assignment import export_assignments

    with ui.workspace(ctx, read_only=True) as ws:
        result = export_assignments(ws, out)
    if json_output:
        ui.emit_json(result)
        return
    ui.print_heading(f"{result['rows']} leads for {result['reps']} reps written to {result['out_dir']}")
