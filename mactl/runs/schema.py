"""Private tables of the runs stage. Add a new Migration version for each change once shipped."""

from __future__ import annotations

from mactl.workspace import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "runs",
        1,
        (
            # One `mactl run` of one recipe. status: running | ok | failed | killed
            # ('killed' is set by the next run when it finds a 'running' run whose process died).
            """CREATE TABLE mactl_run (
                run_id BIGINT PRIMARY KEY,
                recipe VARCHAR NOT NULL,          -- absolute path of the recipe
                output_dir VARCHAR,
                as_of TIMESTAMP,
                pid INTEGER NOT NULL,
                host VARCHAR NOT NULL,
                started_at TIMESTAMP NOT NULL,
                finished_at TIMESTAMP,
                seconds DOUBLE,
                status VARCHAR NOT NULL,
                error VARCHAR
            )""",
            # One step of a run. status: running | ok | failed | skipped | killed
            """CREATE TABLE mactl_run_step (
                run_id BIGINT NOT NULL,
                step_no INTEGER NOT NULL,
                step VARCHAR NOT NULL,
                started_at TIMESTAMP,
                finished_at TIMESTAMP,
                seconds DOUBLE,
                peak_rss_mb DOUBLE,               -- peak resident memory of the process so far
                status VARCHAR NOT NULL,
                counts JSON,                      -- the stage's summary numbers
                error VARCHAR
            )""",
        ),
    )
]
