"""The do-not-contact (suppression) list: emails, phones, WeChat ids and whole email domains."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mactl.errors import InputFileError, NotFoundError, UsageError
from mactl.workspace import Workspace, utc_now

STAGE = "sendlists"
KINDS = ("email", "phone", "wechat", "domain")
VALUE_HEADERS = ("value", "email", "phone", "mobile", "wechat", "domain", "邮箱", "手机", "手机号", "电话", "域名")
_DOMAIN = re.compile(r"^@?[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$")
_WECHAT = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")


def classify_value(text: str, kind: str | None = None) -> tuple[str, str] | None:
    """(kind, normalised value) or None when the value is not an email, phone, domain or WeChat id."""
    from mactl.identity.normalize import normalize_email, normalize_phone

    raw = str(text).strip()
    if not raw:
        return None
    if kind in (None, "email") and "@" in raw.lstrip("@"):
        email = normalize_email(raw)
        return ("email", email.email) if email.email else None
    if kind in (None, "domain") and _DOMAIN.match(raw.lower()):
        return "domain", raw.lower().lstrip("@")
    if kind in (None, "phone") and re.fullmatch(r"[+()（）0-9\s\-.E]+", raw):
        phone = normalize_phone(raw)
        value = phone.phone or phone.landline
        return ("phone", value) if value else None
    if kind in (None, "wechat") and _WECHAT.match(raw):
        return "wechat", raw
    return None


def read_values_file(path: Path) -> list[str]:
    """Values of a one-column file, or of the column named value/email/phone/手机/邮箱..."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    elif suffix in (".csv", ".txt"):
        rows = _read_csv(path)
    else:
        raise InputFileError(str(path), f"cannot read .{suffix.lstrip('.')} files", "give a .csv or .xlsx file")
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    named = [i for i, h in enumerate(header) if h in VALUE_HEADERS]
    if named:
        return [r[named[0]] for r in rows[1:] if len(r) > named[0]]
    if len(header) == 1:
        return [r[0] for r in rows if r]
    raise InputFileError(str(path), "has several columns and none is named email, phone, 手机, 邮箱 or value",
                         "keep one column, or name the column with the values 'value'")


def _read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return list(csv.reader(data.decode(encoding).splitlines()))
        except UnicodeDecodeError:
            continue
    raise InputFileError(str(path), "is neither UTF-8 nor GB18030 text", "save it as CSV UTF-8")


def suppress_add(ws: Workspace, values_or_files: Sequence[str], *, reason: str | None = None,
                 kind: str | None = None) -> dict[str, Any]:
    """Add values (or the values in files) to the list. Returns counts and the values not understood."""
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    entries: list[tuple[str, str, str]] = []
    rejected: list[str] = []
    for item in values_or_files:
        path = Path(item)
        is_file = path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xlsm") and path.exists()
        values, source = (read_values_file(path), path.name) if is_file else ([item], "cli")
        for value in values:
            classified = classify_value(value, kind)
            if classified is None:
                if str(value).strip():
                    rejected.append(str(value).strip())
            else:
                entries.append((*classified, source))
    with ws.transaction():
        before = int(ws.scalar(STAGE, "count suppression", "SELECT count(*) FROM suppression"))
        if entries:
            ws.load_frame(STAGE, "suppression_new", _frame(entries))
            ws.sql(STAGE, "add suppression", """
                INSERT INTO suppression
                SELECT DISTINCT ON (n.kind, n.value) n.value, n.kind, ?, ?, n.source FROM suppression_new n
                WHERE NOT EXISTS (SELECT 1 FROM suppression s WHERE s.kind = n.kind AND s.value = n.value)""",
                   [reason, utc_now()])
            ws.sql(STAGE, "drop temp", "DROP TABLE suppression_new")
        after = int(ws.scalar(STAGE, "count suppression", "SELECT count(*) FROM suppression"))
    return {"added": after - before, "already_listed": len({(k, v) for k, v, _ in entries}) - (after - before),
            "rejected": len(rejected), "rejected_values": rejected[:20], "total": after}


def _frame(entries: list[tuple[str, str, str]]):
    import pyarrow as pa

    kinds, values, sources = zip(*entries)
    return pa.table({"kind": list(kinds), "value": list(values), "source": list(sources)})


def suppress_list(ws: Workspace, *, kind: str | None = None) -> list[dict[str, Any]]:
    rows = ws.fetchall(STAGE, "list suppression",
                       "SELECT value, kind, reason, added_at, source FROM suppression "
                       "WHERE ? IS NULL OR kind = ? ORDER BY kind, value", [kind, kind])
    return [dict(zip(("value", "kind", "reason", "added_at", "source"), row)) for row in rows]


def suppress_remove(ws: Workspace, values: Sequence[str]) -> int:
    """Remove values (normalised the same way as when added). Unknown values are an error."""
    keys = []
    for value in values:
        classified = classify_value(value)
        if classified is None:
            raise UsageError(f"{value!r} is not an email, phone, domain or WeChat id")
        keys.append(classified)
    with ws.transaction():
        removed = 0
        for kind, value in keys:
            found = ws.scalar(STAGE, "find suppression",
                              "SELECT count(*) FROM suppression WHERE kind = ? AND value = ?", [kind, value])
            if not found:
                raise NotFoundError(f"{value} is not on the suppression list; see `mactl suppress list`")
            ws.sql(STAGE, "remove suppression", "DELETE FROM suppression WHERE kind = ? AND value = ?", [kind, value])
            removed += int(found)
    return removed
