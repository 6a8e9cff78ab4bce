"""`mactl assign` and `mactl export assignments` through the CLI, files checked with openpyxl."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import openpyxl

from mactl.workspace import Workspace
from tests.test_segments_fixture import NOW, add_event, add_person

RECIPE = """assignment:
  sla: {accept_hours: 24}
  teams:
    t: {reps: [{name: 张伟}, {name: 李娜}]}
  rules:
    - {name: all, team: t}
"""


def test_assign_and_export(cli, db_path, tmp_path):
    with Workspace(db_path) as ws:
        add_person(ws, "P1", name="王小明", company="=cmd|' /C calc'!A0", score=(90, "A", "MQL"))
        add_person(ws, "P2", name="Li", company="乙", score=(80, "A", "MQL"))
        add_event(ws, "P1", "webinar_attend", NOW - timedelta(days=1), campaign="春季发布会")
    recipe = tmp_path / "a.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    result = cli("assign", "--recipe", str(recipe), "--as-of", "2026-03-01T12:00", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["by_rep"] == {"张伟": 1, "李娜": 1}
    out = tmp_path / "out"
    exported = cli("export", "assignments", "--out", str(out), "--json")
    assert exported.exit_code == 0, exported.stderr
    assert json.loads(exported.stdout)["rows"] == 2
    sheet = openpyxl.load_workbook(out / "张伟.xlsx")["Leads"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert (row["person_id"], row["name"], row["grade"], row["score"]) == ("P1", "王小明", "A", 90)
    assert row["company"] == "'=cmd|' /C calc'!A0"          # formula neutralised
    assert row["recent_activity"] == "webinar_attend 2026-02-28 春季发布会"   # Shanghai time
    assert row["source_records"] == "f.xlsx/S row 1"
    assert str(row["due_accept_by"]) == "2026-03-02 20:00:00"       # 12:00 UTC + 24 h, shown in Shanghai time
    with open(out / "assignments.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["rep"], r["person_id"]) for r in rows] == [("张伟", "P1"), ("李娜", "P2")]


def test_assign_bad_recipe(cli, db_path, tmp_path):
    Workspace(db_path).close()
    recipe = tmp_path / "a.yaml"
    recipe.write_text("assignment:\n  rules:\n    - {name: x, team: nowhere}\n", encoding="utf-8")
    result = cli("assign", "--recipe", str(recipe))
    assert result.exit_code != 0 and "unknown team 'nowhere'" in result.stderr and "Traceback" not in result.stderr
