"""Reports: funnel, channels, scores, merges, segments and assignment load, as tables and Excel charts."""

from mactl.report.build import Report, Section, build_report, read_spend
from mactl.report.workbook import write_report_json, write_report_xlsx

__all__ = ["Report", "Section", "build_report", "read_spend", "write_report_json", "write_report_xlsx"]
