"""`merge`: records → people with stable ids, in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from pydantic import Field, field_validator

from mactl.identity import clusters, custom, golden, matching, scope
from mactl.identity.matching import STAGE, MatchSettings
from mactl.identity.normalize import normalize_records
from mactl.progress import Progress, report
from mactl.recipe import StrictModel, read_yaml, validate
from mactl.schema import CHANNELS
from mactl.workspace import Workspace, utc_now

ALL_RULES = ("exact_email", "exact_phone", "exact_wechat", "exact_crm_id", "name_company", "email_typo")


class IdentityRecipe(StrictModel):
    """The `identity:` section of a recipe. Every key is optional; the defaults suit contact data."""

    region: str = Field("CN", description="default phone region (ISO country code)")
    rules: list[str] = Field(default_factory=lambda: list(ALL_RULES))
    email_typo_similarity: float = Field(88.0, ge=50, le=100)
    common_name_people: int = Field(3, ge=2)
    max_block: int = Field(200, ge=2)
    source_priority: list[str] = Field(default_factory=lambda: list(golden.DEFAULT_PRIORITY))
    survivorship: dict[str, str] = Field(default_factory=dict)
    # recipe-defined rules for other record shapes (surname, given name, birth date …): see identity.custom
    fields: dict[custom.FieldName, custom.FieldColumns] = Field(default_factory=dict)
    match_rules: list[custom.MatchRule] = Field(default_factory=list)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value):
        return custom.check_fields(value)

    @field_validator("match_rules")
    @classmethod
    def _match_rules(cls, value, info):
        return custom.check_match_rules(value, info.data.get("fields"), ALL_RULES)

    @field_validator("rules")
    @classmethod
    def _rules(cls, value):
        bad = [r for r in value if r not in ALL_RULES]
        if bad:
            raise ValueError(f"unknown rule(s) {', '.join(bad)}; rules are {', '.join(ALL_RULES)}")
        return value

    @field_validator("source_priority")
    @classmethod
    def _priority(cls, value):
        bad = [c for c in value if c not in CHANNELS]
        if bad:
            raise ValueError(f"unknown channel(s) {', '.join(bad)}; channels are {', '.join(CHANNELS)}")
        return value

    @field_validator("survivorship")
    @classmethod
    def _survivorship(cls, value):
        fields = ("name", "email", "phone") + golden.TEXT_FIELDS
        for name, rule in value.items():
            if name not in fields:
                raise ValueError(f"unknown field '{name}'; fields are {', '.join(fields)}")
            if rule not in golden.SURVIVORSHIP_RULES:
                raise ValueError(f"unknown rule '{rule}' for {name}; rules are {', '.join(golden.SURVIVORSHIP_RULES)}")
        return value


def load_identity_recipe(path: str | Path | None) -> IdentityRecipe:
    if path is None:
        return IdentityRecipe()
    data = read_yaml(path)
    section = data.get("identity") if isinstance(data, dict) else None
    if section is None:
        return IdentityRecipe()
    return validate(IdentityRecipe, section, path, ("identity",))


@dataclass
class MergeSummary:
    records: int = 0
    people: int = 0
    new_people: int = 0
    merged_people: int = 0  # existing people merged into an older one
    records_moved: int = 0  # records whose person changed (including new records)
    normalised: int = 0
    shared_keys: int = 0  # emails/phones shared by different names, not used to link
    links_by_rule: dict[str, int] = field(default_factory=dict)
    by_channel: list[dict] = field(default_factory=list)
    review_open: int = 0
    review_added: int = 0
    scope: str = "incremental"  # incremental | full
    records_in_scope: int = 0  # records matched again in this run

    def to_dict(self) -> dict:
        return asdict(self)


def last_identity_recipe(ws: Workspace) -> IdentityRecipe:
    """The identity rules of the workspace's last merge (the defaults before any merge)."""
    text = ws.get_setting("identity.recipe")
    return IdentityRecipe.model_validate_json(text) if text else IdentityRecipe()


