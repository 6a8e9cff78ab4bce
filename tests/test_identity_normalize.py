import pytest

from mactl.identity.normalize import (
    CompanyNorm,
    EmailNorm,
    NameNorm,
    PhoneNorm,
    normalize_company,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_records,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        (" Zhang.San@Example.COM ", EmailNorm("zhang.san@example.com", True, "example.com", False, False)),
        ("INFO@huawei.com", EmailNorm("info@huawei.com", True, "huawei.com", True, False)),
        ("sales@x.cn", EmailNorm("sales@x.cn", True, "x.cn", True, False)),
        ("wang@qq.com", EmailNorm("wang@qq.com", True, "qq.com", False, True)),
        ("zhang.at.qq.com", EmailNorm(None, False, None, None, None)),
        ("", EmailNorm(None, None, None, None, None)),
        (None, EmailNorm(None, None, None, None, None)),
    ],
)
def test_normalize_email(text, expected):
    assert normalize_email(text) == expected


MOBILE = PhoneNorm("+8613812345678", True, "mobile", None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+86 138-1234-5678", MOBILE),
        ("86 13812345678", MOBILE),
        ("(+86)13812345678", MOBILE),
        ("138 1234 5678", MOBILE),
        ("13812345678.0", MOBILE),
        ("1.3812345678E+10", MOBILE),
        ("０１３８１２３４５６７８"[1:], MOBILE),  # full-width digits
        ("010-62345678", PhoneNorm(None, True, "landline", "+861062345678")),
        ("021 5432 1098", PhoneNorm(None, True, "landline", "+862154321098")),
        ("+1 650 253 0000", PhoneNorm("+16502530000", True, "other", None)),
        ("12345", PhoneNorm(None, False, None, None)),
        ("call me", PhoneNorm(None, False, None, None)),
    ],
)
def test_normalize_phone(text, expected):
    assert normalize_phone(text) == expected


def test_phone_region_is_configurable():
    assert normalize_phone("07911 123456", region="GB") == PhoneNorm("+447911123456", True, "mobile", None)


@pytest.mark.parametrize(
    "text, name, surname, given, surname_only, honorific, gender, pinyin",
    [
        ("张先生", "张", "张", None, True, "先生", "m", "zhang"),
        ("李女士", "李", "李", None, True, "女士", "f", "li"),
        ("王总", "王", "王", None, True, "总", None, "wang"),
        ("刘经理", "刘", "刘", None, True, "经理", None, "liu"),
        ("陈老师", "陈", "陈", None, True, "老师", None, "chen"),
        ("张伟先生", "张伟", "张", "伟", False, "先生", "m", "wei zhang"),
        ("張偉", "张伟", "张", "伟", False, None, None, "wei zhang"),
        ("张 伟", "张伟", "张", "伟", False, None, None, "wei zhang"),
        ("欧阳娜娜", "欧阳娜娜", "欧阳", "娜娜", False, None, None, "nana ouyang"),
        ("Wei Zhang", "wei zhang", "zhang", "wei", False, None, None, "wei zhang"),
        ("ZHANG, Wei", "wei zhang", "zhang", "wei", False, None, None, "wei zhang"),
        ("ZHANG wei", "wei zhang", "zhang", "wei", False, None, None, "wei zhang"),
        ("Zhang Xiaoming", "xiaoming zhang", "zhang", "xiaoming", False, None, None, "xiaoming zhang"),
        ("Smith, John", "john smith", "smith", "john", False, None, None, "john smith"),
        ("J. Smith", "j smith", "smith", "j", False, None, None, "j smith"),
        ("Mr. Zhang", "zhang", "zhang", None, True, "mr", "m", "zhang"),
    ],
)
def test_normalize_name(text, name, surname, given, surname_only, honorific, gender, pinyin):
    result = normalize_name(text)
    assert (result.name, result.surname, result.given_name, result.surname_only, result.honorific,
            result.gender_hint, result.name_pinyin) == (name, surname, given, surname_only, honorific, gender, pinyin)


def test_zhang_wei_in_either_order_meets_the_chinese_name():
    assert normalize_name("Zhang Wei").name_pinyin == normalize_name("张伟").name_pinyin == "wei zhang"


