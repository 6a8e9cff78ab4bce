"""Candidate links between records, and the guards that keep different people apart.

Strong links come from exact shared keys (email, mobile, WeChat UnionID, CRM id),
expressed as edges from each record to its key group's first record, so no
quadratic pair lists are built. A key group whose records carry clearly
different names (a shared switchboard, a role or team mailbox, a family phone)
does not link them: it only links the records within it that carry the same
name. Role mailboxes and landlines never serve as keys at all.

Weak links (same name and same company brand; near-identical emails with the
same name) are found between strong components and scored with rapidfuzz's
batch functions; merge() accepts them only when no strong identifiers conflict.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from mactl.workspace import Workspace

STAGE = "identity"

# rule → (record_norm column, extra condition)
STRONG_KEYS = {
    "exact_email": ("email", "NOT COALESCE(email_is_role, false)"),
    "exact_phone": ("phone", "true"),
    "exact_wechat": ("wechat_unionid", "true"),
    "exact_crm_id": ("crm_id", "true"),
}


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds of the built-in rules (the identity: section of a recipe can change them)."""

    email_typo_similarity: float = 88.0  # rapidfuzz ratio of two emails of the same name
    common_name_people: int = 3  # a name seen with this many different mobiles is "common"
    max_block: int = 200  # larger fuzzy blocks are skipped (too unspecific to link anything)
    max_review_block: int = 10  # a common-name pair is queued for review only from a block this small
    enabled_rules: tuple[str, ...] = ("exact_email", "exact_phone", "exact_wechat", "exact_crm_id", "name_company", "email_typo")


def build_record_view_sql() -> str:
    """One row per record with what matching needs: keys, name signature, surname-only form, company.

    A view: record_norm holds exactly the current records, and a copy of a million rows costs seconds."""
    return """
        CREATE OR REPLACE TEMP VIEW _id_all AS
        SELECT n.record_id, n.email, n.email_is_role, n.phone, n.wechat_unionid, n.crm_id,
               CASE WHEN NOT COALESCE(n.surname_only, false) THEN n.name_pinyin END AS sig,
               CASE WHEN n.surname_only THEN n.name_pinyin END AS sur,
               n.gender_hint AS gender, n.company_pinyin, n.company
        FROM record_norm n"""


def build_keys_sql(rules: tuple[str, ...], source: str = "_id_rec", target: str = "_id_keys",
                   name_columns: bool = True) -> str:
    """One row per (record, strong key) for the enabled exact rules.

    ``name_columns`` carries each record's name signature, surname-only form and gender along, so
    the key groups and their edges need no join back to the records."""
    names = ", sig, sur, gender" if name_columns else ""
    empty_names = ", CAST(NULL AS VARCHAR) AS sig, CAST(NULL AS VARCHAR) AS sur, CAST(NULL AS VARCHAR) AS gender" if name_columns else ""
    parts = [
        f"SELECT record_id, '{rule}' AS rule, {column} AS key{names} FROM {source} WHERE {column} IS NOT NULL AND {condition}"
        for rule, (column, condition) in STRONG_KEYS.items()
        if rule in rules
    ] or [f"SELECT CAST(NULL AS BIGINT) AS record_id, '' AS rule, '' AS key{empty_names} WHERE false"]
    return f"CREATE OR REPLACE TEMP TABLE {target} AS " + " UNION ALL ".join(parts)


def build_groups_sql() -> str:
    """Keys shared by several records, with the bounds of their names.

    min/max, not list(DISTINCT …): distinct aggregates over every key cost seconds, and min <> max
    already tells whether a group holds more than one name form; the few that do are read as lists
    by mark_shared_groups."""
    return """
        CREATE OR REPLACE TEMP TABLE _id_groups AS
        SELECT rule, key, min(record_id) AS anchor, count(*) AS members,
               min(sig) AS sig_min, max(sig) AS sig_max, min(sur) AS sur_min, max(sur) AS sur_max,
               min(gender) AS gender_min, max(gender) AS gender_max,
               false AS shared
        FROM _id_keys
        GROUP BY rule, key HAVING count(*) > 1"""


def names_compatible(a: str, b: str) -> bool:
    """Two name signatures (sorted lower-case tokens) can be one person: equal, initials, or a small typo."""
    if a == b:
        return True
    short, long = sorted((a.split(), b.split()), key=len)
    remaining = list(long)
    for token in short:
        match = next((t for t in remaining if t == token or (len(token) == 1 and t.startswith(token))
                      or (len(t) == 1 and token.startswith(t))), None)
        if match is None:
            break
        remaining.remove(match)
    else:
        return True
    return len(a) >= 6 and fuzz.ratio(a, b) >= 90