def merge(ws: Workspace, *, recipe_path: str | Path | None = None, region: Optional[str] = None, full: bool = False,
          progress: Progress | None = None, recipe: IdentityRecipe | None = None) -> MergeSummary:
    """Normalise new records, match, cluster, and rewrite people; nothing changes when nothing is new.

    Incremental: only people a new record, a removed record or a new decision can touch are matched
    again (see identity.scope). ``full`` (or a change of the identity rules) re-matches everything.
    ``recipe`` (already loaded rules) wins over ``recipe_path``: link, split and review pass the
    last merge's rules, so a decision never re-merges the workspace under other rules.
    """
    recipe = recipe or load_identity_recipe(recipe_path)
    settings = MatchSettings(
        email_typo_similarity=recipe.email_typo_similarity,
        common_name_people=recipe.common_name_people,
        max_block=recipe.max_block,
        enabled_rules=tuple(recipe.rules),
    )
    summary = MergeSummary()
    settings_hash = hashlib.sha256(recipe.model_dump_json().encode()).hexdigest()[:16]
    # Normalised values derive from the records alone and are kept as soon as they are made (each statement
    # is atomic; a record normalised but not merged has no person yet, so the next merge matches it).
    # Matching, ids and golden records are then worked out in temp tables before the transaction opens:
    # DuckDB scans a table made inside an open transaction with one thread. Links, reviews and people
    # change in one transaction. Inside a caller's transaction (review, link, split), all of it is one.
    summary.normalised = normalize_records(ws, region=region or recipe.region, progress=progress)
    report(progress, "merging", 0, 5)
    ws.sql(STAGE, "record view", matching.build_record_view_sql())
    overrides_seen = int(ws.get_setting("identity.overrides_seen", "0") or 0)
    full = full or ws.get_setting("identity.settings_hash") != settings_hash
    in_scope = scope.build_scope(ws, settings.enabled_rules, full=full, overrides_seen=overrides_seen, recipe=recipe)
    summary.scope = "full" if full else "incremental"
    summary.records_in_scope = in_scope
    matched = _match(ws, recipe, settings, summary, progress) if in_scope else None
    if matched is not None:
        accepted, unsure, counter = matched
        writes = _prepare_writes(ws, summary, accepted)
    with ws.transaction():
        if matched is not None:
            _write(ws, summary, writes, unsure, counter, progress)
        ws.set_setting("identity.settings_hash", settings_hash)
        ws.set_setting("identity.recipe", recipe.model_dump_json())
        ws.set_setting("identity.overrides_seen", str(ws.scalar(STAGE, "overrides seen", "SELECT COALESCE(max(override_id), 0) FROM identity_override")))
        _summarise(ws, summary)
    ws.drop_temp(STAGE, "_id_")
    report(progress, "merging", 5, 5)
    return summary


def _match(ws: Workspace, recipe: IdentityRecipe, settings: MatchSettings, summary: MergeSummary,
           progress: Progress | None) -> tuple[list[matching.WeakPair], list[matching.WeakPair], int]:
    """Match and cluster the records in scope, give the clusters ids and golden records, all in temp tables.
    Returns the accepted weak pairs, the unsure ones (for review) and the person id counter before this merge."""
    if summary.scope == "full":
        ws.sql(STAGE, "records in scope", "CREATE OR REPLACE TEMP VIEW _id_rec AS SELECT * FROM _id_all")
    else:
        ws.sql(STAGE, "records in scope", "CREATE OR REPLACE TEMP TABLE _id_rec AS SELECT * FROM _id_all SEMI JOIN _id_scope USING (record_id)")
    ws.sql(STAGE, "keys", matching.build_keys_sql(settings.enabled_rules))
    ws.sql(STAGE, "key groups", matching.build_groups_sql())
    summary.shared_keys = matching.mark_shared_groups(ws)
    ws.sql(STAGE, "strong edges", matching.build_strong_edges_sql())
    ws.sql(STAGE, "manual links", """
        CREATE OR REPLACE TEMP TABLE _id_strong_all AS
        SELECT record_id, other_record_id, rule, key FROM _id_strong
        UNION ALL
        SELECT o.record_id, o.other_record_id, 'manual_link', o.reason FROM identity_override o
        SEMI JOIN _id_rec a ON a.record_id = o.record_id SEMI JOIN _id_rec b ON b.record_id = o.other_record_id
        WHERE o.active AND o.kind = 'must_link'""")
    report(progress, "merging", 1, 5)
    clusters.label_components(ws, "_id_strong_all")
    clusters.split_cannot_links(ws, "_id_strong_all")
    ws.sql(STAGE, "component profiles", matching.component_profile_sql())
    report(progress, "merging", 2, 5)
    pairs = matching.weak_pairs(ws, settings, scoped=summary.scope == "incremental")
    pairs += custom.custom_pairs(ws, recipe)  # the recipe's match_rules, if any
    accepted = clusters.join_weak(ws, pairs)
    report(progress, "merging", 3, 5)
    counter = int(ws.get_setting("next_id.person", "0") or 0)
    for step, sql in golden.assign_ids_sql():
        ws.sql(STAGE, step, sql, [counter] if step == "new ids" else None)
    ws.sql(STAGE, "golden records", golden.golden_sql(recipe.survivorship), [recipe.source_priority] * 3)
    return accepted, [p for p in pairs if p.review], counter


