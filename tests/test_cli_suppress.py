"""`mactl suppress add|list|remove` through the CLI."""

from __future__ import annotations

import json


def test_add_list_remove(cli, tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_text("email\nA@acme.cn\nb@acme.cn\n", encoding="utf-8-sig")
    added = cli("suppress", "add", path, "+86 138 1234 5678", "@rival.com", "--reason", "competitor", "--json")
    assert added.exit_code == 0, added.stderr
    assert json.loads(added.stdout)["added"] == 4
    listing = json.loads(cli("suppress", "list", "--kind", "email", "--json").stdout)
    assert [(r["value"], r["reason"], r["source"]) for r in listing] == [
        ("a@acme.cn", "competitor", "dnc.csv"), ("b@acme.cn", "competitor", "dnc.csv")]
    table = cli("suppress", "list")
    assert "rival.com" in table.stdout and "+8613812345678" in table.stdout
    removed = cli("suppress", "remove", "13812345678")
    assert removed.exit_code == 0 and "1 removed" in removed.stdout
    missing = cli("suppress", "remove", "13812345678")
    assert missing.exit_code != 0 and "not on the suppression list" in missing.stderr


def test_add_reports_values_it_does_not_understand(cli):
    result = cli("suppress", "add", "hello world", "x@y.cn")
    assert result.exit_code == 0
    assert "1 added, 0 already listed, 1 not understood; 1 on the list" in result.stdout
    assert "hello world" in result.stderr
