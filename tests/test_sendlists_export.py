"""Send lists: every exclusion, its order, duplicates, caps, re-runs, A/B determinism, formula neutralising."""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mactl.errors import UsageError
from mactl.sendlists import EXCLUSION_ORDER, export_send_list, suppress_add

NOW = datetime(2026, 5, 10, 9, 0)


class People:
    """Writes contract rows (person, person_contact, source_record, person_record, event) directly."""

    def __init__(self, ws):
        self.ws = ws
        self.record_id = 0

    def person(self, pid, *, name="张三", email=None, phone=None, unionid=None, openid=None, consent=None,
               role=False, company="华为技术有限公司"):
        self.ws.sql("test", "person", """
            INSERT INTO person (person_id, name, email, phone, company, wechat_unionid, wechat_openid, consent,
                                email_is_role, record_count, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)""",
                    [pid, name, email, phone, company, unionid, openid, consent, role, NOW, NOW])
        return self

    def contact(self, pid, kind, value, *, valid=True, detail=None):
        self.ws.sql("test", "contact", "INSERT INTO person_contact (person_id, kind, value, is_valid, detail) "
                    "VALUES (?, ?, ?, ?, ?)", [pid, kind, value, valid, detail])
        return self

    def record(self, pid, *, consent=None, at=NOW, email=None):
        self.record_id += 1
        self.ws.sql("test", "record", """
            INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row, file_sha256,
                                       channel, email, consent, record_time, imported_at)
            VALUES (?, 1, 'f.csv', '', 2, 'x', 'web_form', ?, ?, ?, ?)""", [self.record_id, email, consent, at, at])
        self.ws.sql("test", "link", "INSERT INTO person_record VALUES (?, ?)", [self.record_id, pid])
        return self.record_id

    def event(self, pid, event_type, at, *, email=None):
        record_id = self.record(pid, at=at, email=email)
        self.ws.sql("test", "event", "INSERT INTO event (event_id, record_id, batch_id, event_type, occurred_at,"
                    " channel) VALUES (?, ?, 1, ?, ?, 'engagement')", [record_id, record_id, event_type, at])
        return self

    def member(self, segment, pid):
        self.ws.sql("test", "member", "INSERT INTO segment_member VALUES (?, ?, ?)", [segment, pid, NOW])
        return self


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def excluded(summary) -> dict[str, int]:
    return {k: v for k, v in summary.excluded.items() if v}


@pytest.fixture
def people(workspace):
    return People(workspace)


def test_email_exclusions_each_counted_once_in_fixed_order(workspace, people, tmp_path):
    people.person("P000001", email="ok@acme.cn")
    people.person("P000002")                                   # no address
    people.person("P000003", email="broken@@acme")             # invalid shape
    people.person("P000004", email="bad@acme.cn").contact("P000004", "email", "bad@acme.cn", valid=False)
    people.person("P000005", email="info@acme.cn", role=True)  # role mailbox
    people.person("P000006", email="gone@acme.cn").event("P000006", "unsubscribe", datetime(2026, 5, 1))
    people.person("P000007", email="bounce@acme.cn").event("P000007", "email_bounce", datetime(2026, 5, 1),
                                                           email="Bounce@acme.cn ")
    people.person("P000008", email="dnc@acme.cn")
    people.person("P000009", email="x@rival.com")              # suppressed by domain
    people.person("P000010", email="ok@acme.cn")               # same address as P000001
    # role AND suppressed: the first failing check (role mailbox) is the reason
    people.person("P000011", email="sales@acme.cn", role=True)
    suppress_add(workspace, ["dnc@acme.cn", "@rival.com", "sales@acme.cn"], reason="asked")

    out = tmp_path / "mail.csv"
    summary = export_send_list(workspace, channel="email", out=out, as_of=NOW)

    assert excluded(summary) == {"no address": 1, "invalid address": 2, "role mailbox": 2, "unsubscribed": 1,
                                 "bounced": 1, "suppressed": 2, "duplicate address": 1}
    assert summary.rows == 1 and summary.candidates == 11
    assert list(summary.excluded) == list(EXCLUSION_ORDER)
    assert read_csv(out) == [{"person_id": "P000001", "name": "张三", "company": "华为技术有限公司",
                              "address": "ok@acme.cn", "channel": "email", "arm": "A"}]


