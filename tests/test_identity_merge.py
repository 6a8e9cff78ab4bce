import csv

import pytest
from openpyxl import load_workbook

from mactl.identity import merge
from mactl.identity import review as ops
from mactl.identity.merge import open_reviews
from mactl.importing import import_paths

HEADER = ["姓名", "手机", "邮箱", "公司", "提交时间"]


def add_file(ws, tmp_path, name, rows):
    """Import a web-form CSV of (name, phone, email, company) rows; returns the new record ids in order."""
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i, row in enumerate(rows):
            writer.writerow([*row, f"2026-09-{10 + i:02d} 10:00"])
    before = ws.scalar("t", "max", "SELECT COALESCE(max(record_id), 0) FROM source_record")
    import_paths(ws, [path])
    return [r[0] for r in ws.fetchall("t", "ids", "SELECT record_id FROM source_record WHERE record_id > ? ORDER BY 1", [before])]


def people_of(ws):
    """Person id → sorted record ids."""
    rows = ws.fetchall("t", "map", "SELECT person_id, list(record_id ORDER BY record_id) FROM person_record GROUP BY 1 ORDER BY 1")
    return {p: r for p, r in rows}


def groups(ws):
    return sorted(people_of(ws).values())


# -- hard cases that must merge ---------------------------------------------------


def test_variants_of_one_person_merge(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("张伟", "+86 138-1234-5678", "zhang.wei@huawei.com", "华为技术有限公司"),
        ("張偉", "13812345678", None, "华为"),                       # traditional, brand only
        ("Zhang Wei", "(+86)13812345678", None, "Huawei Technologies Co., Ltd."),  # pinyin, English company
        ("张先生", "138 1234 5678", None, None),                    # honorific
        (None, None, " ZHANG.WEI@HUAWEI.COM ", None),               # email case and spaces
    ])
    summary = merge(workspace)
    assert groups(workspace) == [[1, 2, 3, 4, 5]]
    assert (summary.records, summary.people, summary.new_people) == (5, 1, 1)
    person = workspace.fetchone("t", "p", "SELECT person_id, name, email, phone, record_count FROM person")
    assert person == ("P000001", "张伟", "zhang.wei@huawei.com", "+8613812345678", 5)


def test_job_change_keeps_the_mobile(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("李娜", "13900000001", "lina@midea.com", "美的集团"),
        ("李娜", "13900000001", "lina@haier.com", "海尔智家股份有限公司"),
    ])
    merge(workspace)
    assert groups(workspace) == [[1, 2]]


def test_email_typo_with_the_same_name_merges(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("陈静", "13700000001", "chenjing@sany.com", "三一重工"),
        ("陈静", None, "chenjin@sany.com", None),
    ])
    summary = merge(workspace)
    assert groups(workspace) == [[1, 2]]
    assert summary.links_by_rule == {"email_typo": 1, "exact_phone": 0} or summary.links_by_rule["email_typo"] == 1


# -- guards: different people stay apart ----------------------------------------------


def test_switchboard_never_links_colleagues(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("王磊", "021-62345678", "wanglei@acme.cn", "ACME"),
        ("赵敏", "021-62345678", "zhaomin@acme.cn", "ACME"),
        ("孙强", "021 6234 5678", "sunqiang@acme.cn", "ACME"),
    ])
    merge(workspace)
    assert groups(workspace) == [[1], [2], [3]]
    assert workspace.fetchall("t", "c", "SELECT kind, value, detail FROM person_contact WHERE kind = 'phone' LIMIT 1") == [
        ("phone", "+862162345678", "landline")]


def test_role_mailbox_never_links(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("王磊", "13600000001", "info@acme.cn", "ACME"),
        ("赵敏", "13600000002", "info@acme.cn", "ACME"),
    ])
    merge(workspace)
    assert groups(workspace) == [[1], [2]]


def test_a_phone_shared_by_different_names_links_nobody(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("张伟", "13800000001", "zw@a.com", "A公司"),
        ("李娜", "13800000001", "ln@b.com", "B公司"),
        ("张伟", "13800000001", None, None),
    ])
    summary = merge(workspace)
    assert summary.shared_keys == 1
    assert groups(workspace) == [[1, 3], [2]]  # the same name under the shared phone still links


