"""Stable person ids and golden records.

Ids: a component keeps the id of the existing person most of whose records it
holds; when it holds several existing people, the oldest id survives and the
others are recorded in person_alias (looking them up still works). New
components get new ids. Golden fields follow survivorship rules per field.
"""

from __future__ import annotations

DEFAULT_PRIORITY = ("crm", "web_form", "webinar", "event", "list", "engagement")
SURVIVORSHIP_RULES = ("source_priority", "most_recent", "most_frequent", "most_complete")
# golden field → source_record column (identity-normalised fields are handled separately)
TEXT_FIELDS = ("company", "title", "department", "industry", "company_size", "province", "city", "country",
               "wechat_openid", "wechat_unionid", "crm_id")


def assign_ids_sql() -> list[tuple[str, str]]:
    """(step, SQL) to build _id_final(label, person_id) and the merges of existing people. Parameter: person counter."""
    return [
        ("claims", """
            CREATE OR REPLACE TEMP TABLE _id_claim AS
            SELECT l.label, pr.person_id, count(*) AS n
            FROM _id_label l JOIN person_record pr USING (record_id) GROUP BY l.label, pr.person_id"""),
        ("owners", """
            CREATE OR REPLACE TEMP TABLE _id_owner AS
            SELECT person_id, first(label ORDER BY n DESC, label) AS label FROM _id_claim GROUP BY person_id"""),
        ("survivors", """
            CREATE OR REPLACE TEMP TABLE _id_survivor AS
            SELECT label, min(person_id) AS person_id, list(person_id ORDER BY person_id) AS owned
            FROM _id_owner GROUP BY label"""),
        ("new ids", """
            CREATE OR REPLACE TEMP TABLE _id_final AS
            SELECT label, person_id, false AS is_new FROM _id_survivor
            UNION ALL
            SELECT label, 'P' || lpad(CAST(? + row_number() OVER (ORDER BY label) AS VARCHAR), 6, '0'), true
            FROM (SELECT DISTINCT label FROM _id_label) ANTI JOIN _id_survivor USING (label)"""),
        ("merged people", """
            CREATE OR REPLACE TEMP TABLE _id_merged AS
            SELECT s.person_id, unnest(list_filter(s.owned, x -> x <> s.person_id)) AS merged_person_id
            FROM _id_survivor s WHERE len(s.owned) > 1"""),
    ]


def _rank(field_rule: str, value: str) -> str:
    """ORDER BY expression choosing the surviving value of a field."""
    if field_rule == "most_recent":
        return "s._recency"
    if field_rule == "most_complete":
        return f"length(CAST({value} AS VARCHAR)) * 1e10 + s._recency"
    return "s._prio_recency"


def _pick(value: str, rule: str, condition: str | None = None) -> str:
    where = f"{value} IS NOT NULL" + (f" AND {condition}" if condition else "")
    if rule == "most_frequent":
        return f"mode({value}) FILTER (WHERE {where})"
    return f"arg_max({value}, {_rank(rule, value)}) FILTER (WHERE {where})"


