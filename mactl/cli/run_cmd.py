"""`mactl run` and `mactl runs`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

from mactl.cli import app, ui
from mactl.errors import EXIT_FAILED, UsageError
from mactl.workspace import open_workspace


def parse_as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r}: not a date; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None


@app.command("run")
def run_command(
    ctx: typer.Context,
    recipe: Path = typer.Argument(..., help="Run recipe (YAML with a run: section). Paths in it are relative to it."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (new files, steps) and change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
    log: Optional[Path] = typer.Option(None, "--log", help="Append the plain summary to this file."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Score, segment and assign as of this UTC date/time "
                                                             "(default: now). Also names the dated output folder."),
) -> None:
    """Run a recipe's steps in order: import new files, merge, score, segment, assign, export, report.

    One run per workspace at a time (exit 75 if another is running); safe to repeat;
    exit 1 when a step fails (the message names it).
    """
    from mactl.runs import RunLock, load_run_recipe, plan_run, run_recipe

    run_recipe_file = load_run_recipe(recipe)
    when = parse_as_of(as_of)
    db = ui.options(ctx).db
    if dry_run:
        ws = open_workspace(db, read_only=True) if db.exists() else None
        try:
            plan = plan_run(ws, run_recipe_file, as_of=when)
        finally:
            if ws is not None:
                ws.close()
        ui.emit_json(plan.to_dict()) if as_json else typer.echo(plan.text())
        return
    with RunLock(db) as lock:
        with ui.workspace(ctx) as ws, ui.progress_bar(ctx) as progress:
            summary = run_recipe(ws, run_recipe_file, as_of=when, stale_lock=lock.stale, progress=progress)
    text = summary.text()
    if log is not None:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"[{datetime.now().isoformat(timespec='seconds')}] {text}\n")
    ui.emit_json(summary.to_dict()) if as_json else typer.echo(text)
    failed = summary.failed_step
    if failed is not None:
        typer.echo(f"Error: {failed.error}", err=True)
        raise typer.Exit(EXIT_FAILED)


@app.command("runs")
def runs_command(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", min=1, help="How many of the latest runs to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the history (with every step) as JSON."),
) -> None:
    """Show the history of `mactl run`: each run and step with status, time and counts."""
    from mactl.runs import run_history

    with ui.workspace(ctx, read_only=True) as ws:
        history = run_history(ws, limit)
    if as_json:
        ui.emit_json(history)
        return
    rows = []
    for run in history:
        steps = " ".join(f"{s['step']}:{s['status']}" for s in run["steps"])
        seconds = "" if run["seconds"] is None else f"{run['seconds']:.1f}"
        rows.append([run["run_id"], run["started_at"].isoformat(sep=" ", timespec="seconds"), run["status"], seconds,
                     steps, run["output_dir"]])
    ui.print_table("Runs", ["run", "started (UTC)", "status", "seconds", "steps", "output"], rows,
                   numeric=["run", "seconds"])
