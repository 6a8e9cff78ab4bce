"""Writing tables people open in Excel: CSV, XLSX, Parquet, with formulas neutralised.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is
run as a formula by Excel and WPS (CSV injection). Every such cell gets a
leading apostrophe, which spreadsheets show as text. Plain numbers such as an
E.164 phone ``+8613812345678`` or ``-3`` are not formulas and are left as they
are, so send lists still upload to SMS platforms.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mactl.errors import UsageError
from mactl.workspace import Workspace, quote_ident

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9 ]*(\.[0-9]+)?$")
# Same rule in SQL, for exports written by DuckDB itself.
_SQL_NEUTRALISE = (
    "CASE WHEN regexp_matches({col}, '^[=+\\-@\\t\\r]') "
    "AND NOT regexp_matches({col}, '^[+-]?[0-9][0-9 ]*(\\.[0-9]+)?$') "
    "THEN '''' || {col} ELSE {col} END"
)
CJK_FONT = "Microsoft YaHei"  # shows Chinese in Excel and WPS on Windows and macOS
XLSX_MAX_ROWS = 1_048_576  # rows in one Excel sheet, the header included
SUPPORTED_FORMATS = ("csv", "xlsx", "parquet")


def neutralise(value: Any) -> Any:
    """Make one cell value safe to open in a spreadsheet."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralise_sql(column_sql: str) -> str:
    """SQL expression that neutralises a VARCHAR expression (see module doc)."""
    return _SQL_NEUTRALISE.format(col=column_sql)


def format_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in SUPPORTED_FORMATS:
        raise UsageError(
            f"{path}: cannot write .{suffix or '(no extension)'} files; use a name ending in "
            + ", ".join("." + f for f in SUPPORTED_FORMATS)
        )
    return suffix


def write_rows(
    path: str | Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_name: str = "Sheet1",
) -> int:
    """Write rows to CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX. Returns the row count."""
    path = Path(path)
    fmt = format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        count = 0
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([neutralise(c) for c in columns])
            for row in rows:
                writer.writerow(["" if v is None else neutralise(_cell_text(v)) for v in row])
                count += 1
        return count
    if fmt == "xlsx":
        return write_xlsx(path, [(sheet_name, columns, rows)])
    raise UsageError(f"{path}: parquet output needs a query; use write_query")


def write_xlsx(path: str | Path, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> int:
    """Write one or more sheets: bold frozen header, a CJK font, column widths fitted to the data.

    XlsxWriter streams rows to disk (constant memory) and writes large sheets about twice as fast as
    openpyxl. Text is always written as text: never as a formula, a link or a number.
    """
    import xlsxwriter

    rows_written = 0
    path = Path(path)
    font = {"font_name": CJK_FONT, "font_size": 10}
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False, "remove_timezone": True,
        "default_format_properties": font,  # the CJK font by default: body cells need no format of their own
    })
    header_format = workbook.add_format({**font, "bold": True})
    time_format = workbook.add_format({**font, "num_format": "yyyy-mm-dd hh:mm:ss"})
    date_format = workbook.add_format({**font, "num_format": "yyyy-mm-dd"})
    try:
        for sheet_name, columns, rows in sheets:
            sheet = workbook.add_worksheet(_safe_sheet_name(sheet_name))
            widths = [_display_width(str(c)) for c in columns]
            sheet.write_row(0, 0, [neutralise(str(c)) for c in columns], header_format)
            sheet.freeze_panes(1, 0)
            row_index = 0
            for row_index, row in enumerate(rows, start=1):
                if row_index >= XLSX_MAX_ROWS:
                    raise UsageError(f"{path}: more than {XLSX_MAX_ROWS - 1:,} rows do not fit in one .xlsx sheet; "
                                     "write .csv or .parquet instead")
                for index, value in enumerate(row):
                    if value is None:
                        continue
                    if type(value) is not str:
                        value = _xlsx_value(value)
                    if type(value) is str:
                        sheet.write_string(row_index, index, neutralise(value) if value.startswith(FORMULA_START) else value)
                        # a width only grows: most cells are too short to change it (a CJK character counts 2)
                        if index < len(widths) and widths[index] < 58 and 2 * len(value) > widths[index]:
                            widths[index] = max(widths[index], _display_width(value))
                        continue
                    if isinstance(value, bool):
                        sheet.write_boolean(row_index, index, value)
                    elif isinstance(value, (int, float)):
                        sheet.write_number(row_index, index, value)
                    elif isinstance(value, datetime):
                        sheet.write_datetime(row_index, index, value, time_format)
                    else:  # a date
                        sheet.write_datetime(row_index, index, value, date_format)
                    if index < len(widths):
                        widths[index] = max(widths[index], _display_width(str(value)))
            rows_written += row_index
            for index, width in enumerate(widths):
                sheet.set_column(index, index, min(max(width + 2, 8), 60))
    except BaseException:
        workbook.close()
        path.unlink(missing_ok=True)
        raise
    workbook.close()
    return rows_written


def write_query(
    ws: Workspace,
    stage: str,
    sql: str,
    params: Sequence[Any] | None,
    path: str | Path,
    *,
    sheet_name: str = "Sheet1",
) -> int:
    """Write the result of a query to CSV, XLSX or Parquet. Returns the row count.

    CSV and Parquet are written by DuckDB (fast at millions of rows); XLSX by openpyxl.
    """
    path = Path(path)
    fmt = format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        relation = ws.sql(stage, f"export {path.name}", sql, params)
        columns = [d[0] for d in relation.description]
        return write_xlsx(path, [(sheet_name, columns, iter(relation.fetchone, None))])
    # DESCRIBE plans the query without running it; COPY then runs it once and returns the row count
    types = ws.fetchall(stage, "export types", f"DESCRIBE ({sql})", params)
    select_list = []
    for name, type_name, *_ in types:
        col = quote_ident(name)
        if fmt == "csv" and str(type_name).upper() == "VARCHAR":
            # '' and NULL both become an empty cell (DuckDB would quote the empty string)
            select_list.append(f"{neutralise_sql(f'NULLIF({col}, {chr(39) * 2})')} AS {col}")
        else:
            select_list.append(col)
    body = f"SELECT {', '.join(select_list)} FROM ({sql})"
    target = str(path).replace("'", "''")
    if fmt == "csv":
        # DuckDB writes UTF-8 without BOM; a BOM lets Excel on Chinese Windows read it.
        tmp = path.with_suffix(path.suffix + ".part")
        tmp_target = str(tmp).replace("'", "''")
        count = ws.scalar(stage, f"export {path.name}", f"COPY ({body}) TO '{tmp_target}' (HEADER, DELIMITER ',')", params)
        with open(path, "wb") as out, open(tmp, "rb") as src:
            out.write("\ufeff".encode("utf-8"))
            while chunk := src.read(1 << 20):
                out.write(chunk)
        tmp.unlink()
    else:
        count = ws.scalar(stage, f"export {path.name}", f"COPY ({body}) TO '{target}' (FORMAT parquet)", params)
    return int(count)


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (int, float, bool)) or hasattr(value, "isoformat"):
        return value
    return str(value)


_WIDE = re.compile("[\u2e81-\U0010ffff]")


def _display_width(text: str) -> int:
    # CJK characters take two columns
    text = text[:60]
    return len(text) if text.isascii() else len(text) + len(_WIDE.findall(text))


def _safe_sheet_name(name: str) -> str:
    cleaned = re.sub(r"[\[\]\*\?/\\:]", "_", name).strip("'") or "Sheet"
    return cleaned[:31]