def test_bounce_of_an_old_address_does_not_stop_the_new_one(workspace, people, tmp_path):
    people.person("P000001", email="new@acme.cn").event("P000001", "email_bounce", NOW, email="old@acme.cn")
    summary = export_send_list(workspace, channel="email", out=tmp_path / "m.csv", as_of=NOW)
    assert summary.rows == 1 and excluded(summary) == {}


def test_sms_needs_explicit_consent_by_default_and_unsubscribe_withdraws_it(workspace, people, tmp_path):
    people.person("P000001", phone="+8613812345678", consent=True)
    people.person("P000002", phone="+8613900000002", consent=None)     # unknown consent
    people.person("P000003", phone="+8613900000003", consent=False)
    people.person("P000004", phone="+862161234567", consent=True).contact(
        "P000004", "phone", "+862161234567", detail="landline")        # a switchboard
    people.person("P000005", phone="13800", consent=True)               # not E.164
    # consented, unsubscribed later: out
    people.person("P000006", phone="+8613900000006", consent=True)
    people.record("P000006", consent=True, at=datetime(2026, 4, 1))
    people.event("P000006", "unsubscribe", datetime(2026, 4, 15))
    # unsubscribed, then opted in again on a later form: in
    people.person("P000007", phone="+8613900000007", consent=True)
    people.event("P000007", "unsubscribe", datetime(2026, 4, 1))
    people.record("P000007", consent=True, at=datetime(2026, 4, 20))
    suppress_add(workspace, ["+86 138-1234-5678"])                     # normalised to P000001's phone
    out = tmp_path / "sms.xlsx"
    summary = export_send_list(workspace, channel="sms", out=out, as_of=NOW)
    assert excluded(summary) == {"no consent": 2, "invalid address": 2, "unsubscribed": 1, "suppressed": 1}
    sheet = load_workbook(out).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["person_id", "name", "company", "address", "channel", "arm"],
        ["P000007", "张三", "华为技术有限公司", "+8613900000007", "sms", "A"],
    ]


def test_consent_rule_is_configurable_per_channel(workspace, people, tmp_path):
    people.person("P000001", email="a@acme.cn", phone="+8613900000001", consent=None)
    email = export_send_list(workspace, channel="email", out=tmp_path / "e.csv", as_of=NOW,
                             config={"consent_required": {"email": True}})
    sms = export_send_list(workspace, channel="sms", out=tmp_path / "s.csv", as_of=NOW,
                           config={"consent_required": {"sms": False}})
    assert excluded(email) == {"no consent": 1} and email.rows == 0
    assert sms.rows == 1


def test_wechat_prefers_unionid_then_openid(workspace, people, tmp_path):
    people.person("P000001", unionid="oUnion000000000000001", openid="oOpen0000000000000001")
    people.person("P000002", openid="oOpen0000000000000002")
    people.person("P000003", email="only@acme.cn")
    out = tmp_path / "wx.csv"
    summary = export_send_list(workspace, channel="wechat", out=out, as_of=NOW)
    assert [r["address"] for r in read_csv(out)] == ["oUnion000000000000001", "oOpen0000000000000002"]
    assert excluded(summary) == {"no address": 1}


def test_segment_limits_candidates(workspace, people, tmp_path):
    people.person("P000001", email="a@acme.cn").person("P000002", email="b@acme.cn").member("mql", "P000002")
    summary = export_send_list(workspace, channel="email", out=tmp_path / "s.csv", segment="mql", as_of=NOW)
    assert summary.candidates == 1 and [r["person_id"] for r in read_csv(tmp_path / "s.csv")] == ["P000002"]
    with pytest.raises(UsageError, match="no such segment"):
        export_send_list(workspace, channel="email", out=tmp_path / "x.csv", segment="nope", as_of=NOW)


