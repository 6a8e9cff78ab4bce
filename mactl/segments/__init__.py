"""Segments stage: dynamic groups from nested all/any/not conditions, with entered/left history."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mactl.conditions import (
    ConditionError,
    compile_condition,
    last_activity_sql,
    referenced_segments,
    uses_no_activity_days,
)
from mactl.errors import NotFoundError, RecipeError
from mactl.progress import Progress, report
from mactl.recipe import read_yaml
from mactl.workspace import Workspace, utc_now

STAGE = "segments"
DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "segments.yaml"
BUILD_TABLE = "segment_build_members"
LAST_ACTIVITY_TABLE = "_segment_last_activity"  # each person's latest event, made once per build


@dataclass
class SegmentDefinition:
    name: str
    where: Any
    description: str = ""


@dataclass
class SegmentResult:
    segment: str
    size: int
    entered: int
    left: int


@dataclass
class SegmentBuildSummary:
    build_id: int
    as_of: datetime
    segments: list[SegmentResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"build_id": self.build_id, "as_of": self.as_of.isoformat(sep=" "),
                "segments": [asdict(s) for s in self.segments]}


def load_definitions(path: str | Path | None) -> list[SegmentDefinition]:
    """Read the ``segments:`` list of a recipe; every problem is reported with its path."""
    path = Path(path) if path else DEFAULT_RECIPE
    data = read_yaml(path)
    if isinstance(data, dict) and "segments" not in data and path != DEFAULT_RECIPE:
        # a run recipe without its own segments: section uses the shipped groups
        path, data = DEFAULT_RECIPE, read_yaml(DEFAULT_RECIPE)
    items = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RecipeError(str(path), ["segments: expected a list of groups (name, where)"])
    problems: list[str] = []
    definitions: list[SegmentDefinition] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        where = f"segments[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item.get("name"):
            problems.append(f"{where}.name: every group needs a name")
            continue
        extra = sorted(set(item) - {"name", "where", "description"})
        if extra:
            problems.append(f"{where}.{extra[0]}: unknown key (group {item['name']!r}); use name, description, where")
        if item["name"] in names:
            problems.append(f"{where}.name: group {item['name']!r} is defined twice")
        names.add(item["name"])
        try:
            compile_condition(item.get("where"), utc_now(), path=f"{where}.where")
        except ConditionError as exc:
            problems.append(f"{exc.path}: {exc.message} (group {item['name']!r})")
            continue
        definitions.append(SegmentDefinition(item["name"], item["where"], str(item.get("description") or "")))
    for definition in definitions:
        for ref in sorted(referenced_segments(definition.where) - names):
            problems.append(f"group {definition.name!r}: in_segment {ref!r} is not defined in this recipe")
    if problems:
        raise RecipeError(str(path), problems)
    return definitions


def build_order(definitions: list[SegmentDefinition]) -> list[SegmentDefinition]:
    """Groups that read other groups come after them; a cycle is an error."""
    by_name = {d.name: d for d in definitions}
    ordered: list[SegmentDefinition] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise RecipeError("segments", [f"groups refer to each other in a cycle: {' -> '.join([*chain, name])}"])
        state[name] = "visiting"
        for ref in sorted(referenced_segments(by_name[name].where)):
            if ref in by_name:
                visit(ref, [*chain, name])
        state[name] = "done"
        ordered.append(by_name[name])

    for definition in definitions:
        visit(definition.name, [])
    return ordered


def membership_sql(where_sql: str) -> str:
    return ("SELECT p.person_id FROM person p LEFT JOIN person_score s ON s.person_id = p.person_id "
            f"WHERE COALESCE({where_sql}, FALSE)")


def build_segments(ws: Workspace, *, recipe_path: str | Path | None = None, names: list[str] | None = None,
                   as_of: datetime | None = None, progress: Progress | None = None) -> SegmentBuildSummary:
    """Rebuild group membership; record who entered and who left."""
    definitions = build_order(load_definitions(recipe_path))
    if names:
        unknown = sorted(set(names) - {d.name for d in definitions})
        if unknown:
            raise NotFoundError(f"no group named {', '.join(unknown)} in the recipe; see `mactl segment list`")
    as_of = as_of or utc_now()
    now = utc_now()
    selected = [d for d in definitions if not names or d.name in names]
    last_activity = any(uses_no_activity_days(d.where) for d in selected)
    caller_transaction, failed = ws.in_transaction, True
    try:
        if last_activity:  # before the transaction: DuckDB scans a table made inside one with one thread
            ws.sql(STAGE, "last activity", last_activity_sql(LAST_ACTIVITY_TABLE))
        with ws.transaction():
            build_id = (ws.scalar(STAGE, "next build", "SELECT max(build_id) FROM segment_build") or 0) + 1
            summary = SegmentBuildSummary(build_id, as_of)
            ws.sql(STAGE, "scratch", f"CREATE OR REPLACE TEMP TABLE {BUILD_TABLE} AS "
                                     "SELECT segment, person_id FROM segment_member")
            for done, definition in enumerate(selected):
                summary.segments.append(_build_one(ws, definition, as_of, now, build_id,
                                                   LAST_ACTIVITY_TABLE if last_activity else None))
                report(progress, "segments", done + 1, len(selected))
            ws.sql(STAGE, "drop scratch", f"DROP TABLE {BUILD_TABLE}")
        failed = False
    finally:
        # a caller's failed transaction refuses statements until its rollback, which drops the table
        if last_activity and not (failed and caller_transaction):
            ws.drop_temp(STAGE, LAST_ACTIVITY_TABLE)
    return summary


def _build_one(ws: Workspace, definition: SegmentDefinition, as_of: datetime, now: datetime,
               build_id: int, last_activity_table: str | None) -> SegmentResult:
    compiled = compile_condition(definition.where, as_of, segment_table=BUILD_TABLE,
                                 last_activity_table=last_activity_table)
    name = definition.name
    ws.sql(STAGE, f"{name}: members", f"CREATE OR REPLACE TEMP TABLE segment_new AS {membership_sql(compiled.sql)}",
           compiled.params)
    # this group's moves go to a small scratch table first, so the growing history is only appended to
    ws.sql(STAGE, f"{name}: moves", """
        CREATE OR REPLACE TEMP TABLE segment_moves AS
        SELECT person_id, 'entered' AS change FROM
            (SELECT person_id FROM segment_new EXCEPT SELECT person_id FROM segment_member WHERE segment = ?)
        UNION ALL
        SELECT person_id, 'left' FROM
            (SELECT person_id FROM segment_member WHERE segment = ? EXCEPT SELECT person_id FROM segment_new)""",
           [name, name])
    ws.sql(STAGE, f"{name}: history", "INSERT INTO segment_change SELECT ?, person_id, change, ?, ? FROM segment_moves",
           [name, now, build_id])
    ws.sql(STAGE, f"{name}: drop left", """
        DELETE FROM segment_member WHERE segment = ? AND person_id IN
        (SELECT person_id FROM segment_moves WHERE change = 'left')""", [name])
    ws.sql(STAGE, f"{name}: add entered", """
        INSERT INTO segment_member SELECT ?, person_id, ? FROM segment_moves WHERE change = 'entered'""", [name, now])
    ws.sql(STAGE, f"{name}: scratch", f"DELETE FROM {BUILD_TABLE} WHERE segment = ?", [name])
    ws.sql(STAGE, f"{name}: scratch", f"INSERT INTO {BUILD_TABLE} SELECT ?, person_id FROM segment_new", [name])
    size, entered, left = ws.fetchone(STAGE, f"{name}: counts", """
        SELECT (SELECT count(*) FROM segment_new),
               count(*) FILTER (WHERE change = 'entered'), count(*) FILTER (WHERE change = 'left')
        FROM segment_moves""")
    ws.sql(STAGE, f"{name}: record build", "INSERT INTO segment_build VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
           [build_id, name, json.dumps(definition.where, ensure_ascii=False, default=str), as_of, now,
            size, entered, left])
    return SegmentResult(name, size, entered, left)


def list_segments(ws: Workspace) -> list[dict]:
    """Every built group with its current size and the moves of its last build."""
    rows = ws.fetchall(STAGE, "list", """
        SELECT b.segment, (SELECT count(*) FROM segment_member m WHERE m.segment = b.segment),
               b.entered, b."left", b.built_at
        FROM segment_build b
        WHERE b.build_id = (SELECT max(build_id) FROM segment_build x WHERE x.segment = b.segment)
        ORDER BY b.segment""")
    return [dict(zip(("segment", "size", "entered", "left", "built_at"), r)) for r in rows]


def show_segment(ws: Workspace, name: str, *, sample: int = 10) -> dict:
    """Size, who entered and left in the last build, and a sample of members."""
    last = ws.fetchone(STAGE, "show", "SELECT max(build_id) FROM segment_build WHERE segment = ?", [name])
    if not last or last[0] is None:
        raise NotFoundError(f"group {name!r} has not been built; run `mactl segment build {name}`")
    build_id = last[0]
    moves = {change: [r[0] for r in ws.fetchall(STAGE, "show moves", """
        SELECT person_id FROM segment_change WHERE segment = ? AND build_id = ? AND change = ?
        ORDER BY person_id""", [name, build_id, change])] for change in ("entered", "left")}
    members = ws.fetchall(STAGE, "show sample", """
        SELECT m.person_id, p.name, p.company, s.grade, s.total, m.entered_at FROM segment_member m
        LEFT JOIN person p USING (person_id) LEFT JOIN person_score s USING (person_id)
        WHERE m.segment = ? ORDER BY m.person_id LIMIT ?""", [name, sample])
    size = ws.scalar(STAGE, "show size", "SELECT count(*) FROM segment_member WHERE segment = ?", [name])
    return {"segment": name, "size": size, "build_id": build_id,
            "entered": moves["entered"], "left": moves["left"],
            "sample": [dict(zip(("person_id", "name", "company", "grade", "total", "entered_at"), r))
                       for r in members]}


def preview(ws: Workspace, definition_path: str | Path, *, as_of: datetime | None = None,
            sample: int = 10) -> list[dict]:
    """Evaluate the groups of a file against current data without storing anything."""
    definitions = load_definitions(definition_path)
    as_of = as_of or utc_now()
    results = []
    for definition in definitions:
        compiled = compile_condition(definition.where, as_of)
        sql = membership_sql(compiled.sql)
        size = ws.scalar(STAGE, f"preview {definition.name}", f"SELECT count(*) FROM ({sql})", compiled.params)
        ids = [r[0] for r in ws.fetchall(STAGE, f"preview {definition.name}",
                                         f"SELECT person_id FROM ({sql}) ORDER BY person_id LIMIT ?",
                                         [*compiled.params, sample])]
        results.append({"segment": definition.name, "size": size, "sample": ids})
    return results
