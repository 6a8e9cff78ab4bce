"""`import_paths`: files, folders and globs into the workspace, one transaction per file."""

from __future__ import annotations

import glob
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mactl.errors import InputFileError, MactlError, MissingInputError
from mactl.importing import loading
from mactl.importing.fields import IDENTIFIER_FIELDS, TIME_FIELDS, map_headers
from mactl.importing.readers import SUPPORTED_SUFFIXES, FileRead, SheetTable, read_file, sheet_objects
from mactl.importing.sources import SourceRule, check_timezone, load_sources, rule_for
from mactl.progress import Progress, report
from mactl.workspace import Workspace, utc_now

STAGE = "import"
DEFAULT_TIMEZONE = "Asia/Shanghai"
_PREFIX = "_mactl_import_"  # every temp object of the import stage
_SHEET, _IDS, _PROBLEMS = f"{_PREFIX}sheet", f"{_PREFIX}stage", f"{_PREFIX}problems"


@dataclass
class SheetResult:
    sheet: str
    channel: str
    header_row: int
    rows: int = 0
    records: int = 0
    quarantined_rows: int = 0  # rows kept only in quarantine (no usable identifier)
    problems: int = 0  # quarantine entries, including bad cells of imported rows
    events: int = 0
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # header → field
    attributes: list[str] = field(default_factory=list)  # headers kept as attributes
    title: str | None = None
    preview: list[list[str]] = field(default_factory=list)


