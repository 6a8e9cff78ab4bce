"""Legacy .xls workbooks (Excel 97-2003), read by calamine like .xlsx.

The fixture was written with xlwt (not a dependency): a title row above the header,
phones stored as numbers, scan times stored as Excel dates, one row with only a name.
"""

from datetime import datetime

from conftest import REPO

from mactl.importing import import_paths

XLS = REPO / "tests" / "data" / "importing" / "成都软博会_展会名单.xls"


def test_xls_badge_list_imports_with_title_row_number_phones_and_dates(workspace):
    summary = import_paths(workspace, [XLS])

    assert summary.failed == []
    result = summary.files[0]
    assert (result.channel, [(s.sheet, s.header_row, s.rows, s.records, s.quarantined_rows, s.events) for s in result.sheets]) == (
        "event", [("第一天", 3, 3, 2, 1, 2)])
    records = workspace.fetchall(
        "import", "check",
        "SELECT source_file, source_sheet, source_row, name, phone, email, company, city, record_time"
        " FROM source_record ORDER BY source_row")
    assert records == [
        ("成都软博会_展会名单.xls", "第一天", 4, "王芳", "13812345678", "wangfang@tfsoft.cn", "成都天府软件有限公司", "成都",
         datetime(2026, 10, 15, 1, 30)),
        ("成都软博会_展会名单.xls", "第一天", 5, "李雷", "15912345678", None, "西部数码", "成都",
         datetime(2026, 10, 15, 2, 5)),
    ]
    events = workspace.fetchall("import", "check", "SELECT event_type, occurred_at, campaign FROM event ORDER BY occurred_at")
    assert events == [
        ("badge_scan", datetime(2026, 10, 15, 1, 30), "2026 成都软博会 展会名单"),
        ("badge_scan", datetime(2026, 10, 15, 2, 5), "2026 成都软博会 展会名单"),
    ]
    quarantined = workspace.fetchall("import", "check", "SELECT source_sheet, source_row, row_imported FROM quarantine")
    assert quarantined == [("第一天", 6, False)]
    batch = workspace.fetchone("import", "check", "SELECT file_format, rows_read, records, events, quarantined FROM import_batch")
    assert batch == ("xls", 3, 2, 2, 1)
