"""Normalising contact fields so that records of one person can meet.

Per-value functions (``normalize_name`` …) hold the rules and are tested case by
case. :func:`normalize_records` applies them in bulk: emails and mainland
mobiles in SQL, and the rest (names, companies, other phones) over DISTINCT
values only, through OpenCC, pypinyin and phonenumbers, joined back in SQL.
"""

from __future__ import annotations

import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import cache, lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING

from mactl.progress import Progress, report
from mactl.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

STAGE = "identity"

ROLE_LOCAL_PARTS = (
    "info", "sales", "hr", "marketing", "market", "admin", "service", "services", "support", "contact", "office",
    "noreply", "no-reply", "bd", "pr", "media", "hello", "team", "job", "jobs", "career", "careers", "webmaster",
    "postmaster", "enquiry", "enquiries", "inquiry", "business", "purchase", "procurement", "finance", "kefu", "cs",
)
FREEMAIL_DOMAINS = (
    "qq.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com", "foxmail.com", "139.com",
    "aliyun.com", "21cn.com", "tom.com", "vip.qq.com", "vip.163.com", "gmail.com", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "yahoo.com", "icloud.com", "me.com", "proton.me", "protonmail.com",
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "夏侯", "轩辕", "令狐", "宇文",
    "司徒", "南宫", "西门", "独孤", "端木", "申屠",
)
# honorifics after a surname: (text, gender hint)
HONORIFICS = (
    ("先生", "m"), ("女士", "f"), ("小姐", "f"), ("太太", "f"), ("总经理", None), ("经理", None), ("总监", None),
    ("老师", None), ("总", None), ("博士", None), ("教授", None), ("主任", None), ("工", None), ("老板", None),
)
LATIN_HONORIFICS = {"mr": "m", "mister": "m", "ms": "f", "mrs": "f", "miss": "f", "dr": None, "prof": None}
NON_NAMES = {"", "-", "--", "无", "暂无", "未知", "匿名", "test", "测试", "na", "n/a", "null", "none", "x", "xx", "xxx", "."}
PROVINCES_AND_CITIES = (
    "北京", "上海", "天津", "重庆", "深圳", "广州", "苏州", "杭州", "南京", "成都", "武汉", "西安", "宁波", "青岛", "厦门",
    "无锡", "佛山", "东莞", "合肥", "郑州", "长沙", "济南", "沈阳", "大连", "福州", "昆明", "珠海", "常州", "温州",
    "广东", "江苏", "浙江", "山东", "河南", "河北", "湖北", "湖南", "四川", "福建", "安徽", "辽宁", "陕西", "江西",
    "广西", "云南", "贵州", "山西", "吉林", "黑龙江", "内蒙古", "新疆", "甘肃", "海南", "宁夏", "青海", "西藏", "香港",
)
CJK_LEGAL_SUFFIXES = (
    "集团股份有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "分公司", "总公司", "公司", "集团", "厂",
)
LATIN_LEGAL_SUFFIXES = (
    "co., ltd.", "co.,ltd.", "co., ltd", "co.,ltd", "co ltd", "company limited", "pte. ltd.", "pte ltd", "pvt. ltd.",
    "limited", "ltd.", "ltd", "inc.", "inc", "incorporated", "corporation", "corp.", "corp", "company", "co.", "co",
    "gmbh", "ag", "llc", "l.l.c.", "plc", "s.a.", "sa", "s.r.l.", "bv", "b.v.", "oy", "ab", "kk", "k.k.",
)
GENERIC_CJK_WORDS = (
    "科技发展", "科技", "技术", "信息", "网络", "电子", "软件", "智能", "实业", "贸易", "控股", "机械", "化工", "新能源",
    "工业", "制造", "发展", "咨询", "服务", "国际", "中国", "医疗", "设备", "自动化", "系统", "数据", "材料", "能源",
    "电器", "电气", "汽车", "重工", "通信", "光电", "精密", "仪器",
)
GENERIC_LATIN_WORDS = (
    "technologies", "technology", "tech", "software", "systems", "system", "group", "holdings", "holding",
    "international", "industries", "industrial", "electronics", "solutions", "china", "global", "services",
)


@dataclass(frozen=True)
class EmailNorm:
    email: str | None
    email_valid: bool | None
    email_domain: str | None
    email_is_role: bool | None
    email_is_freemail: bool | None