def test_frequency_cap_counts_earlier_lists_in_the_window(workspace, people, tmp_path):
    for i in (1, 2):
        people.person(f"P00000{i}", email=f"p{i}@acme.cn")
    export_send_list(workspace, channel="email", out=tmp_path / "a.csv", as_of=datetime(2026, 5, 4))
    people.person("P000003", email="p3@acme.cn")
    export_send_list(workspace, channel="email", out=tmp_path / "b.csv", as_of=datetime(2026, 5, 8))
    # P1 and P2 already had 2 lists in the last 7 days; P3 one.
    third = export_send_list(workspace, channel="email", out=tmp_path / "c.csv", cap="2/7d", as_of=NOW)
    assert excluded(third) == {"frequency cap": 2} and third.rows == 1
    # a 3-day window sees lists b and c: only P3 had both
    short = export_send_list(workspace, channel="email", out=tmp_path / "d.csv", cap="2/3d", dry_run=True,
                             as_of=NOW)
    assert excluded(short) == {"frequency cap": 1} and short.rows == 2
    # list c counted too: everyone has had at least one email list in 30 days; SMS has its own count
    assert export_send_list(workspace, channel="email", out=None, dry_run=True, cap="1/30d",
                            as_of=NOW).excluded["frequency cap"] == 3
    workspace.sql("t", "phones", "UPDATE person SET phone = '+8613900000001', consent = true")
    assert export_send_list(workspace, channel="sms", out=None, dry_run=True, cap="1/30d",
                            as_of=NOW).excluded["frequency cap"] == 0


def test_dry_run_writes_no_file_and_no_log(workspace, people, tmp_path):
    people.person("P000001", email="p1@acme.cn")
    out = tmp_path / "dry.csv"
    summary = export_send_list(workspace, channel="email", out=out, dry_run=True, as_of=NOW)
    assert summary.rows == 1 and summary.log_id is None and not out.exists()
    assert workspace.scalar("t", "n", "SELECT count(*) FROM send_log") == 0
    capped = export_send_list(workspace, channel="email", out=None, cap="1/7d", dry_run=True, as_of=NOW)
    assert excluded(capped) == {}


def test_same_list_rerun_on_the_same_day_replaces_its_log(workspace, people, tmp_path):
    people.person("P000001", email="p1@acme.cn")
    first = export_send_list(workspace, channel="email", out=tmp_path / "a.csv", list_name="weekly",
                             cap="1/7d", as_of=NOW)
    again = export_send_list(workspace, channel="email", out=tmp_path / "a.csv", list_name="weekly",
                             cap="1/7d", as_of=NOW.replace(hour=20))
    assert (first.rows, again.rows, again.replaced_log, first.replaced_log) == (1, 1, True, False)
    assert workspace.fetchall("t", "log", "SELECT list_name, row_count FROM send_log") == [("weekly", 1)]
    assert workspace.scalar("t", "n", "SELECT count(*) FROM send_log_line") == 1
    other = export_send_list(workspace, channel="email", out=tmp_path / "b.csv", list_name="promo",
                             cap="1/7d", as_of=NOW.replace(hour=21))
    assert excluded(other) == {"frequency cap": 1}


def expected_bucket(list_name: str, person_id: str) -> int:
    return int(hashlib.md5(f"{list_name}|{person_id}".encode()).hexdigest()[:8], 16) % 100


def test_ab_and_holdout_arms_are_deterministic(workspace, people, tmp_path):
    ids = [f"P{i:06d}" for i in range(1, 201)]
    for pid in ids:
        people.person(pid, email=f"{pid.lower()}@acme.cn")
    out = tmp_path / "ab.csv"
    summary = export_send_list(workspace, channel="email", out=out, list_name="spring", ab="50/50",
                               holdout="10%", as_of=NOW)
    expected = {}
    for pid in ids:
        bucket = expected_bucket("spring", pid)
        expected[pid] = "holdout" if bucket < 10 else ("A" if (bucket - 10) * 100 < 50 * 90 else "B")
    counts = {arm: list(expected.values()).count(arm) for arm in ("A", "B", "holdout")}
    assert summary.arms == counts and summary.rows == counts["A"] + counts["B"]
    rows = read_csv(out)
    assert {r["person_id"]: r["arm"] for r in rows} == {p: a for p, a in expected.items() if a != "holdout"}
    # re-run: the same arms; another list name reshuffles
    export_send_list(workspace, channel="email", out=tmp_path / "ab2.csv", list_name="spring", ab="50/50",
                     holdout="10%", as_of=NOW)
    assert read_csv(tmp_path / "ab2.csv") == rows
    other = export_send_list(workspace, channel="email", out=tmp_path / "ab3.csv", list_name="autumn",
                             ab="50/50", holdout="10%", as_of=NOW)
    assert {r["person_id"]: r["arm"] for r in read_csv(tmp_path / "ab3.csv")} != {
        r["person_id"]: r["arm"] for r in rows}
    assert sum(other.arms.values()) == 200


