"""Private tables of the sendlists stage. Add a new Migration version for each change once shipped."""

from __future__ import annotations

from mactl.workspace import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "sendlists",
        1,
        (
            # Do-not-contact list. value is normalised (lower-case email/domain, E.164 phone).
            """CREATE TABLE suppression (
                value VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,             -- email | phone | wechat | domain
                reason VARCHAR,
                added_at TIMESTAMP NOT NULL,
                source VARCHAR                     -- file name or 'cli'
            )""",
            # One row per real (not dry-run) send-list export.
            """CREATE TABLE send_log (
                log_id BIGINT NOT NULL,
                list_name VARCHAR NOT NULL,
                channel VARCHAR NOT NULL,
                segment VARCHAR,
                path VARCHAR,
                row_count INTEGER NOT NULL,
                as_of TIMESTAMP NOT NULL,          -- the send time the caps count from
                created_at TIMESTAMP NOT NULL
            )""",
            # One row per person written to a send list (feeds --cap).
            """CREATE TABLE send_log_line (
                log_id BIGINT NOT NULL,
                person_id VARCHAR NOT NULL,
                channel VARCHAR NOT NULL,
                address VARCHAR NOT NULL,
                arm VARCHAR,
                sent_at TIMESTAMP NOT NULL
            )""",
        ),
    )
]
