"""Assignment: rules, round robin across runs, weighted, least loaded, capacity, stickiness, SLA and feedback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mactl.assignment import assign
from mactl.errors import RecipeError
from tests.test_segments_fixture import NOW, add_event, add_person


def recipe(tmp_path, teams: str, rules: str, extra: str = ""):
    path = tmp_path / "assignment.yaml"
    path.write_text(f"assignment:\n{extra}  sla: {{accept_hours: 24}}\n  teams:\n{teams}  rules:\n{rules}",
                    encoding="utf-8")
    return path


def reps_of(ws):
    return ws.fetchall("t", "a", "SELECT person_id, rep, team, rule FROM assignment ORDER BY person_id")


def mqls(ws, count, start=1, **fields):
    for i in range(start, start + count):
        add_person(ws, f"P{i:02d}", score=(100 - i, "A", "MQL"), **fields)


RR = "    t:\n      strategy: round_robin\n      reps: [{name: A}, {name: B}, {name: C}]\n"
ALL_TO_T = "    - {name: all, team: t}\n"


def test_round_robin_remembers_across_runs(workspace, tmp_path):
    path = recipe(tmp_path, RR, ALL_TO_T)
    mqls(workspace, 4)
    add_person(workspace, "P99", score=(90, "B", "MIL"))  # not an MQL: never assigned by default
    summary = assign(workspace, recipe_path=path, as_of=NOW)
    assert (summary.assigned, summary.by_rep) == (4, {"A": 2, "B": 1, "C": 1})
    assert [r[1] for r in reps_of(workspace)] == ["A", "B", "C", "A"]  # best score first
    mqls(workspace, 2, start=5)
    assign(workspace, recipe_path=path, as_of=NOW + timedelta(hours=1))
    assert [r[1] for r in reps_of(workspace)][4:] == ["B", "C"]
    # a second run assigns nobody again
    assert assign(workspace, recipe_path=path, as_of=NOW + timedelta(hours=2)).assigned == 0


def test_weighted_and_capacity(workspace, tmp_path):
    teams = ("    t:\n      strategy: weighted\n      reps: [{name: A, weight: 2}, {name: B, weight: 1, daily_capacity: 1}]\n")
    mqls(workspace, 6)
    summary = assign(workspace, recipe_path=recipe(tmp_path, teams, ALL_TO_T), as_of=NOW)
    assert summary.by_rep == {"A": 5, "B": 1}
    teams = "    t:\n      reps: [{name: A, daily_capacity: 1}, {name: B, weekly_capacity: 1}]\n"
    mqls(workspace, 3, start=10)
    summary = assign(workspace, recipe_path=recipe(tmp_path, teams, ALL_TO_T), as_of=NOW)
    # A already has 5 today, B 1 this week: nobody has room
    assert (summary.assigned, summary.unassigned) == (0, 3)
    summary = assign(workspace, recipe_path=recipe(tmp_path, teams, ALL_TO_T), as_of=NOW + timedelta(days=1))
    # 2026-03-02 is a Monday: a new day frees A, a new week frees B; the third lead waits
    assert (summary.by_rep, summary.unassigned) == ({"A": 1, "B": 1}, 1)


def test_least_loaded(workspace, tmp_path):
    teams = "    t:\n      strategy: least_loaded\n      reps: [{name: A}, {name: B}]\n"
    workspace.sql("t", "load", """INSERT INTO assignment VALUES ('X1', 'A', 't', 'old', ?, ?, 'accepted', NULL, FALSE, ?),
                                  ('X2', 'A', 't', 'old', ?, ?, 'assigned', NULL, FALSE, ?)""", [NOW] * 6)
    mqls(workspace, 3)
    assign(workspace, recipe_path=recipe(tmp_path, teams, ALL_TO_T), as_of=NOW)
    assert [r[1] for r in reps_of(workspace) if r[0].startswith("P")] == ["B", "B", "A"]


def test_rules_in_order_and_sticky_owner(workspace, tmp_path):
    teams = RR + "    south:\n      reps: [{name: S}]\n"
    rules = ("    - name: south\n      when: {field: province, op: in, value: [广东]}\n      team: south\n"
             "    - {name: vip, when: {field: grade, op: equals, value: A}, rep: Boss}\n" + ALL_TO_T)
    add_person(workspace, "P1", province="广东", score=(90, "A", "MQL"))
    add_person(workspace, "P2", province="上海", score=(80, "A", "MQL"))
    add_person(workspace, "P3", province="上海", score=(70, "B", "MQL"))
    add_person(workspace, "P4", province="广东", crm_owner="Owner", score=(60, "A", "MQL"))
    add_person(workspace, "P5", company="甲公司", score=(50, "A", "MQL"))
    add_person(workspace, "P6", company="甲公司", crm_owner="Keeper", score=(10, "D", "VISIT"))
    summary = assign(workspace, recipe_path=recipe(tmp_path, teams, rules), as_of=NOW)
    assert reps_of(workspace) == [("P1", "S", "south", "south"), ("P2", "Boss", None, "vip"),
                                  ("P3", "A", "t", "all"), ("P4", "Owner", None, "sticky:crm_owner"),
                                  ("P5", "Keeper", None, "sticky:company")]
    assert summary.sticky == 2


def test_sla_recycle_and_feedback(workspace, tmp_path):
    path = recipe(tmp_path, RR, ALL_TO_T)
    mqls(workspace, 3)
    assign(workspace, recipe_path=path, as_of=NOW)   # P01 A, P02 B, P03 C
    # P01 accepted in the CRM, P02 rejected with a reason, P03 silent
    add_event(workspace, "P01", "crm_update", NOW + timedelta(hours=5), crm_stage="SAL")
    add_event(workspace, "P02", "crm_update", NOW + timedelta(hours=6), crm_stage="无效", detail="预算不足")
    summary = assign(workspace, recipe_path=path, as_of=NOW + timedelta(hours=25))
    assert summary.feedback == {"accepted": 1, "rejected": 1, "qualified": 0}
    assert summary.recycled == 1
    rows = workspace.fetchall("t", "a", """SELECT person_id, rep, status, reason, sla_breached, assigned_at, due_accept_by
                                          FROM assignment ORDER BY person_id""")
    later = NOW + timedelta(hours=25)
    assert rows == [("P01", "A", "accepted", None, False, NOW, NOW + timedelta(hours=24)),
                    ("P02", "B", "rejected", "back to nurture: 预算不足", False, NOW, NOW + timedelta(hours=24)),
                    ("P03", "A", "assigned", "not accepted in time by C", True, later, later + timedelta(hours=24))]
    # recycled again: never back to C or A, so B
    assign(workspace, recipe_path=path, as_of=later + timedelta(hours=25))
    assert workspace.scalar("t", "r", "SELECT rep FROM assignment WHERE person_id = 'P03'") == "B"
    history = workspace.fetchall("t", "h", """SELECT action, rep, happened_at, reason FROM assignment_history
                                             WHERE person_id = 'P03' ORDER BY happened_at, action""")
    assert history == [("assigned", "C", NOW, None),
                       ("assigned", "A", later, None), ("recycled", "C", later, "not accepted by 2026-03-02 12:00 UTC"),
                       ("assigned", "B", later + timedelta(hours=25), None),
                       ("recycled", "A", later + timedelta(hours=25), "not accepted by 2026-03-03 13:00 UTC")]


def test_recipe_errors_listed(tmp_path, workspace):
    path = recipe(tmp_path, RR, "    - {name: bad, team: nowhere}\n    - {name: x, when: {field: total, op: greater, value: 1}, team: t}\n")
    with pytest.raises(RecipeError) as err:
        assign(workspace, recipe_path=path)
    assert err.value.problems == [
        "assignment.rules[1].when.op: unknown operator 'greater'; use one of equals, not_equals, in, not_in, "
        "contains, starts_with, gt, gte, lt, lte, between, empty, not_empty",
        "assignment.rules[0].team: unknown team 'nowhere'; teams: t"]