@dataclass(frozen=True)
class PhoneNorm:
    phone: str | None
    phone_valid: bool | None
    phone_kind: str | None
    landline: str | None


@dataclass(frozen=True)
class NameNorm:
    name: str | None
    name_script: str | None
    surname: str | None
    given_name: str | None
    surname_only: bool | None
    honorific: str | None
    gender_hint: str | None
    name_pinyin: str | None


@dataclass(frozen=True)
class CompanyNorm:
    company: str | None
    company_key: str | None
    company_pinyin: str | None
    company_region: str | None


_EMAIL = re.compile(r"^[a-z0-9._%+\-']+@[a-z0-9.\-]+\.[a-z]{2,}$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def normalize_email(text: str | None) -> EmailNorm:
    if text is None or not str(text).strip():
        return EmailNorm(None, None, None, None, None)
    email = unicodedata.normalize("NFKC", str(text)).strip().lower().replace(" ", "")
    if not _EMAIL.match(email):
        return EmailNorm(None, False, None, None, None)
    local, domain = email.split("@", 1)
    return EmailNorm(email, True, domain, local in ROLE_LOCAL_PARTS, domain in FREEMAIL_DOMAINS)


def normalize_phone(text: str | None, region: str = "CN") -> PhoneNorm:
    """E.164; a landline (a switchboard is shared by colleagues) goes to ``landline``, never ``phone``."""
    if text is None or not str(text).strip():
        return PhoneNorm(None, None, None, None)
    import phonenumbers
    from phonenumbers import PhoneNumberType

    raw = _excel_number_text(unicodedata.normalize("NFKC", str(text)).strip())
    digits = re.sub(r"\D", "", raw)
    foreign = re.match(r"^[(（]?(\+|00)", raw) and not re.match(r"^[(（]?(\+|00)\s*86", raw)
    if not foreign and not _LATIN.search(raw) and re.fullmatch(r"(0086|86)?1[3-9]\d{9}", digits):
        return PhoneNorm("+86" + digits[-11:], True, "mobile", None)
    try:
        number = phonenumbers.parse(raw.replace("(+86)", "+86 ").replace("（+86）", "+86 "), region)
    except phonenumbers.NumberParseException:
        return PhoneNorm(None, False, None, None)
    if not phonenumbers.is_valid_number(number):
        return PhoneNorm(None, False, None, None)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.MOBILE:
        return PhoneNorm(e164, True, "mobile", None)
    if kind == PhoneNumberType.FIXED_LINE:
        return PhoneNorm(None, True, "landline", e164)
    return PhoneNorm(e164, True, "other", None)  # e.g. US numbers, which may be mobile or fixed


def _excel_number_text(raw: str) -> str:
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", raw):
        return str(int(float(raw)))
    if re.fullmatch(r"\d+\.0+", raw):
        return raw.split(".")[0]
    return raw


@lru_cache(maxsize=1)
def _opencc():
    import atexit

    import opencc

    atexit.register(_opencc.cache_clear)  # release before shutdown (nanobind reports leaks otherwise)
    return opencc.OpenCC("t2s")


_SIMPLIFIED: dict[str, str] = {}  # filled in bulk by _prime_simplified for one normalize_records call


def _simplified(text: str) -> str:
    if not _CJK.search(text):
        return text
    known = _SIMPLIFIED.get(text)
    return known if known is not None else _opencc().convert(text)


def _prime_simplified(values: list[str]) -> None:
    """Convert many strings in one OpenCC call (a call per value costs more than the conversion)."""
    cjk = [v for v in values if "\n" not in v and _CJK.search(v)]
    converted = _opencc().convert("\n".join(cjk)).split("\n") if cjk else []
    if len(converted) == len(cjk):
        _SIMPLIFIED.update(zip(cjk, converted))


@lru_cache(maxsize=200_000)  # surnames, given names and brand keys repeat a lot; per process only
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text)).lower().replace("ü", "v")


# the commonest Chinese surnames, most frequent first (the order settles "Wei Zhang": zhang is the likelier surname)
COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


@lru_cache(maxsize=1)
def _pinyin_surname_rank() -> dict[str, int]:
    """Pinyin of common surnames -> frequency rank (0 = commonest); homophones keep their best rank."""
    rank: dict[str, int] = {}
    for position, surname in enumerate((*COMMON_SURNAMES, *COMPOUND_SURNAMES)):
        rank.setdefault(_pinyin(surname), position)
    return rank


