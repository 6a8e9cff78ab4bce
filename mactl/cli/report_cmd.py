"""`mactl report`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mactl.cli import app, ui
from mactl.cli.run_cmd import parse_as_of

NUMERIC = {"reached", "now_at", "conversion_pct", "leads", "mqls", "mql_rate_pct", "spend", "cost_per_lead",
           "cost_per_mql", "people", "share_pct", "avg_total", "records", "duplicate_records", "members", "entered",
           "left", "assigned", "sla_breaches"}


@app.command("report")
def report_command(
    ctx: typer.Context,
    spend: Optional[Path] = typer.Option(None, "--spend", help="CSV of channel,spend for cost per lead and per MQL."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Also write the report as a workbook with charts."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Report as of this UTC date (default: now)."),
) -> None:
    """Funnel with conversion, leads/MQLs/cost by channel, grades, merges, segments and rep load."""
    from mactl.report import build_report, write_report_xlsx

    with ui.workspace(ctx, read_only=True) as ws:
        report = build_report(ws, spend_path=spend, as_of=parse_as_of(as_of))
    if xlsx is not None:
        write_report_xlsx(report, xlsx)
        ui.note(ctx, f"wrote {xlsx}")
    if as_json:
        ui.emit_json(report.to_dict())
        return
    for section in report.sections:
        ui.print_table(section.title, section.columns, section.rows,
                       numeric=[c for c in section.columns if c in NUMERIC])
        if section.note:
            ui.print_heading(f"  {section.note}")
