import json


def test_status_json_on_new_workspace(cli, workspace):
    workspace.close()
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["counts"]["source records"] == 0
    assert info["schema"]["core"] == 1


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
