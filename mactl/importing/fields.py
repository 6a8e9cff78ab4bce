"""Canonical fields and the header names real exports use for them.

A header cell is reduced to a key (NFKC, lower case, no spaces, brackets or
punctuation) and looked up here. Exact names come first; a few fields also
match on a keyword inside the header ("手机号码(必填)" → phone). Columns that
match nothing are kept as attributes of the record, never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# field -> header names (as people write them). Order inside a list does not matter.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "真实姓名", "联系人", "联系人姓名", "客户姓名", "name", "fullname", "contactname", "contact", "realname", "名字"),
    "nickname": ("昵称", "微信昵称", "用户昵称", "nickname", "nick", "displayname"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "email", "e-mail", "emailaddress", "mail", "workemail"),
    "phone": ("手机", "手机号", "手机号码", "移动电话", "联系电话", "电话", "联系方式", "mobile", "mobilephone", "phone", "phonenumber", "cellphone", "cell", "tel", "telephone"),
    "landline": ("座机", "固定电话", "办公电话", "公司电话", "总机", "officephone", "workphone", "landline", "switchboard"),
    "company": ("公司", "公司名称", "单位", "单位名称", "企业", "企业名称", "工作单位", "所在公司", "company", "companyname", "accountname", "account", "organization", "organisation"),
    "title": ("职位", "职务", "岗位", "头衔", "title", "jobtitle", "position"),
    "department": ("部门", "所在部门", "department", "dept"),
    "industry": ("行业", "所属行业", "industry"),
    "company_size": ("公司规模", "企业规模", "员工人数", "规模", "companysize", "employees", "numberofemployees", "size"),
    "province": ("省份", "省", "所在省份", "province", "state"),
    "city": ("城市", "所在城市", "市", "city"),
    "country": ("国家", "国家地区", "country", "countryregion"),
    "wechat_openid": ("openid", "微信openid", "wechatopenid"),
    "wechat_unionid": ("unionid", "微信unionid", "wechatunionid"),
    "crm_id": ("crmid", "客户id", "联系人id", "contactid", "leadid", "recordid", "crm编号", "客户编号"),
    "crm_owner": ("负责人", "所有人", "跟进人", "销售", "归属销售", "owner", "contactowner", "leadowner", "accountowner", "salesrep"),
    "crm_stage": ("阶段", "线索阶段", "客户阶段", "生命周期阶段", "状态", "stage", "leadstatus", "lifecyclestage", "status"),
    "consent": ("同意", "是否同意", "是否同意接收营销信息", "同意接收营销信息", "营销同意", "授权", "consent", "optin", "marketingconsent", "gdprconsent"),
    "utm_source": ("utmsource", "utm来源", "来源", "渠道来源", "source", "leadsource"),
    "utm_medium": ("utmmedium", "媒介", "medium"),
    "utm_campaign": ("utmcampaign", "活动", "活动名称", "campaign", "campaignname"),
    "lead_source": ("渠道", "获客渠道", "线索来源", "channel"),
    "form_name": ("表单名称", "表单", "表单名", "formname", "form"),
    "submit_time": ("提交时间", "填写时间", "创建时间", "submittedat", "submittime", "submissiondate", "createdat", "createddate"),
    "registered_at": ("报名时间", "注册时间", "registeredat", "registrationtime", "registrationdate"),
    "checkin_time": ("签到时间", "扫码时间", "到场时间", "入场时间", "checkintime", "scantime", "scannedat"),
    "first_entered_at": ("首次进入时间", "进入时间", "首次观看时间", "firstjoined", "firstjoinedat", "jointime", "firstentered"),
    "watch_minutes": ("观看时长", "观看时长分钟", "观看时长min", "在线时长", "观看分钟", "watchminutes", "watchtime", "durationminutes", "minuteswatched"),
    "replay_watched": ("是否观看回放", "观看回放", "回放", "watchedreplay", "replay", "replayviewed"),
    "event_action": ("行为", "行为类型", "事件", "事件类型", "动作", "event", "eventtype", "action", "activity", "activitytype"),
    "event_time": ("时间", "发生时间", "行为时间", "事件时间", "time", "timestamp", "eventtime", "occurredat", "date", "datetime"),
    "url": ("链接", "网址", "页面", "页面地址", "url", "link", "page", "pageurl"),
    "updated_at": ("更新时间", "最后修改时间", "修改时间", "最后更新", "lastmodified", "lastmodifieddate", "updatedat", "modifiedat"),
    "notes": ("备注", "说明", "拒绝原因", "原因", "notes", "note", "remark", "remarks", "comment", "comments", "reason", "rejectreason"),
}

# Keyword fallbacks for headers with decorations ("手机号码(必填)", "Email Address*").
HEADER_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("unionid", "wechat_unionid"),
    ("openid", "wechat_openid"),
    ("昵称", "nickname"),
    ("姓名", "name"),
    ("手机", "phone"),
    ("邮箱", "email"),
    ("email", "email"),
    ("公司", "company"),
    ("职位", "title"),
    ("观看时长", "watch_minutes"),
    ("回放", "replay_watched"),
    ("同意", "consent"),
)

# Fields that identify a person on their own (a name alone does not).
IDENTIFIER_FIELDS = ("email", "phone", "wechat_unionid", "wechat_openid", "crm_id")
# Fields holding a point in time.
TIME_FIELDS = ("submit_time", "registered_at", "checkin_time", "first_entered_at", "event_time", "updated_at")
# Fields that are copied to source_record as they are (after trimming).
RECORD_TEXT_FIELDS = (
    "name", "nickname", "company", "title", "department", "industry", "company_size", "province", "city",
    "country", "wechat_openid", "wechat_unionid", "crm_id", "crm_owner", "crm_stage", "utm_source",
    "utm_medium", "utm_campaign", "lead_source",
)
ALL_FIELDS = tuple(HEADER_NAMES)

_STRIP = re.compile(r"[\s_\-\.:：/\\()（）\[\]【】<>《》*＊#、,，'\"]+")
_LOOKUP = {_STRIP.sub("", unicodedata.normalize("NFKC", n).lower()): f for f, names in HEADER_NAMES.items() for n in names}
_UNIT_SUFFIXES = ("分钟", "min", "mins", "minutes")


@lru_cache(maxsize=1)
def _to_simplified():
    import atexit

    import opencc

    # release the converter before interpreter shutdown, or nanobind reports it as leaked
    atexit.register(_to_simplified.cache_clear)
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def header_key(text: object) -> str:
    """The comparable form of a header cell: simplified, NFKC, lower case, no spaces or punctuation."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).lower()
    if any("\u4e00" <= ch <= "\u9fff" for ch in folded):
        folded = _to_simplified().convert(folded)
    return _STRIP.sub("", folded)