def test_a_common_name_alone_never_links(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("王伟", "13500000001", "ww1@x.com", "X公司"),
        ("王伟", "13500000002", "ww2@y.com", "Y公司"),
        ("王伟", "13500000003", "ww3@z.com", "Z公司"),
    ])
    merge(workspace)
    assert groups(workspace) == [[1], [2], [3]]


def test_conflicting_mobiles_keep_same_name_same_company_apart(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("刘洋", "13300000001", None, "华为技术有限公司"),
        ("刘洋", "13300000002", None, "华为"),
    ])
    merge(workspace)
    assert groups(workspace) == [[1], [2]]


def test_no_chaining_through_one_weak_record(workspace, tmp_path):
    # record 2 fits both 1 and 3 by name and company, but 1 and 3 have different mobiles
    add_file(workspace, tmp_path, "a.csv", [
        ("周杰", "13100000001", None, "比亚迪股份有限公司"),
        ("周杰", None, "zhoujie@qq.com", "比亚迪"),
        ("周杰", "13100000002", None, "比亚迪汽车"),
    ])
    merge(workspace)
    assert groups(workspace) == [[1, 2], [3]]


@pytest.mark.parametrize("other", ["李女士", "张女士"])
def test_honorific_with_wrong_surname_or_gender_does_not_link(workspace, tmp_path, other):
    add_file(workspace, tmp_path, "a.csv", [("张先生", "13800000009", None, None), (other, "13800000009", None, None)])
    merge(workspace)
    assert groups(workspace) == [[1], [2]]


# -- stable ids ------------------------------------------------------------------


def test_ids_are_stable_across_runs_and_new_data(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("张伟", "13800000001", None, None),
        ("李娜", "13800000002", None, None),
    ])
    merge(workspace)
    assert people_of(workspace) == {"P000001": [1], "P000002": [2]}
    updated = workspace.fetchall("t", "u", "SELECT person_id, updated_at FROM person ORDER BY 1")
    again = merge(workspace)
    assert (again.records_moved, again.new_people, again.merged_people, again.normalised) == (0, 0, 0, 0)
    assert workspace.fetchall("t", "u", "SELECT person_id, updated_at FROM person ORDER BY 1") == updated
    add_file(workspace, tmp_path, "b.csv", [
        ("王芳", "13800000003", None, None),      # a new person
        ("李娜", "13800000002", "lina@x.com", None),  # joins P000002
    ])
    summary = merge(workspace)
    assert people_of(workspace) == {"P000001": [1], "P000002": [2, 4], "P000003": [3]}
    assert (summary.new_people, summary.records_moved) == (1, 2)
    # the work tables of every merge are gone afterwards (a batch run keeps its connection)
    assert workspace.fetchall("t", "temp", "SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
                                           "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal") == []


def test_two_existing_people_merge_into_the_older_id(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [("张伟", "13800000001", None, None), ("张伟", None, "zw@x.com", None)])
    merge(workspace)
    assert people_of(workspace) == {"P000001": [1], "P000002": [2]}
    add_file(workspace, tmp_path, "b.csv", [("张伟", "13800000001", "zw@x.com", None)])
    summary = merge(workspace)
    assert people_of(workspace) == {"P000001": [1, 2, 3]}
    assert summary.merged_people == 1
    assert workspace.fetchall("t", "a", "SELECT old_person_id, person_id, reason FROM person_alias") == [("P000002", "P000001", "merged")]
    info = ops.explain(workspace, "P000002")
    assert info["person_id"] == "P000001"
    assert info["note"].startswith("P000002 was merged into P000001 on ")
    assert info["merged_ids"] == ["P000002"]


