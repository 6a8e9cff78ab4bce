import json
from datetime import datetime, timedelta

from mactl.workspace import Workspace
from tests.test_scoring_engine import MODEL
from tests.test_scoring_fixture import People, write_model

AS_OF = datetime(2026, 3, 1, 12, 0)


def build(db_path):
    ws = Workspace(db_path)
    people = People(ws)
    people.person("P000001", title="销售总监", industry="制造业")
    people.event("P000001", "form_submit", AS_OF - timedelta(days=60), form_name="Demo申请")
    people.person("P000002", title="学生")
    ws.close()


def test_score_json_summary(cli, db_path, tmp_path):
    build(db_path)
    model = write_model(tmp_path, MODEL)
    result = cli("score", "--model", model, "--as-of", "2026-03-01T12:00", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["people"] == 2 and data["by_grade"] == {"A": 1, "D": 1}
    # the only activity is 60 days old: an MQL by score, shown as Silent (60-day bucket)
    assert data["by_stage"] == {"MIL": 1, "Silent": 1} and data["new_mqls"] == 0
    assert data["transitions"] == {"(new) -> MIL": 1, "(new) -> Silent": 1}


def test_explain_shows_rule_event_and_decay(cli, db_path, tmp_path):
    build(db_path)
    cli("score", "--model", write_model(tmp_path, MODEL), "--as-of", "2026-03-01T12:00")
    data = json.loads(cli("score", "explain", "P000001", "--json").stdout)
    assert data["total"] == 65.0 and data["stage"] == "Silent"
    assert [(c["rule_id"], c["event_id"], c["raw_points"], c["decay"], c["points"]) for c in data["contributions"]] == [
        ("senior", None, 40.0, 1.0, 40.0), ("maker", None, 20.0, 1.0, 20.0), ("demo", 1, 20.0, 0.25, 5.0)]
    text = cli("score", "explain", "P000001").stdout
    assert "A, 65 (fit 60, engagement 5)" in text and "0.25" in text


def test_explain_unknown_person_and_bad_model(cli, db_path, tmp_path):
    build(db_path)
    result = cli("score", "explain", "P999")
    assert result.exit_code != 0 and "P999" in result.stderr
    bad = write_model(tmp_path, "scoring:\n  grades: oops\n")
    result = cli("score", "--model", bad)
    assert result.exit_code != 0 and "line 2: scoring.grades" in result.stderr


def test_help():
    from typer.testing import CliRunner

    from mactl.cli import app

    result = CliRunner().invoke(app, ["score", "--help"])
    assert result.exit_code == 0 and "--as-of" in result.stdout and "explain" in result.stdout