def normalize_name(text: str | None) -> NameNorm:
    return NameNorm(*_name_fields(text))


_NO_NAME = (None,) * 8


def _name_fields(text: str | None) -> tuple:
    """NameNorm's fields as a plain tuple: the bulk path builds millions and skips the dataclass."""
    if text is None:
        return _NO_NAME
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    if raw.lower() in NON_NAMES:
        return _NO_NAME
    if _CJK.search(raw) and not _LATIN.search(raw):
        return _cjk_name(_simplified(_cjk_name_text(raw)))
    return _latin_name(raw)


_CJK_LAYOUT = re.compile(r"[\s·•.]+")


def _cjk_name_text(raw: str) -> str:
    """张 伟 / 欧阳·娜娜 -> one run of characters (spaces and dots inside CJK names are layout, not content)."""
    return _CJK_LAYOUT.sub("", raw)


_HONORIFIC_END = re.compile("(?<=.)(" + "|".join(word for word, _ in HONORIFICS) + ")$")
_HONORIFIC_GENDER = dict(HONORIFICS)
_COMPOUND_START = re.compile("^(" + "|".join(COMPOUND_SURNAMES) + ")")


def _cjk_name(name: str) -> tuple:
    honorific, gender = None, None
    match = _HONORIFIC_END.search(name)
    if match:
        honorific = match.group(1)
        gender = _HONORIFIC_GENDER[honorific]
        name = name[: match.start()]
    compound = _COMPOUND_START.match(name)
    surname = compound.group(1) if compound else name[:1]
    given = name[len(surname):] or None
    # the two pinyin tokens in sorted order, an empty one left out
    first, second = _pinyin(surname), _pinyin(given) if given else ""
    if first > second:
        first, second = second, first
    key = f"{first} {second}" if first else second
    # NameNorm's field order
    return name, "cjk", surname, given, given is None, honorific, gender, key


_LATIN_HONORIFIC = re.compile(r"^(mr|mrs|ms|miss|mister|dr|prof)\.?\s+")
_NAME_SEPARATORS = re.compile(r"[^\w\-']+")


def _latin_name(raw: str) -> tuple:
    text = raw.lower()
    honorific, gender = None, None
    match = _LATIN_HONORIFIC.match(text)
    if match:
        honorific, gender = match.group(1), LATIN_HONORIFICS[match.group(1)]
        text = text[match.end():]
    script = "mixed" if _CJK.search(text) else "latin"
    if "," in text:  # "Last, First" is certain about the surname
        last, _, first = text.partition(",")
        surname = _NAME_SEPARATORS.sub(" ", last).strip()
        given = _NAME_SEPARATORS.sub(" ", first).strip() or None
    else:
        tokens = [t for t in _NAME_SEPARATORS.split(text) if t]
        if not tokens:
            return _NO_NAME
        if len(tokens) == 1:
            surname, given = tokens[0], None
        elif len(tokens) == 2 and _is_chinese_order(raw, tokens):
            surname, given = tokens[0], tokens[1]
        else:
            surname, given = tokens[-1], " ".join(tokens[:-1])
    name = f"{given} {surname}" if given else surname
    key_tokens = sorted(t for t in name.replace("-", "").split() if t)
    # NameNorm's field order
    return name, script, surname, given, given is None and honorific is not None, honorific, gender, " ".join(key_tokens)


def _is_chinese_order(raw: str, tokens: list[str]) -> bool:
    """'Zhang Wei' (surname first) vs 'Wei Zhang' / 'John Smith'.

    Surname first when the first token is written in capitals (ZHANG Wei), or is a known pinyin
    surname and the second is not one, or is the more common surname of the two (Zhang Wei, Wei Zhang).
    """
    first_raw = raw.strip().split()[0].rstrip(".,") if raw.strip() else ""
    if len(first_raw) > 1 and first_raw.isalpha() and first_raw.isupper():
        return True
    rank = _pinyin_surname_rank()
    first, second = rank.get(tokens[0]), rank.get(tokens[1])
    if first is None:
        return False
    return second is None or first <= second


# built once: normalize_company runs per distinct company
_REGION_NAMES = frozenset(PROVINCES_AND_CITIES + tuple(p + "市" for p in PROVINCES_AND_CITIES))
_PLACES_LONGEST_FIRST = tuple(sorted(PROVINCES_AND_CITIES, key=len, reverse=True))


@cache
def _longest_first(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(words, key=len, reverse=True))


