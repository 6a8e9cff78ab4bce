"""The report as a workbook: one sheet per section, native Excel charts (open in Excel and WPS)."""

from __future__ import annotations

import json
from pathlib import Path

from mactl.exporting import write_xlsx
from mactl.report.build import Report, Section

# sheet -> (chart title, category column, value columns, horizontal bars?)
CHARTS = {
    "funnel": ("Funnel: people who reached each stage", "stage", ["reached"], True),
    "channels": ("Leads and MQLs by source channel", "channel", ["leads", "mqls"], False),
    "score_histogram": ("Score histogram", "bin", ["people"], False),
}


def _sheet_rows(section: Section) -> list[list]:
    rows = [list(r) for r in section.rows]
    return rows


def write_report_xlsx(report: Report, path: str | Path) -> Path:
    """Write every section as a sheet (through the safe exporter), then add the charts."""
    from openpyxl import load_workbook

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_xlsx(path, [(s.name, s.columns, _sheet_rows(s)) for s in report.sections])
    workbook = load_workbook(path)
    for section in report.sections:
        sheet = workbook[section.name]
        if section.name in CHARTS and section.rows:
            _add_chart(sheet, section, *CHARTS[section.name])
        if section.note:
            sheet.cell(row=len(section.rows) + 3, column=1, value=section.note)
    workbook.save(path)
    return path


def _add_chart(sheet, section: Section, title: str, category: str, values: list[str], horizontal: bool) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.data_source import AxDataSource, StrRef

    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title = title
    chart.style = 10
    chart.height, chart.width = 9, 16
    last = len(section.rows) + 1
    for name in values:
        column = section.columns.index(name) + 1
        chart.add_data(Reference(sheet, min_col=column, min_row=1, max_row=last), titles_from_data=True)
    labels = Reference(sheet, min_col=section.columns.index(category) + 1, min_row=2, max_row=last)
    for series in chart.series:  # text categories as a string reference, which WPS needs to show labels
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))
    if horizontal:
        chart.x_axis.scaling.orientation = "maxMin"  # first stage on top, like a funnel
        chart.legend = None
    if section.name == "score_histogram":
        chart.gapWidth = 0
        chart.legend = None
    sheet.add_chart(chart, f"{chr(ord('A') + len(section.columns) + 1)}2")


def write_report_json(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return path