def group_is_consistent(sigs: list[str], surs: list[str], genders: int) -> bool:
    """Records sharing a key are one person only if their names agree (see module doc)."""
    if genders > 1:
        return False
    if any(not names_compatible(a, b) for i, a in enumerate(sigs) for b in sigs[i + 1:]):
        return False
    if sigs:
        return all(sur in sig.split() for sur in surs for sig in sigs)
    return len(surs) <= 1


def groups_to_check_sql() -> str:
    """The name forms of key groups with more than one (the only groups mark_shared_groups must examine)."""
    return """
        WITH mixed AS (
            SELECT rule, key FROM _id_groups
            WHERE sig_min <> sig_max OR sur_min <> sur_max OR gender_min <> gender_max
               OR (sig_min IS NOT NULL AND sur_min IS NOT NULL))
        SELECT k.rule, k.key,
               COALESCE(list(DISTINCT k.sig) FILTER (WHERE k.sig IS NOT NULL), []) AS sigs,
               COALESCE(list(DISTINCT k.sur) FILTER (WHERE k.sur IS NOT NULL), []) AS surs,
               count(DISTINCT k.gender) AS genders
        FROM _id_keys k SEMI JOIN mixed m ON m.rule = k.rule AND m.key = k.key
        GROUP BY k.rule, k.key"""


def mark_shared_groups(ws: Workspace) -> int:
    """Flag key groups whose names disagree; only groups with more than one name form are examined in Python."""
    rows = ws.fetchall(STAGE, "groups to check", groups_to_check_sql())
    shared = [(rule, key) for rule, key, sigs, surs, genders in rows if not group_is_consistent(sigs, surs, genders)]
    if shared:
        import pandas as pd

        ws.load_frame(STAGE, "_id_shared", pd.DataFrame(shared, columns=["rule", "key"], dtype="string"),
                      select="CAST(rule AS VARCHAR) AS rule, CAST(key AS VARCHAR) AS key")
        ws.sql(STAGE, "mark shared keys", """UPDATE _id_groups SET shared = true
                  FROM _id_shared s WHERE _id_groups.rule = s.rule AND _id_groups.key = s.key""")
        ws.sql(STAGE, "drop temp", "DROP TABLE _id_shared")
    return len(shared)


def build_strong_edges_sql() -> str:
    """Edges record → anchor: whole group when its names agree; same-name subgroups of a shared key otherwise."""
    return """
        CREATE OR REPLACE TEMP TABLE _id_strong AS
        SELECT k.record_id, g.anchor AS other_record_id, k.rule, k.key
        FROM _id_keys k JOIN _id_groups g USING (rule, key)
        WHERE NOT g.shared AND k.record_id <> g.anchor
        UNION ALL
        SELECT record_id, anchor, rule, key FROM (
            SELECT k.record_id, k.rule, k.key,
                   min(k.record_id) OVER (PARTITION BY k.rule, k.key, k.sig) AS anchor
            FROM _id_keys k JOIN _id_groups g USING (rule, key)
            WHERE g.shared AND k.sig IS NOT NULL)
        WHERE record_id <> anchor"""


def component_profile_sql() -> str:
    """Per strong component: its mobiles, genders and name signatures (for the weak-link guards)."""
    return """
        CREATE OR REPLACE TEMP TABLE _id_profile AS
        SELECT l.label,
               COALESCE(list(DISTINCT r.phone) FILTER (WHERE r.phone IS NOT NULL), []) AS phones,
               COALESCE(list(DISTINCT r.gender) FILTER (WHERE r.gender IS NOT NULL), []) AS genders,
               COALESCE(list(DISTINCT r.sig) FILTER (WHERE r.sig IS NOT NULL), []) AS sigs
        FROM _id_rec r JOIN _id_label l USING (record_id)
        GROUP BY l.label"""


