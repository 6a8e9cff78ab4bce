"""Which records a merge must look at again: the incremental part of `merge`.

Seeds are the records that changed: new records, the remaining records of
people who lost records (import --replace), and records named by decisions
made since the last merge. The scope is every person who shares a strong key
with a seed, or a name with the same company or email domain (what a fuzzy
rule could link), then every person sharing a strong key with those: the
decisions of key groups (shared or not) depend on all their members.

A new record with the name, company and email of an existing record it shares
a strong key with (a form sent again, a second event) touches no one by name:
its person already had that name and company, and every fuzzy candidate they
give was weighed at the last merge. Complete people only, so stable ids and
golden records are computed from all their records. Everyone else is left
exactly as they are.
"""

from __future__ import annotations

from mactl.identity import custom, matching
from mactl.identity.matching import STAGE
from mactl.workspace import Workspace


def build_scope(ws: Workspace, rules: tuple[str, ...], *, full: bool, overrides_seen: int, recipe=None) -> int:
    """Create _id_scope(record_id) and _id_scope_people(person_id); returns the number of records in scope."""
    if full:
        ws.sql(STAGE, "scope: everything", "CREATE OR REPLACE TEMP TABLE _id_scope AS SELECT record_id FROM _id_all")
        ws.sql(STAGE, "scope: everyone", """
            CREATE OR REPLACE TEMP TABLE _id_scope_people AS
            SELECT person_id FROM person UNION SELECT DISTINCT person_id FROM person_record""")
        return int(ws.scalar(STAGE, "count scope", "SELECT count(*) FROM _id_scope"))
    ws.sql(STAGE, "scope: records not merged yet", """
        CREATE OR REPLACE TEMP TABLE _id_unmerged AS SELECT record_id FROM _id_all ANTI JOIN person_record USING (record_id)""")
    # records merged before and gone since (import --replace): counted, not looked for, when there are none
    removed = int(ws.scalar(STAGE, "scope: count removed", """
        SELECT (SELECT count(*) FROM person_record) + (SELECT count(*) FROM _id_unmerged) - (SELECT count(*) FROM _id_all)"""))
    for step, sql in _scope_steps(rules, removed > 0):
        uses = sql.count("$seen")
        ws.sql(STAGE, step, sql.replace("$seen", "?"), [overrides_seen] * uses if uses else None)
        if step == "scope: first hop":
            custom.add_to_scope(ws, recipe)  # people sharing a recipe match_rule block with a seed
    return int(ws.scalar(STAGE, "count scope", "SELECT count(*) FROM _id_scope"))


def _keys_of(rules: tuple[str, ...], records: str, target: str) -> str:
    """The strong keys (rule, key, record_id) of the records listed in ``records``: a few, not all of them."""
    source = f"(SELECT * FROM _id_all SEMI JOIN {records} USING (record_id))"
    return matching.build_keys_sql(rules, source=source, target=target, name_columns=False)


def _sharing_keys(rules: tuple[str, ...], keys: str) -> str:
    """Records of _id_all holding one of ``keys``: a semi-join per rule on its column, no table of every key."""
    parts = [
        f"SELECT a.record_id FROM _id_all a SEMI JOIN {keys} k ON k.rule = '{rule}' AND k.key = a.{column} "
        f"WHERE a.{column} IS NOT NULL AND {condition}"
        for rule, (column, condition) in matching.STRONG_KEYS.items()
        if rule in rules
    ]
    return " UNION ".join(parts) or "SELECT CAST(NULL AS BIGINT) AS record_id WHERE false"


