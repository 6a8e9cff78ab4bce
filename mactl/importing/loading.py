"""SQL builders of the import stage: clean a loaded sheet, then write records, events and quarantine.

Everything here is set-based: a sheet loaded as ``c0 … cN, _row`` becomes a
staging table with one cleaned column per canonical field and problem flags,
from which three INSERT … SELECT statements write source_record, event and
quarantine. Header texts and fixed values are parameters, never pasted in.

Records versus events: a contact list makes one record per row. An activity
log (the engagement channel) repeats the same person on thousands of rows, so
its rows are *collapsed*: one record per distinct identity tuple (every value
that goes into source_record; the campaign of a row is its event's), whose ``source_row`` is the tuple's first row
and ``record_time`` its latest row time, while every row still becomes an
event that keeps its own ``source_row``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mactl.importing.fields import IDENTIFIER_FIELDS, RECORD_TEXT_FIELDS, TIME_FIELDS

TIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
]
YES_WORDS = ["是", "yes", "y", "true", "1", "同意", "已同意", "勾选", "已勾选", "√", "✓", "checked", "opt-in", "optin", "有", "已观看"]
NO_WORDS = ["否", "no", "n", "false", "0", "不同意", "未同意", "未勾选", "×", "unchecked", "opt-out", "optout", "无", "未观看"]
# action text in an engagement log → event type
ACTIONS = {
    "open": "email_open", "opened": "email_open", "打开": "email_open", "邮件打开": "email_open", "email_open": "email_open",
    "click": "email_click", "clicked": "email_click", "点击": "email_click", "邮件点击": "email_click", "email_click": "email_click",
    "bounce": "email_bounce", "bounced": "email_bounce", "退信": "email_bounce", "hard bounce": "email_bounce", "email_bounce": "email_bounce",
    "unsubscribe": "unsubscribe", "unsubscribed": "unsubscribe", "退订": "unsubscribe", "取消订阅": "unsubscribe",
    "page view": "page_view", "pageview": "page_view", "page_view": "page_view", "visit": "page_view", "浏览": "page_view", "访问": "page_view",
    "download": "content_download", "下载": "content_download", "content_download": "content_download",
    "read": "wechat_read", "阅读": "wechat_read", "wechat_read": "wechat_read", "文章阅读": "wechat_read",
}
NO_IDENTIFIER = "no usable identifier (email, mobile phone, WeChat id or CRM id)"
# Channels whose rows are activity of people, not sightings of contacts: one record per identity tuple.
ACTIVITY_CHANNELS = ("engagement",)
# Record fields that describe an activity row's event, not its person: kept on the event only.
ACTIVITY_EVENT_FIELDS = ("utm_campaign",)


@dataclass
class SheetPlan:
    """What the staging query needs to know about one sheet."""

    headers: list[str]
    mapping: dict[int, str]  # column index → field
    values: dict[str, str] = field(default_factory=dict)  # field → fixed value
    ignored: set[int] = field(default_factory=set)

    def column(self, field_name: str) -> str | None:
        for index, mapped in self.mapping.items():
            if mapped == field_name:
                return f"c{index}"
        return None

    def header_of(self, field_name: str) -> str | None:
        for index, mapped in self.mapping.items():
            if mapped == field_name:
                return self.headers[index]
        return None


class Params:
    """Collects named parameters ($p0, $p1 …) while SQL text is built, so an expression can repeat."""

    def __init__(self) -> None:
        self.values: dict = {}

    def add(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


NULL_TEXT = "CAST(NULL AS VARCHAR)"
_CONSTANT_NULL = re.compile(r"CAST\(NULL AS [A-Z]+\) AS [a-z_]+")
_ALIAS = re.compile(r"c[0-9]+ AS [a-z_]+")
_AS_NAME = re.compile(r" AS ([a-z_]+)$")
_NAME = re.compile(r"\b[a-z_][a-z0-9_]*\b")


@dataclass
class Staging:
    """How a sheet is staged: statements to run, the table with one row per record, the table of its cells."""

    statements: list[tuple[str, str, dict]]  # (step, SQL, parameters)
    records: str  # rows with `_row = record_row` write the records
    raw: str  # the table with the sheet's cells (c0 … cN, _row) from here on, for quarantined rows
    # collapsed sheets: the fields of a row (times, actions …), as opposed to those of its identity tuple
    row_fields: frozenset[str] = frozenset()


def _raw(plan: SheetPlan, params: Params, name: str) -> str:
    """The text of a field: its column, else the recipe's fixed value, else NULL."""
    column = plan.column(name)
    fixed = plan.values.get(name)
    if column and fixed is not None:
        return f"COALESCE({column}, {params.add(fixed)})"
    if column:
        return column
    if fixed is not None:
        return f"CAST({params.add(fixed)} AS VARCHAR)"
    return NULL_TEXT


