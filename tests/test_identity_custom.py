"""Recipe-defined match rules (identity.fields / identity.match_rules) for records without email."""

import datetime as dt

import pytest
from openpyxl import Workbook

from mactl.errors import RecipeError
from mactl.identity import load_identity_recipe, merge
from mactl.identity.custom import compose_full_name, normalize_birth_date, normalize_texts
from mactl.importing import import_paths

HEADER = ["姓", "名", "出生日期", "地址", "手机"]

# only 手机 is a recognised header, so the header row is named (one recipe serves import and merge)
RECIPE = """\
sources:
  - {name: members, match: "*.xlsx", header_row: 2, channel: list}
  - {name: store-register, match: "*.csv", header_row: 1, channel: list}
identity:
  fields:
    surname: 姓
    given_name: 名
    birth_date: [出生日期, 生日]
    address: 地址
  match_rules:
    - id: name_birth_address
      block_on: [full_name, birth_date]
      compare:
        - {field: address, method: ratio, min: 85}
"""


def members_workbook(path, rows):
    """A member list: title row, then 姓/名/出生日期/地址/手机, no email."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = "会员名单"
    sheet.append(["2026 会员名单（导出）"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(list(row))
    wb.save(path)
    return path


def members_csv(path, rows):
    """The same columns as a GB18030 CSV (Excel on Chinese Windows)."""
    lines = [",".join(HEADER)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return path


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "people.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    return path


def groups(ws):
    rows = ws.fetchall("t", "map", "SELECT list(record_id ORDER BY record_id) FROM person_record GROUP BY person_id ORDER BY 1")
    return [r[0] for r in rows]


def person_of(ws, record_id):
    return ws.scalar("t", "person", "SELECT person_id FROM person_record WHERE record_id = ?", [record_id])


# -- single values ----------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("1990-01-02", "1990-01-02"), ("1990/1/2", "1990-01-02"), ("1990年1月2日", "1990-01-02"),
    ("19900102", "1990-01-02"), ("32875", "1990-01-02"), ("32875.0", "1990-01-02"),
    ("1990-01-02 00:00:00", "1990-01-02"), ("1990.1.2", "1990-01-02"), ("１９９０年１月２日", "1990-01-02"),
    ("1990-13-01", None), ("1990年2月30日", None), ("不详", None), ("", None), (None, None),
])
def test_birth_dates_become_iso(text, expected):
    assert normalize_birth_date(text) == expected


def test_addresses_lose_script_spacing_and_punctuation():
    assert normalize_texts(["上海市 浦東新區 張江路８８號", "上海市浦东新区张江路88号", "Room 5, No.1 Rd.", "  "]) == [
        "上海市浦东新区张江路88号", "上海市浦东新区张江路88号", "room5no1rd", None,
    ]


def test_full_name_from_name_or_parts():
    assert compose_full_name(None, "張", "偉") == "张伟"
    assert compose_full_name("李 娜", "王", "芳") == "李娜"  # the name column wins
    assert compose_full_name(None, "Zhang", "Wei") == "wei zhang"
    assert compose_full_name(None, "张", None) is None
    assert compose_full_name("王先生", None, None) is None  # surname only: never a block key


# -- merging ------------------------------------------------------------------------------

# A landline in 手机 imports (the record has an identifier) but is no mobile, so it neither links
# nor conflicts: such records can only meet through the recipe's rule.
MEMBERS = [
    ("张", "伟", dt.datetime(1990, 1, 2), "上海市浦东新区张江路88号", "13800000001"),       # 1
    ("張", "偉", "1990年1月2日", "上海市 浦東新區 張江路 88號", "021-50801234"),              # 2 = 1 (written another way)
    ("张", "伟", "1985-06-30", "上海市浦东新区张江路88号", "021-50801234"),                  # 3 namesake, other birth date
    ("张", "伟", "19900102", "上海市浦东新区张江路88号", "13900000009"),                     # 4 all agree but another mobile
    ("李", "娜", 32875, "北京市朝阳区建国路1号", "010-65001234"),                             # 5 birth date as Excel serial
    ("李", "娜", "1990/1/2", "北京市 朝陽區 建國路 1 號", "13700000001"),                     # 6 = 5
    ("张", "伟", "1990-01-02", "广州市天河区体育西路100号", "020-38001234"),                  # 7 same birthday, other address
]


def test_one_person_written_two_ways_merges_namesakes_and_conflicting_mobiles_stay_apart(workspace, tmp_path, recipe):
    import_paths(workspace, [members_workbook(tmp_path / "members.xlsx", MEMBERS)], recipe_path=recipe)
    summary = merge(workspace, recipe_path=recipe)
    assert groups(workspace) == [[1, 2], [3], [4], [5, 6], [7]]
    assert (summary.records, summary.people) == (7, 5)
    assert summary.links_by_rule == {"name_birth_address": 2}
    links = workspace.fetchall("t", "links", """
        SELECT record_id, other_record_id, rule, strength, score, detail FROM identity_link ORDER BY record_id""")
    assert links == [
        (1, 2, "name_birth_address", "weak", 100.0,
         "same full_name '张伟', birth_date '1990-01-02'; address '上海市浦东新区张江路88号' ~ '上海市浦东新区张江路88号'"),
        (5, 6, "name_birth_address", "weak", 100.0,
         "same full_name '李娜', birth_date '1990-01-02'; address '北京市朝阳区建国路1号' ~ '北京市朝阳区建国路1号'"),
    ]


def test_a_cannot_link_decision_wins_over_the_rule(workspace, tmp_path, recipe):
    from mactl.identity import review as ops

    import_paths(workspace, [members_workbook(tmp_path / "members.xlsx", MEMBERS[:2])], recipe_path=recipe)
    merge(workspace, recipe_path=recipe)
    assert groups(workspace) == [[1, 2]]
    ops.add_override(workspace, "cannot_link", 1, 2, "two people")  # what `merge split` records
    merge(workspace, recipe_path=recipe)
    assert groups(workspace) == [[1], [2]]


def test_a_later_file_joins_the_existing_person_incrementally(workspace, tmp_path, recipe):
    import_paths(workspace, [members_workbook(tmp_path / "members.xlsx", [MEMBERS[0], MEMBERS[2], MEMBERS[4]])], recipe_path=recipe)
    merge(workspace, recipe_path=recipe)
    assert groups(workspace) == [[1], [2], [3]]
    person = person_of(workspace, 1)
    later = members_csv(tmp_path / "门店登记.csv", [("張", "偉", "1990.1.2", "上海 浦東新區張江路88號", "0755-26001234")])
    import_paths(workspace, [later], recipe_path=recipe)
    summary = merge(workspace, recipe_path=recipe)
    assert (summary.scope, summary.records_in_scope) == ("incremental", 2)  # the new record and person 1's record
    assert groups(workspace) == [[1, 4], [2], [3]]
    assert person_of(workspace, 4) == person
    assert summary.new_people == 0


def test_a_manual_link_re_merges_under_the_last_merges_rules(workspace, tmp_path, recipe):
    from mactl.identity import review as ops

    import_paths(workspace, [members_workbook(tmp_path / "members.xlsx", MEMBERS)], recipe_path=recipe)
    merge(workspace, recipe_path=recipe)
    summary = ops.link_people(workspace, person_of(workspace, 3), person_of(workspace, 4), "same member, checked")
    # the recipe's links survive the link's re-merge, which stays incremental
    assert groups(workspace) == [[1, 2], [3, 4], [5, 6], [7]]
    assert summary.scope == "incremental"
    assert summary.links_by_rule == {"manual_link": 1, "name_birth_address": 2}
    assert merge(workspace, recipe_path=recipe).scope == "incremental"


def test_without_a_recipe_nothing_changes(workspace, tmp_path, recipe):
    import_paths(workspace, [members_workbook(tmp_path / "members.xlsx", MEMBERS)], recipe_path=recipe)
    summary = merge(workspace)
    assert groups(workspace) == [[1], [2], [3], [4], [5], [6], [7]]
    assert summary.links_by_rule == {}
    recipe = load_identity_recipe(None)
    assert (recipe.fields, recipe.match_rules) == ({}, [])


def test_the_shipped_people_recipe_is_valid():
    from conftest import RECIPES

    from mactl.importing.sources import load_sources

    assert [r.header_row for r in load_sources(RECIPES / "identity_people.yaml")] == [2]
    recipe = load_identity_recipe(RECIPES / "identity_people.yaml")
    assert recipe.fields["birth_date"] == ["出生日期", "生日"]
    assert [(r.id, r.block_on) for r in recipe.match_rules] == [
        ("name_birth_address", ["full_name", "birth_date"]), ("name_address_birth_typo", ["full_name", "address"]),
    ]


# -- invalid recipes ----------------------------------------------------------------------------


def test_invalid_rules_are_reported_with_their_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "identity:\n"
        "  fields:\n"
        "    birth_date: 出生日期\n"
        "    full_name: 姓名\n"
        "  match_rules:\n"
        "    - id: by_birth\n"
        "      block_on: [full_name, birth_date, address]\n"
        "      compare:\n"
        "        - {field: birth_date, method: soundex, min: 90}\n"
        "        - {field: birth_date, method: ratio}\n",
        encoding="utf-8",
    )
    with pytest.raises(RecipeError) as info:
        load_identity_recipe(path)
    assert info.value.problems == [
        "line 3: identity.fields: Value error, 'full_name' is derived (from name, or surname + given_name); map 'name' instead",
        "line 9: identity.match_rules[0].compare[0].method: Input should be 'ratio', 'partial_ratio', 'token_sort_ratio', 'token_set_ratio' or 'jaro_winkler'",
        "line 10: identity.match_rules[0].compare[1].min: Field required",
    ]


def test_rule_with_an_undefined_field_exits_78_naming_file_and_line(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "identity:\n"
        "  fields: {birth_date: 出生日期}\n"
        "  match_rules:\n"
        "    - {id: by_birth, block_on: [full_name, birth_date, address]}\n"
        "    - {id: exact_phone, block_on: [birth_date]}\n",
        encoding="utf-8",
    )
    result = cli("merge", "--recipe", path)
    assert result.exit_code == 78
    assert str(path) in result.stderr
    assert ("line 4: identity.match_rules: Value error, match_rules[0] (by_birth): unknown field(s) address; "
            "define them under identity.fields (defined: birth_date, full_name); "
            "match_rules[1] (exact_phone): id 'exact_phone' is a built-in rule") in result.stderr.replace("\n", " ")


def test_pairs_pass_only_when_every_comparison_does():
    import typing

    from mactl.identity.custom import SCORERS, Comparison, MatchRule, _score

    assert set(typing.get_args(Comparison.model_fields["method"].annotation)) == set(SCORERS)
    rule = MatchRule(id="r", block_on=["full_name"], compare=[
        {"field": "address", "method": "ratio", "min": 85}, {"field": "city", "method": "jaro_winkler", "min": 90}])
    rows = [  # a, b, full_name, address x/y, city x/y
        (1, 2, "张伟", "张江路88号", "张江路88号", "shanghai", "shanghai"),
        (1, 3, "张伟", "张江路88号", "张江路88号", "shanghai", "beijing"),   # city fails
        (4, 5, "李娜", "建国路1号", "体育西路100号", "beijing", "beijing"),  # address fails
        (1, 2, "张伟", "张江路88号", "张江路8号", "shanghai", "shanghai"),    # a weaker record pair of 1-2
    ]
    pairs = _score(rule, rows)
    assert [(p.a, p.b, p.rule, p.score) for p in pairs] == [(1, 2, "r", 100.0)]
    assert pairs[0].detail == "same full_name '张伟'; address '张江路88号' ~ '张江路88号'; city 'shanghai' ~ 'shanghai'"
