"""SQL builders of the import stage: clean a loaded sheet, then write records, events and quarantine.

Everything here is set-based: a sheet loaded as ``c0 … cN, _row`` becomes a
staging table with one cleaned column per canonical field and problem flags,
from which three INSERT … SELECT statements write source_record, event and
quarantine. Header texts and fixed values are parameters, never pasted in.

Records versus events: a contact list makes one record per row. An activity
log (the engagement channel) repeats the same person on thousands of rows, so
its rows are *collapsed*: one record per distinct identity tuple (every value
that goes into source_record), whose ``source_row`` is the tuple's first row
and ``record_time`` its latest row time, while every row still becomes an
event that keeps its own ``source_row``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


def _time_sql(raw: str, params: Params, timezone: str) -> str:
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
    return f"COALESCE({with_offset}, timezone('UTC', timezone({zone}, {local})))"


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
              collapse: bool = False) -> tuple[str, dict]:
    """CREATE the staging table: cleaned fields, problem flags, attributes, record ids for rows with an identifier.

    Each staged row carries ``record_id``, ``record_row`` (the row that writes the record) and
    ``record_latest`` (the record's time). Without ``collapse`` every row with an identifier is its
    own record; with it, rows with the same identity tuple share one record (see the module doc).
    """
    params = Params()
    cols: list[str] = ["_row"]
    # record-level columns that can differ between rows: the identity tuple of a collapsed record
    key: list[str] = []
    for name in RECORD_TEXT_FIELDS:
        raw = _raw(plan, params, name)
        cols.append(f"{raw} AS {name}")
        if raw != NULL_TEXT:
            key.append(name)
    email = _raw(plan, params, "email")
    cols.append(f"{email} AS email_raw")
    cols.append(
        f"CASE WHEN regexp_full_match({email}, '[^@\\s]+@[^@\\s]+\\.[^@\\s.]+') THEN {email} END AS email"
    )
    # phone_raw / landline_raw are lateral aliases, reused below without recomputing
    cols.append(f"{_phone_digits_sql(_raw(plan, params, 'phone'))} AS phone_raw")
    cols.append(
        "CASE WHEN length(regexp_replace(phone_raw, '[^0-9]', '', 'g')) >= 7 "
        "AND NOT regexp_matches(phone_raw, '[A-Za-z]') THEN phone_raw END AS phone"
    )
    cols.append(f"{_phone_digits_sql(_raw(plan, params, 'landline'))} AS landline_raw")
    cols.append("CASE WHEN length(regexp_replace(landline_raw, '[^0-9]', '', 'g')) >= 7 THEN landline_raw END AS landline")
    for name in ("email", "phone", "landline"):
        if plan.column(name) or name in plan.values:
            key.append(name)
    for name in TIME_FIELDS:
        raw = _raw(plan, params, name)
        cols.append(f"{raw} AS {name}_raw")
        cols.append(f"{_time_sql(raw, params, timezone)} AS {name}")
    consent = _raw(plan, params, "consent")
    cols.append(f"{_flag_sql(consent, params)} AS consent")
    if consent != NULL_TEXT:
        key.append("consent")
    cols.append(f"{_flag_sql(_raw(plan, params, 'replay_watched'), params)} AS replay_watched")
    cols.append(f"{_minutes_sql(_raw(plan, params, 'watch_minutes'))} AS watch_minutes")
    for name in ("form_name", "url", "notes", "event_action"):
        cols.append(f"{_raw(plan, params, name)} AS {name}")
    action = _raw(plan, params, "event_action")
    cols.append(
        f"list_extract({params.add(list(ACTIONS.values()))}::VARCHAR[], "
        f"list_position({params.add(list(ACTIONS))}::VARCHAR[], lower(trim({action})))) AS action_type"
    )
    cols.append(f"{_raw(plan, params, 'utm_campaign')} AS campaign_text")
    attribute_pairs = [
        f"{params.add(plan.headers[i])}, c{i}"
        for i in range(len(plan.headers))
        if i not in plan.mapping and i not in plan.ignored
    ]
    cols.append(f"json_object({', '.join(attribute_pairs)}) AS attributes" if attribute_pairs else "CAST(NULL AS JSON) AS attributes")
    if attribute_pairs:
        key.append("attributes")
    has_id = " OR ".join(f"{f} IS NOT NULL" for f in IDENTIFIER_FIELDS)
    cols.append(f"({has_id}) AS has_identifier")
    cols.append("COALESCE(" + ", ".join(TIME_FIELDS) + ") AS record_time")
    # ids follow row order; lateral aliases (email, phone …) are resolved by DuckDB within the SELECT.
    # The window runs over (_row) alone and is joined back: a window over the wide cleaned rows
    # would carry every text column through its sort (several times slower at 1M rows).
    base = params.add(record_base)
    if not collapse:
        sql = f"""CREATE OR REPLACE TEMP TABLE {target} AS
            WITH cleaned AS MATERIALIZED (SELECT {', '.join(cols)} FROM {source}),
            ids AS (SELECT _row, {base} + row_number() OVER (ORDER BY _row) AS record_id
                    FROM cleaned WHERE has_identifier)
            SELECT cleaned.*, ids.record_id, CASE WHEN has_identifier THEN _row END AS record_row,
                   record_time AS record_earliest, record_time AS record_latest
            FROM cleaned LEFT JOIN ids USING (_row)"""
        return sql, params.values
    # One record per identity tuple: group the (few) distinct tuples, number them by their first row,
    # join the ids back to every row. NULLs are values here (IS NOT DISTINCT FROM): a row without a
    # phone and one with the same email and a phone are two different tuples, as they would be two records.
    key_list = ", ".join(key)
    same = " AND ".join(f"cleaned.{k} IS NOT DISTINCT FROM ids.{k}" for k in key) or "true"
    sql = f"""CREATE OR REPLACE TEMP TABLE {target} AS
        WITH cleaned AS MATERIALIZED (SELECT {', '.join(cols)} FROM {source}),
        tuples AS (SELECT {key_list}, min(_row) AS record_row, min(record_time) AS record_earliest,
                          max(record_time) AS record_latest
                   FROM cleaned WHERE has_identifier GROUP BY ALL),
        ids AS (SELECT *, {base} + row_number() OVER (ORDER BY record_row) AS record_id FROM tuples)
        SELECT cleaned.*, ids.record_id, ids.record_row, ids.record_earliest, ids.record_latest
        FROM cleaned LEFT JOIN ids ON cleaned.has_identifier AND {same}"""
    return sql, params.values


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


def insert_events_sql(stage: str, channel: str, event_type: str | None) -> str:
    """INSERT the events of a staged sheet. Named parameters: $event_base, $batch_id, $channel and those above."""
    body = event_rows_sql(stage, channel, event_type or "")
    if not body:
        return ""
    return f"""INSERT INTO event (event_id, record_id, batch_id, source_row, event_type, occurred_at, channel, campaign,
            form_name, utm_source, url, watch_minutes, crm_stage, crm_owner, detail)
        SELECT $event_base + row_number() OVER (ORDER BY source_row, event_type), record_id, $batch_id, source_row,
               event_type, occurred_at, $channel, campaign, form_name, utm_source, url, watch_minutes, crm_stage,
               crm_owner, detail
        FROM ({body}) AS e(record_id, source_row, event_type, occurred_at, campaign, form_name, utm_source, url,
                          watch_minutes, crm_stage, crm_owner, detail)"""


def used_params(sql: str, values: dict) -> dict:
    """Only the named parameters a statement uses (DuckDB refuses unused ones)."""
    import re

    names = set(re.findall(r"\$([a-z_]+)", sql))
    return {k: v for k, v in values.items() if k in names}


def quarantine_sql(stage: str, raw: str, headers: list[str], checks: list[tuple[str, str | None, str, str]],
                   fixed: dict) -> tuple[str, dict]:
    """INSERT quarantine rows. Each check is (condition SQL, header or None, value SQL, reason).

    The whole row is kept as JSON (header → cell), read back from the raw sheet only for rows in quarantine.
    ``fixed`` holds $batch_id, $source_file and $source_sheet.
    """
    params = Params()
    parts = []
    for condition, header, value, reason in checks:
        parts.append(
            f"SELECT _row, CAST({params.add(header)} AS VARCHAR) AS column_name, {value} AS value, "
            f"{params.add(reason)} AS reason, has_identifier AS row_imported FROM {stage} WHERE {condition}"
        )
    row_pairs = ", ".join(f"{params.add(h)}, s.c{i}" for i, h in enumerate(headers))
    values = dict(params.values)
    values.update(fixed)
    sql = f"""INSERT INTO quarantine (batch_id, source_file, source_sheet, source_row, column_name, value, reason,
            row_imported, row_data)
        SELECT $batch_id, $source_file, $source_sheet, q._row, q.column_name, q.value, q.reason, q.row_imported,
               json_object({row_pairs})
        FROM ({' UNION ALL '.join(parts)}) AS q JOIN {raw} AS s ON s._row = q._row"""
    return sql, values
