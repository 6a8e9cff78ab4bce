"""`mactl import`: read export files into the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from mactl.cli import app, ui

if TYPE_CHECKING:
    from mactl.importing import ImportSummary


@app.command("import")
def import_command(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Files, folders or globs (quote globs: 'inbox/*.xlsx')."),
    recipe: Optional[Path] = typer.Option(None, "--recipe", "-r", help="Recipe whose sources: section maps columns, channels and fixed values."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Import only this sheet of each workbook (also a hidden one)."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Text encoding of CSV files (default: detected; e.g. gb18030, utf-16)."),
    timezone: Optional[str] = typer.Option(None, "--timezone", help="Zone of times written without one (default: workspace setting, Asia/Shanghai)."),
    replace: bool = typer.Option(False, "--replace", help="Re-import files imported before, replacing their earlier batch."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show header rows, column mapping and first rows; write nothing."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Import Excel, web-form, webinar, CRM and engagement exports, with lineage to file, sheet and row.

    Importing the same file content again does nothing. Rows without an email, mobile,
    WeChat id or CRM id, and bad cells (invalid email or phone, unreadable dates) are
    kept in the quarantine table with the reason.
    """
    from mactl.importing import import_paths

    with ui.workspace(ctx) as ws, ui.progress_bar(ctx) as progress:
        summary = import_paths(
            ws, paths, recipe_path=recipe, sheet=sheet, encoding=encoding, timezone=timezone,
            replace=replace, dry_run=dry_run, progress=progress,
        )
    if json_output:
        ui.emit_json(summary.to_dict())
    elif dry_run:
        _print_dry_run(summary)
    else:
        _print_summary(summary)
    for result in summary.files:
        for note in result.notes:
            ui.note(ctx, f"{result.file}: {note}")
    for result in summary.failed:
        typer.echo(f"Error: {result.error}", err=True)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def _print_summary(summary: ImportSummary) -> None:
    rows = []
    for result in summary.files:
        if result.status == "failed":
            continue
        if result.status == "skipped":
            rows.append((result.file, "", "", "already imported", "", "", "", ""))
            continue
        for sheet in result.sheets:
            rows.append((result.file, sheet.sheet, result.channel, sheet.rows, sheet.records, sheet.quarantined_rows, sheet.problems, sheet.events))
    if rows:
        ui.print_table(
            "Import",
            ["file", "sheet", "channel", "rows", "records", "quarantined", "problems", "events"],
            rows,
            numeric=["rows", "records", "quarantined", "problems", "events"],
        )


def _print_dry_run(summary: ImportSummary) -> None:
    for result in summary.files:
        if result.status != "dry-run":
            continue
        for sheet in result.sheets:
            where = f"{result.file}" + (f" / {sheet.sheet}" if sheet.sheet else "")
            title = f"{where}: channel {result.channel}, header on row {sheet.header_row}"
            if result.encoding:
                title += f", encoding {result.encoding}"
            mapping = [(header, field) for header, field in sheet.mapping.items()]
            mapping += [(header, "(kept as attribute)") for header in sheet.attributes]
            ui.print_heading(title)
            ui.print_table(None, ["column", "field"], mapping)
            if sheet.preview:
                width = len(sheet.headers)
                rows = [(list(r) + [""] * width)[:width] for r in sheet.preview]
                ui.print_table("first rows", sheet.headers, rows)
