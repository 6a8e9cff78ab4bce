"""The workspace: one DuckDB file holding everything mactl knows.

All SQL of every stage runs through :meth:`Workspace.sql`, which names the
stage and step in any failure. Writes happen inside :meth:`Workspace.transaction`
so a failed or killed command leaves the database exactly as it was.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from mactl.errors import StageError, WorkspaceError, WorkspaceLockedError

DEFAULT_DB = "mactl.duckdb"
DB_ENV = "MACTL_DB"
# DuckDB spills to disk beyond this much memory (env MACTL_MEMORY_LIMIT, e.g. 8GB). The default keeps a
# nightly run at 1M records and 10M events under 4 GB for about 7% more time; on a machine with less than
# 4 GB of RAM DuckDB keeps its own default (80% of RAM).
MEMORY_ENV = "MACTL_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT: str | None = "3GB"
_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)
# For benchmarks: when set, every statement's stage, step and seconds are appended to this file (TSV).
PROFILE_PATH = os.environ.get("MACTL_PROFILE")
# For benchmarks: the statements of this step (e.g. MACTL_EXPLAIN="insert events") write their query plan
# with each operator's time and rows to mactl-explain-<step>.txt in the temp folder (the last one is kept).
EXPLAIN_STEP = os.environ.get("MACTL_EXPLAIN")


def _explain_path(step: str) -> str:
    return str(Path(tempfile.gettempdir()) / f"mactl-explain-{re.sub(r'[^A-Za-z0-9]+', '-', step)}.txt")


def _profile_line(stage: str, step: str, seconds: float, cpu_seconds: float) -> None:
    with open(PROFILE_PATH, "a", encoding="utf-8") as out:
        out.write(f"{stage}\t{step}\t{seconds:.3f}\t{cpu_seconds:.3f}\n")


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB. Use for every name that came from a file or a user."""
    if not isinstance(name, str) or name == "":
        raise ValueError("identifier must be a non-empty string")
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def default_db_path() -> Path:
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def utc_now() -> datetime:
    """Naive UTC 'now', the form every timestamp is stored in (see schema)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Migration:
    """One schema change of one component. Versions of a component start at 1."""

    component: str
    version: int
    statements: tuple[str, ...]


class Workspace:
    """An open workspace database."""

    def __init__(self, path: str | Path, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self._in_transaction = False
        # called before each COMMIT: the batch runner's kill test stops a step there (see runs.runner)
        self.before_commit: Callable[[], None] | None = None
        if read_only and not self.path.exists():
            raise WorkspaceError(
                f"{self.path}: no workspace database here. Run 'mactl import FILE' first, "
                "or pass --db PATH (or set MACTL_DB) to the workspace you meant"
            )
        if self.path.exists() and self.path.is_dir():
            raise WorkspaceError(f"{self.path}: is a folder, not a database file. Pass --db FILE.duckdb")
        self.con = _connect(self.path, read_only)
        if not read_only:
            from mactl.schema import all_migrations

            self.migrate(all_migrations())
        else:
            self._check_not_newer()

    # -- SQL -------------------------------------------------------------
    def sql(self, stage: str, step: str, sql: str, params: Sequence[Any] | dict | None = None):
        """Run one statement; failures are re-raised as StageError naming stage, step and SQL."""
        started, cpu_started = (time.perf_counter(), time.process_time()) if PROFILE_PATH else (0.0, 0.0)
        explain = EXPLAIN_STEP is not None and EXPLAIN_STEP == step
        if explain:
            self.con.execute("SET enable_profiling = 'query_tree'")
            self.con.execute("SET profiling_output = ?", [_explain_path(step)])
        try:
            if params is None:
                result = self.con.execute(sql)
            else:
                result = self.con.execute(sql, params)
        except duckdb.Error as exc:
            raise StageError(stage, step, sql, exc) from exc
        if explain:
            self.con.execute("SET enable_profiling = 'no_output'")
            self.con.execute("RESET profiling_output")
        if PROFILE_PATH:
            _profile_line(stage, step, time.perf_counter() - started, time.process_time() - cpu_started)
        return result

    def fetchall(self, stage: str, step: str, sql: str, params=None) -> list[tuple]:
        return self.sql(stage, step, sql, params).fetchall()

    def fetchone(self, stage: str, step: str, sql: str, params=None) -> tuple | None:
        return self.sql(stage, step, sql, params).fetchone()

    def scalar(self, stage: str, step: str, sql: str, params=None) -> Any:
        row = self.fetchone(stage, step, sql, params)
        return None if row is None else row[0]

    def load_frame(self, stage: str, table: str, frame, *, select: str = "*", where: str | None = None) -> None:
        """Create temp table ``table`` from a pandas DataFrame in one set-based statement.

        ``select`` / ``where`` are SQL over the frame's columns (e.g. casts for an empty frame,
        whose column types cannot be inferred). The frame is always unregistered afterwards.
        """
        view = "_mactl_frame"
        self.con.register(view, frame)
        try:
            sql = f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM {view}"
            self.sql(stage, f"load {table}", sql + (f" WHERE {where}" if where else ""))
        finally:
            self.con.unregister(view)

    def drop_temp(self, stage: str, prefix: str) -> None:
        """Drop this connection's temp views and tables whose names start with ``prefix`` (a stage's scratch
        objects), views first: whichever exist, so a stage that failed halfway cleans up the same way."""
        found = self.fetchall(stage, "temp objects", """
            SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, $prefix)
            UNION ALL
            SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, $prefix)""",
                              {"prefix": prefix})
        for kind, name in sorted(found, key=lambda kind_name: kind_name[0] != "VIEW"):
            self.sql(stage, "drop temp", f"DROP {kind} {quote_ident(name)}")

    def table_exists(self, name: str) -> bool:
        return bool(
            self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchone()[0]
        )

    # -- transactions ----------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    @contextmanager
    def transaction(self) -> Iterator[Workspace]:
        """All writes inside commit together or not at all. Nested use joins the outer one."""
        if self._in_transaction:
            yield self
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self._in_transaction = False
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        else:
            self._in_transaction = False
            if self.before_commit is not None:
                self.before_commit()
            self.sql("workspace", "commit", "COMMIT")  # profiled: a commit may checkpoint the file

    # -- settings --------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self.con.execute("SELECT value FROM mactl_setting WHERE key = ?", [key]).fetchone()
        return default if row is None else row[0]

    def set_setting(self, key: str, value: str) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO mactl_setting (key, value) VALUES (?, ?)", [key, value]
        )

    # -- schema ----------------------------------------------------------
    def schema_versions(self) -> dict[str, int]:
        rows = self.con.execute("SELECT component, version FROM mactl_schema").fetchall()
        return {c: v for c, v in rows}

    def migrate(self, migrations: Sequence[Migration]) -> list[Migration]:
        """Apply the migrations this database has not seen yet, in one transaction."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS mactl_schema ("
            " component VARCHAR PRIMARY KEY, version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        current = self.schema_versions()
        known = _latest_versions(migrations)
        for component, version in current.items():
            if version > known.get(component, 0):
                raise WorkspaceError(
                    f"{self.path}: this workspace was written by a newer mactl "
                    f"({component} schema v{version}, this mactl knows v{known.get(component, 0)}). "
                    "Upgrade mactl to open it"
                )
        pending = [m for m in migrations if m.version > current.get(m.component, 0)]
        if not pending:
            return []
        with self.transaction():
            for migration in sorted(pending, key=lambda m: (_component_order(migrations, m), m.version)):
                for statement in migration.statements:
                    self.sql("schema", f"{migration.component} v{migration.version}", statement)
                self.con.execute(
                    "INSERT OR REPLACE INTO mactl_schema VALUES (?, ?, ?)",
                    [migration.component, migration.version, utc_now()],
                )
        return pending

    def _check_not_newer(self) -> None:
        from mactl.schema import all_migrations

        if not self.table_exists("mactl_schema"):
            raise WorkspaceError(f"{self.path}: not a mactl workspace (no mactl_schema table)")
        known = _latest_versions(all_migrations())
        for component, version in self.schema_versions().items():
            if version > known.get(component, 0):
                raise WorkspaceError(
                    f"{self.path}: this workspace was written by a newer mactl; upgrade mactl to open it"
                )

    def close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error:  # pragma: no cover - closing twice is harmless
            pass

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _latest_versions(migrations: Sequence[Migration]) -> dict[str, int]:
    latest: dict[str, int] = {}
    for m in migrations:
        latest[m.component] = max(latest.get(m.component, 0), m.version)
    return latest


