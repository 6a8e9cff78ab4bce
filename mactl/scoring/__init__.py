"""Scoring stage: fit and engagement scores with decay, grades and lifecycle stages, explainable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mactl.errors import NotFoundError, StageError
from mactl.progress import Progress, report
from mactl.scoring.model import FORWARD_STAGES, ScoringModel, load_model, model_from_json, model_hash, model_json
from mactl.scoring.sql import (
    engagement_columns_sql,
    explain_contributions_sql,
    fit_columns_sql,
    person_events_sql,
    person_totals_sql,
)
from mactl.workspace import Workspace, utc_now

__all__ = ["ScoreSummary", "ScoringModel", "explain", "load_model", "score"]
STAGE = "score"
# Activity that is the person's own doing (CRM updates and bounces are not).
PASSIVE_EVENTS = ("crm_update", "email_bounce")


@dataclass
class ScoreSummary:
    score_run_id: int
    as_of: datetime
    model_hash: str
    people: int
    by_grade: dict = field(default_factory=dict)
    by_stage: dict = field(default_factory=dict)
    went_up: int = 0
    went_down: int = 0
    new_mqls: int = 0
    transitions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"score_run_id": self.score_run_id, "as_of": self.as_of.isoformat(sep=" "), "model_hash": self.model_hash,
                "people": self.people, "by_grade": self.by_grade, "by_stage": self.by_stage,
                "went_up": self.went_up, "went_down": self.went_down, "new_mqls": self.new_mqls,
                "transitions": self.transitions}


def score(ws: Workspace, *, model_path: str | Path | None = None, as_of: datetime | None = None,
          progress: Progress | None = None) -> ScoreSummary:
    """Score every person as of a time (default now) with a model (default recipes/scoring.yaml)."""
    model = _model_for(model_path)
    as_of = (as_of or utc_now()).replace(tzinfo=None)
    digest = model_hash(model)
    # The work runs in temp tables before the transaction opens: DuckDB scans a table created inside an open
    # transaction with one thread, and a committed one with all. Only the writes to the workspace (stages,
    # history, scores, the run) are one transaction; inside a batch run's step, all of it is.
    ws.sql(STAGE, "as-of", "CREATE OR REPLACE TEMP TABLE as_of_param AS SELECT ?::TIMESTAMP AS as_of", [as_of])
    report(progress, "contributions", 0, 4)
    _person_keys(ws)
    with _unordered(ws):
        _contributions(ws, model, as_of)
        report(progress, "scores", 1, 4)
        _scores(ws, model, as_of)
    report(progress, "stages", 2, 4)
    _next_stages(ws, model, as_of)
    with ws.transaction():
        run_id = (ws.scalar(STAGE, "run id", "SELECT max(score_run_id) FROM score_run") or 0) + 1
        _record_stages(ws, run_id, as_of)
        report(progress, "history", 3, 4)
        people = _publish(ws, model, run_id, as_of, digest)
        max_event_id = ws.scalar(STAGE, "max event id", "SELECT max(event_id) FROM event")
        ws.sql(STAGE, "run", "INSERT INTO score_run VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [run_id, as_of, utc_now(), digest, str(model_path) if model_path else None, people, model_json(model),
                max_event_id])
        summary = _summary(ws, run_id, as_of, digest, people)
    report(progress, "history", 4, 4)
    # a batch run keeps the connection: millions of rule rows should not ride along to the next steps
    for table in _RUN_TABLES:
        ws.sql(STAGE, "drop temp", f"DROP TABLE IF EXISTS {table}")
    return summary


_RUN_TABLES = ("as_of_param", "person_key", "record_person", "fit_points", "engagement_points", "person_events", "scored",
               "stage_candidate", "stage_next")


def _model_for(model_path: str | Path | None) -> ScoringModel:
    """A run recipe without a scoring: section scores with the shipped default model."""
    if model_path is not None:
        from mactl.recipe import read_yaml

        data = read_yaml(model_path)
        if isinstance(data, dict) and "scoring" not in data and "run" in data:
            return load_model(None)
    return load_model(model_path)


def _person_keys(ws: Workspace) -> None:
    """Integer keys for people (their row ids: stable inside the run's transaction) and their records:
    the big joins and aggregations run on them, not on person ids."""
    ws.sql(STAGE, "person keys", """
        CREATE OR REPLACE TEMP TABLE person_key AS SELECT rowid AS person_key, person_id, last_seen FROM person""")
    ws.sql(STAGE, "record keys", """
        CREATE OR REPLACE TEMP TABLE record_person AS
        SELECT pr.record_id, k.person_key FROM person_record pr JOIN person_key k ON k.person_id = pr.person_id""")


@contextmanager
def _unordered(ws: Workspace) -> Iterator[None]:
    """Statements that only fill temp tables read later by joins and aggregates: their row order is
    never used, so DuckDB need not keep it (and writes them in parallel)."""
    previous = ws.scalar(STAGE, "insertion order", "SELECT current_setting('preserve_insertion_order')")
    ws.sql(STAGE, "insertion order", "SET preserve_insertion_order = false")
    try:
        yield
    finally:
        try:
            ws.sql(STAGE, "insertion order", f"SET preserve_insertion_order = {'true' if previous else 'false'}")
        except StageError:  # a failure inside a batch run's transaction: it refuses SET, and the run ends there
            pass


def _contributions(ws: Workspace, model: ScoringModel, as_of: datetime) -> None:
    """Per person, a column of points per rule: fit rules (one read of the people), engagement rules after caps
    (one scan of the events); per person: last activity and CRM feedback (one more scan). Temporary: explain
    recomputes one person's contributions row by row."""
    params: list = []
    ws.sql(STAGE, "fit points", f"CREATE OR REPLACE TEMP TABLE fit_points AS {fit_columns_sql(model, params)}", params)
    params = []
    ws.sql(STAGE, "engagement points",
           f"CREATE OR REPLACE TEMP TABLE engagement_points AS {engagement_columns_sql(model, params, as_of)}", params)
    params = []
    ws.sql(STAGE, "person events", f"CREATE OR REPLACE TEMP TABLE person_events AS {person_events_sql(model, params, as_of, PASSIVE_EVENTS)}",
           params)


def _grade_case(model: ScoringModel, params: list) -> str:
    cases = []
    for grade in model.grades:
        params.extend([grade.min_fit, grade.grade])
        cases.append("WHEN s.fit >= ? THEN ?")
    params.append(model.lowest_grade)
    return f"CASE {' '.join(cases)} ELSE ? END"


def _scores(ws: Workspace, model: ScoringModel, as_of: datetime) -> None:
    """Per person fit, engagement (optionally capped as a whole), total, grade, last activity, top reasons."""
    params: list = []
    cap = model.engagement.max_points
    engagement = "least(c.engagement, ?)" if cap else "c.engagement"
    if cap:
        params.append(cap)
    # step resets: at most the lowest at_most of the resets whose days without activity have passed
    resets = model.engagement.resets
    reset_params: list = []
    for reset in resets:
        reset_params += [as_of, reset.after_days, reset.at_most]
    reset_limits = "".join(", CASE WHEN date_diff('day', s0.last_activity_at, ?::TIMESTAMP) >= ? THEN ?::DOUBLE END"
                           for _ in resets)
    totals_params: list = []
    totals = person_totals_sql(model, totals_params, """
        SELECT k.*, f.* EXCLUDE (person_key), g.* EXCLUDE (person_key) FROM person_key k
        LEFT JOIN fit_points f ON f.person_key = k.person_key LEFT JOIN engagement_points g ON g.person_key = k.person_key""",
                               ["person_key", "person_id", "last_seen"])
    grade_params: list = []
    grade = _grade_case(model, grade_params)
    ws.sql(STAGE, "scores", f"""
        CREATE OR REPLACE TEMP TABLE scored AS
        WITH s0 AS (
            SELECT c.person_key, c.person_id, round(c.fit, 2) AS fit, {engagement} AS engagement,
                   c.top_reasons, coalesce(pe.last_activity_at, least(c.last_seen, ?::TIMESTAMP)) AS last_activity_at
            FROM ({totals}) c LEFT JOIN person_events pe ON pe.person_key = c.person_key),
        s AS (
            SELECT s0.person_key, s0.person_id, s0.fit, round(least(s0.engagement{reset_limits}), 2) AS engagement,
                   s0.top_reasons, s0.last_activity_at
            FROM s0)
        SELECT s.*, round(s.fit + s.engagement, 2) AS total, {grade} AS grade FROM s""",
           [*params, as_of, *totals_params, *reset_params, *grade_params])


def _stage_rank_case(column: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for rank, stage in enumerate(FORWARD_STAGES, start=1))
    return f"CASE {column} {whens} ELSE 0 END"


def _next_stages(ws: Workspace, model: ScoringModel, as_of: datetime) -> None:
    """stage_next: candidate stage in SQL; forward-only except Recycled; Silent on top of the base stage."""
    mql = model.stages.mql
    grades = model.grade_names()
    ok_grades = grades[: grades.index(mql.min_grade) + 1] if mql.min_grade else grades
    bant = "false"
    bant_params: list = []
    if mql.bant_fields:
        bant = " AND ".join("nullif(trim(json_extract_string(sr.attributes, ?)), '') IS NOT NULL" for _ in mql.bant_fields)
        bant_params = ["$." + f for f in mql.bant_fields]
        bant = (f"s.person_id IN (SELECT pr.person_id FROM person_record pr JOIN source_record sr "
                f"ON sr.record_id = pr.record_id GROUP BY pr.person_id HAVING bool_or({bant}))")
    silent = sorted(model.stages.silent_days, reverse=True)
    silent_case = " ".join("WHEN c.idle_days >= ? THEN ?" for _ in silent)
    silent_params = [x for d in silent for x in (d, d)]
    ws.sql(STAGE, "candidate stages", f"""
        CREATE OR REPLACE TEMP TABLE stage_candidate AS
        WITH s AS (
            SELECT sc.*, crm.forward_stage, crm.forward_at, crm.recycled_at, crm.recycled_reason,
                   date_diff('day', sc.last_activity_at, a.as_of) AS idle_days,
                   (sc.total >= ? AND sc.grade IN ({', '.join('?' for _ in ok_grades)})) AS score_qualifies
            FROM scored sc CROSS JOIN as_of_param a LEFT JOIN person_events crm ON crm.person_key = sc.person_key),
        c AS (
            SELECT s.*, (s.score_qualifies OR {bant}) AS mql_qualifies,
                   (s.recycled_at IS NOT NULL AND (s.forward_at IS NULL OR s.recycled_at > s.forward_at)) AS is_recycled
            FROM s)
        SELECT c.person_key, c.person_id, c.fit, c.engagement, c.total, c.grade, c.top_reasons, c.last_activity_at,
               c.is_recycled, c.recycled_reason, c.forward_stage, c.mql_qualifies,
               CASE WHEN c.is_recycled AND c.mql_qualifies AND c.last_activity_at > c.recycled_at THEN 'MQL'
                    WHEN c.is_recycled THEN 'Recycled'
                    WHEN {_stage_rank_case('c.forward_stage')} > 1 AND {_stage_rank_case('c.forward_stage')} > (CASE WHEN c.mql_qualifies THEN 2 ELSE 1 END) THEN c.forward_stage
                    WHEN c.mql_qualifies THEN 'MQL' ELSE 'MIL' END AS candidate,
               CASE {silent_case} END AS silent_days
        FROM c""", [mql.min_total, *ok_grades, *bant_params, *silent_params])
    ws.sql(STAGE, "next stages", f"""
        CREATE OR REPLACE TEMP TABLE stage_next AS
        WITH j AS (
            SELECT c.*, ps.base_stage AS prev_base, ps.stage AS prev_stage, ps.silent_days AS prev_silent
            FROM stage_candidate c LEFT JOIN person_stage ps ON ps.person_id = c.person_id),
        b AS (
            SELECT j.*,
                   CASE WHEN j.candidate = 'Recycled' THEN 'Recycled'
                        WHEN j.prev_base IS NULL OR j.prev_base = 'Recycled' THEN j.candidate
                        WHEN {_stage_rank_case('j.prev_base')} >= {_stage_rank_case('j.candidate')} THEN j.prev_base
                        ELSE j.candidate END AS base_stage
            FROM j)
        SELECT b.*,
               CASE WHEN b.silent_days IS NOT NULL AND b.base_stage IN ('MIL', 'MQL', 'Recycled') THEN 'Silent' ELSE b.base_stage END AS stage,
               CASE WHEN b.base_stage IN ('MIL', 'MQL', 'Recycled') THEN b.silent_days END AS new_silent
        FROM b""")


def _record_stages(ws: Workspace, run_id: int, as_of: datetime) -> None:
    """Transitions stored with from, to, when and why; person_stage updated where something changed."""
    ws.sql(STAGE, "stage history", """
        INSERT INTO stage_history
        SELECT person_id, prev_stage, stage, new_silent, ?, ?,
               CASE WHEN stage = 'Silent' THEN printf('no activity for %d days', new_silent)
                    WHEN stage = 'Recycled' THEN 'returned by sales: ' || coalesce(recycled_reason, 'no reason given')
                    WHEN prev_stage = 'Silent' THEN 'active again'
                    WHEN stage = 'MQL' AND (forward_stage IS NULL OR forward_stage = 'MQL') THEN 'met the MQL criteria'
                    WHEN stage IN ('SAL', 'SQL', 'Opportunity', 'Customer') THEN 'CRM stage ' || stage
                    WHEN prev_stage IS NULL THEN 'identified (contact data)'
                    ELSE 'stage ' || stage END
        FROM stage_next
        WHERE prev_stage IS DISTINCT FROM stage OR prev_silent IS DISTINCT FROM new_silent""", [as_of, run_id])
    ws.sql(STAGE, "stage state", """
        DELETE FROM person_stage WHERE person_id IN (
            SELECT person_id FROM stage_next WHERE prev_stage IS DISTINCT FROM stage
               OR prev_silent IS DISTINCT FROM new_silent OR prev_base IS DISTINCT FROM base_stage)""")
    ws.sql(STAGE, "stage state insert", """
        INSERT INTO person_stage SELECT person_id, base_stage, stage, new_silent, ?
        FROM stage_next WHERE prev_stage IS DISTINCT FROM stage
               OR prev_silent IS DISTINCT FROM new_silent OR prev_base IS DISTINCT FROM base_stage""", [as_of])


def _temperature_sql(model: ScoringModel, params: list, as_of: datetime) -> str:
    """Hot: engaged enough and active in the last days; warm: active within the warm window; else cold.
    An expression over a row n of stage_next (engagement, last_activity_at)."""
    t = model.temperature
    params.extend([t.hot_min_engagement, as_of, t.hot_within_days, as_of, t.warm_within_days])
    idle = "(epoch(?::TIMESTAMP) - epoch(n.last_activity_at)) / 86400.0"
    return f"CASE WHEN n.engagement >= ? AND {idle} <= ? THEN 'hot' WHEN {idle} <= ? THEN 'warm' ELSE 'cold' END"


def _publish(ws: Workspace, model: ScoringModel, run_id: int, as_of: datetime, digest: str) -> int:
    """History and person_score from stage_next alone (it carries the scores): plain scans, no joins."""
    ws.sql(STAGE, "history", """
        INSERT INTO score_history SELECT ?, n.person_id, n.fit, n.engagement, n.total, n.grade, n.stage
        FROM stage_next n""", [run_id])
    ws.sql(STAGE, "clear person_score", "DELETE FROM person_score")
    params: list = []
    temperature = _temperature_sql(model, params, as_of)
    ws.sql(STAGE, "person_score", f"""
        INSERT INTO person_score
        SELECT n.person_id, n.fit, n.engagement, n.total, n.grade, n.stage, {temperature}, n.top_reasons,
               n.last_activity_at, ?, ?, ?, ?
        FROM stage_next n""", [*params, as_of, utc_now(), digest, run_id])
    return ws.scalar(STAGE, "count", "SELECT count(*) FROM person_score")


def _summary(ws: Workspace, run_id: int, as_of: datetime, digest: str, people: int) -> ScoreSummary:
    by_grade = dict(ws.fetchall(STAGE, "by grade", "SELECT grade, count(*) FROM person_score GROUP BY 1 ORDER BY 1"))
    by_stage = dict(ws.fetchall(STAGE, "by stage", "SELECT stage, count(*) FROM person_score GROUP BY 1 ORDER BY 1"))
    up, down, new_mqls = ws.fetchone(STAGE, "changes", """
        SELECT count(*) FILTER (WHERE c.total > p.total), count(*) FILTER (WHERE c.total < p.total),
               count(*) FILTER (WHERE c.stage = 'MQL' AND p.stage IS DISTINCT FROM 'MQL')
        FROM score_history c LEFT JOIN score_history p ON p.person_id = c.person_id AND p.score_run_id = ?
        WHERE c.score_run_id = ?""", [run_id - 1, run_id])
    transitions = {f"{f or '(new)'} -> {t}": n for f, t, n in ws.fetchall(STAGE, "transitions", """
        SELECT from_stage, to_stage, count(*) FROM stage_history WHERE score_run_id = ? GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2""",
        [run_id])}
    return ScoreSummary(run_id, as_of, digest, people, by_grade, by_stage, up, down, new_mqls, transitions)


def explain(ws: Workspace, person_id: str) -> dict:
    """Every contribution of the latest run for one person, with rule, event, raw points, decay and points."""
    row = ws.fetchone(STAGE, "explain score", """
        SELECT person_id, fit, engagement, total, grade, stage, temperature, top_reasons, last_activity_at, as_of, model_hash,
               score_run_id
        FROM person_score WHERE person_id = ?""", [person_id])
    if row is None:
        raise NotFoundError(f"person {person_id} has no score; run 'mactl score' first (or check the id with 'mactl status')")
    keys = ("person_id", "fit", "engagement", "total", "grade", "stage", "temperature", "top_reasons",
            "last_activity_at", "as_of", "model_hash")
    result = dict(zip(keys, row))
    # Recomputed for this one person from the run's own model and as-of, with the same SQL as the run.
    model, max_event_id = _run_replay(ws, row[-1])
    params: list = []
    contributions = explain_contributions_sql(model, params, result["as_of"], person_id, max_event_id)
    rows = ws.fetchall(STAGE, "explain contributions", f"""
        SELECT factor, rule_id, label, event_id, occurred_at, raw_points, round(decay, 6), channel_weight, round(points, 2)
        FROM ({contributions}) ORDER BY factor DESC, abs(points) DESC, rule_id, event_id""", params)
    result["contributions"] = [dict(zip(("factor", "rule_id", "label", "event_id", "occurred_at", "raw_points", "decay",
                                         "channel_weight", "points"), r)) for r in rows]
    result["contributions"] += _limit_rows(model, result["contributions"], result["as_of"], result["last_activity_at"])
    result["history"] = [dict(zip(("score_run_id", "as_of", "total", "grade", "stage"), r)) for r in ws.fetchall(
        STAGE, "explain history", """SELECT h.score_run_id, r.as_of, h.total, h.grade, h.stage FROM score_history h
        JOIN score_run r ON r.score_run_id = h.score_run_id WHERE h.person_id = ? ORDER BY h.score_run_id""", [person_id])]
    result["stages"] = [dict(zip(("from_stage", "to_stage", "silent_days", "changed_at", "reason"), r)) for r in ws.fetchall(
        STAGE, "explain stages", """SELECT from_stage, to_stage, silent_days, changed_at, reason FROM stage_history
        WHERE person_id = ? ORDER BY changed_at, score_run_id""", [person_id])]
    return result


def _limit_rows(model: ScoringModel, contributions: list[dict], as_of: datetime, last_activity_at: datetime | None) -> list[dict]:
    """Negative rows for the limits on the whole engagement score (max_points, then step resets), so an
    explanation still adds up to the score."""
    engagement = sum(r["points"] for r in contributions if r["factor"] == "engagement")
    limits = []
    if model.engagement.max_points is not None:
        limits.append(("engagement_cap", f"engagement cap ({model.engagement.max_points:g})", model.engagement.max_points))
    idle = (as_of.date() - last_activity_at.date()).days if last_activity_at else 0
    passed = [r for r in model.engagement.resets if idle >= r.after_days]
    if passed:
        reset = min(passed, key=lambda r: (r.at_most, -r.after_days))
        limits.append(("reset", f"reset: {idle} days without activity (at most {reset.at_most:g} after {reset.after_days})",
                       reset.at_most))
    rows = []
    for rule_id, label, limit in limits:
        if engagement > limit:
            rows.append({"factor": "engagement", "rule_id": rule_id, "label": label, "event_id": None, "occurred_at": None,
                         "raw_points": 0.0, "decay": 1.0, "channel_weight": 1.0, "points": round(limit - engagement, 2)})
            engagement = limit
    return rows


def _run_replay(ws: Workspace, run_id: int) -> tuple[ScoringModel, int | None]:
    """The model a run scored with and the newest event it saw, to recompute one person's contributions."""
    stored = None
    if ws.schema_versions().get("scoring", 0) >= 2:
        stored = ws.fetchone(STAGE, "explain run", "SELECT model_json, max_event_id FROM score_run WHERE score_run_id = ?",
                             [run_id])
    if stored is None or stored[0] is None:
        raise NotFoundError(f"score run {run_id} was made by an older mactl that did not keep its model; "
                            "run 'mactl score' again to explain scores")
    return model_from_json(stored[0]), stored[1]
