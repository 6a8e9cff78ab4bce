"""What a workspace holds, for `mactl status`."""

from __future__ import annotations

from mactl.workspace import Workspace

STAGE = "status"

# (label, table, filter) in pipeline order; tables of later stages count only when present.
_COUNTS = (
    ("import batches", "import_batch", "status = 'imported'"),
    ("source records", "source_record", None),
    ("events", "event", None),
    ("quarantined rows", "quarantine", None),
    ("people", "person", None),
    ("scored people", "person_score", None),
)


def workspace_status(ws: Workspace) -> dict:
    counts = {}
    for label, table, where in _COUNTS:
        if ws.table_exists(table):
            sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
            counts[label] = int(ws.scalar(STAGE, label, sql))
    zone = ws.get_setting("timezone", "Asia/Shanghai")
    last_imports = [
        dict(zip(("batch_id", "source_file", "channel", "records", "events", "quarantined", "imported_at"), row))
        for row in ws.fetchall(
            STAGE,
            "last imports",
            "SELECT batch_id, source_file, channel, records, events, quarantined,"
            " strftime(timezone(?, timezone('UTC', imported_at)), '%Y-%m-%d %H:%M') || ' ' || ?"
            " FROM import_batch WHERE status = 'imported' ORDER BY batch_id DESC LIMIT 10",
            [zone, zone],
        )
    ]
    return {
        "database": str(ws.path),
        "timezone": zone,
        "schema": ws.schema_versions(),
        "counts": counts,
        "last_imports": last_imports,
    }
