"""mactl report on the sample data: exact numbers per section, spend, scores, and the workbook's charts."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from mactl.identity import merge
from mactl.importing import import_paths
from mactl.report import build_report, write_report_xlsx
from mactl.workspace import Workspace, utc_now
from tests.conftest import SAMPLE_DATA

STAGES_FOR_TEST = [  # (stage, people): a known funnel put into person_score by the test
    ("VISIT", 100), ("MAL", 80), ("MIL", 60), ("MQL", 40), ("SAL", 20), ("SQL", 14), ("Opportunity", 6),
    ("Customer", 2), ("Recycled", 3), ("Silent", 1),
]


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "ws.duckdb"
    with Workspace(path) as ws:
        import_paths(ws, [SAMPLE_DATA])
        merge(ws)
    return path


@pytest.fixture
def merged(sample_db, tmp_path):
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(sample_db.read_bytes())
    ws = Workspace(copy)
    yield ws
    ws.close()


def add_scores(ws: Workspace) -> None:
    """Give the first people (by id) known stages, grades and totals, so the numbers are exact."""
    people = [r[0] for r in ws.fetchall("test", "people", "SELECT person_id FROM person ORDER BY person_id")]
    rows, index = [], 0
    for stage, count in STAGES_FOR_TEST:
        for _ in range(count):
            total = float(index % 100)
            grade = "A" if total >= 70 else "B" if total >= 40 else "C"
            rows.append((people[index], 0.0, total, total, grade, stage, utc_now(), utc_now()))
            index += 1
    ws.con.executemany("INSERT INTO person_score (person_id, fit, engagement, total, grade, stage, as_of, computed_at, "
                       "model_hash, score_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'test', 1)", rows)


def rows(report, name):
    return report.section(name).rows


def test_merge_and_channel_numbers_on_sample_data(merged):
    report = build_report(merged)
    assert rows(report, "merge") == [
        ["crm", 55, 55, 0], ["engagement", 262, 262, 0], ["event", 177, 151, 26], ["web_form", 173, 139, 34],
        ["webinar", 160, 135, 25], ["(all)", 827, 326, 501]]
    assert report.section("merge").note == "pairs awaiting review: 0"
    assert [r[:3] for r in rows(report, "channels")] == [
        ["engagement", 176, 0], ["event", 63, 0], ["web_form", 47, 0], ["webinar", 39, 0], ["crm", 1, 0]]
    assert report.section("funnel").note == "no data yet: person_score is empty (run the stage that fills it)"
    assert rows(report, "funnel") == [] and rows(report, "grades") == []


def test_funnel_grades_histogram_and_spend(merged, tmp_path):
    add_scores(merged)
    spend = tmp_path / "spend.csv"
    spend.write_text("channel,spend\nevent,\"63,000\"\nweb_form,4700\n", encoding="utf-8-sig")
    report = build_report(merged, spend_path=spend)
    assert rows(report, "funnel") == [
        ["VISIT", 322, 100, None], ["MAL", 222, 80, 68.9], ["MIL", 142, 60, 64.0], ["MQL", 82, 40, 57.7],
        ["SAL", 42, 20, 51.2], ["SQL", 22, 14, 52.4], ["Opportunity", 8, 6, 36.4], ["Customer", 2, 2, 25.0]]
    assert report.section("funnel").note == "off the funnel: Recycled 3, Silent 1"
    assert rows(report, "grades") == [["A", 90, 27.6, 84.5], ["B", 90, 27.6, 54.5], ["C", 146, 44.8, 18.3]]
    histogram = rows(report, "score_histogram")
    assert histogram[0] == ["0-9", 40] and histogram[-1] == ["90-99", 30] and len(histogram) == 10
    assert rows(report, "channels") == [
        ["engagement", 176, 40, 22.7, None, None, None], ["event", 63, 0, 0.0, 63000.0, 1000.0, None],
        ["web_form", 47, 16, 34.0, 4700.0, 100.0, 293.75], ["webinar", 39, 26, 66.7, None, None, None],
        ["crm", 1, 0, 0.0, None, None, None]]
    assert sum(r[2] for r in rows(report, "channels")) == 82  # every MQL-or-later person has one source channel


def test_workbook_has_native_charts(merged, tmp_path):
    add_scores(merged)
    path = write_report_xlsx(build_report(merged), tmp_path / "report.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["funnel", "channels", "grades", "score_histogram", "merge", "segments", "assignment"]

    def chart(sheet):
        charts = book[sheet]._charts
        assert len(charts) == 1
        return charts[0]

    def title(c):
        return "".join(run.t for p in c.title.tx.rich.p for run in (p.r or []))

    funnel = chart("funnel")
    assert funnel.type == "bar" and title(funnel) == "Funnel: people who reached each stage"
    assert [s.val.numRef.f for s in funnel.series] == ["'funnel'!$B$2:$B$9"]
    assert funnel.series[0].cat.strRef.f == "'funnel'!$A$2:$A$9"
    channels = chart("channels")
    assert channels.type == "col" and title(channels) == "Leads and MQLs by source channel"
    assert [s.val.numRef.f for s in channels.series] == ["'channels'!$B$2:$B$6", "'channels'!$C$2:$C$6"]
    histogram = chart("score_histogram")
    assert histogram.gapWidth == 0 and [s.val.numRef.f for s in histogram.series] == ["'score_histogram'!$B$2:$B$11"]
    assert book["grades"]._charts == []
    assert [c.value for c in book["merge"]["A"]][:2] == ["channel", "crm"]


def test_cli_report_json_and_xlsx(cli, merged, tmp_path):
    merged.close()
    from tests.conftest import Cli

    runner = Cli(merged.path)
    result = runner("report", "--json", "--xlsx", tmp_path / "r.xlsx")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sections"]["merge"]["rows"][-1] == {"channel": "(all)", "records": 827, "people": 326,
                                                     "duplicate_records": 501}
    assert (tmp_path / "r.xlsx").exists()
    table = runner("report")
    assert "Merge statistics by channel" in table.stdout and "pairs awaiting review: 0" in table.stdout
    bad = runner("report", "--spend", tmp_path / "nope.csv")
    assert bad.exit_code == 66 and "spend file not found" in bad.stderr


def test_assignment_load_per_rep(workspace):
    if not workspace.table_exists("assignment"):
        pytest.skip("the assignment stage is not part of this mactl")
    rows = [("P1", "张伟", True), ("P2", "张伟", False), ("P3", "Lisa", False), ("P4", None, True)]
    workspace.con.executemany(
        "INSERT INTO assignment (person_id, rep, rule, assigned_at, status, sla_breached, updated_at) "
        "VALUES (?, ?, 'r', now()::TIMESTAMP, 'assigned', ?, now()::TIMESTAMP)", rows)
    section = build_report(workspace).section("assignment")
    assert section.rows == [["(no rep)", 1, 1], ["Lisa", 1, 0], ["张伟", 2, 1]]
    assert section.note is None