def golden_sql(rules: dict[str, str]) -> str:
    """CREATE _id_golden: one row per person. Parameter: the channel priority list (best first)."""
    rule = lambda field: rules.get(field, "source_priority")  # noqa: E731
    text = ",\n".join(f"{_pick('s.' + f, rule(f))} AS {f}" for f in TEXT_FIELDS)
    name_rank = (f"CAST(NOT COALESCE(s.surname_only, false) AS INTEGER) * 1e14 "
                 f"+ CAST(s.name_script = 'cjk' AS INTEGER) * 1e13 + {_rank(rule('name'), 's.name')}")
    email_rank = f"CAST(NOT COALESCE(s.email_is_role, false) AS INTEGER) * 1e13 + {_rank(rule('email'), 's.norm_email')}"
    return f"""
        CREATE OR REPLACE TEMP TABLE _id_golden AS
        WITH r AS (
            SELECT f.person_id, s.*, n.email AS norm_email, n.email_is_role, n.email_is_freemail, n.phone AS norm_phone,
                   n.phone_kind, n.surname_only, n.name_script,
                   CASE WHEN n.name_script = 'cjk' AND NOT n.surname_only THEN n.name ELSE s.name END AS display_name,
                   epoch(COALESCE(s.record_time, s.imported_at)) AS _recency,
                   (len(?) - COALESCE(list_position(?, s.channel), len(?))) * 1e11
                       + epoch(COALESCE(s.record_time, s.imported_at)) AS _prio_recency
            FROM _id_label l JOIN _id_final f USING (label)
            JOIN source_record s USING (record_id) JOIN record_norm n USING (record_id))
        SELECT person_id,
               arg_max(s.display_name, {name_rank}) FILTER (WHERE s.name IS NOT NULL AND s.surname_only IS NOT NULL) AS name,
               arg_max(s.norm_email, {email_rank}) FILTER (WHERE s.norm_email IS NOT NULL) AS email,
               arg_max(s.norm_phone, CAST(s.phone_kind = 'mobile' AS INTEGER) * 1e13 + {_rank(rule('phone'), 's.norm_phone')})
                   FILTER (WHERE s.norm_phone IS NOT NULL) AS phone,
               {text},
               arg_max(s.crm_owner, s._recency) FILTER (WHERE s.crm_owner IS NOT NULL) AS crm_owner,
               arg_max(s.crm_stage, s._recency) FILTER (WHERE s.crm_stage IS NOT NULL) AS crm_stage,
               arg_max(s.consent, s._recency) FILTER (WHERE s.consent IS NOT NULL) AS consent,
               arg_max(s.email_is_role, {email_rank}) FILTER (WHERE s.norm_email IS NOT NULL) AS email_is_role,
               arg_max(s.email_is_freemail, {email_rank}) FILTER (WHERE s.norm_email IS NOT NULL) AS email_is_freemail,
               list_sort(list_distinct(list(s.channel))) AS channels,  -- not an ordered aggregate: slower
               CAST(count(*) AS INTEGER) AS record_count,
               min(COALESCE(s.first_record_time, s.record_time, s.imported_at)) AS first_seen,
               max(COALESCE(s.record_time, s.imported_at)) AS last_seen
        FROM r AS s
        GROUP BY person_id"""


PERSON_COLUMNS = (
    "person_id", "name", "email", "phone", "company", "title", "department", "industry", "company_size", "province",
    "city", "country", "wechat_openid", "wechat_unionid", "crm_id", "crm_owner", "crm_stage", "consent",
    "email_is_role", "email_is_freemail", "channels", "record_count", "first_seen", "last_seen",
)


Steps = list[tuple[str, str]]