def name_company_pairs_sql() -> str:
    """Components sharing a full name signature and a company brand (blocks larger than $max_block skipped).

    A component's names come from any of its records, so a record without a name still counts."""
    return """
        WITH b AS (
            SELECT DISTINCT unnest(p.sigs) AS sig, r.company_pinyin, r.company, l.label
            FROM _id_rec r JOIN _id_label l USING (record_id) JOIN _id_profile p USING (label)
            WHERE r.company_pinyin IS NOT NULL AND length(r.company_pinyin) >= 2),
        sized AS (SELECT *, count(*) OVER (PARTITION BY sig, company_pinyin) AS block FROM b)
        SELECT DISTINCT x.label AS a, y.label AS b, x.sig, x.company_pinyin, c.sig IS NOT NULL AS common
        FROM sized x JOIN sized y ON x.sig = y.sig AND x.company_pinyin = y.company_pinyin AND x.label < y.label
        LEFT JOIN _id_common c ON c.sig = x.sig
        WHERE x.block <= $max_block
          -- a common name in a crowded company is neither a link nor a useful question
          AND (c.sig IS NULL OR x.block <= $max_review_block)
          -- one company, not sister companies of one brand (新松机械 / 新松软件): equal, a prefix
          -- (华为 / 华为技术), or the same brand written in two scripts (huawei technologies / 华为技术)
          AND (x.company = y.company OR starts_with(x.company, y.company) OR starts_with(y.company, x.company)
               OR regexp_matches(x.company, '[a-z]') <> regexp_matches(y.company, '[a-z]'))"""


def email_typo_pairs_sql() -> str:
    """Components with the same full name (from any of their records) and emails on one domain or one local part."""
    return """
        WITH b AS (
            SELECT DISTINCT unnest(p.sigs) AS sig, r.email, split_part(r.email, '@', 1) AS local,
                   split_part(r.email, '@', 2) AS domain, l.label
            FROM _id_rec r JOIN _id_label l USING (record_id) JOIN _id_profile p USING (label)
            WHERE r.email IS NOT NULL AND NOT COALESCE(r.email_is_role, false)),
        sized AS (SELECT *, count(*) OVER (PARTITION BY sig) AS block FROM b)
        SELECT x.label AS a, y.label AS b, x.email AS email_a, y.email AS email_b, x.sig
        FROM sized x JOIN sized y ON x.sig = y.sig AND x.label < y.label AND x.email <> y.email
             AND (x.domain = y.domain OR x.local = y.local)
        WHERE x.block <= $max_block"""


def common_names_sql(scoped: bool = False) -> str:
    """Name signatures carried by several different mobiles: a match on them proves little.

    Counted over every record, also when only some are matched again (``scoped``): whether a name is
    common must not depend on which people a new record happened to touch."""
    if not scoped:
        return """
            SELECT sig FROM _id_rec WHERE sig IS NOT NULL AND phone IS NOT NULL
            GROUP BY sig HAVING count(DISTINCT phone) >= $common"""
    return """
        SELECT sig FROM _id_all WHERE sig IN (SELECT sig FROM _id_rec) AND phone IS NOT NULL
        GROUP BY sig HAVING count(DISTINCT phone) >= $common"""


@dataclass
class WeakPair:
    a: int  # component labels
    b: int
    rule: str
    score: float
    detail: str
    review: bool = False  # too unsure to accept: goes to the review queue


def weak_pairs(ws: Workspace, settings: MatchSettings, *, scoped: bool = False) -> list[WeakPair]:
    """Fuzzy candidate pairs between strong components, scored in batch (``scoped``: an incremental merge)."""
    pairs: list[WeakPair] = []
    ws.sql(STAGE, "common names", "CREATE OR REPLACE TEMP TABLE _id_common AS "
           + common_names_sql(scoped).replace("$common", "?"),
           [settings.common_name_people])
    common_names = {r[0] for r in ws.fetchall(STAGE, "read common names", "SELECT sig FROM _id_common")}
    if "name_company" in settings.enabled_rules:
        sql = name_company_pairs_sql().replace("$max_block", "?").replace("$max_review_block", "?")
        rows = ws.fetchall(STAGE, "name+company pairs", sql, [settings.max_block, settings.max_review_block])
        for a, b, sig, company, common in rows:
            pairs.append(WeakPair(a, b, "name_company", 100.0, f"name '{sig}' and company '{company}'", review=common))
    if "email_typo" in settings.enabled_rules:
        rows = ws.fetchall(STAGE, "email typo pairs", email_typo_pairs_sql().replace("$max_block", "?"),
                           [settings.max_block])
        if rows:
            scores = process.cpdist([r[2] for r in rows], [r[3] for r in rows], scorer=fuzz.ratio, workers=-1)
            for (a, b, email_a, email_b, sig), score in zip(rows, scores):
                if score >= settings.email_typo_similarity:
                    pairs.append(WeakPair(a, b, "email_typo", float(score), f"{email_a} ~ {email_b} (name '{sig}')",
                                          review=sig in common_names))
    return pairs