def _phone_digits_sql(raw: str) -> str:
    """Excel's number forms back to digits: '1.3598765432E+10' and '13812345678.0' → '13598765432'."""
    if raw == NULL_TEXT:  # no such column: skip the work (and the planner's) for every row
        return raw
    return f"""CASE
        WHEN regexp_full_match({raw}, '[0-9](\\.[0-9]+)?[eE]\\+?[0-9]+')
            THEN CAST(CAST(CAST({raw} AS DOUBLE) AS HUGEINT) AS VARCHAR)
        WHEN regexp_full_match({raw}, '[0-9]+\\.0+') THEN split_part({raw}, '.', 1)
        ELSE {raw} END"""


@dataclass(frozen=True)
class ZoneShift:
    """A time zone's fixed UTC offset from ``since`` (local time) on: Asia/Shanghai has had +08:00 since 1991."""

    since: datetime
    offset_seconds: int  # UTC minus local


def zone_shift_sql() -> str:
    """Local midnights 1970–2100 in zone $1 with their UTC offset (UTC minus local, seconds); the last change
    and the final offset follow from them. Daily samples are enough: a DST period lasts months."""
    return """WITH days AS (
            SELECT d, epoch(timezone('UTC', timezone($1, d))) - epoch(d) AS offset_seconds
            FROM generate_series(TIMESTAMP '1970-01-01', TIMESTAMP '2100-01-01', INTERVAL 1 DAY) AS t(d)),
        final AS (SELECT offset_seconds FROM days WHERE d = TIMESTAMP '2100-01-01')
        SELECT (SELECT max(d) FROM days WHERE offset_seconds <> (SELECT offset_seconds FROM final)),
               (SELECT CAST(offset_seconds AS BIGINT) FROM final)"""


def zone_shift(last_change: datetime | None, offset_seconds: int) -> ZoneShift | None:
    """The fixed offset to use from two days after the zone's last change (or from 1970 if it never changed);
    None when the zone still changes before 2100 (daylight saving time): then every time goes through ICU."""
    if last_change is None:
        return ZoneShift(datetime(1970, 1, 1), offset_seconds)
    if last_change >= datetime(2099, 1, 1):
        return None
    return ZoneShift(last_change + timedelta(days=2), offset_seconds)


def _to_utc(local: str, zone: str, shift: ZoneShift | None, params: Params) -> str:
    """A local time to naive UTC. A time zone's rules (ICU) cost more than parsing the text; where the zone's
    offset is fixed (Asia/Shanghai since 1991) it is added instead, for the same result."""
    rules = f"timezone('UTC', timezone({zone}, {local}))"
    if shift is None:
        return rules
    # DuckDB computes the repeated {local} once (common subexpressions of a projection)
    return (f"CASE WHEN {local} >= {params.add(shift.since)} THEN {local} + to_seconds({params.add(shift.offset_seconds)}) "
            f"ELSE {rules} END")


