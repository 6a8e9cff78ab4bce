"""Reading export files into tables of text cells, with the header row found.

Excel files are read with calamine (fast, formula values, exact numbers); text
files are sniffed for encoding and delimiter, transcoded to UTF-8 when needed,
and read by DuckDB's CSV reader. Either way a sheet ends up as a DuckDB table
``c0 … cN`` (VARCHAR) plus ``_row`` (the row number a person sees).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mactl.errors import InputFileError
from mactl.importing.fields import header_score
from mactl.workspace import Workspace

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES + TEXT_SUFFIXES
HEADER_SCAN_ROWS = 30
SNIFF_BYTES = 1 << 20
DELIMITERS = (",", "\t", ";", "|")


@dataclass
class SheetTable:
    """One sheet (or a whole text file), located and ready to load."""

    sheet: str  # '' for text files
    header_row: int  # row number of the header, as Excel shows it / CSV line
    headers: list[str]
    title: str | None  # text above the header, e.g. "2026 上海工博会 展会名单"
    preview: list[list[str]]  # first data rows, for --dry-run
    load: Callable[[Workspace, str], int] = field(repr=False)  # (ws, name) -> rows loaded; see sheet_objects


def sheet_objects(name: str) -> list[tuple[str, str]]:
    """What a loader creates, in the order to drop it: a view ``name`` (c0 … cN, _row) over a table of cells
    (and, for a CSV file with blank lines, a table of row numbers)."""
    return [("VIEW", name), ("TABLE", f"{name}_cells"), ("TABLE", f"{name}_lines")]


@dataclass
class FileRead:
    format: str
    encoding: str | None
    sheets: list[SheetTable]
    notes: list[str]


def read_file(path: Path, *, sheet: str | None = None, encoding: str | None = None, header_row: int | None = None) -> FileRead:
    suffix = path.suffix.lower()
    if not path.exists():
        from mactl.errors import MissingInputError

        raise MissingInputError(str(path), "file not found", "Check the path")
    if path.stat().st_size == 0:
        raise InputFileError(str(path), "the file is empty (0 bytes)", "Export it again from the source system")
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, sheet, header_row)
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, encoding, header_row)
    raise InputFileError(
        str(path),
        f"unsupported file type '{suffix or '(none)'}'",
        "mactl imports .xlsx, .xlsm, .xls, .csv, .tsv and .txt; save the file in one of these formats",
    )


# -- Excel -------------------------------------------------------------------


def _read_excel(path: Path, only_sheet: str | None, header_row: int | None) -> FileRead:
    import python_calamine as calamine

    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
        metadata = list(workbook.sheets_metadata)
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise InputFileError(
            str(path),
            f"not a readable Excel workbook ({type(exc).__name__}): the file is corrupt, truncated or not really {path.suffix}",
            "Open it in Excel or WPS and save it again as .xlsx",
        ) from None
    notes: list[str] = []
    sheets: list[SheetTable] = []
    names = [m.name for m in metadata]
    if only_sheet is not None and only_sheet not in names:
        raise InputFileError(str(path), f"no sheet named '{only_sheet}'", f"Sheets in this file: {', '.join(names)}")
    for meta in metadata:
        if only_sheet is not None and meta.name != only_sheet:
            continue
        if str(meta.visible).split(".")[-1].lower() != "visible" and only_sheet is None:
            notes.append(f"sheet '{meta.name}' is hidden: skipped (pass --sheet '{meta.name}' to import it)")
            continue
        try:
            rows = workbook.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputFileError(str(path), f"sheet '{meta.name}' cannot be read ({type(exc).__name__})", "Open and re-save the file") from None
        # most cells are text: strip them here, and call _cell_text only for the others
        text_rows = [[v.strip() if type(v) is str else _cell_text(v) for v in row] for row in rows]
        if not any(any(c for c in row) for row in text_rows):
            notes.append(f"sheet '{meta.name}' is empty: skipped")
            continue
        located = _locate_header(text_rows, header_row)
        if located is None:
            notes.append(f"sheet '{meta.name}' has no recognisable header row: skipped")
            sheets.append(_unrecognised_sheet(meta.name, text_rows))
            continue
        index, headers, title = located
        body = text_rows[index + 1 :]
        sheets.append(
            SheetTable(
                sheet=meta.name,
                header_row=index + 1,
                headers=headers,
                title=title,
                preview=[r for r in body if any(r)][:5],
                load=_frame_loader(body, len(headers), first_row=index + 2),
            )
        )
    return FileRead(format=path.suffix.lower().lstrip("."), encoding=None, sheets=sheets, notes=notes)


def _unrecognised_sheet(name: str, rows: list[list[str]]) -> SheetTable:
    first = next((r for r in rows if any(r)), [])
    return SheetTable(sheet=name, header_row=0, headers=[c for c in first if c], title=None, preview=[], load=_no_loader)


def _no_loader(ws: Workspace, table: str) -> int:  # pragma: no cover - never loaded
    raise AssertionError("unrecognised sheet is not loaded")


def _cell_text(value: object) -> str:
    """Excel cell → text, keeping what a person sees: 13812345678, not 1.38123E+10."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.timedelta):  # a duration cell, e.g. watch time
        return str(round(value.total_seconds() / 60, 2))
    return str(value).strip()


