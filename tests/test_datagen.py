"""The sample/benchmark data generator: deterministic, realistic structure, truth matching the files."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from benchmarks.datagen import generate

EXPO1 = "2026上海工博会_展会名单.xlsx"
EXPO2 = "2026深圳高交会_签到表.xlsx"
FORM = "官网表单导出_2026Q3.csv"
WEBINAR_CSV = "webinar_数字化转型.csv"
WEBINAR_XLSX = "直播_智能制造研讨会.xlsx"
CRM = "crm_contacts_export.csv"
ENGAGEMENT = "email_engagement_log.csv"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    result = generate(out / "files", people=300, seed=7, truth_path=out / "truth.csv")
    with open(out / "truth.csv", encoding="utf-8", newline="") as handle:
        truth = list(csv.DictReader(handle))
    return out / "files", result, truth


def _xlsx_values(path: Path) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}


def test_same_seed_gives_identical_files(generated, tmp_path):
    files, result, _ = generated
    again = generate(tmp_path / "again", people=300, seed=7, truth_path=tmp_path / "truth.csv")
    assert again == result
    for name in result["files"]:
        if name.endswith(".csv"):
            assert (tmp_path / "again" / name).read_bytes() == (files / name).read_bytes(), name
        else:
            assert _xlsx_values(tmp_path / "again" / name) == _xlsx_values(files / name), name


def test_other_seed_gives_other_people(generated, tmp_path):
    files, _, _ = generated
    generate(tmp_path / "other", people=300, seed=8)
    assert (tmp_path / "other" / FORM).read_bytes() != (files / FORM).read_bytes()


def test_committed_sample_data_is_what_make_sample_data_writes(generated):
    files, result, truth = generated
    repo = Path(__file__).resolve().parents[1]
    for name in result["files"]:
        if name.endswith(".csv"):
            assert (repo / "sample_data" / name).read_bytes() == (files / name).read_bytes(), name
    committed_truth = (repo / "tests" / "data" / "sample_truth.csv").read_text(encoding="utf-8")
    assert committed_truth.splitlines()[1:] == [
        ",".join(row.values()) for row in truth
    ]


def test_web_form_is_gb18030_with_chinese_headers(generated):
    files, _, _ = generated
    raw = (files / FORM).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.decode("gb18030").splitlines()[0].split(",")
    assert header[:4] == ["提交时间", "表单名称", "姓名", "手机号"]
    assert header[-1] == "是否同意接收营销信息"
    assert (files / WEBINAR_CSV).read_bytes().startswith(b"\xef\xbb\xbf")


def test_trade_show_has_title_row_merged_and_a_sheet_per_day(generated):
    files, _, _ = generated
    workbook = openpyxl.load_workbook(files / EXPO1)
    assert workbook.sheetnames == ["第一天", "第二天", "备注", "空白页"]
    assert workbook["备注"].sheet_state == "hidden"
    assert workbook["空白页"].max_row == 1 and workbook["空白页"]["A1"].value is None
    day1 = workbook["第一天"]
    assert day1["A1"].value == "2026 上海工博会 展会名单"
    assert "A1:G1" in [str(r) for r in day1.merged_cells.ranges]
    assert [c.value for c in day1[2]] == ["姓名", "公司名称", "职位", "手机", "邮箱", "城市", "扫码时间"]
    sign_in = openpyxl.load_workbook(files / EXPO2)
    assert sign_in.sheetnames == ["第一天", "第二天", "第三天"]
    first = sign_in["第一天"]
    assert first["A1"].value == "2026 深圳高交会 签到表"
    assert all(c.value is None for c in first[2])
    assert first["B3"].value == "姓名" and first["G3"].value == "签到时间"
    assert isinstance(first["G4"].value, str) and first["G4"].value.startswith("2026/")


def test_some_phones_are_excel_numbers_and_times_real_datetimes(generated):
    files, _, _ = generated
    rows = [row for sheet in ("第一天", "第二天") for row in _xlsx_values(files / EXPO1)[sheet][2:]]
    numeric = [row[3] for row in rows if isinstance(row[3], int)]
    text = [row[3] for row in rows if isinstance(row[3], str)]
    assert numeric and text
    assert all(10_000_000_000 < n < 20_000_000_000 for n in numeric)
    assert all(hasattr(row[6], "year") for row in rows)


def test_every_hard_case_is_present(generated):
    _, result, truth = generated
    counts = Counter(row["case"] for row in truth)
    assert counts == Counter(result["cases"])
    for case in ("honorific", "traditional", "pinyin", "last_first", "name_space", "name_case", "initials",
                 "company_brand", "company_region", "company_english", "phone_format", "phone_number_cell",
                 "email_case", "email_typo", "job_change", "switchboard", "role_mailbox", "namesake", "bad_row",
                 "crm", "engagement"):
        assert counts[case] > 0, case
    assert counts["bad_row"] == 2
    assert counts["engagement"] == 600  # default: two events per person


def test_truth_covers_every_data_row_of_every_file(generated):
    files, _, truth = generated
    per_sheet = Counter((row["source_file"], row["source_sheet"]) for row in truth)
    for name in (FORM, WEBINAR_CSV, CRM, ENGAGEMENT):
        encoding = "gb18030" if name == FORM else "utf-8-sig"
        with open(files / name, encoding=encoding, newline="") as handle:
            assert per_sheet[(name, "")] == sum(1 for _ in csv.reader(handle)) - 1, name
    header_rows = {EXPO1: 2, EXPO2: 3, WEBINAR_XLSX: 1}
    for name, header_row in header_rows.items():
        for sheet, rows in _xlsx_values(files / name).items():
            data_rows = len(rows) - header_row if sheet.startswith("第") or name == WEBINAR_XLSX else 0
            assert per_sheet[(name, sheet)] == data_rows, (name, sheet)


def test_truth_rows_point_at_the_right_people(generated):
    files, _, truth = generated
    by_place = {(r["source_file"], r["source_sheet"], int(r["source_row"])): r for r in truth}
    with open(files / CRM, encoding="utf-8-sig", newline="") as handle:
        crm_rows = list(csv.reader(handle))
    # the CRM row is the clean reference of a person: same key elsewhere means same mobile somewhere
    crm_by_key = {by_place[(CRM, "", line)]["person_key"]: row for line, row in enumerate(crm_rows[1:], start=2)}
    assert len(crm_by_key) == len(crm_rows) - 1
    with open(files / FORM, encoding="gb18030", newline="") as handle:
        form_rows = list(csv.reader(handle))
    same_mobile = 0
    for line, row in enumerate(form_rows[1:], start=2):
        key = by_place[(FORM, "", line)]["person_key"]
        if key in crm_by_key and "".join(ch for ch in row[3] if ch.isdigit())[-11:] == crm_by_key[key][4]:
            same_mobile += 1
    assert same_mobile > 10
    # bad rows: no identifier at all; an invalid email with an unreadable time
    sheets = _xlsx_values(files / EXPO2)
    bad = [r for r in truth if r["source_file"] == EXPO2 and r["case"] == "bad_row"][0]
    row = sheets[bad["source_sheet"]][int(bad["source_row"]) - 1]
    assert row[5] == "zhang.at.qq.com" and row[6] == "下周一"
    bad = [r for r in truth if r["source_file"] == EXPO1 and r["case"] == "bad_row"][0]
    row = _xlsx_values(files / EXPO1)[bad["source_sheet"]][int(bad["source_row"]) - 1]
    assert row[0] == "王先生" and row[3] is None and row[4] is None and bad["person_key"] == ""


def test_namesakes_are_different_people(generated):
    _, _, truth = generated
    namesake_keys = {r["person_key"] for r in truth if r["case"] == "namesake"}
    assert len(namesake_keys) >= 2


def test_xlsx_cap_moves_nothing_beyond_the_limit(tmp_path):
    result = generate(tmp_path, people=400, seed=3, events=10, xlsx_max_rows=40, truth_path=tmp_path / "truth.csv")
    workbook = openpyxl.load_workbook(tmp_path / EXPO1)
    data_rows = sum(workbook[s].max_row - 2 for s in ("第一天", "第二天"))
    assert data_rows == 20 + 1  # half of the cap, plus the one bad row
    assert result["cases"]["engagement"] == 10
    spilled = "2026上海工博会_展会名单_续.csv"
    assert spilled in result["files"]
    with open(tmp_path / spilled, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["姓名", "公司名称", "职位", "手机", "邮箱", "城市", "扫码时间"]
    with open(tmp_path / "truth.csv", encoding="utf-8", newline="") as handle:
        truth = [r for r in csv.DictReader(handle) if r["source_file"] == spilled]
    assert len(truth) == len(rows) - 1 > 0
    assert [int(r["source_row"]) for r in truth] == list(range(2, len(rows) + 1))