def test_undo_brings_the_merged_person_back_with_its_id(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [("张伟", "13800000001", None, None), ("张伟", None, "zw@x.com", None)])
    merge(workspace)
    add_file(workspace, tmp_path, "b.csv", [("张伟", "13800000001", "zw@x.com", None)])
    merge(workspace)
    restored, _ = ops.undo_merge(workspace, "P000001")
    assert restored == "P000002"
    mapping = people_of(workspace)
    assert mapping["P000002"] == [2] and 1 in mapping["P000001"]
    assert workspace.scalar("t", "a", "SELECT count(*) FROM person_alias") == 0
    merge(workspace)  # the decision holds in later merges
    assert people_of(workspace)["P000002"] == [2]


# -- overrides -------------------------------------------------------------------


def test_split_and_link_survive_later_merges(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("张伟", "13800000001", "zw@x.com", None),
        ("张伟", "13800000001", None, None),
        ("王芳", "13900000001", None, None),
    ])
    merge(workspace)
    assert people_of(workspace) == {"P000001": [1, 2], "P000002": [3]}
    ops.split_person(workspace, "P000001", [2], reason="two Zhang Weis")
    assert people_of(workspace) == {"P000001": [1], "P000002": [3], "P000003": [2]}
    ops.link_people(workspace, "P000002", "P000003")
    assert people_of(workspace) == {"P000001": [1], "P000002": [2, 3]}
    add_file(workspace, tmp_path, "b.csv", [("张伟", "13800000001", "zw@x.com", None)])
    merge(workspace)
    mapping = people_of(workspace)
    assert mapping["P000001"] == [1, 4] and mapping["P000002"] == [2, 3]


def test_split_refuses_records_of_someone_else(workspace, tmp_path):
    from mactl.errors import UsageError

    add_file(workspace, tmp_path, "a.csv", [("张伟", "13800000001", None, None), ("王芳", "13900000001", None, None)])
    merge(workspace)
    with pytest.raises(UsageError, match=r"record\(s\) 2 do not belong to P000001"):
        ops.split_person(workspace, "P000001", [2])


# -- review --------------------------------------------------------------------------