def normalize_company(text: str | None) -> CompanyNorm:
    if text is None or not str(text).strip():
        return CompanyNorm(None, None, None, None)
    name = _simplified(_company_text(text))
    if name in NON_NAMES:
        return CompanyNorm(None, None, None, None)
    region = None
    bracket = re.search(r"[(（]([^()（）]+)[)）]", name)
    if bracket and bracket.group(1).strip() in _REGION_NAMES:
        region = bracket.group(1).strip().rstrip("市")
        name = (name[: bracket.start()] + name[bracket.end():]).strip()
    if _CJK.search(name):
        name = re.sub(r"\s+", "", name)
        name = _strip_suffixes(name, CJK_LEGAL_SUFFIXES)
        for place in _PLACES_LONGEST_FIRST:
            for prefix in (place + "市", place + "省", place):
                if name.startswith(prefix) and len(name) - len(prefix) >= 2:
                    region = region or place
                    name = name[len(prefix):]
                    break
            else:
                continue
            break
        key = _strip_generic(name, GENERIC_CJK_WORDS, min_left=2)
        return CompanyNorm(name, key, _pinyin(key), region)
    name = re.sub(r"\s+", " ", name.replace("&", " and ")).strip(" ,.")
    name = _strip_suffixes(name, LATIN_LEGAL_SUFFIXES, separator=True)
    name = re.sub(r"[^\w\s\-]", " ", name)
    name = re.sub(r"\s+", " ", name).strip()
    words = name.split()
    while len(words) > 1 and words[-1] in GENERIC_LATIN_WORDS:
        words.pop()
    key = " ".join(words)
    return CompanyNorm(name or None, key or None, key.replace(" ", "") or None, region)


