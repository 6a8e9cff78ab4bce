"""Schema of the workspace, as ordered migrations per component.

Conventions every stage follows:
- every timestamp is a naive ``TIMESTAMP`` in UTC; input times without a zone
  are read in the workspace zone (setting ``timezone``, default Asia/Shanghai)
  and converted; output converts back for people;
- ``person_id`` is a VARCHAR such as ``P000123``; ``record_id`` a BIGINT;
- no PRIMARY KEY on big tables that stages rewrite in bulk (DuckDB checks
  them eagerly); uniqueness comes from how the rows are built and is tested.

The tables here are the contract between stages. A stage's private tables
live in its own package (``<stage>/schema.py``) and are listed in
:func:`all_migrations`; add a new version rather than editing an old one once
it has shipped.
"""

from __future__ import annotations

from mactl.workspace import Migration

CORE = [
    Migration(
        "core",
        1,
        (
            """CREATE TABLE IF NOT EXISTS mactl_setting (
                key VARCHAR PRIMARY KEY,
                value VARCHAR NOT NULL
            )""",
            # One import of one file. A re-import with --replace marks the old batch 'replaced'
            # and deletes its records, events and quarantine rows.
            """CREATE TABLE import_batch (
                batch_id BIGINT PRIMARY KEY,
                source_file VARCHAR NOT NULL,      -- file name as the user sees it
                source_path VARCHAR NOT NULL,      -- absolute path at import time
                file_sha256 VARCHAR NOT NULL,
                file_size BIGINT NOT NULL,
                file_format VARCHAR NOT NULL,      -- xlsx, xlsm, xls, csv, tsv, txt
                encoding VARCHAR,                  -- for text files
                channel VARCHAR NOT NULL,          -- see CHANNELS
                recipe_source VARCHAR,             -- name of the recipe source that matched, if any
                sheets VARCHAR[],                  -- sheets imported (empty for text files)
                rows_read BIGINT NOT NULL,
                records BIGINT NOT NULL,
                events BIGINT NOT NULL,
                quarantined BIGINT NOT NULL,
                imported_at TIMESTAMP NOT NULL,
                status VARCHAR NOT NULL            -- imported | replaced
            )""",
            # One row of an export file = one source record (a sighting of a person).
            """CREATE TABLE source_record (
                record_id BIGINT NOT NULL,
                batch_id BIGINT NOT NULL,
                source_file VARCHAR NOT NULL,
                source_sheet VARCHAR NOT NULL,     -- '' for CSV
                source_row INTEGER NOT NULL,       -- row number as Excel shows it; CSV line (header = 1)
                file_sha256 VARCHAR NOT NULL,
                channel VARCHAR NOT NULL,
                -- contact fields, cleaned but not normalised (identity normalises)
                name VARCHAR,
                nickname VARCHAR,
                email VARCHAR,
                phone VARCHAR,                     -- mobile or phone as digits/as written, never float text
                landline VARCHAR,                  -- a separate 座机/Tel column when the file has one
                company VARCHAR,
                title VARCHAR,
                department VARCHAR,
                industry VARCHAR,
                company_size VARCHAR,
                province VARCHAR,
                city VARCHAR,
                country VARCHAR,
                wechat_openid VARCHAR,
                wechat_unionid VARCHAR,
                crm_id VARCHAR,
                crm_owner VARCHAR,
                crm_stage VARCHAR,
                consent BOOLEAN,                   -- explicit marketing consent; NULL = unknown
                utm_source VARCHAR,
                utm_medium VARCHAR,
                utm_campaign VARCHAR,
                lead_source VARCHAR,               -- 来源/渠道 as written
                record_time TIMESTAMP,             -- when the row was made (submit, scan, registration)
                attributes JSON,                   -- unrecognised columns {header: value}
                imported_at TIMESTAMP NOT NULL
            )""",
            # Things people did, with time. Each event belongs to the record whose row produced it.
            """CREATE TABLE event (
                event_id BIGINT NOT NULL,
                record_id BIGINT NOT NULL,
                batch_id BIGINT NOT NULL,
                event_type VARCHAR NOT NULL,       -- see EVENT_TYPES
                occurred_at TIMESTAMP,             -- NULL only when the file has no time at all
                channel VARCHAR NOT NULL,
                campaign VARCHAR,                  -- show, webinar, form or email campaign name
                form_name VARCHAR,
                utm_source VARCHAR,
                url VARCHAR,
                watch_minutes DOUBLE,
                crm_stage VARCHAR,
                crm_owner VARCHAR,
                detail VARCHAR,                    -- e.g. reject reason
                properties JSON
            )""",
            # Problems found in rows. A row with a usable identifier still imports
            # (row_imported = true) and its bad cells are listed here; a row with none
            # is kept here whole (row_data) so nothing is lost.
            """CREATE TABLE quarantine (
                batch_id BIGINT NOT NULL,
                source_file VARCHAR NOT NULL,
                source_sheet VARCHAR NOT NULL,
                source_row INTEGER NOT NULL,
                column_name VARCHAR,
                value VARCHAR,
                reason VARCHAR NOT NULL,
                row_imported BOOLEAN NOT NULL,
                row_data JSON
            )""",
            # --- identity contract (filled by `mactl merge`) ---
            # The golden record. Stable id; merged-away ids live in person_alias.
            """CREATE TABLE person (
                person_id VARCHAR NOT NULL,
                name VARCHAR,
                email VARCHAR,                     -- best email, normalised
                phone VARCHAR,                     -- best mobile, E.164
                company VARCHAR,
                title VARCHAR,
                department VARCHAR,
                industry VARCHAR,
                company_size VARCHAR,
                province VARCHAR,
                city VARCHAR,
                country VARCHAR,
                wechat_openid VARCHAR,
                wechat_unionid VARCHAR,
                crm_id VARCHAR,
                crm_owner VARCHAR,
                crm_stage VARCHAR,
                consent BOOLEAN,
                email_is_role BOOLEAN,
                email_is_freemail BOOLEAN,
                channels VARCHAR[],                -- channels the person was seen in
                record_count INTEGER NOT NULL,
                first_seen TIMESTAMP,
                last_seen TIMESTAMP,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE person_record (
                record_id BIGINT NOT NULL,
                person_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE person_alias (
                old_person_id VARCHAR NOT NULL,
                person_id VARCHAR NOT NULL,
                merged_at TIMESTAMP NOT NULL,
                reason VARCHAR
            )""",
            # Every email / phone a person has used.
            """CREATE TABLE person_contact (
                person_id VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,             -- email | phone
                value VARCHAR NOT NULL,            -- normalised (lower-case email, E.164 phone)
                is_valid BOOLEAN NOT NULL,
                detail VARCHAR,                    -- role | freemail | mobile | landline
                first_seen TIMESTAMP,
                last_seen TIMESTAMP
            )""",
            # --- scoring contract (filled by `mactl score`) ---
            """CREATE TABLE person_score (
                person_id VARCHAR NOT NULL,
                fit DOUBLE NOT NULL,
                engagement DOUBLE NOT NULL,
                total DOUBLE NOT NULL,
                grade VARCHAR NOT NULL,
                stage VARCHAR NOT NULL,            -- see LIFECYCLE_STAGES
                temperature VARCHAR,               -- hot | warm | cold
                top_reasons VARCHAR,               -- '+30 demo request; +20 title: 总监; ...'
                last_activity_at TIMESTAMP,
                as_of TIMESTAMP NOT NULL,
                computed_at TIMESTAMP NOT NULL,
                model_hash VARCHAR NOT NULL,
                score_run_id BIGINT NOT NULL
            )""",
            # --- segments contract (filled by `mactl segment build`) ---
            """CREATE TABLE segment_member (
                segment VARCHAR NOT NULL,
                person_id VARCHAR NOT NULL,
                entered_at TIMESTAMP NOT NULL
            )""",
        ),
    ),
    Migration(
        "core",
        2,
        (
            # Lineage of each event to its own row: an activity log's rows share one record per person,
            # so the record's source_row no longer tells which row an event came from.
            # Row as Excel shows it; CSV line (header = 1). NULL only for events written by other means.
            "ALTER TABLE event ADD COLUMN source_row INTEGER",
            # Before this version every row was its own record, so the record's row is the event's row.
            """UPDATE event SET source_row = s.source_row
               FROM source_record AS s WHERE s.record_id = event.record_id""",
            # A record made of several rows (an activity log's identity tuple) spans a time range:
            # record_time is its latest row time, first_record_time its earliest (first_seen, first touch).
            "ALTER TABLE source_record ADD COLUMN first_record_time TIMESTAMP",
            "UPDATE source_record SET first_record_time = record_time",
        ),
    ),
]

CHANNELS = ("event", "web_form", "webinar", "crm", "list", "engagement")

EVENT_TYPES = (
    "badge_scan",
    "event_checkin",
    "form_submit",
    "webinar_register",
    "webinar_attend",
    "replay_view",
    "crm_update",
    "email_open",
    "email_click",
    "email_bounce",
    "unsubscribe",
    "page_view",
    "content_download",
    "wechat_read",
)

LIFECYCLE_STAGES = (
    "VISIT",
    "MAL",
    "MIL",
    "MQL",
    "SAL",
    "SQL",
    "Opportunity",
    "Customer",
    "Recycled",
    "Silent",
)


def all_migrations() -> list[Migration]:
    """Every component's migrations, in dependency order (core first)."""
    from mactl.assignment import schema as assignment
    from mactl.identity import schema as identity
    from mactl.importing import schema as importing
    from mactl.report import schema as report
    from mactl.runs import schema as runs
    from mactl.scoring import schema as scoring
    from mactl.segments import schema as segments
    from mactl.sendlists import schema as sendlists

    migrations = list(CORE)
    for stage in (importing, identity, scoring, segments, assignment, sendlists, runs, report):
        migrations += stage.MIGRATIONS
    return migrations