def test_three_arms(workspace, people, tmp_path):
    for i in range(1, 101):
        people.person(f"P{i:06d}", email=f"p{i}@acme.cn")
    summary = export_send_list(workspace, channel="email", out=tmp_path / "x.csv", list_name="t", ab="20/30/50",
                               as_of=NOW)
    buckets = [expected_bucket("t", f"P{i:06d}") for i in range(1, 101)]
    assert summary.arms == {"A": sum(b < 20 for b in buckets), "B": sum(20 <= b < 50 for b in buckets),
                            "C": sum(b >= 50 for b in buckets)}


def test_formulas_are_neutralised_in_csv_and_xlsx(workspace, people, tmp_path):
    people.person("P000001", name="=HYPERLINK(\"http://x\")", company="@SUM(A1)", email="a@acme.cn")
    export_send_list(workspace, channel="email", out=tmp_path / "f.csv", as_of=NOW)
    export_send_list(workspace, channel="email", out=tmp_path / "f.xlsx", list_name="fx", as_of=NOW)
    row = read_csv(tmp_path / "f.csv")[0]
    assert (row["name"], row["company"]) == ("'=HYPERLINK(\"http://x\")", "'@SUM(A1)")
    sheet = load_workbook(tmp_path / "f.xlsx").active
    assert (sheet["B2"].value, sheet["C2"].value) == ("'=HYPERLINK(\"http://x\")", "'@SUM(A1)")
    assert sheet["B2"].data_type == "s"


@pytest.mark.parametrize(("option", "value"), [("cap", "2/week"), ("ab", "60/60"), ("holdout", "150%")])
def test_bad_options_are_usage_errors(workspace, tmp_path, option, value):
    with pytest.raises(UsageError):
        export_send_list(workspace, channel="email", out=tmp_path / "x.csv", **{option: value})


def test_unknown_channel_and_missing_out(workspace, tmp_path):
    with pytest.raises(UsageError, match="choose one of email, sms, wechat"):
        export_send_list(workspace, channel="fax", out=tmp_path / "x.csv")
    with pytest.raises(UsageError, match="no --out"):
        export_send_list(workspace, channel="email", out=None)


def test_unsupported_output_leaves_no_log_and_no_file(workspace, people, tmp_path):
    people.person("P000001", email="a@acme.cn")
    with pytest.raises(UsageError, match="cannot write .txt"):
        export_send_list(workspace, channel="email", out=tmp_path / "x.txt", as_of=NOW)
    assert workspace.scalar("t", "n", "SELECT count(*) FROM send_log") == 0
    assert not (tmp_path / "x.txt").exists()


def test_holdout_people_are_not_logged_and_stay_in_holdout(workspace, people, tmp_path):
    ids = [f"P{i:06d}" for i in range(1, 51)]
    for pid in ids:
        people.person(pid, email=f"{pid}@acme.cn")
    summary = export_send_list(workspace, channel="email", out=tmp_path / "h.csv", list_name="h", holdout=20,
                               as_of=NOW)
    held = sorted(p for p in ids if expected_bucket("h", p) < 20)
    assert summary.arms == {"A": 50 - len(held), "holdout": len(held)} and summary.rows == 50 - len(held)
    logged = {r[0] for r in workspace.fetchall("t", "lines", "SELECT person_id FROM send_log_line")}
    assert logged == set(ids) - set(held)
