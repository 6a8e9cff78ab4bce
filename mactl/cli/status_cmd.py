"""`mactl status`: what the workspace holds."""

from __future__ import annotations

import typer

from mactl.cli import app, ui
from mactl.status import workspace_status


@app.command("status")
def status(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show what the workspace holds: records, events, quarantined rows, batches, people, runs."""
    with ui.workspace(ctx, read_only=True) as ws:
        info = workspace_status(ws)
    if json_output:
        ui.emit_json(info)
        return
    ui.print_table(
        f"Workspace {info['database']}",
        ["what", "count"],
        [(name, value) for name, value in info["counts"].items()],
        numeric=["count"],
    )
    if info["last_imports"]:
        ui.print_table(
            "Last imports",
            ["batch", "file", "channel", "records", "events", "quarantined", "imported at"],
            [
                (b["batch_id"], b["source_file"], b["channel"], b["records"], b["events"], b["quarantined"], b["imported_at"])
                for b in info["last_imports"]
            ],
            numeric=["batch", "records", "events", "quarantined"],
        )
