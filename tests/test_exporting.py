import csv

import pytest
from openpyxl import load_workbook

from mactl.errors import UsageError
from mactl.exporting import neutralise, write_query, write_rows


@pytest.mark.parametrize(
    "value, safe",
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("+8613812345678", "+8613812345678"),
        ("-3", "-3"),
        ("张三", "张三"),
        (42, 42),
        (None, None),
    ],
)
def test_neutralise(value, safe):
    assert neutralise(value) == safe


def test_csv_has_bom_and_neutralised_cells(tmp_path):
    path = tmp_path / "out.csv"
    write_rows(path, ["姓名", "备注"], [("张三", "=1+1"), ("李四", None)])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows == [["姓名", "备注"], ["张三", "'=1+1"], ["李四", ""]]


def test_xlsx_has_frozen_bold_header_cjk_font_and_neutralised_cells(tmp_path):
    path = tmp_path / "out.xlsx"
    write_rows(path, ["姓名", "公司"], [("=evil()", "华为技术有限公司")], sheet_name="人员")
    sheet = load_workbook(path)["人员"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold is True
    assert sheet["A2"].value == "'=evil()"
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].font.name == "Microsoft YaHei"
    assert sheet.column_dimensions["B"].width == pytest.approx(18.71, abs=0.01)  # Excel shows 18; the file keeps its padding


def test_xlsx_column_widths_follow_the_widest_cell_with_cjk_counted_double(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = [("x", "张", "y" * 100, 7), ("abcdefghijkl", "华为技术", None, 123456789012), ("ab", "ab", "=z", None)]
    write_rows(path, ["a", "b", "c", "d"], rows)
    widths = {c: load_workbook(path).active.column_dimensions[c].width for c in "ABCD"}
    # text width + 2, at least 8, at most 60; XlsxWriter stores 0.71 of padding
    assert widths == pytest.approx({"A": 14.71, "B": 10.71, "C": 60.71, "D": 14.71}, abs=0.01)


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path, monkeypatch):
    from mactl import exporting
    from mactl.errors import UsageError

    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 3)  # a real sheet holds 1,048,576 rows, header included
    assert write_rows(tmp_path / "ok.xlsx", ["姓名"], [("张三",), ("李四",)]) == 2
    with pytest.raises(UsageError, match=r"big\.xlsx: more than 2 rows do not fit in one \.xlsx sheet; write \.csv or \.parquet instead"):
        write_rows(tmp_path / "big.xlsx", ["姓名"], [("张三",), ("李四",), ("王五",)])
    assert not (tmp_path / "big.xlsx").exists()  # no half-written workbook is left behind


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_write_query_formats(workspace, tmp_path, suffix):
    path = tmp_path / f"out.{suffix}"
    count = write_query(
        workspace,
        "test",
        "SELECT * FROM (VALUES ('=1+1', 1), ('ok', 2)) t(note, n) WHERE n <= ?",
        [2],
        path,
    )
    assert count == 2
    if suffix == "csv":
        assert path.read_text(encoding="utf-8-sig").splitlines() == ["note,n", "'=1+1,1", "ok,2"]
    elif suffix == "parquet":
        rows = workspace.fetchall("test", "read", f"SELECT * FROM read_parquet('{path}') ORDER BY n")
        assert rows == [("=1+1", 1), ("ok", 2)]
    else:
        sheet = load_workbook(path).active
        assert [[c.value for c in r] for r in sheet.iter_rows()] == [["note", "n"], ["'=1+1", 1], ["ok", 2]]


def test_unsupported_output_format_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"cannot write \.txt files"):
        write_rows(tmp_path / "x.txt", ["a"], [])
