"""`mactl export send-list` through the CLI: counts table, --json, dry-run, errors."""

from __future__ import annotations

import json

from test_sendlists_export import NOW, People

from mactl.workspace import Workspace


def seed(db_path):
    ws = Workspace(db_path)
    people = People(ws)
    people.person("P000001", email="a@acme.cn", phone="+8613900000001", consent=True)
    people.person("P000002", email="info@acme.cn", role=True, phone="+8613900000002")
    people.person("P000003", name="=1+1", email="c@acme.cn")
    ws.close()
    return NOW


def test_send_list_json(cli, db_path, tmp_path):
    seed(db_path)
    out = tmp_path / "mail.csv"
    result = cli("export", "send-list", "--channel", "email", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["rows"], data["candidates"], data["list_name"], data["log_id"]) == (2, 3, "mail", 1)
    assert data["excluded"]["role mailbox"] == 1 and data["excluded_total"] == 1
    assert data["arms"] == {"A": 2}
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines == ["person_id,name,company,address,channel,arm",
                     "P000001,张三,华为技术有限公司,a@acme.cn,email,A",
                     "P000003,'=1+1,华为技术有限公司,c@acme.cn,email,A"]


def test_sms_table_output_and_consent_flag(cli, db_path, tmp_path):
    seed(db_path)
    result = cli("export", "send-list", "-c", "sms", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "sms_all (sms): 1 of 3 people dry run, nothing written" in result.stdout
    assert "no consent" in result.stdout and "no address" in result.stdout
    loose = cli("export", "send-list", "-c", "sms", "--dry-run", "--no-require-consent", "--json")
    assert json.loads(loose.stdout)["rows"] == 2


def test_ab_and_cap_through_cli(cli, db_path, tmp_path):
    seed(db_path)
    first = cli("export", "send-list", "-c", "email", "-o", tmp_path / "a.xlsx", "--ab", "50/50", "--json")
    assert sum(json.loads(first.stdout)["arms"].values()) == 2
    second = cli("export", "send-list", "-c", "email", "-o", tmp_path / "b.csv", "--cap", "1/7d", "--json")
    assert json.loads(second.stdout)["excluded"]["frequency cap"] == 2


def test_bad_options_exit_non_zero_with_a_clear_message(cli, db_path, tmp_path):
    seed(db_path)
    result = cli("export", "send-list", "-c", "email", "-o", tmp_path / "x.csv", "--cap", "2 per week")
    assert result.exit_code != 0 and "write it as N/Kd" in result.stderr
    assert not (tmp_path / "x.csv").exists()
    result = cli("export", "send-list", "-c", "fax", "-o", tmp_path / "x.csv")
    assert result.exit_code != 0 and "choose one of email, sms, wechat" in result.stderr
    result = cli("export", "send-list", "-c", "email")
    assert result.exit_code != 0 and "no --out" in result.stderr