def _component_order(migrations: Sequence[Migration], migration: Migration) -> int:
    for index, m in enumerate(migrations):
        if m.component == migration.component:
            return index
    return len(migrations)


_LOCK_PID = re.compile(r"PID (\d+)")


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on every platform
        return 0


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    if not read_only and path.parent and not path.parent.exists():
        raise WorkspaceError(f"{path}: folder {path.parent} does not exist. Create it or pass another --db")
    limit = (os.environ.get(MEMORY_ENV) or (DEFAULT_MEMORY_LIMIT if _ram_bytes() >= 4 << 30 else None) or "").strip()
    if limit and not _MEMORY_SIZE.fullmatch(limit):
        raise WorkspaceError(f"{MEMORY_ENV}={limit}: not a memory size; use e.g. 3GB or 500MB")
    try:
        return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": limit} if limit else {})
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = _LOCK_PID.search(text)
            holder = f" (process {pid.group(1)})" if pid else ""
            raise WorkspaceLockedError(
                f"{path}: the workspace is in use by another mactl command{holder}. "
                "Wait for it to finish and try again"
            ) from exc
        if "not a valid DuckDB database" in text:
            raise WorkspaceError(
                f"{path}: not a DuckDB workspace database. Pass --db with a mactl workspace, "
                "or a new file name to start one"
            ) from exc
        raise WorkspaceError(f"{path}: cannot open the workspace database: {text}") from exc
    except duckdb.Error as exc:
        raise WorkspaceError(
            f"{path}: not a readable DuckDB workspace ({type(exc).__name__}). "
            "Pass --db with a mactl workspace, or a new file name to start one"
        ) from exc


def open_workspace(path: str | Path | None = None, *, read_only: bool = False) -> Workspace:
    return Workspace(path or default_db_path(), read_only=read_only)
