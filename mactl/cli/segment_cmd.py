"""`mactl segment build|list|show|preview`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

from mactl.cli import app, new_app, ui

segment_app = new_app("Dynamic groups: rebuild membership from recipe conditions, see who entered and left.")
app.add_typer(segment_app, name="segment")

JSON = typer.Option(False, "--json", help="Print the result as JSON.")
RECIPE = typer.Option(None, "--recipe", "-r", help="Recipe with a segments: list (default: recipes/segments.yaml).")
AS_OF = typer.Option(None, "--as-of", help="Evaluate time windows as of this UTC time (default: now), e.g. 2026-03-01T12:00.")


@segment_app.command("build")
def build_command(ctx: typer.Context, names: Optional[list[str]] = typer.Argument(None, help="Groups to rebuild (default: all)."),
                  recipe: Optional[Path] = RECIPE, as_of: Optional[datetime] = AS_OF, json_output: bool = JSON) -> None:
    """Rebuild group membership and record who entered and who left."""
    from mactl.segments import build_segments

    with ui.workspace(ctx) as ws, ui.progress_bar(ctx) as progress:
        summary = build_segments(ws, recipe_path=recipe, names=names or None, as_of=as_of, progress=progress)
    if json_output:
        ui.emit_json(summary.to_dict())
        return
    ui.print_table(f"Build {summary.build_id} as of {summary.as_of:%Y-%m-%d %H:%M} UTC", ["group", "size", "entered", "left"],
                   [(s.segment, s.size, s.entered, s.left) for s in summary.segments], numeric=["size", "entered", "left"])


@segment_app.command("list")
def list_command(ctx: typer.Context, json_output: bool = JSON) -> None:
    """List built groups with size and the moves of their last build."""
    from mactl.segments import list_segments

    with ui.workspace(ctx, read_only=True) as ws:
        rows = list_segments(ws)
    if json_output:
        ui.emit_json(rows)
        return
    ui.print_table("Groups", ["group", "size", "entered", "left", "built at (UTC)"],
                   [(r["segment"], r["size"], r["entered"], r["left"], f"{r['built_at']:%Y-%m-%d %H:%M}") for r in rows],
                   numeric=["size", "entered", "left"])


@segment_app.command("show")
def show_command(ctx: typer.Context, name: str = typer.Argument(..., help="Group name."),
                 sample: int = typer.Option(10, "--sample", help="How many members to show."), json_output: bool = JSON) -> None:
    """Size, who entered and left in the last build, and a sample of members."""
    from mactl.segments import show_segment

    with ui.workspace(ctx, read_only=True) as ws:
        info = show_segment(ws, name, sample=sample)
    if json_output:
        ui.emit_json(info)
        return
    ui.print_heading(f"{name}: {info['size']} members; last build entered {len(info['entered'])}, left {len(info['left'])}")
    ui.print_table("Sample", ["person", "name", "company", "grade", "total"],
                   [(m["person_id"], m["name"], m["company"], m["grade"], m["total"]) for m in info["sample"]])


@segment_app.command("preview")
def preview_command(ctx: typer.Context, file: Path = typer.Argument(..., help="YAML file with a segments: list to evaluate."),
                    as_of: Optional[datetime] = AS_OF, json_output: bool = JSON) -> None:
    """Evaluate group definitions against current data without storing anything."""
    from mactl.segments import preview

    with ui.workspace(ctx, read_only=True) as ws:
        rows = preview(ws, file, as_of=as_of)
    if json_output:
        ui.emit_json(rows)
        return
    ui.print_table("Preview", ["group", "size", "sample"],
                   [(r["segment"], r["size"], ", ".join(r["sample"])) for r in rows], numeric=["size"])
