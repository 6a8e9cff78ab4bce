"""Private tables of the scoring stage. Add a new Migration version for each change once shipped."""

from __future__ import annotations

from mactl.workspace import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "scoring",
        1,
        (
            # One row per `mactl score` run.
            """CREATE TABLE score_run (
                score_run_id BIGINT NOT NULL,
                as_of TIMESTAMP NOT NULL,
                computed_at TIMESTAMP NOT NULL,
                model_hash VARCHAR NOT NULL,
                model_path VARCHAR,
                people BIGINT NOT NULL
            )""",
            # Every person's score in every run ("went from 40 to 85 since Monday").
            """CREATE TABLE score_history (
                score_run_id BIGINT NOT NULL,
                person_id VARCHAR NOT NULL,
                fit DOUBLE NOT NULL,
                engagement DOUBLE NOT NULL,
                total DOUBLE NOT NULL,
                grade VARCHAR NOT NULL,
                stage VARCHAR NOT NULL
            )""",
            # Every point of the latest run: rule, event, raw points, decay factor, points.
            """CREATE TABLE score_contribution (
                score_run_id BIGINT NOT NULL,
                person_id VARCHAR NOT NULL,
                factor VARCHAR NOT NULL,           -- fit | engagement
                rule_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                event_id BIGINT,                   -- NULL for fit rules and cap rows
                occurred_at TIMESTAMP,
                raw_points DOUBLE NOT NULL,
                decay DOUBLE NOT NULL,
                channel_weight DOUBLE NOT NULL,
                points DOUBLE NOT NULL
            )""",
            # Current lifecycle state: base stage (forward-only) and the Silent bucket.
            """CREATE TABLE person_stage (
                person_id VARCHAR NOT NULL,
                base_stage VARCHAR NOT NULL,
                stage VARCHAR NOT NULL,
                silent_days INTEGER,
                changed_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE stage_history (
                person_id VARCHAR NOT NULL,
                from_stage VARCHAR,
                to_stage VARCHAR NOT NULL,
                silent_days INTEGER,
                changed_at TIMESTAMP NOT NULL,    -- the run's as-of time
                score_run_id BIGINT NOT NULL,
                reason VARCHAR NOT NULL
            )""",
        ),
    ),
    Migration(
        "scoring",
        2,
        (
            # The run keeps its model (canonical JSON) and the newest event it saw, so explain can replay
            # one person's contributions exactly as scored, even if the model file changed since.
            "ALTER TABLE score_run ADD COLUMN model_json VARCHAR",
            "ALTER TABLE score_run ADD COLUMN max_event_id BIGINT",
            # Per person and rule instead of per event (millions of rows): explain recomputes the events.
            "DROP TABLE score_contribution",
            """CREATE TABLE score_contribution (
                score_run_id BIGINT NOT NULL,
                person_id VARCHAR NOT NULL,
                factor VARCHAR NOT NULL,           -- fit | engagement
                rule_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                events BIGINT,                     -- matching events; NULL for fit rules
                points_before_caps DOUBLE NOT NULL,
                period_capped DOUBLE NOT NULL,     -- points taken off by the rule's period cap (<= 0)
                capped DOUBLE NOT NULL,            -- points taken off by the rule's cap (<= 0)
                points DOUBLE NOT NULL             -- what the rule gives: points_before_caps + period_capped + capped
            )""",
        ),
    ),
]