def replace_rows_sql(table: str, columns: tuple[str, ...], old_where: str, new_rows: str) -> tuple[Steps, Steps]:
    """(step, SQL) that make the rows of ``table`` matching ``old_where`` the rows of ``new_rows`` (a SELECT of
    ``columns``), deleting and inserting only the rows that differ. A merge that moves a few records then
    rewrites a few rows, not every row of the people in scope, and its commit has little to checkpoint.

    Two lists: the first makes the old and new rows (temp tables ``_id_old_<table>``, ``_id_new_<table>``)
    and runs before the write transaction opens (DuckDB scans a table made inside an open transaction with
    one thread); the second deletes and inserts, inside it, and drops them."""
    cols = ", ".join(columns)
    same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM o.{c}" for c in columns)
    old, new = f"_id_old_{table}", f"_id_new_{table}"
    prepare = [
        (f"previous {table}", f"CREATE OR REPLACE TEMP TABLE {old} AS SELECT rowid AS _rid, {cols} FROM {table} WHERE {old_where}"),
        (f"new {table}", f"CREATE OR REPLACE TEMP TABLE {new} AS SELECT {cols} FROM ({new_rows})"),
    ]
    apply = [
        (f"clear {table}", f"DELETE FROM {table} WHERE rowid IN (SELECT o._rid FROM {old} o ANTI JOIN {new} n ON {same})"),
        (f"write {table}", f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {new} n ANTI JOIN {old} o ON {same}"),
        ("drop temp", f"DROP TABLE {old}"),
        ("drop temp", f"DROP TABLE {new}"),
    ]
    return prepare, apply


def write_people_sql() -> tuple[Steps, Steps]:
    """Rewrite the people in scope and their records' rows where they changed; keep created_at, and updated_at
    when nothing changed. Parameter of 'write people': now (created_at of new people and updated_at).
    Two lists, as replace_rows_sql: what to compare, before the transaction; the writes, inside it."""
    same = " AND ".join(f"o.{c} IS NOT DISTINCT FROM g.{c}" for c in PERSON_COLUMNS[1:])
    cols = ", ".join(f"g.{c}" for c in PERSON_COLUMNS)
    in_scope = "person_id IN (SELECT person_id FROM _id_scope_people)"
    records_prepare, records_apply = replace_rows_sql(
        "person_record", ("record_id", "person_id"),
        f"{in_scope} OR record_id IN (SELECT record_id FROM _id_scope) OR record_id NOT IN (SELECT record_id FROM _id_all)",
        "SELECT l.record_id, f.person_id FROM _id_label l JOIN _id_final f USING (label)")
    contacts_prepare, contacts_apply = replace_rows_sql(
        "person_contact", ("person_id", "kind", "value", "is_valid", "detail", "first_seen", "last_seen"),
        f"{in_scope} OR person_id IN (SELECT person_id FROM _id_golden)",
        """
        -- the records' contacts read once (not once per kind), grouped per component, then named by person
        WITH r AS MATERIALIZED (
            SELECT l.label, n.email, n.email_is_role, n.email_is_freemail, n.phone, n.phone_kind, n.landline,
                   COALESCE(s.first_record_time, s.record_time, s.imported_at) AS first_seen,
                   COALESCE(s.record_time, s.imported_at) AS seen
            FROM _id_label l JOIN record_norm n USING (record_id) JOIN source_record s USING (record_id)
            WHERE n.email IS NOT NULL OR n.phone IS NOT NULL OR n.landline IS NOT NULL)
        SELECT f.person_id, c.kind, c.value, true AS is_valid, c.detail, c.first_seen, c.last_seen
        FROM (
            SELECT label, kind, value, any_value(detail) AS detail, min(first_seen) AS first_seen, max(seen) AS last_seen
            FROM (
                SELECT label, 'email' AS kind, email AS value,
                       CASE WHEN email_is_role THEN 'role' WHEN email_is_freemail THEN 'freemail' END AS detail, first_seen, seen
                FROM r WHERE email IS NOT NULL
                UNION ALL
                SELECT label, 'phone', phone, phone_kind, first_seen, seen FROM r WHERE phone IS NOT NULL
                UNION ALL
                SELECT label, 'phone', landline, 'landline', first_seen, seen FROM r WHERE landline IS NOT NULL)
            GROUP BY label, kind, value) c
        JOIN _id_final f USING (label)""")
    prepare = [
        ("previous people", f"""
            CREATE OR REPLACE TEMP TABLE _id_old_person AS
            SELECT * FROM person WHERE {in_scope} OR person_id IN (SELECT person_id FROM _id_golden)"""),
        ("unchanged people", f"""
            CREATE OR REPLACE TEMP TABLE _id_same_person AS
            SELECT g.person_id FROM _id_golden g JOIN _id_old_person o ON o.person_id = g.person_id AND {same}"""),
        *records_prepare,
        *contacts_prepare,
    ]
    apply = [
        ("clear people", """
            DELETE FROM person WHERE person_id IN (SELECT person_id FROM _id_old_person)
                AND person_id NOT IN (SELECT person_id FROM _id_same_person)"""),
        ("write people", f"""
            INSERT INTO person ({', '.join(PERSON_COLUMNS)}, created_at, updated_at)
            SELECT {cols}, COALESCE(o.created_at, ?), ?
            FROM _id_golden g LEFT JOIN _id_old_person o USING (person_id)
            WHERE g.person_id NOT IN (SELECT person_id FROM _id_same_person)"""),
        *records_apply,
        *contacts_apply,
    ]
    return prepare, apply