def _scope_steps(rules: tuple[str, ...], removed: bool) -> list[tuple[str, str]]:
    existing = "SEMI JOIN _id_all USING (record_id)" if removed else ""
    return [
        ("scope: people who lost records", f"""
            CREATE OR REPLACE TEMP TABLE _id_gone AS
            SELECT DISTINCT person_id FROM person_record {"ANTI JOIN _id_all USING (record_id)" if removed else "WHERE false"}"""),
        ("scope: seeds", """
            CREATE OR REPLACE TEMP TABLE _id_seed AS
            SELECT record_id FROM (
                SELECT record_id FROM _id_unmerged
                UNION SELECT pr.record_id FROM person_record pr SEMI JOIN _id_gone g ON g.person_id = pr.person_id
                UNION SELECT pr.record_id FROM person_record pr JOIN identity_override o
                      ON pr.record_id = o.record_id OR pr.record_id = o.other_record_id
                      WHERE o.override_id > $seen
                UNION SELECT o.record_id FROM identity_override o WHERE o.override_id > $seen
                UNION SELECT o.other_record_id FROM identity_override o WHERE o.override_id > $seen
            ) SEMI JOIN _id_all USING (record_id)"""),
        ("scope: seed keys", _keys_of(rules, "_id_seed", "_id_keys_seed")),
        # the records sharing a strong key with a seed (the seeds among them), and all their keys
        ("scope: near seeds", f"""
            CREATE OR REPLACE TEMP TABLE _id_near AS {_sharing_keys(rules, "_id_keys_seed")}
            UNION SELECT record_id FROM _id_seed"""),
        ("scope: near keys", _keys_of(rules, "_id_near", "_id_keys_near")),
        ("scope: first hop", """
            CREATE OR REPLACE TEMP TABLE _id_hop AS
            WITH named AS (SELECT r.record_id, r.sig, r.company_pinyin, r.email
                           FROM _id_all r SEMI JOIN _id_seed s USING (record_id) WHERE r.sig IS NOT NULL),
                 -- a new record with the name, company and email of an existing record it shares a strong key
                 -- with (a form sent again, a second event) brings its person no new fuzzy candidate
                 repeated AS (
                    SELECT DISTINCT n.record_id
                    FROM (SELECT * FROM named ANTI JOIN person_record USING (record_id)) n
                    JOIN _id_keys_near ks ON ks.record_id = n.record_id
                    JOIN _id_keys_near ko ON ko.rule = ks.rule AND ko.key = ks.key AND ko.record_id <> n.record_id
                    JOIN _id_all o ON o.record_id = ko.record_id
                    SEMI JOIN person_record pr ON pr.record_id = o.record_id
                    WHERE o.sig = n.sig AND o.company_pinyin IS NOT DISTINCT FROM n.company_pinyin
                      AND o.email IS NOT DISTINCT FROM n.email),
                 seed_names AS (SELECT DISTINCT sig, company_pinyin, split_part(email, '@', 2) AS domain
                                FROM named ANTI JOIN repeated USING (record_id)),
                 touched AS (
                    SELECT record_id FROM _id_near
                    -- two equi-joins, not one join on an OR: the OR made a common name meet every record
                    UNION SELECT a.record_id FROM _id_all a SEMI JOIN seed_names n
                          ON a.sig = n.sig AND a.company_pinyin = n.company_pinyin
                    UNION SELECT a.record_id FROM _id_all a SEMI JOIN seed_names n
                          ON a.sig = n.sig AND split_part(a.email, '@', 2) = n.domain)
            SELECT DISTINCT pr.person_id FROM person_record pr SEMI JOIN touched t USING (record_id)"""),
        ("scope: hop records", """
            CREATE OR REPLACE TEMP TABLE _id_hop_records AS
            SELECT pr.record_id FROM person_record pr SEMI JOIN _id_hop h ON h.person_id = pr.person_id"""),
        ("scope: hop keys", _keys_of(rules, "_id_hop_records", "_id_keys_hop")),
        ("scope: second hop", f"""
            CREATE OR REPLACE TEMP TABLE _id_scope_people AS
            SELECT person_id FROM _id_hop
            UNION SELECT DISTINCT pr.person_id FROM person_record pr
                  SEMI JOIN ({_sharing_keys(rules, "_id_keys_hop")}) t USING (record_id)
            UNION SELECT person_id FROM _id_gone"""),
        ("scope: records", f"""
            CREATE OR REPLACE TEMP TABLE _id_scope AS
            SELECT record_id FROM (
                SELECT record_id FROM _id_seed
                UNION SELECT pr.record_id FROM person_record pr SEMI JOIN _id_scope_people sp ON sp.person_id = pr.person_id
            ) {existing}"""),
    ]