def _time_sql(raw: str, params: Params, timezone: str, shift: ZoneShift | None = None) -> str:
    """Local time text (ISO, 2026/9/16 14:05, 2026年9月16日, Excel serial) → naive UTC; NULL if unparseable."""
    if raw == NULL_TEXT:
        return "CAST(NULL AS TIMESTAMP)"
    zone = params.add(timezone)
    formats = params.add(TIME_FORMATS)
    local = f"""CASE
        WHEN regexp_full_match({raw}, '[0-9]{{5}}(\\.[0-9]+)?')
            THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(CAST({raw} AS DOUBLE) * 86400) AS BIGINT) * 1000000)
        ELSE try_strptime({raw}, {formats}) END"""
    with_offset = f"CASE WHEN regexp_matches({raw}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') THEN timezone('UTC', try_cast({raw} AS TIMESTAMPTZ)) END"
    # COALESCE evaluates an argument only for the rows still NULL: the common forms (no format has an
    # offset, and none reads a bare Excel serial) skip both regular expressions.
    common = _to_utc(f"try_strptime({raw}, {formats})", zone, shift, params)
    return f"COALESCE({common}, {with_offset}, {_to_utc(local, zone, shift, params)})"


def _flag_sql(raw: str, params: Params) -> str:
    if raw == NULL_TEXT:
        return "CAST(NULL AS BOOLEAN)"
    # list_contains, not IN (SELECT unnest(...)): a list lookup per row instead of a hash join per flag
    return (
        f"CASE WHEN list_contains({params.add(YES_WORDS)}::VARCHAR[], lower(trim({raw}))) THEN true "
        f"WHEN list_contains({params.add(NO_WORDS)}::VARCHAR[], lower(trim({raw}))) THEN false END"
    )


def _minutes_sql(raw: str) -> str:
    """'45', '45.5', '45分钟', '1:05:30' (h:mm:ss) → minutes."""
    if raw == NULL_TEXT:
        return "CAST(NULL AS DOUBLE)"
    return f"""CASE
        WHEN regexp_full_match({raw}, '[0-9]+:[0-9]{{2}}:[0-9]{{2}}')
            THEN CAST(split_part({raw}, ':', 1) AS DOUBLE) * 60 + CAST(split_part({raw}, ':', 2) AS DOUBLE)
                 + CAST(split_part({raw}, ':', 3) AS DOUBLE) / 60
        ELSE try_cast(regexp_extract({raw}, '[0-9]+(\\.[0-9]+)?') AS DOUBLE) END"""


