import datetime as dt
import hashlib
import json

import pytest
from importing_files import (
    add_cached_formula_value,
    crm_csv,
    engagement_csv,
    engagement_gb18030_csv,
    expo_workbook,
    form_csv,
    webinar_workbook,
)

from mactl.errors import RecipeError
from mactl.importing import import_paths, infer_channel
from mactl.importing.fields import field_for_header, map_headers

UTC = dt.datetime


def records(ws, columns="source_sheet, source_row, name, phone, email"):
    return ws.fetchall("t", "read", f"SELECT {columns} FROM source_record ORDER BY record_id")


def table_counts(ws):
    return {t: ws.scalar("t", "count", f"SELECT count(*) FROM {t}") for t in ("import_batch", "source_record", "event", "quarantine")}


# -- Excel -------------------------------------------------------------------


def test_xlsx_with_title_rows_and_sheet_per_day(workspace, tmp_path):
    path = expo_workbook(tmp_path / "2026上海工博会.xlsx")
    summary = import_paths(workspace, [path])
    result = summary.files[0]
    assert result.status == "imported"
    assert result.channel == "event"
    assert [(s.sheet, s.header_row, s.rows, s.records, s.quarantined_rows, s.events) for s in result.sheets] == [
        ("第一天", 3, 4, 3, 1, 3),
        ("第二天", 2, 1, 1, 0, 1),
    ]
    assert result.notes == [
        "sheet '内部备注' is hidden: skipped (pass --sheet '内部备注' to import it)",
        "sheet '空白' is empty: skipped",
    ]
    assert records(workspace) == [
        ("第一天", 4, "张三", "13812345678", "Zhang.San@huawei.com"),  # phone stored as an Excel number
        ("第一天", 5, "李女士", "+86 139-1234-5678", None),  # invalid email kept out, row still imported
        ("第一天", 8, "赵四", None, "zhao4@x.com"),  # invalid phone kept out
        ("第二天", 3, "Zhang Wei", "13598765432", None),  # 1.3598765432E+10 back to digits
    ]


def test_unrecognised_columns_are_kept_as_attributes(workspace, tmp_path):
    import_paths(workspace, [expo_workbook(tmp_path / "expo.xlsx")])
    attributes = workspace.fetchall("t", "read", "SELECT attributes FROM source_record ORDER BY record_id")
    assert [json.loads(a) if a else None for (a,) in attributes] == [{"展位号": "A1"}, {"展位号": "A2"}, {"展位号": "A4"}, None]


def test_times_are_read_in_shanghai_and_stored_in_utc(workspace, tmp_path):
    import_paths(workspace, [expo_workbook(tmp_path / "expo.xlsx")])
    times = workspace.fetchall("t", "read", "SELECT record_time FROM source_record ORDER BY record_id")
    assert times == [
        (UTC(2026, 9, 16, 6, 5),),  # Excel datetime 14:05
        (UTC(2026, 9, 16, 7, 0),),  # text 2026/9/16 15:00
        (UTC(2026, 9, 16, 8, 0),),  # ISO text
        (UTC(2026, 9, 16, 16, 0),),  # 2026年9月17日 = midnight in Shanghai
    ]


def test_badge_scans_carry_the_show_name_from_the_title_row(workspace, tmp_path):
    import_paths(workspace, [expo_workbook(tmp_path / "expo.xlsx")])
    events = workspace.fetchall("t", "read", "SELECT record_id, event_type, occurred_at, campaign, channel FROM event ORDER BY event_id")
    assert events[0] == (1, "badge_scan", UTC(2026, 9, 16, 6, 5), "2026 上海工博会 展会名单", "event")
    assert len(events) == 4


def test_only_named_sheet_is_imported_even_when_hidden(workspace, tmp_path):
    path = expo_workbook(tmp_path / "expo.xlsx")
    summary = import_paths(workspace, [path], sheet="内部备注")
    assert [s.sheet for s in summary.files[0].sheets] == ["内部备注"]
    assert records(workspace) == [("内部备注", 2, "内部", "13800000000", None)]


