"""Builders of real export files for the import tests."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook


def expo_workbook(path: Path) -> Path:
    """Trade show: merged title row, blank row, header on row 3, two day sheets, a hidden and an empty sheet."""
    wb = Workbook()
    day1 = wb.active
    day1.title = "第一天"
    day1.append(["2026 上海工博会 展会名单"])
    day1.merge_cells("A1:H1")
    day1.append([])
    day1.append(["姓名", "公司名称", "职位", "手机", "邮箱", "城市", "扫码时间", "展位号"])
    day1.append(["张三", "华为技术有限公司", "总监", 13812345678, "Zhang.San@huawei.com", "上海", dt.datetime(2026, 9, 16, 14, 5), "A1"])
    day1.append(["李女士", "上海某某科技有限公司", "经理", "+86 139-1234-5678", "bad.email", "上海", "2026/9/16 15:00", "A2"])
    day1.append(["王伟", "某公司", "工程师", None, None, "北京", "下周一", "A3"])
    day1.append([None] * 8)  # an empty row is not a record and not a problem
    day1.append(["赵四", "某公司", "工程师", "12345", "zhao4@x.com", "北京", "2026-09-16 16:00", "A4"])
    day2 = wb.create_sheet("第二天")
    day2.append(["2026 上海工博会 展会名单"])
    day2.append(["姓名", "公司名称", "手机", "扫码时间"])
    day2.append(["Zhang Wei", "ACME Inc.", 1.3598765432e10, "2026年9月17日"])
    hidden = wb.create_sheet("内部备注")
    hidden.append(["姓名", "手机"])
    hidden.append(["内部", "13800000000"])
    hidden.sheet_state = "hidden"
    wb.create_sheet("空白")
    wb.save(path)
    return path


def webinar_workbook(path: Path) -> Path:
    wb = Workbook()
    sheet = wb.active
    sheet.title = "观看数据"
    sheet.append(["昵称", "真实姓名", "手机", "公司", "报名时间", "首次进入时间", "观看时长(分钟)", "是否观看回放"])
    sheet.append(["小张", "张伟", "13700000001", "A公司", "2026-10-01 10:00", "2026-10-03 14:00", 45, "否"])
    sheet.append(["Lily", "李丽", "13700000002", "B公司", "2026-10-01 11:00", None, 0, "是"])
    sheet.append(["无名", None, "13700000003", "C公司", "2026-10-02 09:30", "2026-10-03 14:10", "1:05:30", "否"])
    wb.save(path)
    return path


def crm_csv(path: Path) -> Path:
    path.write_text(
        "CRM ID,Contact Name,Account Name,Mobile,Email,Owner,Stage,Last Modified,Notes\n"
        "900000000000000001,张三,华为技术有限公司,13812345678,zhang.san@huawei.com,王磊,SAL,2026-11-01 09:00,\n"
        "900000000000000002,李四,美的集团,13912345678,,陈静,Recycled,2026-11-02 10:30,预算不足\n",
        encoding="utf-8-sig",
    )
    return path


def engagement_csv(path: Path) -> Path:
    path.write_text(
        "Email,Event,Campaign,Time,URL\n"
        "a@x.com,open,九月刊,2026-09-20 08:00:00,\n"
        "a@x.com,click,九月刊,2026-09-20 08:01:00,https://example.com/pricing\n"
        "b@y.com,bounce,九月刊,2026-09-20 08:00:00,\n"
        "c@z.com,退订,九月刊,2026-09-21 12:00:00,\n"
        "d@w.com,forward,九月刊,2026-09-21 12:00:00,\n",
        encoding="utf-8",
    )
    return path


def engagement_gb18030_csv(path: Path) -> Path:
    """An activity log as Excel on Chinese Windows saves it: the same people on many rows, a bad action, bad rows."""
    path.write_bytes(
        (
            "邮箱,行为,活动,时间,链接,手机\n"
            "a@x.com,打开,九月刊,2026-09-20 08:00:00,,\n"                             # line 2: record 1
            "a@x.com,点击,九月刊,2026-09-22 09:00:00,https://example.com/pricing,\n"  # line 3: record 1
            "b@y.com,打开,九月刊,2026-09-21 10:00:00,,\n"                             # line 4: record 2
            "a@x.com,打开,十月刊,2026-10-01 08:00:00,,\n"                             # line 5: another campaign, record 1
            "a@x.com,打开,九月刊,2026-09-19 07:00:00,,\n"                             # line 6: record 1, its earliest row
            "a@x.com,转发,九月刊,2026-09-23 07:00:00,,\n"                             # line 7: record 1, unknown action, latest
            "not-an-email,打开,九月刊,2026-09-24 08:00:00,,\n"                        # line 8: nobody
            "wrong@,点击,九月刊,2026-09-25 08:00:00,,13800000000\n"                  # line 9: bad email, good phone: record 3
        ).encode("gb18030")
    )
    return path


FORM_ROWS = (
    "提交时间,表单名称,姓名,手机号,邮箱,公司,utm_source,是否同意接收营销信息,你的需求\n"
    "2026/9/16 14:05,Demo申请,陈老师,13711112222,chen@x.com,某某化工,baidu,是,MES系统\n"
    "2026-09-17 10:00,白皮书下载,赵六,,zhao@y.com,Y公司,wechat,否,\n"
)


def form_csv(path: Path, encoding: str = "gb18030", delimiter: str = ",") -> Path:
    text = FORM_ROWS.replace(",", delimiter)
    path.write_bytes(text.encode(encoding))
    return path


def add_cached_formula_value(path: Path, sheet_index: int, cell: str, value: str) -> None:
    """openpyxl writes formulas without results; add the cached result Excel would have saved."""
    member = f"xl/worksheets/sheet{sheet_index}.xml"
    with zipfile.ZipFile(path) as src:
        items = {name: src.read(name) for name in src.namelist()}
    xml = items[member].decode("utf-8")
    xml = re.sub(
        rf'<c r="{cell}"([^>]*)><f>([^<]*)</f><v\s*/?>(</v>)?',
        lambda m: f'<c r="{cell}" t="str"><f>{m.group(2)}</f><v>{value}</v>',
        xml,
    )
    items[member] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in items.items():
            out.writestr(name, data)
