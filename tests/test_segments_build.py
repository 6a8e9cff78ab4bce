"""Segment builds: membership, entered/left history, dependency order, cycles, recipe errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mactl.errors import RecipeError
from mactl.segments import build_segments, list_segments, preview, show_segment
from tests.test_segments_fixture import NOW, add_event, add_person

RECIPE = """
segments:
  - name: hot_and_shanghai
    where:
      all:
        - in_segment: hot
        - field: province
          op: equals
          value: 上海
  - name: hot
    where: {field: total, op: gte, value: 50}
"""


@pytest.fixture()
def recipe(tmp_path):
    path = tmp_path / "segments.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    return path


def test_build_records_entered_and_left(workspace, recipe):
    add_person(workspace, "P1", province="上海", score=(80, "A", "MQL"))
    add_person(workspace, "P2", province="江苏", score=(60, "B", "MQL"))
    add_person(workspace, "P3", province="上海", score=(20, "C", "MIL"))
    first = build_segments(workspace, recipe_path=recipe, as_of=NOW)
    # the dependent group is built after the group it reads, whatever the file order
    assert [(s.segment, s.size, s.entered, s.left) for s in first.segments] == [
        ("hot", 2, 2, 0), ("hot_and_shanghai", 1, 1, 0)]
    workspace.sql("t", "rescore", "UPDATE person_score SET total = CASE person_id WHEN 'P1' THEN 10 ELSE 90 END")
    second = build_segments(workspace, recipe_path=recipe, as_of=NOW)
    assert [(s.segment, s.size, s.entered, s.left) for s in second.segments] == [
        ("hot", 2, 1, 1), ("hot_and_shanghai", 1, 1, 1)]
    history = workspace.fetchall("t", "h", "SELECT segment, person_id, change, build_id FROM segment_change "
                                          "ORDER BY build_id, segment, change, person_id")
    assert history == [("hot", "P1", "entered", 1), ("hot", "P2", "entered", 1),
                       ("hot_and_shanghai", "P1", "entered", 1),
                       ("hot", "P3", "entered", 2), ("hot", "P1", "left", 2),
                       ("hot_and_shanghai", "P3", "entered", 2), ("hot_and_shanghai", "P1", "left", 2)]
    assert workspace.fetchall("t", "m", "SELECT segment, person_id FROM segment_member ORDER BY 1, 2") == [
        ("hot", "P2"), ("hot", "P3"), ("hot_and_shanghai", "P3")]
    shown = show_segment(workspace, "hot")
    assert (shown["size"], shown["entered"], shown["left"]) == (2, ["P3"], ["P1"])
    assert [(r["segment"], r["size"], r["entered"], r["left"]) for r in list_segments(workspace)] == [
        ("hot", 2, 1, 1), ("hot_and_shanghai", 1, 1, 1)]


def test_unchanged_member_keeps_entered_at(workspace, recipe):
    add_person(workspace, "P1", province="上海", score=(80, "A", "MQL"))
    build_segments(workspace, recipe_path=recipe, names=["hot"], as_of=NOW)
    entered = workspace.scalar("t", "e", "SELECT entered_at FROM segment_member WHERE person_id = 'P1'")
    again = build_segments(workspace, recipe_path=recipe, names=["hot"], as_of=NOW)
    assert [(s.size, s.entered, s.left) for s in again.segments] == [(1, 0, 0)]
    assert workspace.scalar("t", "e", "SELECT entered_at FROM segment_member WHERE person_id = 'P1'") == entered


def test_event_window_uses_as_of(workspace, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("segments:\n  - name: golden\n    where: {event: {type: form_submit, within_days: 2}}\n",
                    encoding="utf-8")
    add_person(workspace, "P1")
    add_event(workspace, "P1", "form_submit", NOW - timedelta(hours=30))
    assert build_segments(workspace, recipe_path=path, as_of=NOW).segments[0].size == 1
    later = build_segments(workspace, recipe_path=path, as_of=NOW + timedelta(days=1))
    assert (later.segments[0].size, later.segments[0].left) == (0, 1)


def test_preview_stores_nothing(workspace, recipe):
    add_person(workspace, "P1", province="上海", score=(80, "A", "MQL"))
    assert preview(workspace, recipe, as_of=NOW) == [
        {"segment": "hot_and_shanghai", "size": 0, "sample": []},  # reads stored members of hot: none yet
        {"segment": "hot", "size": 1, "sample": ["P1"]}]
    assert workspace.scalar("t", "n", "SELECT count(*) FROM segment_member") == 0


def test_bad_definition_names_group_and_path(workspace, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("""segments:
  - name: ok
    where: {field: total, op: gte, value: 1}
  - name: broken
    where:
      all:
        - field: total
          op: greater
          value: 3
""", encoding="utf-8")
    with pytest.raises(RecipeError) as err:
        build_segments(workspace, recipe_path=path)
    assert err.value.problems == [
        "segments[1].where.all[0].op: unknown operator 'greater'; use one of equals, not_equals, in, not_in, "
        "contains, starts_with, gt, gte, lt, lte, between, empty, not_empty (group 'broken')"]


def test_cycle_is_rejected(workspace, tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text("segments:\n  - {name: a, where: {in_segment: b}}\n  - {name: b, where: {in_segment: a}}\n",
                    encoding="utf-8")
    with pytest.raises(RecipeError, match="cycle: a -> b -> a"):
        build_segments(workspace, recipe_path=path)


def test_shipped_recipe_builds(workspace):
    add_person(workspace, "P1", score=(80, "A", "MQL"))
    add_person(workspace, "P2", crm_stage="客户", score=(90, "A", "MQL"))
    add_event(workspace, "P1", "form_submit", NOW - timedelta(hours=5))
    sizes = {s.segment: s.size for s in build_segments(workspace, as_of=NOW).segments}
    assert sizes == {"golden_48h": 1, "demand_mining_2_4w": 0, "customers_exclude": 1, "long_term_nurture": 0,
                     "silent_30d": 1, "silent_60d": 1, "silent_90d": 1, "mql_ready": 1}


def test_run_recipe_without_section_uses_shipped_groups(workspace, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("run:\n  steps: [segments]\n", encoding="utf-8")
    names = [s.segment for s in build_segments(workspace, recipe_path=path, as_of=NOW).segments]
    assert "golden_48h" in names and len(names) == 8
