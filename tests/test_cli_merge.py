import json

from importing_files import form_csv
from openpyxl import load_workbook


def test_merge_json_and_table(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    data = json.loads(cli("merge", "--json").stdout)
    assert (data["records"], data["people"], data["new_people"], data["review_open"]) == (2, 2, 2, 0)
    again = cli("merge")
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0] == "2 records → 2 people (0 new, 0 merged into older ids, 0 records placed); 0 pairs await review"


def test_explain_unknown_person_is_one_clear_line(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    cli("merge")
    result = cli("merge", "explain", "P404")
    assert result.exit_code == 65
    assert result.stderr.strip() == "Error: no person P404 in this workspace. Find ids with 'mactl export people --out people.csv'"


def test_explain_json(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    cli("merge")
    info = json.loads(cli("merge", "explain", "P000001", "--json").stdout)
    assert info["person"]["name"] == "陈老师"
    assert [(r["source_file"], r["source_row"]) for r in info["records"]] == [("form.csv", 2)]


def test_review_needs_exactly_one_of_out_and_apply(cli, tmp_path):
    result = cli("merge", "review")
    assert result.exit_code == 2
    assert "give exactly one of --out FILE.xlsx or --apply FILE.xlsx" in result.stderr


def test_review_out_writes_a_workbook(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    cli("merge")
    result = cli("merge", "review", "--out", tmp_path / "review.xlsx")
    assert result.stdout.strip() == f"0 pairs to review written to {tmp_path / 'review.xlsx'}"
    book = load_workbook(tmp_path / "review.xlsx")
    assert book.sheetnames == ["review", "how to"]


def test_exports_through_the_cli(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    cli("merge")
    result = cli("export", "people", "--out", tmp_path / "people.parquet")
    assert result.exit_code == 0
    assert result.stderr.strip() == f"2 people written to {tmp_path / 'people.parquet'}"
    result = cli("export", "identities", "--out", tmp_path / "ids.txt")
    assert result.exit_code == 2
    assert "cannot write .txt files" in result.stderr


def test_exports_report_json(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    cli("merge")
    result = cli("export", "identities", "--out", tmp_path / "ids.csv", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"records": 2, "path": str(tmp_path / "ids.csv")}
    rows = (tmp_path / "ids.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows == ["source_file,source_sheet,source_row,person_id", "form.csv,,2,P000001", "form.csv,,3,P000002"]
    result = cli("export", "people", "--out", tmp_path / "people.csv", "--json")
    assert json.loads(result.stdout) == {"people": 2, "path": str(tmp_path / "people.csv")}