@pytest.mark.parametrize("text", ["-", "无", "test", "  ", None])
def test_non_names(text):
    assert normalize_name(text) == NameNorm(None, None, None, None, None, None, None, None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("华为技术有限公司", CompanyNorm("华为技术", "华为", "huawei", None)),
        ("华为", CompanyNorm("华为", "华为", "huawei", None)),
        ("上海某某科技有限公司", CompanyNorm("某某科技", "某某", "moumou", "上海")),
        ("某某科技(上海)有限公司", CompanyNorm("某某科技", "某某", "moumou", "上海")),
        ("某某科技（上海）有限公司", CompanyNorm("某某科技", "某某", "moumou", "上海")),
        ("深圳市大族激光科技股份有限公司", CompanyNorm("大族激光科技", "大族激光", "dazujiguang", "深圳")),
        ("美的集团股份有限公司", CompanyNorm("美的", "美的", "meide", None)),
        ("Huawei Technologies Co., Ltd.", CompanyNorm("huawei technologies", "huawei", "huawei", None)),
        ("Siemens AG", CompanyNorm("siemens", "siemens", "siemens", None)),
        ("ACME Inc.", CompanyNorm("acme", "acme", "acme", None)),
        ("Foo GmbH", CompanyNorm("foo", "foo", "foo", None)),
        ("Bar LLC", CompanyNorm("bar", "bar", "bar", None)),
        ("華為技術有限公司", CompanyNorm("华为技术", "华为", "huawei", None)),
    ],
)
def test_normalize_company(text, expected):
    assert normalize_company(text) == expected


def _insert_records(ws, rows):
    for record_id, name, phone, email, company in rows:
        ws.sql("t", "insert", """INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row,
            file_sha256, channel, name, phone, email, company, imported_at)
            VALUES (?, 1, 'f.csv', '', ?, 'x', 'list', ?, ?, ?, ?, now())""",
               [record_id, record_id + 1, name, phone, email, company])


def test_normalize_records_in_bulk_and_incrementally(workspace):
    _insert_records(workspace, [
        (1, "張偉", "+86 138-1234-5678", " Zhang.Wei@Huawei.COM ", "华为技术有限公司"),
        (2, "Zhang Wei", "13812345678", None, "Huawei Technologies Co., Ltd."),
        (3, "王先生", "010-62345678", "info@acme.com", "ACME Inc."),
        (4, "李娜", "+1 650 253 0000", "bad@", None),
    ])
    assert normalize_records(workspace) == 4
    rows = workspace.fetchall("t", "read", """SELECT record_id, email, email_valid, email_is_role, phone, phone_kind, landline,
        name, surname_only, name_pinyin, company_key, company_pinyin FROM record_norm ORDER BY record_id""")
    assert rows == [
        (1, "zhang.wei@huawei.com", True, False, "+8613812345678", "mobile", None, "张伟", False, "wei zhang", "华为", "huawei"),
        (2, None, None, None, "+8613812345678", "mobile", None, "wei zhang", False, "wei zhang", "huawei", "huawei"),
        (3, "info@acme.com", True, True, None, "landline", "+861062345678", "王", True, "wang", "acme", "acme"),
        (4, None, False, None, "+16502530000", "other", None, "李娜", False, "li na", None, None),
    ]
    assert normalize_records(workspace) == 0
    workspace.sql("t", "delete", "DELETE FROM source_record WHERE record_id = 4")
    _insert_records(workspace, [(5, "陈老师", "13911112222", None, None)])
    assert normalize_records(workspace) == 1
    assert [r[0] for r in workspace.fetchall("t", "read", "SELECT record_id FROM record_norm ORDER BY 1")] == [1, 2, 3, 5]


@pytest.mark.parametrize(
    "text, surname, given",
    [
        ("Zhang Wei", "zhang", "wei"),  # leading pinyin surname
        ("Wei Zhang", "zhang", "wei"),  # both are surnames: the commoner one (zhang) wins
        ("Wang Fang", "wang", "fang"),
        ("Fang Wang", "wang", "fang"),
        ("Li Na", "li", "na"),
        ("John Smith", "smith", "john"),
        ("Mary Ann Johnson", "johnson", "mary ann"),
    ],
)
def test_latin_name_order(text, surname, given):
    result = normalize_name(text)
    assert (result.surname, result.given_name) == (surname, given)


