"""`mactl export send-list`; `mactl suppress add|list|remove`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mactl.cli import app, new_app, ui
from mactl.cli.export_cmd import export_app
from mactl.sendlists import SendListSummary, export_send_list, suppress_add, suppress_list, suppress_remove
from mactl.sendlists.suppression import KINDS

JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@export_app.command("send-list")
def send_list_command(
    ctx: typer.Context,
    channel: str = typer.Option(..., "--channel", "-c", help="email, sms or wechat."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write: .csv or .xlsx (not needed with --dry-run)."),
    segment: Optional[str] = typer.Option(None, "--segment", "-s", help="Only members of this segment (default: everyone)."),
    list_name: Optional[str] = typer.Option(None, "--name", help="List name for the log, caps and A/B arms (default: the file name without extension)."),
    cap: Optional[str] = typer.Option(None, "--cap", help="Frequency cap N/Kd: at most N lists per person on this channel in K days, e.g. 2/7d."),
    ab: Optional[str] = typer.Option(None, "--ab", help="A/B split in percent, e.g. 50/50 or 40/30/30 (arms A, B, C)."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="Share kept out as a control group, e.g. 10%."),
    require_consent: Optional[bool] = typer.Option(None, "--require-consent/--no-require-consent", help="Require explicit consent (default: yes for sms, no for email and wechat)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only: write no file and no log (does not count toward caps)."),
    json_output: bool = JSON,
) -> None:
    """Write one row per person with a usable address for the channel; count who is excluded and why."""
    config = None if require_consent is None else {"consent_required": {channel: require_consent}}
    with ui.workspace(ctx, read_only=dry_run) as ws:
        summary = export_send_list(ws, channel=channel, out=out, segment=segment, list_name=list_name, cap=cap,
                                   ab=ab, holdout=holdout, dry_run=dry_run, config=config)
    _print_summary(summary, json_output)


def _print_summary(summary: SendListSummary, json_output: bool) -> None:
    if json_output:
        ui.emit_json(summary.to_dict())
        return
    where = "dry run, nothing written" if summary.dry_run else f"→ {summary.path} (log {summary.log_id})"
    ui.print_heading(f"{summary.list_name} ({summary.channel}): {summary.rows} of {summary.candidates} people {where}")
    ui.print_table("Excluded", ["reason", "people"], [(r, n) for r, n in summary.excluded.items()], numeric=["people"])
    ui.print_table("Arms", ["arm", "people"], sorted(summary.arms.items()), numeric=["people"])


suppress_app = new_app("The do-not-contact list: emails, phones, WeChat ids and whole domains never sent to.")
app.add_typer(suppress_app, name="suppress")


@suppress_app.command("add")
def suppress_add_command(
    ctx: typer.Context,
    values: list[str] = typer.Argument(..., help="Values (email, phone, @domain, WeChat id) or .csv/.xlsx files of them."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why, e.g. 'asked not to be contacted' or 'competitor'."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Force the kind: " + ", ".join(KINDS) + " (default: guessed per value)."),
    json_output: bool = JSON,
) -> None:
    """Add values to the suppression list (normalised: lower-case email, E.164 phone)."""
    with ui.workspace(ctx) as ws:
        result = suppress_add(ws, values, reason=reason, kind=kind)
    if json_output:
        ui.emit_json(result)
        return
    ui.print_heading(f"{result['added']} added, {result['already_listed']} already listed, "
                     f"{result['rejected']} not understood; {result['total']} on the list")
    if result["rejected_values"]:
        ui.note(ctx, "not an email, phone, domain or WeChat id: " + ", ".join(result["rejected_values"]))


@suppress_app.command("list")
def suppress_list_command(
    ctx: typer.Context,
    kind: Optional[str] = typer.Option(None, "--kind", help="Only this kind: " + ", ".join(KINDS) + "."),
    json_output: bool = JSON,
) -> None:
    """Show the suppression list."""
    with ui.workspace(ctx, read_only=True) as ws:
        rows = suppress_list(ws, kind=kind)
    if json_output:
        ui.emit_json(rows)
        return
    ui.print_table(f"Suppression list ({len(rows)})", ["value", "kind", "reason", "added", "source"],
                   [(r["value"], r["kind"], r["reason"], r["added_at"], r["source"]) for r in rows])


@suppress_app.command("remove")
def suppress_remove_command(
    ctx: typer.Context,
    values: list[str] = typer.Argument(..., help="Values to take off the list."),
    json_output: bool = JSON,
) -> None:
    """Take values off the suppression list."""
    with ui.workspace(ctx) as ws:
        removed = suppress_remove(ws, values)
    if json_output:
        ui.emit_json({"removed": removed})
        return
    ui.print_heading(f"{removed} removed")