def stage_sql(plan: SheetPlan, source: str, target: str, timezone: str, record_base: int,
              collapse: bool = False, shift: ZoneShift | None = None) -> Staging:
    """Statements (step, SQL, parameters) that CREATE the staging table (or view) ``target``: cleaned
    fields, problem flags, attributes, record ids for rows with an identifier.

    Each staged row carries ``record_id``, ``record_row`` (the row that writes the record),
    ``record_earliest`` and ``record_latest`` (the record's first and last time). Without ``collapse``
    every row with an identifier is its own record; with it, rows with the same identity tuple share
    one record (see the module doc).
    """
    params = Params()
    # record-level values: functions of the columns that go into source_record
    record_cols: list[str] = []
    # the cleaned values of a record: a collapsed record is one distinct tuple of these
    key: list[str] = []
    for name in RECORD_TEXT_FIELDS:
        # an activity row's campaign is the event's (which newsletter was opened), not the person's
        raw = NULL_TEXT if collapse and name in ACTIVITY_EVENT_FIELDS else _raw(plan, params, name)
        record_cols.append(f"{raw} AS {name}")
        if raw != NULL_TEXT:
            key.append(name)
    email = _raw(plan, params, "email")
    record_cols.append(f"{email} AS email_raw")
    record_cols.append(
        f"CASE WHEN regexp_full_match({email}, '[^@\\s]+@[^@\\s]+\\.[^@\\s.]+') THEN {email} END AS email"
    )
    # phone_raw / landline_raw are lateral aliases, reused below without recomputing
    record_cols.append(f"{_phone_digits_sql(_raw(plan, params, 'phone'))} AS phone_raw")
    record_cols.append(
        "CASE WHEN length(regexp_replace(phone_raw, '[^0-9]', '', 'g')) >= 7 "
        "AND NOT regexp_matches(phone_raw, '[A-Za-z]') THEN phone_raw END AS phone"
    )
    record_cols.append(f"{_phone_digits_sql(_raw(plan, params, 'landline'))} AS landline_raw")
    record_cols.append("CASE WHEN length(regexp_replace(landline_raw, '[^0-9]', '', 'g')) >= 7 THEN landline_raw END AS landline")
    for name in ("email", "phone", "landline"):
        if plan.column(name) or name in plan.values:
            key.append(name)
    consent = _raw(plan, params, "consent")
    record_cols.append(f"{_flag_sql(consent, params)} AS consent")
    if consent != NULL_TEXT:
        key.append("consent")
    attribute_indexes = [i for i in range(len(plan.headers)) if i not in plan.mapping and i not in plan.ignored]
    attribute_pairs = [f"{params.add(plan.headers[i])}, c{i}" for i in attribute_indexes]
    record_cols.append(f"json_object({', '.join(attribute_pairs)}) AS attributes" if attribute_pairs else "CAST(NULL AS JSON) AS attributes")
    if attribute_pairs:
        key.append("attributes")
    has_id = " OR ".join(f"{f} IS NOT NULL" for f in IDENTIFIER_FIELDS)
    record_cols.append(f"({has_id}) AS has_identifier")

    # row-level values: times, actions, event details
    row_cols: list[str] = []
    for name in TIME_FIELDS:
        raw = _raw(plan, params, name)
        row_cols.append(f"{raw} AS {name}_raw")
        row_cols.append(f"{_time_sql(raw, params, timezone, shift)} AS {name}")
    row_cols.append(f"{_flag_sql(_raw(plan, params, 'replay_watched'), params)} AS replay_watched")
    row_cols.append(f"{_minutes_sql(_raw(plan, params, 'watch_minutes'))} AS watch_minutes")
    for name in ("form_name", "url", "notes", "event_action"):
        row_cols.append(f"{_raw(plan, params, name)} AS {name}")
    action = _raw(plan, params, "event_action")
    row_cols.append(
        f"list_extract({params.add(list(ACTIONS.values()))}::VARCHAR[], "
        f"list_position({params.add(list(ACTIONS))}::VARCHAR[], lower(trim({action})))) AS action_type"
    )
    row_cols.append(f"{_raw(plan, params, 'utm_campaign')} AS campaign_text")
    base = params.add(record_base)
    if not collapse:
        row_cols.append("COALESCE(" + ", ".join(TIME_FIELDS) + ") AS record_time")
        # ids follow row order; lateral aliases (email, phone …) are resolved by DuckDB within the SELECT.
        # The window runs over (_row) alone and is joined back: a window over the wide cleaned rows
        # would carry every text column through its sort (several times slower at 1M rows).
        sql = f"""CREATE OR REPLACE TEMP TABLE {target} AS
            WITH cleaned AS MATERIALIZED (SELECT _row, {', '.join(record_cols + row_cols)} FROM {source}),
            ids AS (SELECT _row, {base} + row_number() OVER (ORDER BY _row) AS record_id
                    FROM cleaned WHERE has_identifier)
            SELECT cleaned.*, ids.record_id, CASE WHEN has_identifier THEN _row END AS record_row,
                   record_time AS record_earliest, record_time AS record_latest
            FROM cleaned LEFT JOIN ids USING (_row)"""
        return Staging(statements=[("clean values", sql, params.values)], records=target, raw=source)
    # Collapsed: the record-level work runs once per distinct tuple of the raw record columns (a few
    # hundred thousand in ten million rows of an activity log), the row-level work once per row, and
    # the staging "table" is a view joining the two: ten million wide rows are never materialised.
    record_sources = sorted({int(i) for i in re.findall(r"\bc([0-9]+)\b", " ".join(record_cols))})
    raw_key = [f"c{i}" for i in record_sources]
    rows, tuples = f"{target}_rows", f"{target}_tuples"
    keep = "".join(f"{k}, " for k in raw_key)
    # Columns the sheet does not have are NULL constants: kept out of the ten-million-row table
    # (stored, they would cost a full NULL column each) and added back by the view.
    constant = [c for c in row_cols if _CONSTANT_NULL.fullmatch(c)]
    # The rows table keeps every cell (the sheet's table is dropped once it exists: one copy of ten
    # million rows in memory, not two); a field that is a cell as it is becomes a name in the view.
    cell_fields = [c for c in row_cols if _ALIAS.fullmatch(c)]
    aliases = [f"r.{c}" for c in cell_fields]
    computed = [c for c in row_cols if c not in constant and c not in cell_fields]
    cells = "".join(f"c{i}, " for i in range(len(plan.headers)))
    times = [f for f in TIME_FIELDS if f"{_time_sql(NULL_TEXT, params, timezone)} AS {f}" not in constant]
    computed.append(f"COALESCE({', '.join(times)}) AS record_time" if times else "CAST(NULL AS TIMESTAMP) AS record_time")
    # _tuple, a hash of the raw tuple, joins rows to their tuple on one integer instead of every text column
    rows_sql = f"""CREATE OR REPLACE TEMP TABLE {rows} AS
        SELECT _row, {cells}hash({', '.join(raw_key) or 'NULL'}) AS _tuple, {', '.join(computed)} FROM {source}"""
    # A tuple's record: cleaned values decide (two raw spellings that clean alike are one record);
    # its row is the first row of any of its spellings, its times the earliest and latest of all.
    # _row is the tuple's first row, so `_row = record_row` marks the tuple that writes the record.
    cleaned_key = ", ".join(key) or "true"
    tuples_sql = f"""CREATE OR REPLACE TEMP TABLE {tuples} AS
        WITH raw_tuples AS (
            SELECT *, count(*) OVER (PARTITION BY _tuple) AS _shared
            FROM (SELECT _tuple, {keep}min(_row) AS _row, min(record_time) AS first_time, max(record_time) AS last_time
                  FROM {rows} GROUP BY ALL)),
        cleaned AS (SELECT raw_tuples.*, {', '.join(record_cols)} FROM raw_tuples),
        grouped AS (
            SELECT _row, min(_row) OVER w AS record_row, min(first_time) OVER w AS record_earliest,
                   max(last_time) OVER w AS record_latest
            FROM cleaned WHERE has_identifier WINDOW w AS (PARTITION BY {cleaned_key})),
        ids AS (SELECT record_row, {base} + row_number() OVER (ORDER BY record_row) AS record_id
                FROM grouped WHERE _row = record_row)
        SELECT cleaned.* EXCLUDE (first_time, last_time), ids.record_id, grouped.record_row,
               grouped.record_earliest, grouped.record_latest
        FROM cleaned LEFT JOIN grouped USING (_row) LEFT JOIN ids ON ids.record_row = grouped.record_row"""
    # Every row gets its tuple's record, by hash; the few tuples that share a hash (_shared > 1) also
    # compare their values. NULLs are values here (IS NOT DISTINCT FROM): a row without a phone and one
    # with the same email and a phone are two different tuples.
    same = " AND ".join(f"r.{k} IS NOT DISTINCT FROM t.{k}" for k in raw_key) or "true"
    view = f"""CREATE OR REPLACE TEMP VIEW {target} AS
        SELECT r.*, {''.join(c + ', ' for c in aliases + constant)}t.* EXCLUDE ({keep}_row, _tuple, _shared)
        FROM {rows} AS r JOIN {tuples} AS t ON r._tuple = t._tuple
        WHERE t._shared = 1 OR ({same})"""
    return Staging(
        statements=[
            ("clean rows", rows_sql, used_params(rows_sql, params.values)),
            ("clean identities", tuples_sql, used_params(tuples_sql, params.values)),
            ("stage rows", view, {}),
        ],
        records=tuples,
        raw=rows,
        row_fields=frozenset(["_row", "record_time", *(_AS_NAME.search(c).group(1) for c in row_cols)]),
    )


