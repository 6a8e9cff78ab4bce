"""`mactl export assignments`: one workbook per rep plus one combined CSV, in the workspace time zone."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from mactl.exporting import write_rows
from mactl.workspace import Workspace

STAGE = "export assignments"
COLUMNS = ["rep", "team", "person_id", "name", "company", "title", "province", "city", "email", "phone",
           "grade", "score", "stage", "top_reasons", "recent_activity", "source_records", "assigned_at",
           "due_accept_by", "status", "rule"]


def assignments_sql() -> str:
    """Open assignments with profile, score and the last five events; local times via the workspace zone."""
    return """
        WITH recent AS (
            SELECT pr.person_id, string_agg(e.event_type || ' ' || strftime(timezone(?, timezone('UTC', e.occurred_at)), '%Y-%m-%d')
                       || COALESCE(' ' || e.campaign, ''), '; ' ORDER BY e.occurred_at DESC) AS activity
            FROM (SELECT pr.person_id, e.event_id, row_number() OVER (PARTITION BY pr.person_id
                         ORDER BY e.occurred_at DESC NULLS LAST, e.event_id DESC) AS n
                  FROM assignment a JOIN person_record pr USING (person_id) JOIN event e ON e.record_id = pr.record_id) r
            JOIN event e ON e.event_id = r.event_id JOIN person_record pr ON pr.person_id = r.person_id
                 AND pr.record_id = e.record_id
            WHERE r.n <= 5 GROUP BY pr.person_id),
        sources AS (
            SELECT pr.person_id, string_agg(DISTINCT sr.source_file || CASE WHEN sr.source_sheet <> '' THEN '/' || sr.source_sheet ELSE '' END
                       || ' row ' || sr.source_row, '; ') AS records
            FROM assignment a JOIN person_record pr USING (person_id) JOIN source_record sr ON sr.record_id = pr.record_id
            GROUP BY pr.person_id)
        SELECT a.rep, a.team, a.person_id, p.name, p.company, p.title, p.province, p.city, p.email, p.phone,
               s.grade, s.total, s.stage, s.top_reasons, r.activity, src.records,
               timezone(?, timezone('UTC', a.assigned_at)), timezone(?, timezone('UTC', a.due_accept_by)), a.status, a.rule
        FROM assignment a LEFT JOIN person p USING (person_id) LEFT JOIN person_score s USING (person_id)
        LEFT JOIN recent r USING (person_id) LEFT JOIN sources src USING (person_id)
        WHERE a.status IN ('assigned', 'accepted') AND a.rep IS NOT NULL
        ORDER BY a.rep, s.total DESC NULLS LAST, a.person_id"""


def export_assignments(ws: Workspace, out_dir: str | Path, *, as_of: datetime | None = None) -> dict:
    """Write ``<rep>.xlsx`` per rep and ``assignments.csv``; returns files and row counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    zone = ws.get_setting("timezone", "Asia/Shanghai")
    rows = [tuple(_plain(v) for v in row) for row in ws.fetchall(STAGE, "rows", assignments_sql(), [zone, zone, zone])]
    files = {}
    for rep in sorted({row[0] for row in rows}):
        path = out_dir / f"{_file_name(rep)}.xlsx"
        files[str(path)] = write_rows(path, COLUMNS, [row for row in rows if row[0] == rep], sheet_name="Leads")
    combined = out_dir / "assignments.csv"
    files[str(combined)] = write_rows(combined, COLUMNS, rows)
    return {"out_dir": str(out_dir), "rows": len(rows), "reps": len(files) - 1, "files": files}


def _plain(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def _file_name(rep: str) -> str:
    """A rep name as a safe file name (keeps Chinese characters)."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", rep).strip("._") or "rep"