def _prepare_writes(ws: Workspace, summary: MergeSummary, accepted: list[matching.WeakPair]) -> golden.Steps:
    """Old and new rows of the tables a merge rewrites, in temp tables made before the write transaction
    (DuckDB scans a table made inside an open transaction with one thread). Returns the steps that apply them."""
    links = "SELECT record_id, other_record_id, rule, 'strong' AS strength, NULL::DOUBLE AS score, key AS detail FROM _id_strong_all"
    if accepted:
        _load_pairs(ws, "_id_accepted", accepted)
        links += " UNION ALL SELECT a, b, rule, 'weak', score, detail FROM _id_accepted"
    links_prepare, links_apply = golden.replace_rows_sql(
        "identity_link", ("record_id", "other_record_id", "rule", "strength", "score", "detail"),
        "record_id IN (SELECT record_id FROM _id_scope) OR other_record_id IN (SELECT record_id FROM _id_scope) "
        "OR record_id NOT IN (SELECT record_id FROM _id_all)", links)
    people_prepare, people_apply = golden.write_people_sql()
    for step, sql in links_prepare + people_prepare:
        ws.sql(STAGE, step, sql)
    summary.records_moved = int(ws.scalar(STAGE, "count moved", """
        SELECT count(*) FROM _id_new_person_record n LEFT JOIN person_record o USING (record_id)
        WHERE o.person_id IS DISTINCT FROM n.person_id"""))
    return links_apply + people_apply


def _write(ws: Workspace, summary: MergeSummary, writes: golden.Steps, unsure: list[matching.WeakPair], counter: int,
           progress: Progress | None) -> None:
    """The review queue, merged ids, then links, people, records and contacts from the prepared temp tables."""
    summary.review_added = _queue_reviews(ws, unsure)
    _assign_ids(ws, summary, counter)
    now = utc_now()
    for step, sql in writes:
        ws.sql(STAGE, step, sql, [now, now] if step == "write people" else None)
    report(progress, "merging", 4, 5)


def _load_pairs(ws: Workspace, table: str, pairs: list[matching.WeakPair]) -> None:
    """Pairs into a temp table in one go (a registered frame, not per-row inserts)."""
    import pandas as pd

    frame = pd.DataFrame({
        "a": [p.a for p in pairs], "b": [p.b for p in pairs], "rule": [p.rule for p in pairs],
        "score": [p.score for p in pairs], "detail": [p.detail for p in pairs],
    })
    ws.load_frame(STAGE, table, frame)


def _queue_reviews(ws: Workspace, unsure: list[matching.WeakPair]) -> int:
    if not unsure:
        return 0
    _load_pairs(ws, "_id_unsure_pairs", unsure)
    ws.sql(STAGE, "unsure pairs", """
        CREATE OR REPLACE TEMP TABLE _id_unsure AS
        SELECT a AS record_id, b AS other_record_id, rule, score, 'common name: ' || detail AS reason FROM _id_unsure_pairs""")
    ws.sql(STAGE, "drop temp", "DROP TABLE _id_unsure_pairs")
    before = ws.scalar(STAGE, "count reviews", "SELECT count(*) FROM identity_review")
    # one equi-join at a time: a single statement let the optimiser pair the two label lookups
    # on 'label <> label' first, a near cross product at a million records
    ws.sql(STAGE, "label unsure pairs", """
        CREATE OR REPLACE TEMP TABLE _id_unsure_a AS
        SELECT u.*, la.label AS label_a FROM _id_unsure u JOIN _id_label la ON la.record_id = u.record_id""")
    ws.sql(STAGE, "label unsure pairs", """
        CREATE OR REPLACE TEMP TABLE _id_unsure_ab AS
        SELECT u.*, lb.label AS label_b, least(u.record_id, u.other_record_id) AS lo,
               greatest(u.record_id, u.other_record_id) AS hi
        FROM _id_unsure_a u JOIN _id_label lb ON lb.record_id = u.other_record_id
        WHERE u.label_a <> lb.label""")
    ws.sql(STAGE, "queue reviews", """
        INSERT INTO identity_review
        SELECT DISTINCT ON (u.lo, u.hi) u.record_id, u.other_record_id, u.rule, u.score, u.reason, 'open', ?, NULL
        FROM _id_unsure_ab u
        ANTI JOIN (SELECT least(record_id, other_record_id) AS lo, greatest(record_id, other_record_id) AS hi
                   FROM identity_review) r ON r.lo = u.lo AND r.hi = u.hi
        ORDER BY u.lo, u.hi, u.score DESC, u.rule, u.reason, u.record_id""", [utc_now()])  # a pair met twice: its best reason
    ws.sql(STAGE, "drop temp", "DROP TABLE _id_unsure_a")
    ws.sql(STAGE, "drop temp", "DROP TABLE _id_unsure_ab")
    ws.sql(STAGE, "drop temp", "DROP TABLE _id_unsure")
    return int(ws.scalar(STAGE, "count reviews", "SELECT count(*) FROM identity_review")) - int(before)