def insert_records_sql(stage: str) -> str:
    text_fields = ", ".join(RECORD_TEXT_FIELDS)
    return f"""INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row, file_sha256,
            channel, {text_fields}, email, phone, landline, consent, record_time, first_record_time, attributes,
            imported_at)
        SELECT record_id, ?, ?, ?, _row, ?, ?, {text_fields}, email, phone, landline, consent, record_latest,
               record_earliest, attributes, ?
        FROM {stage} WHERE has_identifier AND _row = record_row"""  # no ORDER BY: record_id carries the row order; a sort of wide rows costs seconds at 1M


def event_rows_sql(stage: str, channel: str, event_type: str) -> str:
    """SELECT of the events a channel's rows produce, one column list for every kind.

    Named parameters: $campaign, $imported_at, $event_type.
    """

    def select(type_sql, at, where="true", campaign="COALESCE(campaign_text, $campaign)", form="NULL",
               minutes="NULL", crm="NULL, NULL, NULL"):
        return (
            f"SELECT record_id, _row AS source_row, {type_sql} AS event_type, {at} AS occurred_at, {campaign} AS campaign, "
            f"{form} AS form_name, utm_source, url, {minutes} AS watch_minutes, {crm} "
            f"FROM {stage} WHERE has_identifier AND ({where})"
        )

    action = "action_type"
    kind = "$event_type" if event_type else None
    parts: list[str] = []
    if channel == "event":
        parts.append(select(kind or "'badge_scan'", "COALESCE(checkin_time, record_time)", campaign="$campaign"))
    elif channel == "web_form":
        parts.append(select(kind or "'form_submit'", "COALESCE(submit_time, record_time)", form="form_name",
                            campaign="COALESCE(campaign_text, form_name, $campaign)"))
    elif channel == "webinar":
        parts.append(select("'webinar_register'", "COALESCE(registered_at, record_time)", campaign="$campaign"))
        parts.append(select("'webinar_attend'", "COALESCE(first_entered_at, registered_at, record_time)",
                            "first_entered_at IS NOT NULL OR watch_minutes > 0", campaign="$campaign",
                            minutes="watch_minutes"))
        parts.append(select("'replay_view'", "COALESCE(first_entered_at, registered_at, record_time)",
                            "replay_watched", campaign="$campaign"))
    elif channel == "crm":
        parts.append(select("'crm_update'", "COALESCE(updated_at, record_time, $imported_at)",
                            "crm_stage IS NOT NULL OR crm_owner IS NOT NULL", campaign="NULL",
                            crm="crm_stage, crm_owner, notes"))
    elif channel == "engagement":
        parts.append(select(kind or action, "COALESCE(event_time, record_time)",
                            "true" if kind else f"{action} IS NOT NULL"))
    elif channel == "list" and kind:
        parts.append(select(kind, "record_time", campaign="$campaign"))
    return " UNION ALL ".join(parts)