def _frame_loader(body: list[list[str]], width: int, first_row: int) -> Callable[[Workspace, str], int]:
    def load(ws: Workspace, table: str) -> int:
        import pyarrow as pa

        # an Arrow table, which DuckDB scans as it is (a pandas frame of strings is converted cell by cell)
        columns = {f"c{i}": pa.array([r[i] if i < len(r) and r[i] != "" else None for r in body], type=pa.string())
                   for i in range(width)}
        columns["_row"] = pa.array(range(first_row, first_row + len(body)), type=pa.int32())
        frame = pa.table(columns)
        non_empty = " OR ".join(f"c{i} IS NOT NULL" for i in range(width)) or "false"
        ws.load_frame("import", f"{table}_cells", frame, where=non_empty)
        ws.sql("import", "sheet view", f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {table}_cells")
        return int(ws.scalar("import", "count rows", f"SELECT count(*) FROM {table}"))

    return load


def _locate_header(rows: list[list[str]], header_row: int | None) -> tuple[int, list[str], str | None] | None:
    """Index of the header row (the best-scoring of the first rows), its cells, and the title above it."""
    if header_row is not None:
        index = header_row - 1
        if index >= len(rows):
            return None
    else:
        best_index, best_score = None, 0
        for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            score = header_score(row)
            if score > best_score:
                best_index, best_score = i, score
        if best_index is None or best_score < 2:
            return None
        index = best_index
    headers = _fill_headers(rows[index])
    title = next((c for row in rows[:index] for c in row if c), None)
    return index, headers, title


def _fill_headers(cells: list[str]) -> list[str]:
    """Trailing empty headers are dropped; an empty one inside (a merged cell) is named after its left neighbour."""
    cells = list(cells)
    while cells and not cells[-1]:
        cells.pop()
    filled: list[str] = []
    for i, cell in enumerate(cells):
        if cell:
            filled.append(cell)
        else:
            left = filled[-1] if filled else "column"
            filled.append(f"{left} ({i + 1})")
    return filled


# -- text files --------------------------------------------------------------


def detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) // 4 and even == 0:
            return "utf-16-le"
        if even > len(head) // 4 and odd == 0:
            return "utf-16-be"
        raise InputFileError(str(path), "this is a binary file, not a text export", "Export the data as .csv or .xlsx")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=len(head) < SNIFF_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=len(head) < SNIFF_BYTES)
        return "gb18030"
    except UnicodeDecodeError:
        raise InputFileError(
            str(path), "the character encoding is not UTF-8, GB18030/GBK or UTF-16", "Pass --encoding=NAME (for example --encoding=big5)"
        ) from None


def _sniff_delimiter(lines: list[str], suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=delimiter))) for line in lines if line.strip()]
        if not counts:
            continue
        top = max(counts)
        # many columns, on most lines
        score = (top - 1) * sum(1 for c in counts if c == top)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_text(path: Path, encoding: str | None, header_row: int | None) -> FileRead:
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if encoding is None:
        encoding = detect_encoding(path, head)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputFileError(str(path), f"unknown encoding '{encoding}'", "Use a name such as utf-8, gb18030, utf-16 or big5") from None
    try:
        text = head.decode(encoding, errors="strict" if len(head) < SNIFF_BYTES else "ignore")
    except UnicodeDecodeError:
        raise InputFileError(str(path), f"the file is not valid {encoding} text", "Pass the right --encoding") from None
    if "\x00" in text:
        raise InputFileError(str(path), "this is a binary file, not a text export", "Export the data as .csv or .xlsx")
    lines = text.lstrip("\ufeff").splitlines()[: HEADER_SCAN_ROWS + 1]
    if not any(line.strip() for line in lines):
        raise InputFileError(str(path), "the file has no rows", "Export it again from the source system")
    delimiter = _sniff_delimiter(lines, path.suffix.lower())
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)]
    located = _locate_header(rows, header_row)
    if located is None:
        first = next((r for r in rows if any(r)), [])
        return FileRead(
            format=path.suffix.lower().lstrip("."),
            encoding=encoding,
            sheets=[SheetTable(sheet="", header_row=0, headers=[c for c in first if c], title=None, preview=[], load=_no_loader)],
            notes=[],
        )
    index, headers, title = located
    width = max([len(headers)] + [len(r) for r in rows[index + 1 :]])
    headers = headers + [f"column ({i + 1})" for i in range(len(headers), width)]
    sheet = SheetTable(
        sheet="",
        header_row=index + 1,
        headers=headers,
        title=title,
        preview=[r for r in rows[index + 1 :] if any(r)][:5],
        load=_csv_loader(path, encoding, delimiter, skip=index + 1, width=width),
    )
    return FileRead(format=path.suffix.lower().lstrip("."), encoding=encoding, sheets=[sheet], notes=[])