def _assign_ids(ws: Workspace, summary: MergeSummary, counter: int) -> None:
    summary.new_people = int(ws.scalar(STAGE, "count new", "SELECT count(*) FROM _id_final WHERE is_new"))
    ws.set_setting("next_id.person", str(counter + summary.new_people))
    now = utc_now()
    merged = ws.fetchall(STAGE, "merged people", "SELECT person_id, merged_person_id FROM _id_merged ORDER BY 2")
    summary.merged_people = len(merged)
    if merged:
        run = int(ws.scalar(STAGE, "merge run", "SELECT COALESCE(max(merge_run), 0) + 1 FROM identity_merge_event"))
        ws.sql(STAGE, "record merges", """
            INSERT INTO identity_merge_event
            SELECT ?, m.person_id, m.merged_person_id, r.records, ?, false
            FROM _id_merged m LEFT JOIN (
                SELECT pr.person_id, list(pr.record_id ORDER BY pr.record_id) AS records
                FROM person_record pr SEMI JOIN _id_merged mm ON mm.merged_person_id = pr.person_id
                GROUP BY pr.person_id) r ON r.person_id = m.merged_person_id""", [run, now])
        ws.sql(STAGE, "aliases follow", """
            UPDATE person_alias SET person_id = m.person_id FROM _id_merged m WHERE person_alias.person_id = m.merged_person_id""")
        ws.sql(STAGE, "new aliases", """
            INSERT INTO person_alias SELECT merged_person_id, person_id, ?, 'merged' FROM _id_merged""", [now])


def open_reviews(ws: Workspace) -> int:
    """Pairs waiting for a decision in the review queue."""
    return int(ws.scalar(STAGE, "open reviews", "SELECT count(*) FROM identity_review WHERE status = 'open'"))


def _summarise(ws: Workspace, summary: MergeSummary) -> None:
    summary.records = int(ws.scalar(STAGE, "count records", "SELECT count(*) FROM person_record"))
    summary.people = int(ws.scalar(STAGE, "count people", "SELECT count(*) FROM person"))
    summary.links_by_rule = dict(ws.fetchall(STAGE, "links by rule", "SELECT rule, count(*) FROM identity_link GROUP BY rule ORDER BY rule"))
    summary.review_open = open_reviews(ws)
    rows = ws.fetchall(STAGE, "by channel", """
        -- people per channel from the golden records' channel lists: no join per person needed
        WITH records AS (SELECT s.channel, count(*) AS records FROM source_record s SEMI JOIN person_record pr USING (record_id)
                         GROUP BY s.channel),
        people AS (SELECT channel, count(*) AS people, count(*) FILTER (WHERE n > 1) AS also_elsewhere
                   FROM (SELECT unnest(channels) AS channel, len(channels) AS n FROM person) GROUP BY channel)
        SELECT r.channel, r.records, p.people, p.also_elsewhere FROM records r JOIN people p USING (channel)
        ORDER BY r.channel""")
    summary.by_channel = [
        {"channel": c, "records": r, "people": p, "duplicates": r - p, "also_in_other_channels": m} for c, r, p, m in rows
    ]
