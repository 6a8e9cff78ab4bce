"""Assignment stage: route leads to reps by rules, round robin / weighted / least loaded, with SLA recycling."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from mactl.assignment.rules import AssignmentRecipe, Team, load_recipe
from mactl.conditions import compile_condition
from mactl.progress import Progress, report
from mactl.workspace import Workspace, utc_now

STAGE = "assign"


@dataclass
class AssignSummary:
    as_of: datetime
    feedback: dict[str, int] = field(default_factory=dict)
    recycled: int = 0
    assigned: int = 0
    sticky: int = 0
    unassigned: int = 0                     # no rule matched or every rep was at capacity
    by_rep: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat(sep=" ")
        return data


@dataclass
class Lead:
    person_id: str
    sticky_owner: str | None = None
    sticky_kind: str | None = None
    team: str | None = None                 # forced team when recycling
    rule: str | None = None
    exclude: set[str] = field(default_factory=set)


def assign(ws: Workspace, *, recipe_path: str | Path | None = None, as_of: datetime | None = None,
           progress: Progress | None = None) -> AssignSummary:
    """Apply CRM feedback, recycle leads past their SLA, then assign new leads."""
    recipe = load_recipe(recipe_path)
    as_of = as_of or utc_now()
    summary = AssignSummary(as_of)
    with ws.transaction():
        summary.feedback = apply_feedback(ws, recipe, as_of)
        recycled = recycle_overdue(ws, as_of)
        summary.recycled = len(recycled)
        leads = recycled + new_leads(ws, recipe, as_of)
        _route(ws, recipe, leads, as_of, summary, progress)
    return summary


def apply_feedback(ws: Workspace, recipe: AssignmentRecipe, as_of: datetime) -> dict[str, int]:
    """The latest CRM update after the assignment decides accepted / rejected (back to nurture) / qualified."""
    counts = {}
    for status, values in (("accepted", recipe.feedback.accepted), ("rejected", recipe.feedback.rejected),
                           ("qualified", recipe.feedback.qualified)):
        counts[status] = 0
        if not values:
            continue
        ws.sql(STAGE, f"feedback {status}", f"""
            CREATE OR REPLACE TEMP TABLE feedback_hit AS
            WITH latest AS (
                SELECT a.person_id, e.crm_stage, e.detail, e.occurred_at,
                       row_number() OVER (PARTITION BY a.person_id ORDER BY e.occurred_at DESC, e.event_id DESC) AS n
                FROM assignment a JOIN person_record pr ON pr.person_id = a.person_id
                JOIN event e ON e.record_id = pr.record_id
                WHERE e.event_type = 'crm_update' AND e.crm_stage IS NOT NULL
                  AND e.occurred_at >= a.assigned_at AND e.occurred_at <= ?
                  AND a.status IN ('assigned', 'accepted'))
            SELECT person_id, detail, occurred_at FROM latest
            WHERE n = 1 AND crm_stage IN ({', '.join('?' * len(values))})""", [as_of, *values])
        ws.sql(STAGE, f"feedback {status} history", """
            INSERT INTO assignment_history SELECT a.person_id, ?, a.rep, a.team, a.rule, f.occurred_at, f.detail
            FROM assignment a JOIN feedback_hit f USING (person_id) WHERE a.status <> ?""", [status, status])
        counts[status] = ws.scalar(STAGE, "count", """SELECT count(*) FROM assignment a JOIN feedback_hit f
            USING (person_id) WHERE a.status <> ?""", [status])
        reason = "CASE WHEN ? = 'rejected' THEN 'back to nurture: ' || COALESCE(f.detail, 'no reason given') ELSE a.reason END"
        ws.sql(STAGE, f"feedback {status} update", f"""
            UPDATE assignment a SET status = ?, reason = {reason}, updated_at = ?
            FROM feedback_hit f WHERE f.person_id = a.person_id AND a.status <> ?""", [status, status, as_of, status])
    return counts


def recycle_overdue(ws: Workspace, as_of: datetime) -> list[Lead]:
    """Leads not accepted by their due time go to the next rep of the same team (never back to a rep who had them)."""
    rows = ws.fetchall(STAGE, "overdue", """
        SELECT a.person_id, a.team, a.rep,
               (SELECT list(DISTINCT h.rep) FROM assignment_history h WHERE h.person_id = a.person_id AND h.rep IS NOT NULL)
        FROM assignment a WHERE a.status = 'assigned' AND a.due_accept_by < ? ORDER BY a.person_id""", [as_of])
    ws.sql(STAGE, "recycle history", """
        INSERT INTO assignment_history SELECT person_id, 'recycled', rep, team, rule, ?,
               'not accepted by ' || strftime(due_accept_by, '%Y-%m-%d %H:%M') || ' UTC'
        FROM assignment WHERE status = 'assigned' AND due_accept_by < ?""", [as_of, as_of])
    ws.sql(STAGE, "recycle", """
        UPDATE assignment SET status = 'recycled', sla_breached = TRUE, updated_at = ?,
               reason = 'not accepted in time by ' || rep
        WHERE status = 'assigned' AND due_accept_by < ?""", [as_of, as_of])
    return [Lead(pid, team=team, rule="recycle", exclude=set(had or [rep])) for pid, team, rep, had in rows]


def new_leads(ws: Workspace, recipe: AssignmentRecipe, as_of: datetime) -> list[Lead]:
    """People matching ``select`` (default: MQLs) never assigned before, best score first."""
    compiled = compile_condition(recipe.select, as_of)
    rows = ws.fetchall(STAGE, "new leads", f"""
        SELECT p.person_id, NULLIF(trim(p.crm_owner), ''),
               (SELECT min(COALESCE(NULLIF(trim(o.crm_owner), ''), a.rep)) FROM person o
                LEFT JOIN assignment a ON a.person_id = o.person_id AND a.status IN ('assigned', 'accepted', 'qualified')
                WHERE o.company = p.company AND o.person_id <> p.person_id AND NULLIF(trim(p.company), '') IS NOT NULL
                  AND COALESCE(NULLIF(trim(o.crm_owner), ''), a.rep) IS NOT NULL)
        FROM person p LEFT JOIN person_score s ON s.person_id = p.person_id
        WHERE COALESCE({compiled.sql}, FALSE)
          AND NOT EXISTS (SELECT 1 FROM assignment x WHERE x.person_id = p.person_id)
        ORDER BY s.total DESC NULLS LAST, p.person_id""", compiled.params)
    leads = []
    for person_id, owner, company_owner in rows:
        lead = Lead(person_id)
        if recipe.sticky and (owner or company_owner):
            lead.sticky_owner, lead.sticky_kind = (owner, "sticky:crm_owner") if owner else (company_owner, "sticky:company")
        leads.append(lead)
    return leads


def matching_rules(ws: Workspace, recipe: AssignmentRecipe, leads: list[Lead], as_of: datetime) -> dict[str, int]:
    """Index of the first rule each lead matches (SQL per rule over this run's leads only)."""
    ws.sql(STAGE, "leads", "CREATE OR REPLACE TEMP TABLE assign_lead (person_id VARCHAR)")
    if leads:
        ws.con.executemany("INSERT INTO assign_lead VALUES (?)", [[lead.person_id] for lead in leads])
    first: dict[str, int] = {}
    for index, rule in enumerate(recipe.rules):
        compiled = compile_condition(rule.when if rule.when is not None else {"all": [{"field": "person_id", "op": "not_empty"}]}, as_of)
        for (person_id,) in ws.fetchall(STAGE, f"rule {rule.name}", f"""
                SELECT p.person_id FROM assign_lead l JOIN person p USING (person_id)
                LEFT JOIN person_score s ON s.person_id = p.person_id WHERE COALESCE({compiled.sql}, FALSE)""",
                                        compiled.params):
            first.setdefault(person_id, index)
    return first


class RepBook:
    """Per-rep counters for this run: last assignment order, today's and this week's counts, open load, total."""

    def __init__(self, ws: Workspace, as_of: datetime):
        self.as_of = as_of
        day = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
        week = day - timedelta(days=day.weekday())
        self.sequence = ws.scalar(STAGE, "seq", "SELECT max(last_sequence) FROM rep_state") or 0
        self.last = dict(ws.fetchall(STAGE, "rep state", "SELECT rep, last_sequence FROM rep_state"))
        self.today = dict(ws.fetchall(STAGE, "today", """SELECT rep, count(*) FROM assignment_history
            WHERE action = 'assigned' AND happened_at >= ? AND happened_at <= ? GROUP BY rep""", [day, as_of]))
        self.week = dict(ws.fetchall(STAGE, "week", """SELECT rep, count(*) FROM assignment_history
            WHERE action = 'assigned' AND happened_at >= ? AND happened_at <= ? GROUP BY rep""", [week, as_of]))
        self.total = dict(ws.fetchall(STAGE, "total", """SELECT rep, count(*) FROM assignment_history
            WHERE action = 'assigned' GROUP BY rep"""))
        self.open = dict(ws.fetchall(STAGE, "open", """SELECT rep, count(*) FROM assignment
            WHERE status IN ('assigned', 'accepted') GROUP BY rep"""))

    def has_capacity(self, rep) -> bool:
        return ((rep.daily_capacity is None or self.today.get(rep.name, 0) < rep.daily_capacity)
                and (rep.weekly_capacity is None or self.week.get(rep.name, 0) < rep.weekly_capacity))

    def pick(self, team: Team, exclude: set[str]):
        reps = [r for r in team.reps if r.name not in exclude and self.has_capacity(r)]
        if not reps:
            return None
        order = {r.name: i for i, r in enumerate(team.reps)}
        if team.strategy == "round_robin":   # least recently assigned; never assigned first, in listed order
            return min(reps, key=lambda r: (self.last.get(r.name, 0), order[r.name]))
        if team.strategy == "weighted":      # share of all assignments proportional to weight
            return min(reps, key=lambda r: ((self.total.get(r.name, 0) + 1) / r.weight, order[r.name]))
        return min(reps, key=lambda r: (self.open.get(r.name, 0), self.last.get(r.name, 0), order[r.name]))

    def record(self, rep: str) -> None:
        self.sequence += 1
        self.last[rep] = self.sequence
        for counter in (self.today, self.week, self.total, self.open):
            counter[rep] = counter.get(rep, 0) + 1


def _route(ws: Workspace, recipe: AssignmentRecipe, leads: list[Lead], as_of: datetime, summary: AssignSummary,
           progress: Progress | None) -> None:
    first_rule = matching_rules(ws, recipe, [lead for lead in leads if lead.team is None], as_of)
    book = RepBook(ws, as_of)
    due = as_of + timedelta(hours=recipe.sla.accept_hours)
    decisions: list[tuple[Lead, str, str | None, str]] = []
    for done, lead in enumerate(leads):
        rep, team, rule = _choose(recipe, book, lead, first_rule)
        if rep is None:
            summary.unassigned += 1
            continue
        if lead.sticky_owner:
            summary.sticky += 1
        book.record(rep)
        summary.assigned += 1
        summary.by_rep[rep] = summary.by_rep.get(rep, 0) + 1
        decisions.append((lead, rep, team, rule))
        report(progress, "assign", done + 1, len(leads))
    _save(ws, decisions, as_of, due)
    ws.sql(STAGE, "rep state", "DELETE FROM rep_state")
    if book.last:
        ws.con.executemany("INSERT INTO rep_state VALUES (?, ?, ?)",
                           [[rep, as_of, seq] for rep, seq in sorted(book.last.items())])


def _choose(recipe: AssignmentRecipe, book: RepBook, lead: Lead, first_rule: dict[str, int]):
    if lead.sticky_owner:
        return lead.sticky_owner, None, lead.sticky_kind
    if lead.team is not None:
        team = recipe.teams.get(lead.team)
        rep = book.pick(team, lead.exclude) if team else None
        return (rep.name if rep else None), lead.team, lead.rule
    index = first_rule.get(lead.person_id)
    if index is None:
        return None, None, None
    rule = recipe.rules[index]
    if rule.rep is not None:
        return rule.rep, None, rule.name
    rep = book.pick(recipe.teams[rule.team], set())
    return (rep.name if rep else None), rule.team, rule.name


def _save(ws: Workspace, decisions: list[tuple[Lead, str, str | None, str]], as_of: datetime, due: datetime) -> None:
    """The run's decisions in three set-based statements (the choosing above is sequential, the writing is not)."""
    if not decisions:
        return
    import pandas as pd

    frame = pd.DataFrame({
        "person_id": [lead.person_id for lead, _, _, _ in decisions],
        "rep": [rep for _, rep, _, _ in decisions],
        "team": [team for _, _, team, _ in decisions],
        "rule": [rule for _, _, _, rule in decisions],
        "recycled": [lead.team is not None for lead, _, _, _ in decisions],  # a recycled lead keeps its row and breach flag
        "n": range(len(decisions)),
    }, dtype=object)
    ws.load_frame(STAGE, "_assign_decisions", frame, select="""CAST(person_id AS VARCHAR) AS person_id,
        CAST(rep AS VARCHAR) AS rep, CAST(team AS VARCHAR) AS team, CAST(rule AS VARCHAR) AS rule,
        CAST(recycled AS BOOLEAN) AS recycled, CAST(n AS BIGINT) AS n""")
    ws.sql(STAGE, "history", """INSERT INTO assignment_history
        SELECT person_id, 'assigned', rep, team, rule, ?, NULL FROM _assign_decisions ORDER BY n""", [as_of])
    ws.sql(STAGE, "reassign", """UPDATE assignment SET rep = d.rep, assigned_at = ?, due_accept_by = ?,
        status = 'assigned', updated_at = ? FROM _assign_decisions d
        WHERE d.recycled AND assignment.person_id = d.person_id""", [as_of, due, as_of])
    ws.sql(STAGE, "assign", """INSERT INTO assignment
        SELECT person_id, rep, team, rule, ?, ?, 'assigned', NULL, FALSE, ? FROM _assign_decisions
        WHERE NOT recycled ORDER BY n""", [as_of, due, as_of])
    ws.sql(STAGE, "drop temp", "DROP TABLE _assign_decisions")


from mactl.assignment.export import export_assignments  # noqa: E402

__all__ = ["AssignSummary", "assign", "export_assignments"]