def test_review_round_trip(workspace, tmp_path):
    # 王伟 is a common name here (three mobiles), so name + company only asks a person
    add_file(workspace, tmp_path, "a.csv", [
        ("王伟", "13500000001", None, "格力电器"),
        ("王伟", None, "wangwei@gree.com", "格力"),
        ("王伟", "13500000002", None, "海尔"),
        ("王伟", "13500000003", None, "美的"),
    ])
    summary = merge(workspace)
    assert summary.review_open == 1
    assert groups(workspace) == [[1], [2], [3], [4]]
    path = tmp_path / "review.xlsx"
    assert ops.review_out(workspace, path) == 1
    book = load_workbook(path)
    sheet = book["review"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["record_a", "record_b", "rule", "score", "reason"]
    assert [sheet.cell(2, header.index(h) + 1).value for h in ("record_a", "record_b", "a_name", "b_email")] == [1, 2, "王伟", "wangwei@gree.com"]
    sheet.cell(2, header.index("decision") + 1).value = "link"
    book.save(path)
    links, separates, after = ops.review_apply(workspace, path)
    assert (links, separates, after.review_open) == (1, 0, 0)
    assert groups(workspace) == [[1, 2], [3], [4]]
    merge(workspace)
    assert groups(workspace) == [[1, 2], [3], [4]]
    assert workspace.fetchall("t", "r", "SELECT status FROM identity_review") == [("linked",)]


def test_review_out_writes_at_most_limit_pairs_oldest_first(workspace, tmp_path):
    # two common-name pairs (王伟 at 格力, 李娜 at 海尔), each name on three mobiles
    add_file(workspace, tmp_path, "a.csv", [
        ("王伟", "13500000001", None, "格力电器"), ("王伟", None, "wangwei@gree.com", "格力"),
        ("王伟", "13500000002", None, "海尔"), ("王伟", "13500000003", None, "美的"),
        ("李娜", "13600000001", None, "海尔集团"), ("李娜", None, "lina@haier.com", "海尔"),
        ("李娜", "13600000002", None, "格力"), ("李娜", "13600000003", None, "美的"),
    ])
    assert merge(workspace).review_open == 2
    path = tmp_path / "review.xlsx"
    assert ops.review_out(workspace, path, limit=1) == 1
    sheet = load_workbook(path)["review"]
    assert [[c.value for c in row][:2] for row in sheet.iter_rows(min_row=2)] == [[1, 2]]
    assert open_reviews(workspace) == 2


def test_review_apply_rejects_unknown_decisions(workspace, tmp_path):
    from mactl.errors import InputFileError
    from mactl.exporting import write_xlsx

    path = tmp_path / "review.xlsx"
    write_xlsx(path, [("review", ["record_a", "record_b", "decision"], [(1, 2, "maybe")])])
    with pytest.raises(InputFileError, match=r"row 2: decision 'maybe' \(use link or separate\)"):
        ops.review_apply(workspace, path)


# -- explain and exports -----------------------------------------------------------


def test_explain_lists_records_with_lineage_and_links(workspace, tmp_path):
    add_file(workspace, tmp_path, "form.csv", [("张伟", "13800000001", "zw@x.com", None), ("張偉", "13800000001", None, None)])
    merge(workspace)
    info = ops.explain(workspace, "P000001")
    assert [(r["source_file"], r["source_sheet"], r["source_row"]) for r in info["records"]] == [("form.csv", "", 2), ("form.csv", "", 3)]
    assert info["links"] == [{"record_id": 2, "other_record_id": 1, "rule": "exact_phone", "strength": "strong",
                              "score": None, "detail": "+8613800000001"}]


def test_exports(workspace, tmp_path):
    add_file(workspace, tmp_path, "form.csv", [("张伟", "13800000001", None, "=HYPERLINK(1)"), ("李娜", "13900000001", None, None)])
    merge(workspace)
    ids = tmp_path / "identities.csv"
    assert ops.export_identities(workspace, ids) == 2
    assert ids.read_text(encoding="utf-8-sig").splitlines() == [
        "source_file,source_sheet,source_row,person_id", "form.csv,,2,P000001", "form.csv,,3,P000002"]
    people = tmp_path / "people.xlsx"
    assert ops.export_people(workspace, people) == 2
    sheet = load_workbook(people).active
    assert [c.value for c in sheet[1]][:5] == ["person_id", "name", "email", "phone", "company"]
    assert [c.value for c in sheet[2]][:5] == ["P000001", "张伟", None, "+8613800000001", "'=HYPERLINK(1)"]


# -- accuracy on the sample data ------------------------------------------------------


def test_accuracy_on_sample_data(workspace):
    from conftest import REPO, SAMPLE_DATA

    from benchmarks.accuracy import pairwise_scores

    import_paths(workspace, [SAMPLE_DATA])
    merge(workspace)
    scores = pairwise_scores(workspace, REPO / "tests" / "data" / "sample_truth.csv")
    assert scores["overall"] == {"true_pairs": 2167, "predicted_pairs": 2055, "true_positive": 2055,
                                 "precision": 1.0, "recall": 0.9483, "f1": 0.9735}
    assert all(case["precision"] == 1.0 for case in scores["cases"].values())


# -- incremental -----------------------------------------------------------------------


def test_merge_is_incremental_and_agrees_with_a_full_merge(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("张伟", "13800000001", "zw@x.com", None),
        ("李娜", "13800000002", None, None),
        ("王芳", "13800000003", None, None),
    ])
    first = merge(workspace)
    assert (first.scope, first.records_in_scope) == ("full", 3)
    nothing = merge(workspace)
    assert (nothing.scope, nothing.records_in_scope, nothing.records_moved) == ("incremental", 0, 0)
    untouched = workspace.fetchall("t", "u", "SELECT person_id, updated_at FROM person WHERE person_id <> 'P000001' ORDER BY 1")
    add_file(workspace, tmp_path, "b.csv", [(None, None, "zw@x.com", None), ("赵六", "13800000004", None, None)])
    step = merge(workspace)
    # the new records, plus the one person a new record shares an email with
    assert (step.scope, step.records_in_scope, step.new_people) == ("incremental", 3, 1)
    assert people_of(workspace) == {"P000001": [1, 4], "P000002": [2], "P000003": [3], "P000004": [5]}
    assert workspace.fetchall("t", "u", "SELECT person_id, updated_at FROM person WHERE person_id IN ('P000002', 'P000003') ORDER BY 1") == untouched
    incremental = people_of(workspace)
    merge(workspace, full=True)
    assert people_of(workspace) == incremental


