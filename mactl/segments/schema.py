"""Private tables of the segments stage. Add a new Migration version for each change once shipped."""

from __future__ import annotations

from mactl.workspace import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "segments",
        1,
        (
            # One row per group per build: what the definition was and how membership moved.
            """CREATE TABLE segment_build (
                build_id BIGINT NOT NULL,
                segment VARCHAR NOT NULL,
                definition JSON NOT NULL,
                as_of TIMESTAMP NOT NULL,
                built_at TIMESTAMP NOT NULL,
                size BIGINT NOT NULL,
                entered BIGINT NOT NULL,
                "left" BIGINT NOT NULL
            )""",
            # Who entered and who left a group, and in which build.
            """CREATE TABLE segment_change (
                segment VARCHAR NOT NULL,
                person_id VARCHAR NOT NULL,
                change VARCHAR NOT NULL,           -- entered | left
                changed_at TIMESTAMP NOT NULL,
                build_id BIGINT NOT NULL
            )""",
        ),
    ),
]
