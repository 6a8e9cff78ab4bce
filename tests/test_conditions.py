"""The condition language: nesting, every operator, event windows, silence, errors with paths."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mactl.conditions import ConditionError, compile_condition, last_activity_sql, uses_no_activity_days
from mactl.segments import membership_sql
from tests.test_segments_fixture import NOW, add_event, add_person


@pytest.fixture()
def people(workspace):
    add_person(workspace, "P1", province="上海", city="上海", industry="制造", title="采购总监", company="甲公司",
               channels=["event", "web_form"], score=(80, "A", "MQL"))
    add_person(workspace, "P2", province="江苏", city="苏州", industry="医疗", title="工程师", company="乙公司",
               channels=["webinar"], score=(40, "C", "MIL"))
    add_person(workspace, "P3", province="广东", city=None, industry="", title="Sales Manager", company="丙",
               channels=[], score=(10, "D", "VISIT"))
    add_person(workspace, "P4", province="上海", title="CEO")  # no score at all
    add_event(workspace, "P1", "webinar_attend", NOW - timedelta(days=1), watch_minutes=45, campaign="春季")
    add_event(workspace, "P1", "webinar_attend", NOW - timedelta(days=10), watch_minutes=20)
    add_event(workspace, "P2", "webinar_attend", NOW - timedelta(days=3), watch_minutes=31,
              attributes='{"标签": "VIP,展会"}')
    add_event(workspace, "P2", "email_open", NOW - timedelta(days=40))
    add_event(workspace, "P3", "form_submit", NOW - timedelta(days=100))
    return workspace


def members(ws, cond, **options):
    compiled = compile_condition(cond, NOW, **options)
    return sorted(r[0] for r in ws.fetchall("t", "t", membership_sql(compiled.sql), compiled.params))


@pytest.mark.parametrize(("cond", "expected"), [
    ({"field": "province", "op": "equals", "value": "上海"}, ["P1", "P4"]),
    ({"field": "province", "op": "not_equals", "value": "上海"}, ["P2", "P3"]),
    ({"field": "province", "op": "in", "value": ["江苏", "广东"]}, ["P2", "P3"]),
    ({"field": "province", "op": "not in", "value": ["江苏", "广东"]}, ["P1", "P4"]),
    ({"field": "title", "op": "contains", "value": "总监"}, ["P1"]),
    ({"field": "title", "op": "starts with", "value": "Sales"}, ["P3"]),
    ({"field": "total", "op": ">=", "value": 40}, ["P1", "P2"]),
    ({"field": "total", "op": "gt", "value": 40}, ["P1"]),
    ({"field": "total", "op": "lt", "value": 40}, ["P3"]),
    ({"field": "total", "op": "lte", "value": 40}, ["P2", "P3"]),
    ({"field": "total", "op": "between", "value": [10, 40]}, ["P2", "P3"]),
    ({"field": "city", "op": "empty"}, ["P3", "P4"]),
    ({"field": "industry", "op": "not_empty"}, ["P1", "P2"]),
    ({"field": "channels", "op": "contains", "value": "webinar"}, ["P2"]),
    ({"field": "channels", "op": "in", "value": ["event", "webinar"]}, ["P1", "P2"]),
    ({"field": "grade", "op": "in", "value": ["A", "B"]}, ["P1"]),
    ({"attribute": "标签", "op": "contains", "value": "VIP"}, ["P2"]),
])
def test_every_operator(people, cond, expected):
    assert members(people, cond) == expected


def test_nesting_all_any_not(people):
    cond = {"all": [{"any": [{"field": "province", "op": "equals", "value": "上海"},
                             {"field": "grade", "op": "equals", "value": "C"}]},
                    {"not": {"field": "title", "op": "equals", "value": "CEO"}}]}
    assert members(people, cond) == ["P1", "P2"]
    # NOT over an unknown (NULL) value still excludes nobody wrongly: P4 has no grade
    assert members(people, {"not": {"field": "grade", "op": "equals", "value": "A"}}) == ["P2", "P3", "P4"]


def test_event_windows_counts_and_properties(people):
    attend = {"type": "webinar_attend"}
    assert members(people, {"event": {**attend, "within_days": 2}}) == ["P1"]
    assert members(people, {"event": {**attend, "within_days": 30, "min_count": 2}}) == ["P1"]
    assert members(people, {"event": {**attend, "max_count": 1}}) == ["P2", "P3", "P4"]
    assert members(people, {"event": {**attend, "min_count": 1, "max_count": 1}}) == ["P2"]
    assert members(people, {"event": {**attend, "min_count": 0}}) == ["P1", "P2", "P3", "P4"]
    watched = {"event": {**attend, "where": [{"field": "watch_minutes", "op": ">=", "value": 30}]}}
    assert members(people, watched) == ["P1", "P2"]
    between = {"event": {"between": ["2026-02-19", "2026-02-26"]}}  # a bare end date covers its whole day
    assert members(people, between) == ["P1", "P2"]
    assert members(people, {"event": {"type": ["form_submit", "email_open"]}}) == ["P2", "P3"]


def test_no_activity_days(people):
    assert members(people, {"no_activity_days": 30}) == ["P3", "P4"]
    assert members(people, {"no_activity_days": 2}) == ["P2", "P3", "P4"]


def test_no_activity_days_from_a_last_activity_table(people):
    """A segment build answers silence from each person's latest event: the same people as the event join."""
    people.sql("t", "t", last_activity_sql("_last"))
    assert people.fetchall("t", "t", "SELECT person_id, last_at FROM _last ORDER BY person_id") == [
        ("P1", NOW - timedelta(days=1)), ("P2", NOW - timedelta(days=3)), ("P3", NOW - timedelta(days=100))]
    for days, expected in ((30, ["P3", "P4"]), (2, ["P2", "P3", "P4"]), (101, ["P4"])):
        assert members(people, {"no_activity_days": days}, last_activity_table="_last") == expected
        assert members(people, {"no_activity_days": days}) == expected
    nested = {"all": [{"field": "province", "op": "equals", "value": "上海"}, {"not": {"no_activity_days": 5}}]}
    assert members(people, nested, last_activity_table="_last") == members(people, nested) == ["P1"]
    assert uses_no_activity_days(nested) and not uses_no_activity_days({"event": {"within_days": 5}})


def test_values_are_parameters_not_sql(people):
    evil = "x'); DROP TABLE person; --"
    compiled = compile_condition({"field": "name", "op": "equals", "value": evil}, NOW)
    assert evil not in compiled.sql and evil in compiled.params
    assert members(people, {"field": "name", "op": "equals", "value": evil}) == []


@pytest.mark.parametrize(("cond", "message"), [
    ({"all": [{"field": "total", "op": "equals", "value": 1},
              {"any": [{"field": "total", "op": "greater", "value": 1}]}]},
     "where.all[1].any[0].op: unknown operator 'greater'"),
    ({"field": "salary", "op": "equals", "value": 1}, "where.field: unknown field 'salary'"),
    ({"field": "total", "op": "between", "value": [1]}, "where.value: between needs a list of two values"),
    ({"event": {"type": "x", "within": 3}}, "where.event.within: unknown key"),
    ({"event": {"where": [{"field": "secret", "op": "equals", "value": 1}]}}, "where.event.where[0].field"),
    ({"wat": 1}, "where: unknown condition ['wat']"),
])
def test_invalid_conditions_name_the_path(cond, message):
    with pytest.raises(ConditionError) as err:
        compile_condition(cond, datetime(2026, 1, 1))
    assert str(err.value).startswith(message)
