"""Suppression list: normalising, files (one column / named column, GB18030, XLSX with number phones), remove."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from mactl.errors import InputFileError, NotFoundError
from mactl.sendlists import suppress_add, suppress_list, suppress_remove


def listed(ws):
    return [(r["kind"], r["value"], r["reason"], r["source"]) for r in suppress_list(ws)]


def test_values_are_normalised_and_classified(workspace):
    result = suppress_add(workspace, [" Zhang.San@ACME.cn ", "+86 138-1234-5678", "@Rival.COM",
                                      "oUnionAbCdEf0123456789", "not a value", "13812345678"], reason="asked")
    assert result == {"added": 4, "already_listed": 0, "rejected": 1, "rejected_values": ["not a value"],
                      "total": 4}
    assert listed(workspace) == [("domain", "rival.com", "asked", "cli"),
                                 ("email", "zhang.san@acme.cn", "asked", "cli"),
                                 ("phone", "+8613812345678", "asked", "cli"),
                                 ("wechat", "oUnionAbCdEf0123456789", "asked", "cli")]
    again = suppress_add(workspace, ["zhang.san@acme.cn"])
    assert (again["added"], again["already_listed"], again["total"]) == (0, 1, 4)


def test_csv_with_named_column_in_gb18030(workspace, tmp_path):
    path = tmp_path / "退订名单.csv"
    path.write_bytes("姓名,手机\n张三,138 1234 5678\n李四,(+86)139-0000-0002\n".encode("gb18030"))
    assert suppress_add(workspace, [str(path)], reason="退订")["added"] == 2
    assert listed(workspace) == [("phone", "+8613812345678", "退订", "退订名单.csv"),
                                 ("phone", "+8613900000002", "退订", "退订名单.csv")]


def test_xlsx_single_column_with_excel_number_phones(workspace, tmp_path):
    book = Workbook()
    sheet = book.active
    for value in ("dnc", 13812345678, "a@b.cn"):
        sheet.append([value])
    path = tmp_path / "dnc.xlsx"
    book.save(path)
    result = suppress_add(workspace, [str(path)])
    assert (result["added"], result["rejected_values"]) == (2, ["dnc"])
    assert [v for _, v, _, _ in listed(workspace)] == ["a@b.cn", "+8613812345678"]


def test_file_with_several_unnamed_columns_is_refused_and_nothing_changes(workspace, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("a,b\nx@y.cn,1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="two.csv"):
        suppress_add(workspace, ["first@acme.cn", str(path)])
    assert listed(workspace) == []


def test_remove(workspace):
    suppress_add(workspace, ["a@acme.cn", "b@acme.cn"])
    assert suppress_remove(workspace, ["A@ACME.CN"]) == 1
    assert [v for _, v, _, _ in listed(workspace)] == ["b@acme.cn"]
    with pytest.raises(NotFoundError, match="not on the suppression list"):
        suppress_remove(workspace, ["a@acme.cn"])
