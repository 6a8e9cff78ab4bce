import json
import zipfile

import pytest
from importing_files import expo_workbook, form_csv

from mactl.workspace import Workspace


def counts(db_path):
    ws = Workspace(db_path)
    try:
        return {t: ws.scalar("t", "c", f"SELECT count(*) FROM {t}") for t in ("import_batch", "source_record", "event", "quarantine")}
    finally:
        ws.close()


def test_import_prints_a_table_per_file_and_sheet(cli, tmp_path):
    expo_workbook(tmp_path / "expo.xlsx")
    result = cli("import", tmp_path / "expo.xlsx")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "expo.xlsx" in line]
    assert [line.split("│")[2].strip() for line in lines] == ["第一天", "第二天"]
    assert [[c.strip() for c in line.split("│")[3:9]] for line in lines] == [
        ["event", "4", "3", "1", "4", "3"],
        ["event", "1", "1", "0", "0", "1"],
    ]
    assert "expo.xlsx: sheet '内部备注' is hidden: skipped (pass --sheet '内部备注' to import it)" in result.stderr


def test_import_json(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    result = cli("import", tmp_path / "form.csv", "--json")
    data = json.loads(result.stdout)
    assert (data["imported"], data["skipped"], data["failed"], data["records"]) == (1, 0, 0, 2)
    assert data["files"][0]["encoding"] == "gb18030"
    assert data["files"][0]["sheets"][0]["mapping"]["是否同意接收营销信息"] == "consent"


def test_second_import_says_already_imported(cli, tmp_path):
    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    result = cli("import", tmp_path / "form.csv")
    assert result.exit_code == 0
    assert "form.csv: already imported on " in result.stderr
    assert "as batch 1; nothing to do (use --replace to import it again)" in result.stderr


def test_dry_run_shows_mapping_and_writes_nothing(cli, tmp_path, db_path):
    expo_workbook(tmp_path / "expo.xlsx")
    result = cli("import", tmp_path / "expo.xlsx", "--dry-run")
    assert result.exit_code == 0
    assert "expo.xlsx / 第一天: channel event, header on row 3" in result.stdout
    assert "(kept as attribute)" in result.stdout
    assert counts(db_path)["source_record"] == 0


def _write(path, data):
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _corrupt(path):
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    return path


def _truncated(path, tmp_path):
    good = expo_workbook(tmp_path / "good.xlsx").read_bytes()
    path.write_bytes(good[: len(good) // 2])
    return path


@pytest.mark.parametrize(
    "name, make, message, code",
    [
        ("empty.csv", lambda p, t: _write(p, b""), "empty.csv: the file is empty (0 bytes). Export it again from the source system", 65),
        ("broken.xlsx", lambda p, t: _corrupt(p), "broken.xlsx: not a readable Excel workbook (", 65),
        ("half.xlsx", _truncated, "half.xlsx: not a readable Excel workbook (", 65),
        ("image.csv", lambda p, t: _write(p, bytes(range(256)) * 40), "image.csv: this is a binary file, not a text export. Export the data as .csv or .xlsx", 65),
        ("report.pdf", lambda p, t: _write(p, b"%PDF-1.4"), "report.pdf: unsupported file type '.pdf'. mactl imports .xlsx, .xlsm, .xls, .csv, .tsv and .txt", 65),
        ("notes.csv", lambda p, t: _write(p, "日期,备注\n2026-09-01,开会\n"),
         "notes.csv: no contact column recognised (headers found: 日期, 备注). Map the email, phone, WeChat or CRM id column in a recipe", 65),
    ],
)
def test_bad_files_give_one_clear_line_and_change_nothing(cli, tmp_path, db_path, name, make, message, code):
    form_csv(tmp_path / "ok.csv")
    cli("import", tmp_path / "ok.csv")
    before = counts(db_path)
    bad = make(tmp_path / name, tmp_path)
    result = cli("import", bad)
    assert result.exit_code == code
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("Error: " + str(tmp_path / message.split(":")[0]) + ":" + message.split(":", 1)[1])
    assert "Traceback" not in result.output
    assert counts(db_path) == before


def test_missing_file_exit_66(cli, tmp_path):
    result = cli("import", tmp_path / "nope.xlsx")
    assert result.exit_code == 66
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.xlsx'}: no such file or folder. Check the path"


def test_other_files_still_import_and_exit_code_says_something_failed(cli, tmp_path, db_path):
    form_csv(tmp_path / "good.csv")
    (tmp_path / "bad.xlsx").write_bytes(b"garbage")
    result = cli("import", tmp_path / "good.csv", tmp_path / "bad.xlsx", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(f["file"], f["status"]) for f in data["files"]] == [("good.csv", "imported"), ("bad.xlsx", "failed")]
    assert counts(db_path)["source_record"] == 2


def test_folder_and_glob_arguments(cli, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    form_csv(inbox / "a.csv")
    expo_workbook(inbox / "b.xlsx")
    (inbox / "~$b.xlsx").write_bytes(b"excel lock file")
    (inbox / "readme.md").write_text("not an export")
    result = cli("import", str(inbox / "*.csv"), inbox, "--json")
    data = json.loads(result.stdout)
    assert [f["file"] for f in data["files"]] == ["a.csv", "b.xlsx"]


def test_corrupt_zip_member_is_reported_not_raised(cli, tmp_path):
    good = expo_workbook(tmp_path / "good.xlsx")
    path = tmp_path / "expo.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as out:
        for name in src.namelist():
            out.writestr(name, b"<not-xml" if name == "xl/worksheets/sheet1.xml" else src.read(name))
    result = cli("import", path)
    assert result.exit_code == 65
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: {path}: ")


def test_import_help_mentions_quarantine(cli):
    result = cli("import", "--help")
    assert "quarantine" in result.stdout