def field_for_header(text: object) -> str | None:
    """Canonical field for a header cell, or None when it is not recognised."""
    key = header_key(text)
    if not key:
        return None
    if key in _LOOKUP:
        return _LOOKUP[key]
    for suffix in _UNIT_SUFFIXES:  # 观看时长(分钟) → 观看时长
        if key.endswith(suffix) and key[: -len(suffix)] in _LOOKUP:
            return _LOOKUP[key[: -len(suffix)]]
    for keyword, field in HEADER_KEYWORDS:
        if keyword in key:
            return field
    return None


def map_headers(headers: list[str], overrides: dict[str, str] | None = None) -> dict[int, str]:
    """Column index → canonical field. Each field is taken by its first column only.

    ``overrides`` (from a recipe) maps header text to a field, or to ``ignore``/``attribute``.
    A nickname column never takes the name field, even when no real-name column exists.
    """
    overrides = {header_key(k): v for k, v in (overrides or {}).items()}
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    # recipe overrides first, so they win over built-in names
    for index, header in enumerate(headers):
        field = overrides.get(header_key(header))
        if field and field not in ("ignore", "attribute") and field not in taken:
            mapping[index] = field
            taken.add(field)
    for index, header in enumerate(headers):
        if index in mapping or header_key(header) in overrides:
            continue
        field = field_for_header(header)
        if field and field not in taken:
            mapping[index] = field
            taken.add(field)
    return mapping


def header_score(cells: list[object]) -> int:
    """How much a row looks like a header: the number of distinct recognised fields."""
    fields = {field_for_header(c) for c in cells if isinstance(c, str) and len(c) <= 40}
    fields.discard(None)
    return len(fields)