def _company_text(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().lower()


def _strip_suffixes(name: str, suffixes: tuple[str, ...], separator: bool = False) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in _longest_first(suffixes):
            if name.endswith(suffix) and len(name) > len(suffix):
                head = name[: -len(suffix)]
                if separator and head and head[-1] not in " ,.":
                    continue
                name = head.rstrip(" ,.")
                changed = True
                break
    return name


def _strip_generic(name: str, words: tuple[str, ...], min_left: int) -> str:
    changed = True
    while changed:
        changed = False
        for word in words:
            if name.endswith(word) and len(name) - len(word) >= min_left:
                name = name[: -len(word)]
                changed = True
                break
    return name


# -- bulk -----------------------------------------------------------------------

_NORM_COLUMNS = (
    "record_id", "email", "email_valid", "email_domain", "email_is_role", "email_is_freemail", "phone", "phone_valid",
    "phone_kind", "landline", "name", "name_script", "surname", "given_name", "surname_only", "honorific",
    "gender_hint", "name_pinyin", "company", "company_key", "company_pinyin", "company_region", "wechat_unionid",
    "wechat_openid", "crm_id",
)


def _email_sql() -> str:
    return """
        lower(replace(trim(s.email), ' ', '')) AS e,
        CASE WHEN NULLIF(trim(s.email), '') IS NULL THEN NULL
             ELSE regexp_full_match(lower(replace(trim(s.email), ' ', '')), '[a-z0-9._%+\\-'']+@[a-z0-9.\\-]+\\.[a-z]{2,}') END AS e_ok"""


def _excel_number_sql(column: str) -> str:
    """Undo Excel's number text in SQL, as _excel_number_text does: '13812345678.0', '1.3812345678E+10'."""
    return f"""CASE WHEN regexp_full_match(trim({column}), '[0-9](\\.[0-9]+)?[eE][+]?[0-9]+')
                     THEN CAST(CAST(CAST(trim({column}) AS DOUBLE) AS HUGEINT) AS VARCHAR)
                     ELSE regexp_replace(trim({column}), '^([0-9]+)\\.0+$', '\\1') END"""


def _mobile_sql(column: str) -> str:
    """Mainland mobiles in SQL (the bulk of the data): digits, optional 86/0086, 1[3-9] + 9 digits."""
    digits = f"regexp_replace({_excel_number_sql(column)}, '[^0-9]', '', 'g')"
    return f"""CASE WHEN regexp_full_match({digits}, '(0086|86)?1[3-9][0-9]{{9}}')
                     AND NOT regexp_matches({column}, '[A-Za-z]')
                     AND (NOT regexp_matches({column}, '^[ ]*[(（]?([+]|00)') OR regexp_matches({column}, '^[ ]*[(（]?([+]|00)[ ]*86'))
                THEN '+86' || right({digits}, 11) END"""


def _landline_sql(column: str) -> str:
    """Mainland landlines in SQL: 0 + area code (010, 02x: 8 digits follow; 0xxx: 7 or 8), no '+', no letters.

    Anything else (extensions, foreign numbers, '+86 10 …') is left to phonenumbers.
    """
    digits = f"regexp_replace({_excel_number_sql(column)}, '[^0-9]', '', 'g')"
    return f"""CASE WHEN NOT regexp_matches({column}, '[A-Za-z+]')
                     AND regexp_full_match({digits}, '0(10|2[0-9])[2-9][0-9]{{7}}|0[3-9][0-9]{{2}}[2-9][0-9]{{6,7}}')
                THEN '+86' || substr({digits}, 2) END"""


def _phone_fast_sql() -> str:
    """Mainland mobiles and landlines of the new records, in SQL (the bulk of the data)."""
    return f"""
        CREATE OR REPLACE TEMP TABLE _norm_phone_fast AS
        SELECT raw, {_mobile_sql('raw')} AS e164, {_landline_sql('raw')} AS fixed
        FROM (SELECT DISTINCT phone AS raw FROM _norm_new WHERE phone IS NOT NULL
              UNION SELECT DISTINCT landline FROM _norm_new WHERE landline IS NOT NULL)"""


def normalize_records(ws: Workspace, *, region: str = "CN", progress: Progress | None = None) -> int:
    """Fill record_norm for source records that have no row yet; returns how many were normalised."""
    ws.sql(STAGE, "pick new records", """
        CREATE OR REPLACE TEMP TABLE _norm_new AS
        SELECT s.record_id, s.name, s.phone, s.landline, s.company,
               NULLIF(trim(s.wechat_unionid), '') AS wechat_unionid, NULLIF(trim(s.wechat_openid), '') AS wechat_openid,
               NULLIF(regexp_replace(trim(s.crm_id), '\\.0+$', ''), '') AS crm_id, """ + _email_sql() + """
        FROM source_record s ANTI JOIN record_norm n ON n.record_id = s.record_id""")
    count = int(ws.scalar(STAGE, "count new records", "SELECT count(*) FROM _norm_new"))
    # rows of records gone since (import --replace): counted, not looked for, when there are none
    if ws.scalar(STAGE, "count removed records", "SELECT count(*) FROM record_norm") + count > ws.scalar(
            STAGE, "count records", "SELECT count(*) FROM source_record"):
        ws.sql(STAGE, "forget removed records",
               "DELETE FROM record_norm WHERE record_id NOT IN (SELECT record_id FROM source_record)")
    if count == 0:
        ws.sql(STAGE, "drop temp", "DROP TABLE _norm_new")
        return 0
    report(progress, "normalising", 0, 4)
    names = _column(ws, "distinct names", "SELECT DISTINCT name FROM _norm_new WHERE name IS NOT NULL")
    companies = _column(ws, "distinct companies", "SELECT DISTINCT company FROM _norm_new WHERE company IS NOT NULL")
    # DuckDB sorts out the phones while Python works through names and companies (a query releases the
    # GIL); the connection stays with one thread at a time: this one touches it again only after result()
    with ThreadPoolExecutor(max_workers=1) as background:
        fast_phones = background.submit(ws.sql, STAGE, "mobiles and landlines", _phone_fast_sql())
        _prime_simplified([_cjk_name_text(unicodedata.normalize("NFKC", v).strip()) for v in names])
        name_frame = _frame(names, _name_fields, NameNorm)
        report(progress, "normalising", 1, 4)
        _prime_simplified([_company_text(v) for v in companies])
        company_frame = _frame(companies, _as_fields(normalize_company, CompanyNorm), CompanyNorm)
        _SIMPLIFIED.clear()
        report(progress, "normalising", 2, 4)
        fast_phones.result()
    # the phones SQL could not read (foreign, extensions, odd forms) through phonenumbers
    slow = _column(ws, "other phones", "SELECT raw FROM _norm_phone_fast WHERE e164 IS NULL AND fixed IS NULL")
    phones = _frame(slow, _as_fields(lambda raw: normalize_phone(raw, region), PhoneNorm), PhoneNorm)
    report(progress, "normalising", 3, 4)
    _load_frame(ws, "_norm_phones", phones)
    ws.sql(STAGE, "phone lookup", phone_lookup_sql())
    _load_frame(ws, "_norm_names", name_frame)
    _load_frame(ws, "_norm_companies", company_frame)
    ws.sql(STAGE, "write record_norm", insert_norm_sql(), [list(ROLE_LOCAL_PARTS), list(FREEMAIL_DOMAINS)])
    ws.drop_temp(STAGE, "_norm_")
    report(progress, "normalising", 4, 4)
    return count


def _column(ws: Workspace, step: str, sql: str) -> list[str]:
    return [row[0] for row in ws.fetchall(STAGE, step, sql)]


def _frame(values: list[str], fields_of, result_type) -> pa.Table:
    """One row per distinct raw value: the raw text and the columns of its normalised form.

    ``fields_of`` returns the fields of ``result_type`` as a tuple, in order (no dataclass per value).
    An Arrow table: DuckDB scans it as it is (a pandas frame of Python strings is converted value by value)."""
    import pyarrow as pa

    names = ["raw", *(f.name for f in fields(result_type))]
    rows = [(raw, *fields_of(raw)) for raw in values]
    columns = list(zip(*rows)) if rows else [()] * len(names)
    return pa.table({name: pa.array(column) for name, column in zip(names, columns)})


def _as_fields(normalise, result_type):
    """A per-value function returning ``result_type`` turned into one returning its fields as a tuple."""
    get = attrgetter(*(f.name for f in fields(result_type)))
    return lambda raw: get(normalise(raw))


_BOOLEAN_COLUMNS = {"phone_valid", "surname_only"}


def _load_frame(ws: Workspace, table: str, frame: pa.Table) -> None:
    """Per-value results into a temp table with explicit types (an empty frame has none to infer)."""
    casts = ", ".join(
        f"CAST({c} AS {'BOOLEAN' if c in _BOOLEAN_COLUMNS else 'VARCHAR'}) AS {c}" for c in frame.column_names
    )
    ws.load_frame(STAGE, table, frame, select=casts)


def phone_lookup_sql() -> str:
    """One row per distinct raw phone text: the SQL result where SQL knew the form, phonenumbers' otherwise.

    ``landline`` is the landline found in a phone column, ``as_landline`` the value of a landline column;
    one lookup table (not the two halves) keeps the join of every record to two lookups."""
    return """
        CREATE OR REPLACE TEMP TABLE _norm_phone AS
        SELECT f.raw,
               COALESCE(f.e164, p.phone) AS phone,
               CASE WHEN f.e164 IS NOT NULL OR f.fixed IS NOT NULL THEN true ELSE COALESCE(p.phone_valid, false) END AS phone_valid,
               CASE WHEN f.e164 IS NOT NULL THEN 'mobile' WHEN f.fixed IS NOT NULL THEN 'landline' ELSE p.phone_kind END AS phone_kind,
               COALESCE(f.fixed, p.landline) AS landline,
               COALESCE(f.e164, f.fixed, p.landline, p.phone) AS as_landline
        FROM _norm_phone_fast f LEFT JOIN _norm_phones p ON p.raw = f.raw"""


def insert_norm_sql() -> str:
    """Join the per-value results back to the new records. Parameters: role local parts, free-mail domains."""
    return f"""
        INSERT INTO record_norm ({', '.join(_NORM_COLUMNS)})
        SELECT r.record_id,
               CASE WHEN r.e_ok THEN r.e END,
               r.e_ok,
               CASE WHEN r.e_ok THEN split_part(r.e, '@', 2) END,
               CASE WHEN r.e_ok THEN list_contains(?, split_part(r.e, '@', 1)) END,
               CASE WHEN r.e_ok THEN list_contains(?, split_part(r.e, '@', 2)) END,
               p.phone, p.phone_valid, p.phone_kind,
               COALESCE(l.as_landline, p.landline),
               n.name, n.name_script, n.surname, n.given_name, n.surname_only, n.honorific, n.gender_hint, n.name_pinyin,
               c.company, c.company_key, c.company_pinyin, c.company_region,
               r.wechat_unionid, r.wechat_openid, r.crm_id
        FROM _norm_new r
        LEFT JOIN _norm_phone p ON p.raw = r.phone
        LEFT JOIN _norm_phone l ON l.raw = r.landline
        LEFT JOIN _norm_names n ON n.raw = r.name
        LEFT JOIN _norm_companies c ON c.raw = r.company"""