@dataclass
class FileResult:
    path: str
    file: str
    status: str  # imported | skipped | failed | dry-run
    batch_id: int | None = None
    sha256: str | None = None
    format: str | None = None
    encoding: str | None = None
    channel: str | None = None
    sheets: list[SheetResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0


@dataclass
class ImportSummary:
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def records(self) -> int:
        return sum(s.records for f in self.files for s in f.sheets)

    @property
    def exit_code(self) -> int:
        failed = self.failed
        if not failed:
            return 0
        if len(failed) == len(self.files):
            return failed[0].exit_code or 1
        return 1

    def to_dict(self) -> dict:
        return {
            "imported": self.count("imported"),
            "skipped": self.count("skipped"),
            "failed": len(self.failed),
            "records": self.records,
            "files": [asdict(f) for f in self.files],
        }


@dataclass
class _Options:
    recipe_rules: list[SourceRule]
    sheet: str | None
    encoding: str | None
    timezone: str
    replace: bool
    dry_run: bool


def import_paths(
    ws: Workspace,
    paths: list[str | Path],
    *,
    recipe_path: str | Path | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    timezone: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import every file the paths name. A file that fails imports nothing; the others go on."""
    if timezone is not None:
        try:
            check_timezone(timezone)
        except ValueError as exc:
            from mactl.errors import UsageError

            raise UsageError(str(exc)) from None
    options = _Options(
        recipe_rules=load_sources(recipe_path),
        sheet=sheet,
        encoding=encoding,
        timezone=timezone or ws.get_setting("timezone", DEFAULT_TIMEZONE),
        replace=replace,
        dry_run=dry_run,
    )
    summary = ImportSummary()
    files, missing = expand_paths(paths)
    for path in missing:
        summary.files.append(_failed(Path(path), MissingInputError(str(path), "no such file or folder", "Check the path")))
    known = imported_hashes(ws)
    # The next file is hashed and parsed in a thread while this one is written (DuckDB works without
    # the GIL, so parsing a workbook overlaps it); a file already imported is only hashed.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mactl-read") as reader:
        ahead = reader.submit(_read_ahead, files[0], options, known) if files else None
        for done, path in enumerate(files):
            report(progress, "importing files", done, len(files))
            read = ahead.result()
            ahead = reader.submit(_read_ahead, files[done + 1], options, known) if done + 1 < len(files) else None
            try:
                summary.files.append(_import_file(ws, path, options, read))
            except MactlError as exc:
                summary.files.append(_failed(path, exc))
    report(progress, "importing files", len(files), len(files))
    return summary


@dataclass
class _ReadAhead:
    """A file hashed and, unless it was imported before, read; an error is kept to be raised in turn."""

    sha: str | None
    read: FileRead | None = None
    error: Exception | None = None

    def result(self) -> FileRead:
        if self.error is not None:
            raise self.error
        assert self.read is not None
        return self.read


def _read_ahead(path: Path, options: _Options, known: set[str]) -> _ReadAhead:
    try:
        sha = file_sha256(path) if path.exists() else None
    except OSError as exc:
        return _ReadAhead(sha=None, error=exc)
    if sha in known and not options.replace and not options.dry_run:
        return _ReadAhead(sha=sha)
    try:
        return _ReadAhead(sha=sha, read=_read(path, options))
    except Exception as exc:  # noqa: BLE001 - raised again by the import, where reading the file comes
        return _ReadAhead(sha=sha, error=exc)


def _read(path: Path, options: _Options) -> FileRead:
    file_rule = rule_for(options.recipe_rules, path.name)
    return read_file(
        path,
        sheet=options.sheet,
        encoding=options.encoding or (file_rule.encoding if file_rule else None),
        header_row=file_rule.header_row if file_rule else None,
    )


def imported_hashes(ws: Workspace) -> set[str]:
    """The content hashes (SHA-256) of the files imported so far: a file with one of them is skipped."""
    return {r[0] for r in ws.fetchall(STAGE, "known files", "SELECT file_sha256 FROM import_batch WHERE status = 'imported'")}


def expand_paths(paths: list[str | Path]) -> tuple[list[Path], list[str]]:
    """Files named directly, files under folders (supported types only), and glob matches, in order, once each."""
    found: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        text = str(raw)
        if any(ch in text for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not matches:
                missing.append(text)
            found += matches
            continue
        path = Path(text)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(("~$", "."))
            )
        elif path.exists():
            found.append(path)
        else:
            missing.append(text)
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique, missing


def _failed(path: Path, exc: MactlError) -> FileResult:
    return FileResult(path=str(path), file=path.name, status="failed", error=exc.message, exit_code=exc.exit_code)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def infer_channel(fields: set[str], file_name: str) -> str:
    """Channel from the columns a file has, then from words in its name."""
    name = file_name.lower()
    if fields & {"watch_minutes", "first_entered_at", "replay_watched"} or {"nickname", "registered_at"} <= fields:
        return "webinar"
    if "event_action" in fields:
        return "engagement"
    if "crm_id" in fields or {"crm_owner", "crm_stage"} <= fields:
        return "crm"
    if "checkin_time" in fields:
        return "event"
    if fields & {"form_name", "submit_time", "utm_source", "utm_medium", "utm_campaign"}:
        return "web_form"
    for words, channel in (
        (("直播", "webinar", "live"), "webinar"),
        (("展会", "峰会", "沙龙", "签到", "expo", "badge", "summit"), "event"),
        (("crm", "salesforce", "hubspot"), "crm"),
        (("表单", "form"), "web_form"),
    ):
        if any(w in name for w in words):
            return channel
    return "list"


def _plan(sheet: SheetTable, rule: SourceRule | None) -> loading.SheetPlan:
    overrides = rule.columns if rule else {}
    mapping = map_headers(sheet.headers, overrides)
    from mactl.importing.fields import header_key

    ignore_keys = {header_key(h) for h, target in overrides.items() if target == "ignore"}
    ignored = {i for i, h in enumerate(sheet.headers) if header_key(h) in ignore_keys}
    return loading.SheetPlan(headers=sheet.headers, mapping=mapping, values=dict(rule.values) if rule else {}, ignored=ignored)


def _has_identifier(plan: loading.SheetPlan) -> bool:
    return any(plan.column(f) or f in plan.values for f in IDENTIFIER_FIELDS)


def _import_file(ws: Workspace, path: Path, options: _Options, ahead: _ReadAhead) -> FileResult:
    if isinstance(ahead.error, OSError) and ahead.sha is None:
        raise ahead.error
    sha = ahead.sha
    existing = None
    if sha is not None:
        existing = ws.fetchone(
            STAGE, "find earlier import",
            "SELECT batch_id, imported_at FROM import_batch WHERE file_sha256 = ? AND status = 'imported'",
            [sha],
        )
    if existing and not options.replace and not options.dry_run:
        return FileResult(
            path=str(path), file=path.name, status="skipped", batch_id=existing[0], sha256=sha,
            notes=[f"already imported on {existing[1]:%Y-%m-%d %H:%M} UTC as batch {existing[0]}; nothing to do "
                   "(use --replace to import it again)"],
        )
    file_rule = rule_for(options.recipe_rules, path.name)
    # read ahead unless the file was imported before the command began; read now if that import was undone
    read = ahead.result() if ahead.read is not None or ahead.error is not None else _read(path, options)
    result = FileResult(path=str(path), file=path.name, status="dry-run" if options.dry_run else "imported",
                        sha256=sha, format=read.format, encoding=read.encoding, notes=list(read.notes))
    plans: list[tuple[SheetTable, loading.SheetPlan, SourceRule | None]] = []
    unusable: list[SheetTable] = []
    for sheet in read.sheets:
        rule = rule_for(options.recipe_rules, path.name, sheet.sheet or None) or file_rule
        plan = _plan(sheet, rule)
        if sheet.header_row and _has_identifier(plan):
            plans.append((sheet, plan, rule))
        else:
            unusable.append(sheet)
    if not plans:
        headers = next((s.headers for s in unusable if s.headers), [])
        shown = ", ".join(headers[:12]) + (" …" if len(headers) > 12 else "") if headers else "none"
        raise InputFileError(
            str(path),
            f"no contact column recognised (headers found: {shown})",
            "Map the email, phone, WeChat or CRM id column in a recipe, e.g. sources: [{match: '"
            + path.name + "', columns: {'<header>': phone}}], and pass --recipe",
        )
    for sheet in unusable:
        if sheet.header_row:
            result.notes.append(f"sheet '{sheet.sheet}' has no contact column: skipped")
    fields = {f for _, plan, _ in plans for f in plan.mapping.values()} | {f for _, plan, _ in plans for f in plan.values}
    result.channel = (file_rule.channel if file_rule and file_rule.channel else None) or infer_channel(fields, path.name)
    if options.dry_run:
        for sheet, plan, _ in plans:
            result.sheets.append(_sheet_result(sheet, plan, result.channel, preview=True))
        return result
    # Each sheet is staged in temp tables before the file's transaction opens (DuckDB scans a table made
    # inside an open transaction with one thread); records, events, quarantine and the batch are then
    # written in one transaction, so a file imports whole or not at all.
    staged: list[_Staged] = []
    try:
        record_base = int(ws.get_setting("next_id.record", "0") or 0)
        for index, (sheet, plan, rule) in enumerate(plans):
            staged.append(_stage_sheet(ws, index, sheet, plan, rule, result, options, record_base))
            record_base += staged[-1].out.records
        with ws.transaction():
            if existing:
                _delete_batch(ws, existing[0])
                result.notes.append(f"replaced batch {existing[0]}")
            result.batch_id = _next_id(ws, "batch", 1)
            imported_at = utc_now()
            for one in staged:
                _write_sheet(ws, one, result, imported_at)
                result.sheets.append(one.out)
            ws.sql(
                STAGE, "record batch",
                """INSERT INTO import_batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported')""",
                [
                    result.batch_id, path.name, str(path.resolve()), sha, path.stat().st_size, read.format, read.encoding,
                    result.channel, file_rule.name if file_rule else None, [s.sheet for s in result.sheets if s.sheet],
                    sum(s.rows for s in result.sheets), sum(s.records for s in result.sheets),
                    sum(s.events for s in result.sheets), sum(s.problems for s in result.sheets), imported_at,
                ],
            )
    finally:
        if not ws.in_transaction:  # inside a caller's failed transaction the temp objects go with the connection
            ws.drop_temp(STAGE, _PREFIX)
    return result


def _sheet_result(sheet: SheetTable, plan: loading.SheetPlan, channel: str, preview: bool = False) -> SheetResult:
    return SheetResult(
        sheet=sheet.sheet,
        channel=channel,
        header_row=sheet.header_row,
        headers=list(sheet.headers),
        mapping={sheet.headers[i]: f for i, f in sorted(plan.mapping.items())},
        attributes=[h for i, h in enumerate(sheet.headers) if i not in plan.mapping and i not in plan.ignored],
        title=sheet.title,
        preview=sheet.preview if preview else [],
    )


@dataclass
class _Staged:
    """A sheet staged in temp tables, ready to be written."""

    sheet: SheetTable
    rule: SourceRule | None
    out: SheetResult
    stage: str  # the staging table or view (record_id, cleaned fields, flags …)
    records: str  # its rows with `_row = record_row` write the records
    quarantine: tuple[str, str, dict]  # (step, INSERT, parameters without $batch_id)


def _names(index: int) -> tuple[str, str, str]:
    return f"{_SHEET}_{index}", f"{_IDS}_{index}", f"{_PROBLEMS}_{index}"


def _stage_sheet(ws, index: int, sheet: SheetTable, plan: loading.SheetPlan, rule: SourceRule | None, result: FileResult,
                 options: _Options, record_base: int) -> _Staged:
    """Load a sheet, clean it, give its records ids from ``record_base`` and find its problems, in temp tables."""
    sheet_table, stage, problems = _names(index)
    out = _sheet_result(sheet, plan, result.channel)
    timezone = (rule.timezone if rule and rule.timezone else None) or options.timezone
    out.rows = sheet.load(ws, sheet_table)
    collapse = result.channel in loading.ACTIVITY_CHANNELS
    staging = loading.stage_sql(plan, sheet_table, stage, timezone, record_base, collapse=collapse,
                                shift=_zone_shift(ws, timezone))
    for step, sql, params in staging.statements:
        ws.sql(STAGE, step, sql, params)
    if staging.raw != sheet_table:  # the staging tables keep the cells now
        _drop(ws, sheet_objects(sheet_table))
    out.records = int(ws.scalar(STAGE, "count records", f"SELECT count(*) FROM {staging.records} WHERE _row = record_row"))
    checks = [("NOT has_identifier", None, "CAST(NULL AS VARCHAR)", loading.NO_IDENTIFIER)]
    if plan.column("email"):
        checks.append(("email_raw IS NOT NULL AND email IS NULL", plan.header_of("email"), "email_raw", "invalid email address"))
    if plan.column("phone"):
        checks.append(("phone_raw IS NOT NULL AND phone IS NULL", plan.header_of("phone"), "phone_raw",
                       "invalid phone number (fewer than 7 digits, or letters)"))
    for name in TIME_FIELDS:
        if plan.column(name):
            checks.append((f"{name}_raw IS NOT NULL AND {name} IS NULL", plan.header_of(name), f"{name}_raw",
                           "unparseable date/time (use e.g. 2026-09-16 14:05)"))
    if plan.column("event_action") and result.channel == "engagement" and not (rule and rule.event_type):
        checks.append(("event_action IS NOT NULL AND action_type IS NULL", plan.header_of("event_action"), "event_action",
                       "unknown action (not open, click, bounce, unsubscribe, page view, download or read): no event recorded"))
    (find_step, find, find_params), quarantine = loading.quarantine_sql(
        stage, staging.raw, sheet.headers, checks, {"source_file": result.file, "source_sheet": sheet.sheet}, problems,
        staging.row_fields,
    )
    ws.sql(STAGE, find_step, find, find_params)
    out.problems = int(ws.scalar(STAGE, "count quarantine", f"SELECT count(*) FROM {problems}"))
    out.quarantined_rows = int(ws.scalar(STAGE, "count unidentified", f"SELECT count(*) FROM {stage} WHERE NOT has_identifier"))
    return _Staged(sheet=sheet, rule=rule, out=out, stage=stage, records=staging.records, quarantine=quarantine)


def _write_sheet(ws: Workspace, staged: _Staged, result: FileResult, imported_at) -> None:
    """Records, events and quarantine rows of a staged sheet, inside the file's transaction."""
    _next_id(ws, "record", staged.out.records)
    ws.sql(STAGE, "insert records", loading.insert_records_sql(staged.records),
           [result.batch_id, result.file, staged.sheet.sheet, result.sha256, result.channel, imported_at])
    staged.out.events = _insert_events(ws, staged.stage, staged.sheet, staged.rule, result, imported_at)
    if staged.out.problems:  # most files have none: then the raw rows are not read again
        step, sql, params = staged.quarantine
        ws.sql(STAGE, step, sql, {**params, "batch_id": result.batch_id})


def _drop(ws: Workspace, objects: list[tuple[str, str]]) -> None:
    for kind, name in objects:
        ws.sql(STAGE, "drop temp", f"DROP {kind} IF EXISTS {name}")


_ZONE_SHIFTS: dict[str, loading.ZoneShift | None] = {}


def _zone_shift(ws: Workspace, timezone: str) -> loading.ZoneShift | None:
    """The zone's fixed offset (if it has one lately), from DuckDB's own time zone rules; once per process."""
    if timezone not in _ZONE_SHIFTS:
        last_change, offset = ws.fetchone(STAGE, "time zone offset", loading.zone_shift_sql(), [timezone])
        _ZONE_SHIFTS[timezone] = loading.zone_shift(last_change, int(offset))
    return _ZONE_SHIFTS[timezone]


def _insert_events(ws: Workspace, stage: str, sheet: SheetTable, rule: SourceRule | None, result: FileResult,
                   imported_at) -> int:
    event_type = rule.event_type if rule else None
    if result.channel == "event" and not event_type and _is_sign_in(sheet):
        event_type = "event_checkin"
    # an activity log has one event per row: ids from row numbers, no sort of millions of events
    by_row = result.channel in loading.ACTIVITY_CHANNELS
    sql = loading.insert_events_sql(stage, result.channel, event_type, ids_by_row=by_row)
    if not sql:
        return 0
    campaign = (rule.campaign if rule and rule.campaign else None) or sheet.title or Path(result.file).stem
    base = int(ws.scalar(STAGE, "next event id", "SELECT COALESCE(CAST(value AS BIGINT), 0) FROM mactl_setting WHERE key = 'next_id.event'") or 0)
    before = int(ws.scalar(STAGE, "count events", "SELECT count(*) FROM event WHERE batch_id = ?", [result.batch_id]))
    values = {"event_base": base, "batch_id": result.batch_id, "channel": result.channel, "campaign": campaign,
              "imported_at": imported_at, "event_type": event_type, "header_row": sheet.header_row}
    ws.sql(STAGE, "insert events", sql, loading.used_params(sql, values))
    count = int(ws.scalar(STAGE, "count events", "SELECT count(*) FROM event WHERE batch_id = ?", [result.batch_id])) - before
    if by_row:  # reserve up to the last id used, gaps included
        last = ws.scalar(STAGE, "last event id", "SELECT max(event_id) FROM event WHERE batch_id = ? AND event_id > ?",
                         [result.batch_id, base])
        _next_id(ws, "event", int(last or base) - base)
    else:
        _next_id(ws, "event", count)
    return count


def _is_sign_in(sheet: SheetTable) -> bool:
    text = " ".join(sheet.headers) + " " + (sheet.title or "")
    return "签到" in text or "check-in" in text.lower() or "checkin" in text.lower()


def _next_id(ws: Workspace, kind: str, count: int) -> int:
    """Reserve ``count`` ids of a kind; returns the first. Ids are never reused, even after --replace."""
    key = f"next_id.{kind}"
    current = int(ws.get_setting(key, "0") or 0)
    ws.set_setting(key, str(current + count))
    return current + 1


def _delete_batch(ws: Workspace, batch_id: int) -> None:
    records = "SELECT record_id FROM source_record WHERE batch_id = ?"
    for table in ("record_norm", "person_record"):
        if ws.table_exists(table):
            ws.sql(STAGE, f"forget {table}", f"DELETE FROM {table} WHERE record_id IN ({records})", [batch_id])
    for table in ("event", "quarantine", "source_record"):
        ws.sql(STAGE, f"delete old {table}", f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
    ws.sql(STAGE, "mark replaced", "UPDATE import_batch SET status = 'replaced' WHERE batch_id = ?", [batch_id])
