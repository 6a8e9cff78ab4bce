"""`mactl segment build|list|show|preview` through the CLI."""

from __future__ import annotations

import json

from mactl.workspace import Workspace
from tests.test_segments_fixture import add_person

RECIPE = "segments:\n  - name: hot\n    where: {field: total, op: gte, value: 50}\n"


def test_build_list_show_preview(cli, db_path, tmp_path):
    with Workspace(db_path) as ws:
        add_person(ws, "P1", score=(80, "A", "MQL"))
        add_person(ws, "P2", score=(10, "D", "VISIT"))
    recipe = tmp_path / "s.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    built = cli("segment", "build", "--recipe", str(recipe), "--as-of", "2026-03-01T12:00", "--json")
    assert built.exit_code == 0, built.stderr
    assert json.loads(built.stdout)["segments"] == [{"segment": "hot", "size": 1, "entered": 1, "left": 0}]
    listed = json.loads(cli("segment", "list", "--json").stdout)
    assert [(r["segment"], r["size"]) for r in listed] == [("hot", 1)]
    shown = json.loads(cli("segment", "show", "hot", "--json").stdout)
    assert (shown["size"], shown["entered"], shown["left"]) == (1, ["P1"], [])
    previewed = json.loads(cli("segment", "preview", str(recipe), "--json").stdout)
    assert previewed == [{"segment": "hot", "size": 1, "sample": ["P1"]}]


def test_bad_recipe_is_one_line_error(cli, tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("segments:\n  - name: x\n    where: {field: total, op: greater, value: 1}\n", encoding="utf-8")
    result = cli("segment", "build", "--recipe", str(recipe))
    assert result.exit_code != 0
    assert "segments[0].where.op: unknown operator 'greater'" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_unknown_group(cli, db_path):
    Workspace(db_path).close()
    result = cli("segment", "show", "nope")
    assert result.exit_code != 0 and "has not been built" in result.stderr