def test_a_record_sent_again_does_not_pull_namesakes_into_the_scope(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("张伟", "13900000001", "zw@huawei.com", "华为技术有限公司"),
        ("张伟", "13900000002", "zhangwei@huawei.com", "华为技术有限公司"),  # a namesake: another mobile
    ])
    merge(workspace)
    assert people_of(workspace) == {"P000001": [1], "P000002": [2]}
    add_file(workspace, tmp_path, "b.csv", [("张伟", "13900000001", "zw@huawei.com", "华为技术有限公司")])
    again = merge(workspace)
    # the new record and its person; the namesake was weighed against that name and company last time
    assert (again.scope, again.records_in_scope) == ("incremental", 2)
    assert people_of(workspace) == {"P000001": [1, 3], "P000002": [2]}
    add_file(workspace, tmp_path, "c.csv", [("张伟", "13700000003", "zw3@x.com", "华为技术有限公司")])
    other = merge(workspace)
    assert other.records_in_scope == 4  # a record no one has: everyone with its name and company is weighed again
    incremental = people_of(workspace)
    assert merge(workspace, full=True).records_moved == 0
    assert people_of(workspace) == incremental


def test_an_incremental_merge_counts_common_names_over_every_record(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [
        ("王伟", "13800000001", None, "美的集团"),
        ("王伟", "13800000002", None, "海尔智家"),
        ("王伟", "13800000003", None, "格力电器"),  # three mobiles: 王伟 is a common name
    ])
    merge(workspace)
    add_file(workspace, tmp_path, "b.csv", [("王伟", None, "ww@midea.com", "美的集团")])
    step = merge(workspace)
    # the scope holds one 王伟 with a mobile; counted there, the name would look rare and the pair be linked
    assert (step.records_in_scope, step.review_added, step.merged_people) == (2, 1, 0)
    assert people_of(workspace) == {"P000001": [1], "P000002": [2], "P000003": [3], "P000004": [4]}
    assert workspace.fetchall("t", "r", "SELECT record_id, other_record_id, rule, status FROM identity_review") == [
        (1, 4, "name_company", "open")]
    merge(workspace, full=True)
    assert people_of(workspace) == {"P000001": [1], "P000002": [2], "P000003": [3], "P000004": [4]}


def test_replaced_file_removes_its_records_from_people(workspace, tmp_path):
    add_file(workspace, tmp_path, "a.csv", [("张伟", "13800000001", None, None)])
    path = tmp_path / "b.csv"
    add_file(workspace, tmp_path, "b.csv", [("张伟", "13800000001", "zw@x.com", None), ("李娜", "13800000002", None, None)])
    merge(workspace)
    assert people_of(workspace) == {"P000001": [1, 2], "P000002": [3]}
    path.write_text("姓名,手机\n张伟,13800000001\n", encoding="utf-8")  # the corrected export
    import_paths(workspace, [path], replace=False)
    workspace.sql("t", "drop old", "DELETE FROM source_record WHERE batch_id = 2")  # as --replace of the old content does
    merge(workspace)
    assert people_of(workspace) == {"P000001": [1, 4]}
    assert workspace.fetchall("t", "p", "SELECT person_id, record_count FROM person ORDER BY 1") == [("P000001", 2)]
    assert workspace.fetchall("t", "n", "SELECT record_id FROM record_norm ORDER BY 1") == [(1,), (4,)]
    # records removed and none added: the removal alone is found
    workspace.sql("t", "drop", "DELETE FROM source_record WHERE record_id = 4")
    summary = merge(workspace)
    assert (summary.scope, summary.records_in_scope, summary.normalised) == ("incremental", 1, 0)
    assert people_of(workspace) == {"P000001": [1]}
    assert workspace.fetchall("t", "n", "SELECT record_id FROM record_norm ORDER BY 1") == [(1,)]