def insert_events_sql(stage: str, channel: str, event_type: str | None, ids_by_row: bool = False) -> str:
    """INSERT the events of a staged sheet. Named parameters: $event_base, $batch_id, $channel and those above.

    Event ids follow (row, event type). ``ids_by_row`` derives them from the row number instead of
    numbering sorted rows (no sort of ten million events; rows without an event leave a gap);
    it needs $header_row, and only fits channels with at most one event per row.
    """
    body = event_rows_sql(stage, channel, event_type or "")
    if not body:
        return ""
    event_id = ("$event_base + source_row - $header_row" if ids_by_row
                else "$event_base + row_number() OVER (ORDER BY source_row, event_type)")
    return f"""INSERT INTO event (event_id, record_id, batch_id, source_row, event_type, occurred_at, channel, campaign,
            form_name, utm_source, url, watch_minutes, crm_stage, crm_owner, detail)
        SELECT {event_id}, record_id, $batch_id, source_row,
               event_type, occurred_at, $channel, campaign, form_name, utm_source, url, watch_minutes, crm_stage,
               crm_owner, detail
        FROM ({body}) AS e(record_id, source_row, event_type, occurred_at, campaign, form_name, utm_source, url,
                          watch_minutes, crm_stage, crm_owner, detail)"""


def used_params(sql: str, values: dict) -> dict:
    """Only the named parameters a statement uses (DuckDB refuses unused ones)."""
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in values.items() if k in names}


