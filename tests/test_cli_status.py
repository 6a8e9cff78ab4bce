import json


def test_status_json_on_new_workspace(cli, workspace):
    workspace.close()
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["counts"]["source records"] == 0
    assert info["schema"]["core"] == 2


def test_status_without_workspace_is_one_clear_line(cli):
    result = cli("status")
    assert result.exit_code == 65
    assert result.stderr.strip().startswith("Error: ")
    assert "Run 'mactl import FILE' first" in result.stderr
    assert "Traceback" not in result.output


def test_every_command_has_help(cli):
    from typer.main import get_command

    from mactl.cli import app

    root = get_command(app)

    def walk(group, prefix):
        for name, command in group.commands.items():
            yield prefix + [name], command
            if hasattr(command, "commands"):
                yield from walk(command, prefix + [name])

    for path, command in walk(root, []):
        assert (command.help or "").strip(), f"mactl {' '.join(path)} has no help text"
        result = cli(*path, "--help")
        assert result.exit_code == 0, path


def test_status_counts_and_last_imports_in_local_time(cli, tmp_path):
    from importing_files import form_csv

    form_csv(tmp_path / "form.csv")
    cli("import", tmp_path / "form.csv")
    info = json.loads(cli("status", "--json").stdout)
    assert info["counts"] == {
        "import batches": 1, "source records": 2, "events": 2, "quarantined rows": 0, "people": 0, "scored people": 0,
    }
    batch = info["last_imports"][0]
    assert (batch["batch_id"], batch["source_file"], batch["channel"], batch["records"]) == (1, "form.csv", "web_form", 2)
    assert batch["imported_at"].endswith(" Asia/Shanghai")
