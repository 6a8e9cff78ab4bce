import subprocess
import sys

import duckdb
import pytest

from mactl.errors import StageError, WorkspaceError, WorkspaceLockedError
from mactl.schema import all_migrations
from mactl.workspace import Migration, Workspace, quote_ident


def test_new_workspace_records_schema_versions(workspace):
    versions = workspace.schema_versions()
    assert versions["core"] == 2
    for table in ("import_batch", "source_record", "event", "quarantine", "person", "person_record", "person_score"):
        assert workspace.table_exists(table), table


def test_reopening_applies_nothing_twice(db_path):
    Workspace(db_path).close()
    ws = Workspace(db_path)
    assert ws.migrate(all_migrations()) == []
    ws.close()


def test_new_migration_is_applied_to_existing_workspace(db_path):
    Workspace(db_path).close()
    ws = Workspace(db_path)
    extra = Migration("extra", 1, ("CREATE TABLE extra_thing (x INTEGER)",))
    applied = ws.migrate([*all_migrations(), extra])
    assert applied == [extra]
    assert ws.schema_versions()["extra"] == 1
    ws.close()


def test_workspace_from_before_event_lineage_is_upgraded(db_path, monkeypatch):
    """core v2 adds event.source_row and source_record.first_record_time, filled from the one-row records of v1."""
    import mactl.schema

    before = [m for m in all_migrations() if (m.component, m.version) != ("core", 2)]
    monkeypatch.setattr(mactl.schema, "all_migrations", lambda: before)
    old = Workspace(db_path)
    assert old.schema_versions()["core"] == 1
    old.con.execute("""INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row, file_sha256,
                           channel, email, record_time, imported_at)
                       VALUES (7, 1, 'log.csv', '', 5, 'x', 'engagement', 'a@x.com', TIMESTAMP '2026-09-20 08:00',
                               TIMESTAMP '2026-11-01 00:00')""")
    old.con.execute("""INSERT INTO event (event_id, record_id, batch_id, event_type, occurred_at, channel)
                       VALUES (3, 7, 1, 'email_open', TIMESTAMP '2026-09-20 08:00', 'engagement')""")
    old.close()
    monkeypatch.undo()
    ws = Workspace(db_path)
    assert ws.schema_versions()["core"] == 2
    assert ws.fetchall("t", "read", "SELECT event_id, record_id, source_row FROM event") == [(3, 7, 5)]
    assert ws.scalar("t", "read", "SELECT first_record_time = record_time FROM source_record") is True
    ws.close()


def test_workspace_from_newer_mactl_is_refused(db_path):
    ws = Workspace(db_path)
    ws.con.execute("UPDATE mactl_schema SET version = 99 WHERE component = 'core'")
    ws.close()
    with pytest.raises(WorkspaceError, match="newer mactl"):
        Workspace(db_path)


def test_failed_transaction_leaves_database_as_it_was(workspace):
    with pytest.raises(StageError):
        with workspace.transaction():
            workspace.sql("test", "insert", "INSERT INTO mactl_setting VALUES ('a', '1')")
            workspace.sql("test", "broken", "INSERT INTO no_such_table VALUES (1)")
    assert workspace.scalar("test", "count", "SELECT count(*) FROM mactl_setting WHERE key = 'a'") == 0


def test_stage_error_names_stage_step_and_sql(workspace):
    with pytest.raises(StageError) as info:
        workspace.sql("identity", "block pairs", "SELECT * FROM missing_table")
    assert info.value.stage == "identity"
    assert info.value.step == "block pairs"
    assert info.value.sql == "SELECT * FROM missing_table"
    assert str(info.value).startswith("identity: step 'block pairs' failed:")


@pytest.mark.parametrize(
    "name, quoted",
    [("姓名", '"姓名"'), ('a"b', '"a""b"'), ("x; DROP TABLE person", '"x; DROP TABLE person"')],
)
def test_quote_ident(name, quoted):
    assert quote_ident(name) == quoted


def test_quoted_identifier_from_a_file_header_is_safe(workspace):
    header = 'Name"); DROP TABLE person; --'
    workspace.sql("test", "create", f"CREATE TABLE t ({quote_ident(header)} VARCHAR)")
    workspace.sql("test", "insert", "INSERT INTO t VALUES (?)", ["x"])
    assert workspace.table_exists("person")
    assert workspace.fetchall("test", "read", f"SELECT {quote_ident(header)} FROM t") == [("x",)]


def test_second_process_gets_a_locked_error(db_path, tmp_path):
    Workspace(db_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db_path)!r}); print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WorkspaceLockedError, match=r"in use by another mactl command \(process \d+\)"):
            Workspace(db_path)
    finally:
        holder.kill()
        holder.wait()


def test_not_a_database_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.duckdb"
    bad.write_text("hello")
    with pytest.raises(WorkspaceError, match="not a DuckDB workspace database"):
        Workspace(bad)


def test_read_only_open_of_missing_workspace_says_what_to_do(tmp_path):
    with pytest.raises(WorkspaceError, match="Run 'mactl import FILE' first"):
        Workspace(tmp_path / "none.duckdb", read_only=True)


def test_duckdb_is_the_only_engine(workspace):
    assert isinstance(workspace.con, duckdb.DuckDBPyConnection)


def test_memory_limit_defaults_to_3gb(db_path, monkeypatch):
    monkeypatch.delenv("MACTL_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr("mactl.workspace._ram_bytes", lambda: 16 << 30)
    ws = Workspace(db_path)
    assert ws.scalar("t", "limit", "SELECT current_setting('memory_limit')") == "2.7 GiB"  # 3 GB
    ws.close()


def test_memory_limit_comes_from_the_environment(db_path, monkeypatch):
    monkeypatch.setenv("MACTL_MEMORY_LIMIT", "2GB")
    ws = Workspace(db_path)
    assert ws.scalar("t", "limit", "SELECT current_setting('memory_limit')") == "1.8 GiB"  # DuckDB reports GiB
    ws.close()
    monkeypatch.setenv("MACTL_MEMORY_LIMIT", "lots")
    with pytest.raises(WorkspaceError, match=r"^MACTL_MEMORY_LIMIT=lots: not a memory size; use e.g. 3GB or 500MB$"):
        Workspace(db_path)