@pytest.mark.parametrize(
    "left, right",
    [
        ("张三", "张 三"),
        ("張偉", "张伟"),
        ("Zhang Wei", "Wei Zhang"),
        ("ZHANG, Wei", "张伟"),
        ("欧阳 娜娜", "Ouyang Nana"),
    ],
)
def test_spellings_of_one_name_share_the_pinyin_key(left, right):
    assert normalize_name(left).name_pinyin == normalize_name(right).name_pinyin


@pytest.mark.parametrize(
    "left, right",
    [
        ("华为", "华为技术有限公司"),
        ("华为技术有限公司", "Huawei Technologies Co., Ltd."),
        ("上海某某科技有限公司", "某某科技（上海）有限公司"),
        ("美的集团", "美的集团股份有限公司"),
    ],
)
def test_forms_of_one_company_share_the_key(left, right):
    a, b = normalize_company(left), normalize_company(right)
    assert a.company_pinyin == b.company_pinyin


def test_common_names_and_generic_companies_are_not_emptied():
    assert normalize_name("王伟").name == "王伟"
    assert normalize_company("科技有限公司") == CompanyNorm("科技", "科技", "keji", None)


PHONE_FORMS = [
    "+86 138-1234-5678", "86 13812345678", "(+86)13812345678", "（+86）138 1234 5678", "0086 13812345678",
    "138 1234 5678", "13812345678.0", "1.3812345678E+10", "010-62345678", "021 5432 1098", "0755-26543210",
    "(0571)87654321", "+86 10 6234 5678", "010-62345678-8001", "+1 650 253 0000", "+44 7911 123456", "12345",
    "12812345678", "138123456789", "tel 13812345678", "400-810-8888",
]


def test_bulk_phones_agree_with_the_per_value_rules(workspace):
    """The SQL fast paths (mobiles, landlines) must give what normalize_phone gives."""
    _insert_records(workspace, [(i, None, raw, None, None) for i, raw in enumerate(PHONE_FORMS)])
    normalize_records(workspace)
    rows = workspace.fetchall("t", "read", "SELECT record_id, phone, phone_valid, phone_kind, landline FROM record_norm")
    got = {PHONE_FORMS[r[0]]: PhoneNorm(*r[1:]) for r in rows}
    assert got == {raw: normalize_phone(raw) for raw in PHONE_FORMS}


EMAIL_FORMS = [" Zhang.San@Example.COM ", "INFO@huawei.com", "li@QQ.com", "bad@", "a b@x.com", "", "noreply@x.cn"]


def test_bulk_emails_agree_with_the_per_value_rules(workspace):
    _insert_records(workspace, [(i, None, None, raw, None) for i, raw in enumerate(EMAIL_FORMS)])
    normalize_records(workspace)
    rows = workspace.fetchall("t", "read", """SELECT record_id, email, email_valid, email_domain, email_is_role,
        email_is_freemail FROM record_norm""")
    got = {EMAIL_FORMS[r[0]]: EmailNorm(*r[1:]) for r in rows}
    assert got == {raw: normalize_email(raw) for raw in EMAIL_FORMS}


def test_landline_column_and_switchboard_in_phone_column(workspace):
    workspace.sql("t", "insert", """INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row,
        file_sha256, channel, name, phone, landline, crm_id, wechat_unionid, imported_at)
        VALUES (1, 1, 'f.csv', '', 2, 'x', 'crm', '李女士', '13912345678', '021-54321098', '123456789012345678.0', ' oU1 ', now()),
               (2, 1, 'f.csv', '', 3, 'x', 'crm', '李女士', '021-54321098', NULL, NULL, '', now())""")
    normalize_records(workspace)
    rows = workspace.fetchall("t", "read", """SELECT record_id, phone, phone_valid, phone_kind, landline, crm_id,
        wechat_unionid, surname, gender_hint FROM record_norm ORDER BY 1""")
    assert rows == [
        (1, "+8613912345678", True, "mobile", "+862154321098", "123456789012345678", "oU1", "李", "f"),
        (2, None, True, "landline", "+862154321098", None, None, "李", "f"),
    ]
