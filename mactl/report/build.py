"""The numbers of `mactl report`, section by section, each from one small SQL query.

A section whose tables do not exist yet (a stage not run, or not part of this
mactl) is kept with a note instead of rows, so the report works at every point
of the pipeline.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mactl.errors import InputFileError, MissingInputError
from mactl.schema import LIFECYCLE_STAGES
from mactl.workspace import Workspace, quote_ident

STAGE = "report"
FUNNEL_STAGES = LIFECYCLE_STAGES[: LIFECYCLE_STAGES.index("Customer") + 1]  # Recycled/Silent are off the funnel
MQL_STAGES = FUNNEL_STAGES[FUNNEL_STAGES.index("MQL"):]


@dataclass
class Section:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str | None = None


@dataclass
class Report:
    generated_at: datetime
    as_of: datetime | None
    sections: list[Section]

    def section(self, name: str) -> Section:
        return next(s for s in self.sections if s.name == name)

    def to_dict(self) -> dict:
        return {
            "generated_at": self.generated_at,
            "as_of": self.as_of,
            "sections": {s.name: {"title": s.title, "note": s.note,
                                  "rows": [dict(zip(s.columns, r)) for r in s.rows]} for s in self.sections},
        }


def _missing(ws: Workspace, *tables: str) -> str | None:
    """Why a section has no rows: a table that does not exist yet, or is still empty."""
    absent = [t for t in tables if not ws.table_exists(t)]
    if absent:
        return f"no data yet: table {', '.join(absent)} does not exist in this workspace"
    empty = [t for t in tables if not ws.scalar(STAGE, "has rows", f"SELECT EXISTS (SELECT 1 FROM {quote_ident(t)})")]
    return f"no data yet: {', '.join(empty)} is empty (run the stage that fills it)" if empty else None


def _rate(part: float | None, whole: float | None) -> float | None:
    return None if not whole else round(100.0 * (part or 0) / whole, 1)


# -- funnel ------------------------------------------------------------------


def funnel_sql() -> str:
    # People who reached a stage = people now at that stage or a later one.
    stages = ", ".join(f"('{s}', {i})" for i, s in enumerate(FUNNEL_STAGES))
    return f"""
        WITH stages(stage, position) AS (VALUES {stages}),
        now_at AS (SELECT s.position, count(*) AS people FROM person_score p JOIN stages s USING (stage) GROUP BY 1)
        SELECT s.stage, s.position,
               coalesce((SELECT sum(n.people) FROM now_at n WHERE n.position >= s.position), 0)::BIGINT AS reached,
               coalesce((SELECT n.people FROM now_at n WHERE n.position = s.position), 0)::BIGINT AS now_at
        FROM stages s ORDER BY s.position"""


def funnel_section(ws: Workspace) -> Section:
    section = Section("funnel", "Funnel by stage", ["stage", "reached", "now_at", "conversion_pct"])
    section.note = _missing(ws, "person_score")
    if section.note:
        return section
    previous = None
    for stage, _, reached, now_at in ws.fetchall(STAGE, "funnel", funnel_sql()):
        section.rows.append([stage, reached, now_at, None if previous is None else _rate(reached, previous)])
        previous = reached
    off = ws.fetchall(STAGE, "off funnel", "SELECT stage, count(*) FROM person_score WHERE stage IN ('Recycled', 'Silent') "
                                           "GROUP BY 1 ORDER BY 1")
    if off:
        section.note = "off the funnel: " + ", ".join(f"{s} {n}" for s, n in off)
    return section


# -- channels ----------------------------------------------------------------


def channel_sql(mql_stages: tuple[str, ...]) -> str:
    # A person's source channel is the channel of their first record (first touch).
    placeholders = ", ".join("?" for _ in mql_stages)
    return f"""
        WITH first_touch AS (
            SELECT pr.person_id, arg_min(r.channel, (coalesce(r.first_record_time, r.record_time, r.imported_at), r.record_id)) AS channel
            FROM person_record pr JOIN source_record r USING (record_id) GROUP BY pr.person_id)
        SELECT f.channel, count(*) AS leads,
               count(*) FILTER (WHERE s.stage IN ({placeholders})) AS mqls
        FROM first_touch f LEFT JOIN person_score s USING (person_id)
        GROUP BY f.channel ORDER BY leads DESC, f.channel"""


def read_spend(path: Path) -> dict[str, float]:
    """A CSV of channel,spend (header optional). Amounts in the currency they are written in."""
    if not path.exists():
        raise MissingInputError(str(path), "spend file not found", "Pass a CSV with columns channel,spend")
    spend: dict[str, float] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if not row or not row[0].strip() or (number == 1 and row[0].strip().lower() == "channel"):
                continue
            try:
                spend[row[0].strip()] = spend.get(row[0].strip(), 0.0) + float(row[1].replace(",", "").strip())
            except (IndexError, ValueError):
                raise InputFileError(str(path), f"line {number}: spend is not a number",
                                     "Write each line as channel,amount (e.g. event,120000)") from None
    return spend


def channel_section(ws: Workspace, spend: dict[str, float] | None) -> Section:
    section = Section("channels", "Leads by source channel",
                      ["channel", "leads", "mqls", "mql_rate_pct", "spend", "cost_per_lead", "cost_per_mql"])
    section.note = _missing(ws, "person_record", "source_record")
    if section.note:
        return section
    mql_stages = MQL_STAGES if _missing(ws, "person_score") is None else ()
    sql = channel_sql(mql_stages or ("-",))
    for channel, leads, mqls in ws.fetchall(STAGE, "channels", sql, list(mql_stages or ("-",))):
        money = None if spend is None else spend.get(channel)
        section.rows.append([channel, leads, mqls, _rate(mqls, leads), money,
                             None if money is None or not leads else round(money / leads, 2),
                             None if money is None or not mqls else round(money / mqls, 2)])
    if not mql_stages:
        section.note = "no scores yet: MQL counts are 0 until `mactl score` runs"
    return section


# -- scores ------------------------------------------------------------------


def grade_section(ws: Workspace) -> Section:
    section = Section("grades", "Score distribution by grade", ["grade", "people", "share_pct", "avg_total"])
    section.note = _missing(ws, "person_score")
    if section.note:
        return section
    rows = ws.fetchall(STAGE, "grades", "SELECT grade, count(*), round(avg(total), 1) FROM person_score GROUP BY 1 ORDER BY 1")
    total = sum(r[1] for r in rows)
    section.rows = [[g, n, _rate(n, total), avg] for g, n, avg in rows]
    return section


def histogram_section(ws: Workspace) -> Section:
    section = Section("score_histogram", "Score histogram (10-point bins)", ["bin", "people"])
    section.note = _missing(ws, "person_score")
    if section.note:
        return section
    rows = ws.fetchall(STAGE, "histogram", """
        SELECT (floor(total / 10) * 10)::INTEGER AS low, count(*) FROM person_score GROUP BY 1 ORDER BY 1""")
    section.rows = [[f"{low}-{low + 9}", n] for low, n in rows]
    return section


# -- merges ------------------------------------------------------------------


def merge_section(ws: Workspace) -> Section:
    section = Section("merge", "Merge statistics by channel",
                      ["channel", "records", "people", "duplicate_records"])
    section.note = _missing(ws, "person_record", "source_record", "person")
    if section.note:
        return section
    rows = ws.fetchall(STAGE, "merge by channel", """
        SELECT r.channel, count(*) AS records, count(DISTINCT pr.person_id) AS people
        FROM source_record r JOIN person_record pr USING (record_id) GROUP BY 1 ORDER BY 1""")
    section.rows = [[c, rec, ppl, rec - ppl] for c, rec, ppl in rows]
    records = ws.scalar(STAGE, "records", "SELECT count(*) FROM source_record")
    people = ws.scalar(STAGE, "people", "SELECT count(*) FROM person")
    section.rows.append(["(all)", records, people, records - people])
    if ws.table_exists("identity_review"):
        waiting = ws.scalar(STAGE, "review", "SELECT count(*) FROM identity_review WHERE status = 'open'")
        section.note = f"pairs awaiting review: {waiting}"
    return section


# -- segments and assignment -----------------------------------------------------


def segment_section(ws: Workspace, as_of: datetime | None) -> Section:
    section = Section("segments", "Segment sizes", ["segment", "members", "entered", "left"])
    section.note = _missing(ws, "segment_member")
    if section.note:
        return section
    sizes = dict(ws.fetchall(STAGE, "segments", "SELECT segment, count(*) FROM segment_member GROUP BY 1"))
    moves: dict[str, tuple[int, int]] = {}
    if ws.table_exists("segment_change"):
        columns = _columns(ws, "segment_change")
        if {"segment", "change"} <= columns:
            for seg, entered, left in ws.fetchall(STAGE, "segment moves", """
                    SELECT segment, count(*) FILTER (WHERE change = 'entered'), count(*) FILTER (WHERE change = 'left')
                    FROM segment_change GROUP BY 1"""):
                moves[seg] = (entered, left)
                sizes.setdefault(seg, 0)
    if not moves:
        section.note = "entered/left: no segment history table in this workspace yet"
    section.rows = [[seg, sizes[seg], *moves.get(seg, (None, None))] for seg in sorted(sizes)]
    return section


def assignment_section(ws: Workspace) -> Section:
    section = Section("assignment", "Assignment load per rep", ["rep", "assigned", "sla_breaches"])
    if not ws.table_exists("assignment"):
        section.note = "no data yet: table assignment does not exist in this workspace"
        return section
    columns = _columns(ws, "assignment")
    rep = next((c for c in ("rep", "rep_id", "owner") if c in columns), None)
    if rep is None:
        section.note = f"assignment table has no rep column ({', '.join(sorted(columns))})"
        return section
    breach = next((c for c in ("sla_breached", "breached") if c in columns), None)
    breaches = f"count(*) FILTER (WHERE {breach})" if breach else "NULL"
    section.rows = [list(r) for r in ws.fetchall(
        STAGE, "assignment", f'SELECT coalesce("{rep}", \'(no rep)\'), count(*), {breaches} FROM assignment GROUP BY 1 ORDER BY 1')]
    if breach is None:
        section.note = "SLA breaches: the assignment table has no breach column yet"
    return section


def _columns(ws: Workspace, table: str) -> set[str]:
    return {r[0] for r in ws.fetchall(STAGE, "columns", "SELECT column_name FROM information_schema.columns "
                                                         "WHERE table_name = ?", [table])}


def build_report(ws: Workspace, *, spend_path: str | Path | None = None, as_of: datetime | None = None) -> Report:
    from mactl.workspace import utc_now

    spend = read_spend(Path(spend_path)) if spend_path else None
    sections = [funnel_section(ws), channel_section(ws, spend), grade_section(ws), histogram_section(ws),
                merge_section(ws), segment_section(ws, as_of), assignment_section(ws)]
    return Report(utc_now(), as_of, sections)
