"""`mactl merge` and its subcommands (explain, review, link, split, undo); `mactl export identities|people`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from mactl.cli import app, new_app, ui
from mactl.cli.export_cmd import export_app

if TYPE_CHECKING:
    from mactl.identity import MergeSummary

merge_app = new_app(
    "Merge records of the same person across channels into golden records with stable ids.\n\n"
    "Run without a subcommand to merge; the subcommands explain, review and correct merges."
)
merge_app.info.no_args_is_help = False
merge_app.info.invoke_without_command = True
app.add_typer(merge_app, name="merge")

JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@merge_app.callback()
def merge_command(
    ctx: typer.Context,
    recipe: Optional[Path] = typer.Option(None, "--recipe", "-r", help="Recipe whose identity: section sets rules, thresholds and survivorship."),
    region: Optional[str] = typer.Option(None, "--region", help="Default phone region, e.g. CN (the default), HK, SG, US."),
    full: bool = typer.Option(False, "--full", help="Match every record again, not only what new data can touch."),
    json_output: bool = JSON,
) -> None:
    """Merge new records into people: exact keys, fuzzy name/company/email links, guards against wrong merges."""
    from mactl.identity import merge

    if ctx.invoked_subcommand is not None:
        return
    with ui.workspace(ctx) as ws, ui.progress_bar(ctx) as progress:
        summary = merge(ws, recipe_path=recipe, region=region, full=full, progress=progress)
    _print_summary(summary, json_output)


def _print_summary(summary: MergeSummary, json_output: bool) -> None:
    if json_output:
        ui.emit_json(summary.to_dict())
        return
    ui.print_heading(
        f"{summary.records} records → {summary.people} people "
        f"({summary.new_people} new, {summary.merged_people} merged into older ids, {summary.records_moved} records placed); "
        f"{summary.review_open} pairs await review"
    )
    ui.print_table(
        "By channel",
        ["channel", "records", "people", "duplicates", "also in other channels"],
        [(c["channel"], c["records"], c["people"], c["duplicates"], c["also_in_other_channels"]) for c in summary.by_channel],
        numeric=["records", "people", "duplicates", "also in other channels"],
    )
    ui.print_table("Links by rule", ["rule", "links"], sorted(summary.links_by_rule.items()), numeric=["links"])


@merge_app.command("explain")
def explain_command(ctx: typer.Context, person_id: str = typer.Argument(..., help="A person id such as P000123 (old merged ids work too)."),
                    json_output: bool = JSON) -> None:
    """Show a person's records (file, sheet, row) and the links that put them together."""
    from mactl.identity import review as ops

    with ui.workspace(ctx, read_only=True) as ws:
        info = ops.explain(ws, person_id)
    if json_output:
        ui.emit_json(info)
        return
    if info["note"]:
        ui.note(ctx, info["note"])
    person = info["person"]
    ui.print_heading(f"{info['person_id']}: {person['name'] or '(no name)'}, {person['company'] or '(no company)'}, "
                     f"{person['email'] or '-'}, {person['phone'] or '-'}")
    if info["merged_ids"]:
        ui.print_heading("merged ids: " + ", ".join(info["merged_ids"]))
    ui.print_table("Records", ["record", "file", "sheet", "row", "channel", "name", "email", "phone", "company"],
                   [(r["record_id"], r["source_file"], r["source_sheet"], r["source_row"], r["channel"], r["name"],
                     r["email"], r["phone"], r["company"]) for r in info["records"]], numeric=["record", "row"])
    ui.print_table("Links", ["record", "linked to", "rule", "strength", "score", "evidence"],
                   [(li["record_id"], li["other_record_id"], li["rule"], li["strength"],
                     "" if li["score"] is None else f"{li['score']:.0f}", li["detail"]) for li in info["links"]],
                   numeric=["record", "linked to"])
    if info["overrides"]:
        ui.print_table("Decisions", ["kind", "record", "other record", "reason"],
                       [(o["kind"], o["record_id"], o["other_record_id"], o["reason"]) for o in info["overrides"]])