def test_formula_cells_give_their_values(workspace, tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "formula.xlsx"
    wb = Workbook()
    sheet = wb.active
    sheet.append(["姓名", "手机", "邮箱"])
    sheet.append(["张三", "13800000000", '=LOWER("ZS@X.COM")'])
    wb.save(path)
    add_cached_formula_value(path, 1, "C2", "zs@x.com")
    import_paths(workspace, [path])
    assert records(workspace) == [("Sheet", 2, "张三", "13800000000", "zs@x.com")]


def test_merged_header_cell_names_the_column_after_its_neighbour(workspace, tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "merged.xlsx"
    wb = Workbook()
    sheet = wb.active
    sheet.append(["姓名", "联系方式", None, "公司"])
    sheet.merge_cells("B1:C1")
    sheet.append(["张三", "13800000000", "zs@x.com", "X公司"])
    wb.save(path)
    summary = import_paths(workspace, [path])
    assert summary.files[0].sheets[0].mapping == {"姓名": "name", "联系方式": "phone", "公司": "company"}
    assert records(workspace, "name, phone, company, attributes") == [("张三", "13800000000", "X公司", '{"联系方式 (3)":"zs@x.com"}')]


# -- text files -----------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, delimiter, suffix, detected",
    [
        ("gb18030", ",", ".csv", "gb18030"),
        ("utf-8-sig", ",", ".csv", "utf-8-sig"),
        ("utf-8", ";", ".txt", "utf-8"),
        ("utf-16", "\t", ".tsv", "utf-16"),
    ],
)
def test_text_encodings_and_delimiters(workspace, tmp_path, encoding, delimiter, suffix, detected):
    path = form_csv(tmp_path / f"官网表单{suffix}", encoding, delimiter)
    summary = import_paths(workspace, [path])
    assert summary.files[0].encoding == detected
    assert summary.files[0].channel == "web_form"
    assert records(workspace, "source_sheet, source_row, name, phone, email, company, consent, utm_source") == [
        ("", 2, "陈老师", "13711112222", "chen@x.com", "某某化工", True, "baidu"),
        ("", 3, "赵六", None, "zhao@y.com", "Y公司", False, "wechat"),
    ]


def test_encoding_option_overrides_detection(workspace, tmp_path):
    path = tmp_path / "taiwan.csv"
    path.write_bytes("姓名,手機\n陳大文,13800000000\n".encode("big5"))
    summary = import_paths(workspace, [path], encoding="big5")
    assert summary.files[0].encoding == "big5"
    assert records(workspace, "name, phone") == [("陳大文", "13800000000")]


def test_form_submissions_become_events(workspace, tmp_path):
    import_paths(workspace, [form_csv(tmp_path / "form.csv")])
    assert workspace.fetchall(
        "t", "read", "SELECT event_type, occurred_at, form_name, utm_source, campaign FROM event ORDER BY event_id"
    ) == [
        ("form_submit", UTC(2026, 9, 16, 6, 5), "Demo申请", "baidu", "Demo申请"),
        ("form_submit", UTC(2026, 9, 17, 2, 0), "白皮书下载", "wechat", "白皮书下载"),
    ]
    assert records(workspace, "attributes")[0] == ('{"你的需求":"MES系统"}',)


def test_csv_header_under_title_and_blank_lines(workspace, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("2026 客户名单\n\n姓名,手机,邮箱\n张三,13800000000,zs@x.com\n", encoding="utf-8")
    summary = import_paths(workspace, [path])
    assert summary.files[0].sheets[0].header_row == 3
    assert summary.files[0].channel == "list"
    assert records(workspace) == [("", 4, "张三", "13800000000", "zs@x.com")]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_rows_below_blank_lines_keep_their_line_numbers(workspace, tmp_path, newline):
    lines = ["2026 客户名单", "", "姓名,手机,邮箱", "张三,13800000000,zs@x.com", "", "李四,13900000000,ls@x.com",
             "", "", "王五,bad,", '"赵六",13700000000,"zl@x.com"', "", ""]
    path = tmp_path / "list.csv"
    path.write_bytes(newline.join(lines).encode("gb18030"))
    import_paths(workspace, [path])
    assert [r[:3] for r in records(workspace)] == [("", 4, "张三"), ("", 6, "李四"), ("", 10, "赵六")]
    assert workspace.fetchall("t", "read", "SELECT source_row, column_name, value FROM quarantine ORDER BY reason") == [
        (9, "手机", "bad"), (9, None, None)]


def test_csv_cell_spanning_two_lines_is_one_row(workspace, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text('姓名,手机,你的需求\n张三,13800000000,"第一行\n\n第三行"\n\n李四,13900000000,\n', encoding="utf-8")
    import_paths(workspace, [path])
    # rows as Excel shows the file: a quoted cell with line breaks is one row, a blank line is a row
    assert records(workspace, "source_row, name, attributes") == [
        (2, "张三", '{"你的需求":"第一行\\n\\n第三行"}'), (4, "李四", '{"你的需求":null}')]


def test_activity_log_rows_below_blank_lines_keep_their_line_numbers(workspace, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("Email,Event,Time\na@x.com,open,2026-09-20 08:00:00\n\nb@y.com,click,2026-09-21 08:00:00\n"
                    "\na@x.com,forward,2026-09-22 08:00:00\n", encoding="utf-8")
    import_paths(workspace, [path])
    assert workspace.fetchall("t", "read", "SELECT source_row, event_type FROM event ORDER BY event_id") == [
        (2, "email_open"), (4, "email_click")]
    assert workspace.fetchall("t", "read", "SELECT source_row, value FROM quarantine") == [(6, "forward")]


def test_webinar_registration_attendance_and_replay(workspace, tmp_path):
    import_paths(workspace, [webinar_workbook(tmp_path / "直播.xlsx")])
    assert records(workspace, "name, nickname, phone") == [
        ("张伟", "小张", "13700000001"),
        ("李丽", "Lily", "13700000002"),
        (None, "无名", "13700000003"),  # a nickname never becomes the name
    ]
    assert workspace.fetchall(
        "t", "read", "SELECT record_id, event_type, occurred_at, watch_minutes FROM event ORDER BY record_id, event_type"
    ) == [
        (1, "webinar_attend", UTC(2026, 10, 3, 6, 0), 45.0),
        (1, "webinar_register", UTC(2026, 10, 1, 2, 0), None),
        (2, "replay_view", UTC(2026, 10, 1, 3, 0), None),
        (2, "webinar_register", UTC(2026, 10, 1, 3, 0), None),
        (3, "webinar_attend", UTC(2026, 10, 3, 6, 10), 65.5),
        (3, "webinar_register", UTC(2026, 10, 2, 1, 30), None),
    ]


def test_crm_export_keeps_long_ids_and_feeds_back_stage_and_owner(workspace, tmp_path):
    summary = import_paths(workspace, [crm_csv(tmp_path / "crm_contacts.csv")])
    assert summary.files[0].channel == "crm"
    assert records(workspace, "crm_id, crm_owner, crm_stage") == [
        ("900000000000000001", "王磊", "SAL"),
        ("900000000000000002", "陈静", "Recycled"),
    ]
    assert workspace.fetchall("t", "read", "SELECT event_type, crm_stage, crm_owner, detail, occurred_at FROM event ORDER BY event_id") == [
        ("crm_update", "SAL", "王磊", None, UTC(2026, 11, 1, 1, 0)),
        ("crm_update", "Recycled", "陈静", "预算不足", UTC(2026, 11, 2, 2, 30)),
    ]


def test_engagement_log_actions_and_unknown_action(workspace, tmp_path):
    summary = import_paths(workspace, [engagement_csv(tmp_path / "email_log.csv")])
    assert summary.files[0].channel == "engagement"
    assert workspace.fetchall("t", "read", "SELECT event_type, url FROM event ORDER BY event_id") == [
        ("email_open", None),
        ("email_click", "https://example.com/pricing"),
        ("email_bounce", None),
        ("unsubscribe", None),
    ]
    assert workspace.fetchall("t", "read", "SELECT source_row, column_name, value, row_imported FROM quarantine") == [
        (6, "Event", "forward", True)
    ]


def test_activity_log_makes_one_record_per_identity_and_one_event_per_row(workspace, tmp_path):
    summary = import_paths(workspace, [engagement_gb18030_csv(tmp_path / "邮件行为.csv")])
    file = summary.files[0]
    assert (file.encoding, file.channel) == ("gb18030", "engagement")
    sheet = file.sheets[0]
    assert (sheet.rows, sheet.records, sheet.events, sheet.quarantined_rows) == (8, 3, 6, 1)
    # the record's row is its identity's first row, its time the latest row time, first_record_time the earliest;
    # the campaign is each event's, not the record's
    assert records(workspace, "record_id, source_row, email, phone, utm_campaign, record_time, first_record_time") == [
        (1, 2, "a@x.com", None, None, UTC(2026, 10, 1, 0, 0), UTC(2026, 9, 18, 23, 0)),
        (2, 4, "b@y.com", None, None, UTC(2026, 9, 21, 2, 0), UTC(2026, 9, 21, 2, 0)),
        (3, 9, None, "13800000000", None, UTC(2026, 9, 25, 0, 0), UTC(2026, 9, 25, 0, 0)),
    ]
    # every row with an identity and a known action is an event, with its own row
    assert workspace.fetchall("t", "read", "SELECT event_id, record_id, source_row, event_type, occurred_at, campaign, url "
                                           "FROM event ORDER BY event_id") == [
        (1, 1, 2, "email_open", UTC(2026, 9, 20, 0, 0), "九月刊", None),
        (2, 1, 3, "email_click", UTC(2026, 9, 22, 1, 0), "九月刊", "https://example.com/pricing"),
        (3, 2, 4, "email_open", UTC(2026, 9, 21, 2, 0), "九月刊", None),
        (4, 1, 5, "email_open", UTC(2026, 10, 1, 0, 0), "十月刊", None),
        (5, 1, 6, "email_open", UTC(2026, 9, 18, 23, 0), "九月刊", None),
        (8, 3, 9, "email_click", UTC(2026, 9, 25, 0, 0), "九月刊", None),  # ids follow row numbers: lines 7 and 8 made no event
    ]
    # bad cells and rows are quarantined row by row, as before
    assert workspace.fetchall("t", "read", "SELECT source_row, column_name, value, row_imported FROM quarantine "
                                           "ORDER BY source_row, reason") == [
        (7, "行为", "转发", True),
        (8, "邮箱", "not-an-email", False),
        (8, None, None, False),
        (9, "邮箱", "wrong@", True),
    ]
    assert workspace.fetchall("t", "read", "SELECT rows_read, records, events, quarantined FROM import_batch") == [(8, 3, 6, 4)]
    assert workspace.scalar("t", "read", "SELECT value FROM mactl_setting WHERE key = 'next_id.record'") == "3"
    assert workspace.scalar("t", "read", "SELECT value FROM mactl_setting WHERE key = 'next_id.event'") == "8"



def test_activity_row_with_problems_of_its_identity_and_of_its_own_lists_each_once(workspace, tmp_path):
    # identity problems (no identifier, bad email) and row problems (time, action) are found by two scans
    path = tmp_path / "log.csv"
    path.write_text(
        "Email,Event,Time\n"
        "a@x.com,open,2026-09-20 08:00:00\n"     # line 2: fine
        "nobody,forward,next monday\n"           # line 3: every problem at once
        "a@x.com,forward,2026-09-21 08:00:00\n"  # line 4: the row's action only
        "nobody,open,2026-09-22 08:00:00\n"      # line 5: the identity only
        "b@y.com,open,yesterday\n",              # line 6: the row's time only (still an event, without a time)
        encoding="utf-8",
    )
    import_paths(workspace, [path])
    assert workspace.fetchall("t", "read", "SELECT source_row, column_name, value, reason, row_imported FROM quarantine "
                                           "ORDER BY source_row, reason") == [
        (3, "Email", "nobody", "invalid email address", False),
        (3, None, None, "no usable identifier (email, mobile phone, WeChat id or CRM id)", False),
        (3, "Event", "forward", "unknown action (not open, click, bounce, unsubscribe, page view, download or read): no event recorded", False),
        (3, "Time", "next monday", "unparseable date/time (use e.g. 2026-09-16 14:05)", False),
        (4, "Event", "forward", "unknown action (not open, click, bounce, unsubscribe, page view, download or read): no event recorded", True),
        (5, "Email", "nobody", "invalid email address", False),
        (5, None, None, "no usable identifier (email, mobile phone, WeChat id or CRM id)", False),
        (6, "Time", "yesterday", "unparseable date/time (use e.g. 2026-09-16 14:05)", True),
    ]
    assert json.loads(workspace.scalar("t", "read", "SELECT row_data FROM quarantine WHERE source_row = 3 AND column_name = 'Time'")) == {
        "Email": "nobody", "Event": "forward", "Time": "next monday"}
    assert workspace.fetchall("t", "read", "SELECT source_row, event_type, occurred_at FROM event ORDER BY source_row") == [
        (2, "email_open", UTC(2026, 9, 20, 0, 0)), (6, "email_open", None)]

def test_activity_rows_whose_values_clean_alike_share_a_record(workspace, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("Email,Event,Time,Consent\n"
                    "a@x.com,open,2026-09-20 08:00,是\n"
                    "a@x.com,click,2026-09-21 08:00,yes\n"
                    "a@x.com,open,2026-09-22 08:00,否\n", encoding="utf-8")
    import_paths(workspace, [path])
    assert records(workspace, "record_id, source_row, consent, record_time") == [
        (1, 2, True, UTC(2026, 9, 21, 0, 0)),
        (2, 4, False, UTC(2026, 9, 22, 0, 0)),
    ]
    assert workspace.fetchall("t", "read", "SELECT record_id, source_row FROM event ORDER BY event_id") == [(1, 2), (1, 3), (2, 4)]


def test_contact_lists_keep_one_record_per_row_and_events_name_their_row(workspace, tmp_path):
    path = tmp_path / "表单.csv"
    path.write_text("提交时间,表单名称,邮箱\n2026-09-16 14:05,Demo申请,a@x.com\n2026-09-17 10:00,Demo申请,a@x.com\n",
                    encoding="utf-8")
    import_paths(workspace, [path])
    assert records(workspace, "record_id, source_row, record_time, first_record_time") == [
        (1, 2, UTC(2026, 9, 16, 6, 5), UTC(2026, 9, 16, 6, 5)),
        (2, 3, UTC(2026, 9, 17, 2, 0), UTC(2026, 9, 17, 2, 0)),
    ]
    assert workspace.fetchall("t", "read", "SELECT record_id, source_row FROM event ORDER BY event_id") == [(1, 2), (2, 3)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-09-16 14:05:00", UTC(2026, 9, 16, 6, 5)),
        ("2026/9/16 14:05", UTC(2026, 9, 16, 6, 5)),
        ("2026年9月16日", UTC(2026, 9, 15, 16, 0)),
        ("46281.5", UTC(2026, 9, 16, 4, 0)),  # Excel serial number of 2026-09-16 12:00
        ("2026-09-16T14:05:00+08:00", UTC(2026, 9, 16, 6, 5)),
        ("2026-09-16T06:05:00Z", UTC(2026, 9, 16, 6, 5)),
    ],
)
def test_time_formats(workspace, tmp_path, text, expected):
    path = tmp_path / "t.csv"
    path.write_text(f"手机,提交时间\n13800000000,{text}\n", encoding="utf-8")
    import_paths(workspace, [path])
    assert records(workspace, "record_time") == [(expected,)]


def test_timezone_option(workspace, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("手机,提交时间\n13800000000,2026-09-16 14:05\n", encoding="utf-8")
    import_paths(workspace, [path], timezone="UTC")
    assert records(workspace, "record_time") == [(UTC(2026, 9, 16, 14, 5),)]


@pytest.mark.parametrize(
    "zone, text, expected",
    [
        ("Asia/Shanghai", "1990-07-01 12:00", UTC(1990, 7, 1, 3, 0)),  # China kept summer time until 1991: +09:00
        ("Asia/Shanghai", "1991-09-16 12:00", UTC(1991, 9, 16, 4, 0)),  # the day after its last change
        ("Asia/Shanghai", "2026-09-16 14:05", UTC(2026, 9, 16, 6, 5)),  # fixed +08:00 since
        ("America/New_York", "2026-07-01 12:00", UTC(2026, 7, 1, 16, 0)),  # summer time, EDT
        ("America/New_York", "2026-12-01 12:00", UTC(2026, 12, 1, 17, 0)),  # winter, EST
        ("Asia/Kolkata", "2026-07-01 12:00", UTC(2026, 7, 1, 6, 30)),
    ],
)
def test_times_follow_the_zone_rules_of_their_date(workspace, tmp_path, zone, text, expected):
    path = tmp_path / "t.csv"
    path.write_text(f"手机,提交时间\n13800000000,{text}\n", encoding="utf-8")
    import_paths(workspace, [path], timezone=zone)
    assert records(workspace, "record_time") == [(expected,)]


def test_large_csv_rows_keep_their_line_numbers(workspace, tmp_path):
    # big enough for a parallel read over many chunks, with quoted cells and rows without an identifier
    path = tmp_path / "big.csv"
    lines = ["邮箱,手机,备注"] + [f"u{i}@x.com,138{i:08d},\"a, b\"" if i % 1000 else ",,none" for i in range(300_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = import_paths(workspace, [path])
    assert summary.files[0].sheets[0].records == 299_700
    assert workspace.fetchall("t", "read", """
        SELECT count(*), count(*) FILTER (WHERE source_row <> CAST(regexp_extract(email, 'u([0-9]+)@', 1) AS INTEGER) + 2),
               min(source_row), max(source_row)
        FROM source_record""") == [(299_700, 0, 3, 300_001)]
    assert workspace.fetchall("t", "read", "SELECT min(source_row), max(source_row), count(*) FROM quarantine") == [
        (2, 299_002, 300)]


# -- lineage, idempotency, quarantine ---------------------------------------------


def test_lineage_batch_and_sha256(workspace, tmp_path):
    path = form_csv(tmp_path / "form.csv")
    summary = import_paths(workspace, [path])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary.files[0].sha256 == sha
    assert workspace.fetchall("t", "read", "SELECT DISTINCT batch_id, source_file, file_sha256 FROM source_record") == [(1, "form.csv", sha)]
    assert workspace.fetchall("t", "read", "SELECT batch_id, source_file, records, events, quarantined, status FROM import_batch") == [
        (1, "form.csv", 2, 2, 0, "imported")
    ]


def test_same_content_twice_does_nothing(workspace, tmp_path):
    path = form_csv(tmp_path / "form.csv")
    import_paths(workspace, [path])
    before = table_counts(workspace)
    copy = tmp_path / "copy_of_form.csv"
    copy.write_bytes(path.read_bytes())
    summary = import_paths(workspace, [path, copy])
    assert [f.status for f in summary.files] == ["skipped", "skipped"]
    assert summary.files[0].notes[0].startswith("already imported on ")
    assert summary.files[0].notes[0].endswith("as batch 1; nothing to do (use --replace to import it again)")
    assert table_counts(workspace) == before


def test_files_read_ahead_keep_their_order_errors_and_skips(workspace, tmp_path, monkeypatch):
    """The next file is read in a thread while one is written: results, ids and errors stay in the given order,
    and a file imported before the command began is hashed but never read again."""
    import mactl.importing.stage as stage

    known = form_csv(tmp_path / "known.csv")
    import_paths(workspace, [known])
    reads = []
    real_read = stage.read_file
    monkeypatch.setattr(stage, "read_file", lambda path, **kw: reads.append(path.name) or real_read(path, **kw))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    expo = expo_workbook(tmp_path / "expo.xlsx")
    crm = crm_csv(tmp_path / "crm.csv")
    copy = tmp_path / "crm_again.csv"
    copy.write_bytes(crm.read_bytes())
    summary = import_paths(workspace, [known, broken, expo, crm, copy])
    assert [(f.file, f.status) for f in summary.files] == [
        ("known.csv", "skipped"), ("broken.xlsx", "failed"), ("expo.xlsx", "imported"), ("crm.csv", "imported"),
        ("crm_again.csv", "skipped"),
    ]
    assert summary.files[1].error.startswith(f"{broken}: not a readable Excel workbook (")
    # the copy is read ahead (its twin had not been imported yet), then skipped as the same content
    assert reads == ["broken.xlsx", "expo.xlsx", "crm.csv", "crm_again.csv"]
    batches = workspace.fetchall("t", "read", "SELECT batch_id, source_file FROM import_batch ORDER BY batch_id")
    assert batches == [(1, "known.csv"), (2, "expo.xlsx"), (3, "crm.csv")]
    first_ids = workspace.fetchall("t", "read", "SELECT batch_id, min(record_id) FROM source_record GROUP BY 1 ORDER BY 1")
    assert [b for b, _ in first_ids] == [1, 2, 3] and first_ids[1][1] == 3


def test_replace_swaps_the_batch(workspace, tmp_path):
    path = form_csv(tmp_path / "form.csv")
    import_paths(workspace, [path])
    summary = import_paths(workspace, [path], replace=True)
    assert summary.files[0].status == "imported"
    assert summary.files[0].notes == ["replaced batch 1"]
    assert workspace.fetchall("t", "read", "SELECT batch_id, status FROM import_batch ORDER BY batch_id") == [(1, "replaced"), (2, "imported")]
    assert workspace.fetchall("t", "read", "SELECT record_id, batch_id FROM source_record ORDER BY record_id") == [(3, 2), (4, 2)]
    assert workspace.scalar("t", "count", "SELECT count(*) FROM event") == 2


def test_quarantine_reasons(workspace, tmp_path):
    import_paths(workspace, [expo_workbook(tmp_path / "expo.xlsx")])
    rows = workspace.fetchall(
        "t", "read",
        "SELECT source_sheet, source_row, column_name, value, reason, row_imported FROM quarantine ORDER BY source_row, reason",
    )
    assert rows == [
        ("第一天", 5, "邮箱", "bad.email", "invalid email address", True),
        ("第一天", 6, None, None, "no usable identifier (email, mobile phone, WeChat id or CRM id)", False),
        ("第一天", 6, "扫码时间", "下周一", "unparseable date/time (use e.g. 2026-09-16 14:05)", False),
        ("第一天", 8, "手机", "12345", "invalid phone number (fewer than 7 digits, or letters)", True),
    ]
    kept = workspace.scalar("t", "read", "SELECT row_data FROM quarantine WHERE source_row = 6 AND column_name IS NULL")
    assert json.loads(kept) == {
        "姓名": "王伟", "公司名称": "某公司", "职位": "工程师", "手机": None, "邮箱": None, "城市": "北京",
        "扫码时间": "下周一", "展位号": "A3",
    }


@pytest.mark.parametrize("failing", ["_stage_sheet", "_write_sheet"])
def test_a_file_failing_on_its_second_sheet_writes_nothing_and_leaves_no_temp_tables(workspace, tmp_path, monkeypatch, failing):
    # sheets are staged in temp tables first, then written in one transaction: a failure in either part
    # leaves the workspace as it was and drops what the staging made
    from mactl.importing import stage

    import_paths(workspace, [form_csv(tmp_path / "form.csv")])
    before = table_counts(workspace)
    settings = workspace.fetchall("t", "read", "SELECT * FROM mactl_setting ORDER BY key")
    real, calls = getattr(stage, failing), []

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(stage, failing, fail_on_second)
    with pytest.raises(RuntimeError, match="disk full"):
        import_paths(workspace, [expo_workbook(tmp_path / "expo.xlsx")])
    assert len(calls) == 2
    assert table_counts(workspace) == before
    assert workspace.fetchall("t", "read", "SELECT * FROM mactl_setting ORDER BY key") == settings
    assert workspace.fetchall("t", "read", "SELECT table_name FROM duckdb_tables() WHERE temporary "
                                           "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal") == []


def test_dry_run_writes_nothing(workspace, tmp_path):
    before = table_counts(workspace)
    summary = import_paths(workspace, [expo_workbook(tmp_path / "expo.xlsx")], dry_run=True)
    sheet = summary.files[0].sheets[0]
    assert summary.files[0].status == "dry-run"
    assert sheet.header_row == 3
    assert sheet.mapping["扫码时间"] == "checkin_time"
    assert sheet.attributes == ["展位号"]
    assert sheet.preview[0][:2] == ["张三", "华为技术有限公司"]
    assert table_counts(workspace) == before


# -- recipes ---------------------------------------------------------------------


def test_recipe_maps_columns_sets_channel_campaign_and_fixed_values(workspace, tmp_path):
    path = tmp_path / "partner_list.csv"
    path.write_text("联系人手机(必填),Org,Remark\n13800000000,X公司,vip\n", encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "sources:\n"
        "  - name: partner\n"
        "    match: 'partner_*.csv'\n"
        "    channel: event\n"
        "    event_type: event_checkin\n"
        "    campaign: 合作伙伴沙龙\n"
        "    columns: {Org: company, Remark: ignore}\n"
        "    values: {city: 杭州}\n",
        encoding="utf-8",
    )
    summary = import_paths(workspace, [path], recipe_path=recipe)
    assert summary.files[0].channel == "event"
    assert records(workspace, "phone, company, city, attributes") == [("13800000000", "X公司", "杭州", None)]
    assert workspace.fetchall("t", "read", "SELECT event_type, campaign FROM event") == [("event_checkin", "合作伙伴沙龙")]


def test_invalid_recipe_lists_every_problem(workspace, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "sources:\n  - match: '*.csv'\n    channel: fair\n    columns: {Org: companyname}\n", encoding="utf-8"
    )
    with pytest.raises(RecipeError) as info:
        import_paths(workspace, [form_csv(tmp_path / "f.csv")], recipe_path=recipe)
    problems = info.value.problems
    assert problems[0].startswith("line 3: sources[0].channel: Value error, unknown channel 'fair'")
    assert problems[1].startswith("line 4: sources[0].columns: Value error, unknown field(s) companyname")
    assert workspace.scalar("t", "count", "SELECT count(*) FROM source_record") == 0


# -- header mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, field",
    [
        ("姓名", "name"), ("真实姓名", "name"), ("Contact Name", "name"), ("手机号码(必填)", "phone"),
        ("E-mail", "email"), ("Account Name", "company"), ("单位", "company"), ("微信UnionID", "wechat_unionid"),
        ("OpenID", "wechat_openid"), ("观看时长(分钟)", "watch_minutes"), ("是否观看回放", "replay_watched"),
        ("utm_source", "utm_source"), ("CRM ID", "crm_id"), ("负责人", "crm_owner"), ("Stage", "crm_stage"),
        ("是否同意接收营销信息", "consent"), ("首次进入时间", "first_entered_at"), ("展位号", None),
    ],
)
def test_header_names(header, field):
    assert field_for_header(header) == field


def test_nickname_never_takes_the_name_field():
    assert map_headers(["昵称", "真实姓名", "手机"]) == {0: "nickname", 1: "name", 2: "phone"}
    assert map_headers(["昵称", "手机"]) == {0: "nickname", 1: "phone"}


@pytest.mark.parametrize(
    "fields, name, channel",
    [
        ({"phone", "watch_minutes"}, "x.xlsx", "webinar"),
        ({"email", "event_action"}, "x.csv", "engagement"),
        ({"crm_id", "phone"}, "x.csv", "crm"),
        ({"phone", "checkin_time"}, "x.xlsx", "event"),
        ({"phone", "form_name"}, "x.csv", "web_form"),
        ({"phone"}, "2026展会名单.xlsx", "event"),
        ({"phone"}, "contacts.csv", "list"),
    ],
)
def test_channel_inference(fields, name, channel):
    assert infer_channel(fields, name) == channel


# -- the sample data ---------------------------------------------------------------------


def test_sample_data_imports_cleanly(workspace):
    from conftest import SAMPLE_DATA

    summary = import_paths(workspace, [SAMPLE_DATA])
    assert summary.exit_code == 0
    by_file = {f.file: (f.channel, sum(s.records for s in f.sheets), sum(s.events for s in f.sheets)) for f in summary.files}
    assert by_file == {
        "2026上海工博会_展会名单.xlsx": ("event", 100, 100),
        "2026深圳高交会_签到表.xlsx": ("event", 77, 77),
        "crm_contacts_export.csv": ("crm", 55, 55),
        "email_engagement_log.csv": ("engagement", 262, 600),  # one record per email, one event per row
        "webinar_数字化转型.csv": ("webinar", 71, 127),
        "官网表单导出_2026Q3.csv": ("web_form", 173, 173),
        "直播_智能制造研讨会.xlsx": ("webinar", 89, 149),
    }
    assert workspace.fetchall("t", "read", "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason") == [
        ("invalid email address", 1),
        ("no usable identifier (email, mobile phone, WeChat id or CRM id)", 1),
        ("unparseable date/time (use e.g. 2026-09-16 14:05)", 1),
    ]


def test_every_truth_row_is_a_record_or_in_quarantine(workspace):
    import csv

    from conftest import REPO, SAMPLE_DATA

    import_paths(workspace, [SAMPLE_DATA])
    with open(REPO / "tests" / "data" / "sample_truth.csv", encoding="utf-8") as handle:
        truth = {(r["source_file"], r["source_sheet"], int(r["source_row"])) for r in csv.DictReader(handle)}
    # a row is imported as a record of its own, or (activity logs) as events of its identity's record
    imported = set(workspace.fetchall("t", "read", """
        SELECT source_file, source_sheet, source_row FROM source_record
        UNION SELECT s.source_file, s.source_sheet, e.source_row FROM event e JOIN source_record s USING (record_id)"""))
    quarantined = set(workspace.fetchall("t", "read", "SELECT source_file, source_sheet, source_row FROM quarantine WHERE NOT row_imported"))
    assert imported | quarantined == truth
    assert not imported & quarantined