def _csv_loader(path: Path, encoding: str, delimiter: str, skip: int, width: int) -> Callable[[Workspace, str], int]:
    def load(ws: Workspace, table: str) -> int:
        source, temp = _as_utf8(path, encoding)
        try:
            columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
            non_empty = " OR ".join(f"c{i} IS NOT NULL" for i in range(width))
            trimmed = ", ".join(f"NULLIF(trim(c{i}), '') AS c{i}" for i in range(width))
            # A parallel scan into a table keeps file order (insertion order is preserved): a row's
            # position plus the lines above it is its line number. Positions are row ids counted from
            # the first (inside a transaction they start at a large offset). Blank rows are read and
            # stored, so positions stay right, and left out by the view.
            ws.sql(
                "import",
                "read csv",
                f"""CREATE OR REPLACE TEMP TABLE {table}_cells AS
                    SELECT {trimmed}
                    FROM read_csv(?, delim = ?, quote = '"', escape = '"', header = false, skip = ?,
                        columns = {columns}, null_padding = true, strict_mode = false, auto_detect = false)""",
                [str(source), delimiter, skip],
            )
            position = f"rowid - (SELECT min(rowid) FROM {table}_cells)"
            rows = _rows_below_blank_lines(source, delimiter, skip,
                                           int(ws.scalar("import", "count cells", f"SELECT count(*) FROM {table}_cells")))
            if rows is not None:
                # DuckDB's reader leaves blank lines out: each row's number comes from Python's csv module instead
                import pyarrow as pa

                lines = pa.table({"_position": pa.array(range(len(rows)), type=pa.int64()),
                                  "_row": pa.array(rows, type=pa.int32())})
                ws.load_frame("import", f"{table}_lines", lines)
                ws.sql("import", "sheet view", f"""CREATE OR REPLACE TEMP VIEW {table} AS
                    SELECT c.*, l._row FROM (SELECT *, {position} AS _position FROM {table}_cells) AS c
                    JOIN {table}_lines AS l USING (_position) WHERE {non_empty}""")
            else:
                ws.sql("import", "sheet view", f"""CREATE OR REPLACE TEMP VIEW {table} AS
                    SELECT *, CAST({position} + {int(skip) + 1} AS INTEGER) AS _row
                    FROM {table}_cells WHERE {non_empty}""")
        finally:
            if temp is not None:
                os.unlink(temp)
        return int(ws.scalar("import", "count rows", f"SELECT count(*) FROM {table}"))

    return load


def _rows_below_blank_lines(path: Path, delimiter: str, skip: int, rows_read: int) -> list[int] | None:
    """Row numbers of the ``rows_read`` rows DuckDB read, when the lines below the header are more than those
    rows (DuckDB leaves blank lines out; a quoted cell can also span lines); None when they are as many, and
    a row's position gives its number. Lines are counted at about disk speed; only a file with more lines
    than rows is read again, by Python's csv module, which keeps blank lines as rows."""
    import numpy as np

    with open(path, "rb") as handle:
        head, data_start = handle.read(SNIFF_BYTES), 0
        for _ in range(skip):
            data_start = head.find(b"\n", data_start) + 1
            if data_start == 0:
                return None
        handle.seek(data_start)
        newlines, tail = 0, b""
        while chunk := handle.read(1 << 24):
            newlines += int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n")))
            tail = (tail + chunk)[-4096:]
    ending = tail[len(tail.rstrip(b"\r\n")):].count(b"\n")  # blank lines at the end shift nothing
    lines = newlines - ending + 1 if ending else newlines + (1 if tail else 0)
    if lines == rows_read:
        return None
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            for _ in range(skip):
                next(reader, None)
            rows = [skip + 1 + index for index, cells in enumerate(reader) if cells]
    except csv.Error:  # e.g. a cell over the module's size limit: keep the numbers by position
        return None
    return rows if len(rows) == rows_read else None


def _as_utf8(path: Path, encoding: str) -> tuple[Path, str | None]:
    """DuckDB reads UTF-8; other encodings are transcoded to a temporary file in chunks."""
    if encoding in ("utf-8", "utf-8-sig"):  # a BOM sits on the header line, which is skipped
        return path, None
    handle, temp = tempfile.mkstemp(suffix=".csv", prefix="mactl-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out, open(path, encoding=encoding, newline="") as src:
            first = True
            while chunk := src.read(1 << 22):
                if first:
                    chunk = chunk.lstrip("\ufeff")
                    first = False
                out.write(chunk)
    except UnicodeDecodeError as exc:
        os.unlink(temp)
        raise InputFileError(
            str(path),
            f"not valid {encoding} text at byte {exc.start} (truncated or mixed encodings?)",
            "Pass the right --encoding, or export the file again",
        ) from None
    return Path(temp), temp