@merge_app.command("review")
def review_command(
    ctx: typer.Context,
    out: Optional[Path] = typer.Option(None, "--out", help="Write the unsure pairs to this .xlsx, with a decision column."),
    apply: Optional[Path] = typer.Option(None, "--apply", help="Apply the decisions of a filled-in review .xlsx, then re-merge."),
    limit: int = typer.Option(1000, "--limit", min=1, help="With --out: at most this many pairs (oldest records first)."),
    json_output: bool = JSON,
) -> None:
    """Review unsure pairs in Excel: write them with --out, fill 'decision' (link / separate), apply with --apply."""
    from mactl.identity import review as ops
    from mactl.identity.merge import open_reviews

    if (out is None) == (apply is None):
        raise typer.BadParameter("give exactly one of --out FILE.xlsx or --apply FILE.xlsx")
    if out is not None:
        with ui.workspace(ctx, read_only=True) as ws:
            count = ops.review_out(ws, out, limit)
            total = open_reviews(ws)
        if json_output:
            ui.emit_json({"pairs": count, "open": total, "path": str(out)})
        elif count < total:
            ui.print_heading(f"{count:,} of {total:,} open pairs to review written to {out} (decide these, or raise --limit)")
        else:
            ui.print_heading(f"{count} pairs to review written to {out}")
        return
    with ui.workspace(ctx) as ws:
        links, separates, summary = ops.review_apply(ws, apply)
    if json_output:
        ui.emit_json({"linked": links, "separated": separates, "merge": summary.to_dict()})
        return
    ui.print_heading(f"applied {links} link and {separates} separate decisions")
    _print_summary(summary, False)


@merge_app.command("link")
def link_command(ctx: typer.Context, first: str = typer.Argument(..., help="Person id."), second: str = typer.Argument(..., help="Person id."),
                 reason: Optional[str] = typer.Option(None, "--reason", help="Why (kept with the decision)."),
                 json_output: bool = JSON) -> None:
    """Make two people one. The older id survives; the decision is kept for every later merge."""
    from mactl.identity import review as ops

    with ui.workspace(ctx) as ws:
        summary = ops.link_people(ws, first, second, reason)
    _print_summary(summary, json_output)


@merge_app.command("split")
def split_command(ctx: typer.Context, person_id: str = typer.Argument(..., help="Person id."),
                  records: list[int] = typer.Option(..., "--record", help="Record id to take out (repeat the option); see 'merge explain'."),
                  reason: Optional[str] = typer.Option(None, "--reason", help="Why (kept with the decision)."),
                  json_output: bool = JSON) -> None:
    """Take records out of a person into a new person; they stay apart in every later merge."""
    from mactl.identity import review as ops

    with ui.workspace(ctx) as ws:
        summary = ops.split_person(ws, person_id, records, reason)
    _print_summary(summary, json_output)


@merge_app.command("undo")
def undo_command(ctx: typer.Context, person_id: str = typer.Argument(..., help="The person another person was merged into."),
                 json_output: bool = JSON) -> None:
    """Undo the last merge into a person: the merged person comes back with its old id."""
    from mactl.identity import review as ops

    with ui.workspace(ctx) as ws:
        restored, summary = ops.undo_merge(ws, person_id)
    if not json_output:
        ui.print_heading(f"{restored} is a person of its own again")
    _print_summary(summary, json_output)


@export_app.command("identities")
def export_identities_command(ctx: typer.Context, out: Path = typer.Option(..., "--out", help="Output .csv, .xlsx or .parquet."),
                              json_output: bool = JSON) -> None:
    """One row per imported record: source_file, source_sheet, source_row, person_id."""
    from mactl.identity import review as ops

    with ui.workspace(ctx, read_only=True) as ws:
        count = ops.export_identities(ws, out)
    _report_export(ctx, "records", count, out, json_output)


@export_app.command("people")
def export_people_command(ctx: typer.Context, out: Path = typer.Option(..., "--out", help="Output .csv, .xlsx or .parquet."),
                          json_output: bool = JSON) -> None:
    """The golden records, one row per person."""
    from mactl.identity import review as ops

    with ui.workspace(ctx, read_only=True) as ws:
        count = ops.export_people(ws, out)
    _report_export(ctx, "people", count, out, json_output)


def _report_export(ctx: typer.Context, what: str, count: int, out: Path, json_output: bool) -> None:
    if json_output:
        ui.emit_json({what: count, "path": str(out)})
    else:
        ui.note(ctx, f"{count} {what} written to {out}")