def quarantine_sql(stage: str, raw: str, headers: list[str], checks: list[tuple[str, str | None, str, str]],
                   fixed: dict, problems: str, row_fields: frozenset[str] = frozenset()) -> list[tuple[str, str, dict]]:
    """Statements (step, SQL, parameters) that INSERT quarantine rows. Each check is (condition SQL, header
    or None, value SQL, reason). ``fixed`` holds $source_file and $source_sheet; the INSERT also needs $batch_id,
    added by the caller when the batch has its id.

    The problems are found first, into the temp table ``problems``; then the whole row of each is read back
    from the raw sheet as JSON (header → cell). Two statements, because the planner must know how few the
    problems are: joined in one statement, it hashed all ten million rows of an activity log to find none.
    For a collapsed sheet, ``row_fields`` names the fields of its rows table: checks on those alone scan
    the rows, the others the identity tuples, so each filter runs below the join of the two.
    """
    params = Params()
    row_checks = [i for i, (condition, _, value, _) in enumerate(checks)
                  if row_fields and set(_NAME.findall(f"{condition} {value}")) <= row_fields]
    scans = [[i for i in range(len(checks)) if i not in row_checks], row_checks]

    def scan(indexes: list[int]) -> str:
        flags = ", ".join(f"({checks[i][0]}) AS f{i}, {checks[i][2]} AS v{i}" if i in indexes
                          else f"false AS f{i}, NULL AS v{i}" for i in range(len(checks)))
        any_problem = " OR ".join(f"({checks[i][0]})" for i in indexes)
        return f"SELECT _row, has_identifier, {flags} FROM {stage} WHERE {any_problem}"

    flagged = " UNION ALL ".join(scan(indexes) for indexes in scans if indexes)
    parts = [
        f"SELECT _row, CAST({params.add(header)} AS VARCHAR) AS column_name, v{i} AS value, "
        f"{params.add(reason)} AS reason, has_identifier AS row_imported FROM flagged WHERE f{i}"
        for i, (_, header, _, reason) in enumerate(checks)
    ]
    find = f"""CREATE OR REPLACE TEMP TABLE {problems} AS
        WITH flagged AS MATERIALIZED ({flagged})
        {' UNION ALL '.join(parts)}"""
    find_params = params.values
    params = Params()
    row_pairs = ", ".join(f"{params.add(h)}, s.c{i}" for i, h in enumerate(headers))
    values = dict(params.values)
    values.update(fixed)
    insert = f"""INSERT INTO quarantine (batch_id, source_file, source_sheet, source_row, column_name, value, reason,
            row_imported, row_data)
        SELECT $batch_id, $source_file, $source_sheet, q._row, q.column_name, q.value, q.reason, q.row_imported,
               json_object({row_pairs})
        FROM {problems} AS q JOIN {raw} AS s ON s._row = q._row"""
    return [("find problems", find, find_params), ("quarantine rows", insert, values)]
