"""`mactl export ...`: the group that holds every export subcommand.

Each stage's command module adds its own subcommand to ``export_app``
(identities and people: merge_cmd; assignments: assign_cmd; send-list: sendlist_cmd).
"""

from __future__ import annotations

from mactl.cli import app, new_app

export_app = new_app("Write workspace data to CSV / XLSX / Parquet files (formulas neutralised).")
app.add_typer(export_app, name="export")
