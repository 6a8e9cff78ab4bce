"""Private tables of the assignment stage. Add a new Migration version for each change once shipped."""

from __future__ import annotations

from mactl.workspace import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "assignment",
        1,
        (
            # The current assignment of each lead (one row per person).
            """CREATE TABLE assignment (
                person_id VARCHAR NOT NULL,
                rep VARCHAR,                       -- NULL when recycled and no rep is left
                team VARCHAR,
                rule VARCHAR NOT NULL,             -- rule name, or sticky:crm_owner / sticky:company
                assigned_at TIMESTAMP NOT NULL,
                due_accept_by TIMESTAMP,
                status VARCHAR NOT NULL,           -- assigned | accepted | rejected | qualified | recycled
                reason VARCHAR,                    -- reject reason (lead back to nurture), recycle note
                sla_breached BOOLEAN NOT NULL,     -- was recycled at least once for not being accepted in time
                updated_at TIMESTAMP NOT NULL
            )""",
            # Every assignment, recycle and CRM feedback, never rewritten.
            """CREATE TABLE assignment_history (
                person_id VARCHAR NOT NULL,
                action VARCHAR NOT NULL,           -- assigned | recycled | accepted | rejected | qualified
                rep VARCHAR,
                team VARCHAR,
                rule VARCHAR,
                happened_at TIMESTAMP NOT NULL,
                reason VARCHAR
            )""",
            # Round robin memory across runs.
            """CREATE TABLE rep_state (
                rep VARCHAR NOT NULL,
                last_assigned_at TIMESTAMP,
                last_sequence BIGINT NOT NULL      -- global order of the last assignment (ties within one run)
            )""",
        ),
    ),
]
