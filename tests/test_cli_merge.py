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


def test_review_out_says_when_the_limit_leaves_pairs_out(cli, tmp_path):
    rows = [("王伟", "13500000001", "格力电器"), ("王伟", "", "格力"), ("王伟", "13500000002", "海尔"),
            ("王伟", "13500000003", "美的"), ("李娜", "13600000001", "海尔集团"), ("李娜", "", "海尔"),
            ("李娜", "13600000002", "格力"), ("李娜", "13600000003", "美的")]
    lines = ["姓名,手机,邮箱,公司"] + [f"{n},{p},{n}{i}@mail.example.com,{c}" if not p else f"{n},{p},,{c}"
                                       for i, (n, p, c) in enumerate(rows)]
    (tmp_path / "form.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli("import", tmp_path / "form.csv")
    cli("merge")
    result = cli("merge", "review", "--out", tmp_path / "review.xlsx", "--limit", "1")
    assert result.exit_code == 0
    assert result.stdout.strip() == (f"1 of 2 open pairs to review written to {tmp_path / 'review.xlsx'} "
                                     "(decide these, or raise --limit)")
    result = cli("merge", "review", "--out", tmp_path / "review.xlsx", "--limit", "1", "--json")
    assert json.loads(result.stdout) == {"pairs": 1, "open": 2, "path": str(tmp_path / "review.xlsx")}


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
