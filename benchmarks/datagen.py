"""Deterministic generator of realistic marketing exports, with ground truth.

The same seed and size always give the same files. Used for the committed
``sample_data/`` (small) and for benchmarks (1M records and more):

    python -m benchmarks.datagen --people 300 --seed 7 --out sample_data --truth tests/data/sample_truth.csv
    python -m benchmarks.datagen --people 1000000 --events 10000000 --out benchmarks/data/1m --truth benchmarks/data/1m/truth.csv

Files (each with the dirt real exports have, see ../shared/DOMAIN.md):
  2026上海工博会_展会名单.xlsx   trade show: title row, a sheet per day, phones as numbers, real datetimes, a hidden sheet
  2026深圳高交会_签到表.xlsx     trade show sign-in: title row, blank row, text times "2026/11/16 9:05"
  官网表单导出_2026Q3.csv       web forms, GB18030, UTM fields, consent
  直播_智能制造研讨会.xlsx       webinar registrations and attendance
  webinar_数字化转型.csv         webinar, UTF-8 with BOM
  crm_contacts_export.csv       CRM contacts: 18-digit ids, owner, stage, notes
  email_engagement_log.csv      email opens, clicks, bounces, unsubscribes
The truth CSV has one row per data row of every file: source_file, source_sheet,
source_row (row number as Excel shows it; CSV line with the header as line 1),
person_key (same key = same real person; empty for a row naming nobody) and case
(the hard case the row exercises).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
COMPOUND_SURNAMES = ["欧阳", "司马", "诸葛", "上官"]
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建国志新宇浩然晨思雨嘉怡梓轩子涵博文佳琪俊熙家豪雅婷欣悦天佑诗晗一鸣"
# pairs that change between simplified and traditional, so the traditional variant really differs
TRADITIONAL_GIVEN = "伟华丽军艳杰涛刚国鹏辉志"
COMMON_NAMES = ["王伟", "李娜", "张敏", "王芳", "李静", "张伟", "刘洋", "陈杰"]
ENGLISH_FIRST = ["John", "Mary", "David", "Sarah", "Michael", "Emma", "James", "Olivia", "Daniel", "Sophia", "Peter", "Linda"]
ENGLISH_LAST = ["Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Walker", "Young", "King", "Wright"]
BRANDS = [
    ("华为", "huawei"), ("海尔", "haier"), ("美的", "midea"), ("格力", "gree"), ("联想", "lenovo"), ("比亚迪", "byd"),
    ("宁德时代", "catl"), ("三一", "sany"), ("中联", "zoomlion"), ("汇川", "inovance"), ("大族", "hanslaser"),
    ("万华", "whchem"), ("恒力", "hengli"), ("远景", "envision"), ("蓝思", "lensown"), ("欧菲", "ofilm"),
    ("长城", "gwm"), ("吉利", "geely"), ("潍柴", "weichai"), ("徐工", "xcmg"), ("迈瑞", "mindray"), ("东软", "neusoft"),
    ("用友", "yonyou"), ("金蝶", "kingdee"), ("浪潮", "inspur"), ("中控", "supcon"), ("和利时", "hollysys"),
    ("新松", "siasun"), ("埃斯顿", "estun"), ("拓斯达", "topstar"), ("先导", "leadintelligent"), ("正泰", "chint"),
]
INDUSTRY_WORDS = ["科技", "技术", "智能", "电子", "信息", "软件", "实业", "机械", "化工", "新能源"]
LEGAL_SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
CITIES = [("上海", "上海"), ("北京", "北京"), ("深圳", "广东"), ("广州", "广东"), ("苏州", "江苏"), ("杭州", "浙江"),
          ("南京", "江苏"), ("成都", "四川"), ("武汉", "湖北"), ("天津", "天津"), ("宁波", "浙江"), ("青岛", "山东")]
AREA_CODES = {"上海": "021", "北京": "010", "深圳": "0755", "广州": "020", "苏州": "0512", "杭州": "0571", "南京": "025",
              "成都": "028", "武汉": "027", "天津": "022", "宁波": "0574", "青岛": "0532"}
INDUSTRIES = ["制造业", "化工", "汽车", "电子", "医疗", "金融", "软件", "能源", "物流"]
TITLES = ["总经理", "技术总监", "采购经理", "IT经理", "工程师", "高级工程师", "生产主管", "CTO", "VP of Operations",
          "市场专员", "销售经理", "研发总监", "实习生", "学生", "Project Manager"]
SIZES = ["1-49", "50-199", "200-999", "1000-4999", "5000+"]
FREEMAIL = ["qq.com", "163.com", "126.com", "gmail.com", "foxmail.com", "sina.com"]
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158", "159",
                   "176", "177", "180", "181", "185", "186", "187", "188", "189", "199"]
FORMS = ["白皮书下载", "Demo申请", "联系我们", "价格咨询"]
UTM = [("baidu", "cpc"), ("wechat", "social"), ("linkedin", "social"), ("zhihu", "content"), ("direct", "none"), ("sem360", "cpc")]
STAGES = ["Lead", "MQL", "SAL", "SQL", "Opportunity", "Customer", "Recycled"]
OWNERS = ["王磊", "陈静", "刘洋", "Kevin Li", "赵敏"]
BASE_TIME = dt.datetime(2026, 9, 1, 9, 0)


@dataclass
class Person:
    key: str
    surname: str
    given: str
    english: bool
    gender: str  # m | f
    brand: str
    brand_en: str
    company: str  # full legal name
    domain: str
    city: str
    province: str
    industry: str
    title: str
    size: str
    mobile: str
    email: str
    consent: bool
    second_company: str | None = None  # job change: new company and email, same mobile
    second_email: str | None = None
    extras: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.given} {self.surname}" if self.english else self.surname + self.given


@dataclass
class Row:
    person: Person | None
    case: str
    values: dict


class Generator:
    def __init__(self, people: int, seed: int):
        self.rng = random.Random(seed)
        self.people_count = people
        self.used_mobiles: set[str] = set()
        self.people = [self._person(i) for i in range(people)]
        self._opencc = None

    # -- people ---------------------------------------------------------------
    def _mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def _person(self, index: int) -> Person:
        rng = self.rng
        english = rng.random() < 0.08
        gender = rng.choice("mf")
        if english:
            surname, given = rng.choice(ENGLISH_LAST), rng.choice(ENGLISH_FIRST)
        elif rng.random() < 0.06:
            full = rng.choice(COMMON_NAMES)  # namesakes: the same common name for different people
            surname, given = full[0], full[1:]
        else:
            surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
            given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
        brand, brand_en = rng.choice(BRANDS)
        # thousands of distinct companies at scale: brand + a number-free variant word
        variant = rng.choice(INDUSTRY_WORDS)
        city, province = rng.choice(CITIES)
        company = f"{brand}{variant}{rng.choice(LEGAL_SUFFIXES)}"
        domain = f"{brand_en}{INDUSTRY_WORDS.index(variant)}.com.cn" if self.people_count > 2000 else f"{brand_en}.com"
        mobile = self._mobile()
        local = (f"{given}.{surname}".lower() if english else f"{_latin_key(self, surname + given)}{index % 97}")
        if self.people_count > 2000:
            # at scale, namesakes at one company would otherwise get the same mailbox; a company
            # gives each person their own address (the small sample keeps its committed form)
            local = f"{local}.{index:x}"
        if rng.random() < 0.12:
            email = f"{local}@{rng.choice(FREEMAIL)}"
        else:
            email = f"{local}@{domain}"
        return Person(
            key=f"K{index:07d}", surname=surname, given=given, english=english, gender=gender, brand=brand,
            brand_en=brand_en, company=company, domain=domain, city=city, province=province,
            industry=rng.choice(INDUSTRIES), title=rng.choice(TITLES), size=rng.choice(SIZES), mobile=mobile,
            email=email, consent=rng.random() < 0.7,
        )

    # -- variations (the hard cases) -----------------------------------------
    def to_traditional(self, text: str) -> str:
        if self._opencc is None:
            import opencc

            self._opencc = opencc.OpenCC("s2t")
        return self._opencc.convert(text)

    def name_variant(self, p: Person) -> tuple[str, str]:
        rng = self.rng
        if p.english:
            r = rng.random()
            if r < 0.2:
                return f"{p.surname}, {p.given}", "last_first"
            if r < 0.3:
                return f"{p.given[0]}. {p.surname}", "initials"
            if r < 0.4:
                return p.name.upper(), "name_case"
            return p.name, "plain"
        r = rng.random()
        if r < 0.08:
            honorific = rng.choice(["先生" if p.gender == "m" else "女士", "总", "经理", "老师"])
            return p.surname + honorific, "honorific"
        if r < 0.14:
            return self.to_traditional(p.name), "traditional"
        if r < 0.20:
            from pypinyin import lazy_pinyin

            given = "".join(lazy_pinyin(p.given)).capitalize()
            surname = "".join(lazy_pinyin(p.surname)).capitalize()
            form = rng.choice([f"{surname} {given}", f"{given} {surname}", f"{surname.upper()} {given.lower()}"])
            return form, "pinyin"
        if r < 0.24 and len(p.name) == 2:
            return f"{p.name[0]} {p.name[1]}", "name_space"
        return p.name, "plain"

    def company_variant(self, p: Person) -> tuple[str, str]:
        rng = self.rng
        base = p.company
        stem = base
        for suffix in sorted(LEGAL_SUFFIXES, key=len, reverse=True):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        r = rng.random()
        if r < 0.10:
            return p.brand, "company_brand"
        if r < 0.16:
            return f"{p.city}{base}", "company_region"
        if r < 0.22:
            return f"{stem}({p.city})有限公司", "company_region"
        if r < 0.27:
            return f"{p.brand_en.capitalize()} Technology Co., Ltd.", "company_english"
        return base, "plain"

    def phone_variant(self, p: Person, allow_number: bool) -> tuple[object, str]:
        m = p.mobile
        r = self.rng.random()
        if allow_number and r < 0.35:
            return int(m), "phone_number_cell"
        if r < 0.45:
            return f"+86 {m[:3]}-{m[3:7]}-{m[7:]}", "phone_format"
        if r < 0.52:
            return f"86 {m}", "phone_format"
        if r < 0.58:
            return f"(+86){m}", "phone_format"
        if r < 0.64:
            return f"{m[:3]} {m[3:7]} {m[7:]}", "phone_format"
        return m, "plain"

    def email_variant(self, p: Person) -> tuple[str, str]:
        e = p.email
        r = self.rng.random()
        if r < 0.08:
            return f" {e.upper()} ", "email_case"
        if r < 0.12:
            local, domain = e.split("@")
            domain = domain.replace("gmail", "gmial").replace("163", "136") if domain in FREEMAIL else domain
            typo = local[:-1] if len(local) > 3 else local + "x"
            return f"{typo}@{domain}", "email_typo"
        return e, "plain"

    def contact_row(self, p: Person, *, allow_number: bool) -> tuple[dict, str]:
        """Name, company, phone, email of one sighting, with one hard case at most beside plain ones."""
        name, c1 = self.name_variant(p)
        company, c2 = self.company_variant(p)
        phone, c3 = self.phone_variant(p, allow_number)
        email, c4 = self.email_variant(p)
        case = next((c for c in (c1, c4, c2, c3) if c != "plain"), "plain")
        values = {"name": name, "company": company, "phone": phone, "email": email}
        # the person gives these on some occasions only, as people do
        if p.second_company and self.rng.random() < 0.5:  # job change: new company and email, same mobile
            values.update(company=p.second_company, email=p.second_email, phone=p.mobile)
            case = "job_change"
        if "switchboard" in p.extras and self.rng.random() < 0.5:
            values["phone"] = p.extras["switchboard"]
            case = "switchboard"
        if "role_mailbox" in p.extras and self.rng.random() < 0.5:
            values["email"] = p.extras["role_mailbox"]
            case = "role_mailbox"
        if case == "plain" and (p.surname + p.given) in COMMON_NAMES:
            case = "namesake"
        return values, case

    def mark_shared_identifiers(self) -> None:
        """Colleagues sharing a switchboard number or a role mailbox (different people!)."""
        rng = self.rng
        by_company: dict[str, list[Person]] = {}
        for p in self.people:
            by_company.setdefault(p.company, []).append(p)
        for _company, staff in sorted(by_company.items()):
            if len(staff) < 2 or rng.random() > 0.25:
                continue
            chosen = staff[:3]
            if rng.random() < 0.5:
                code = AREA_CODES[chosen[0].city]
                number = f"{code}-{rng.randrange(10**7, 10**8)}"
                for p in chosen:
                    p.extras["switchboard"] = number
            else:
                box = f"{rng.choice(['info', 'sales', 'marketing'])}@{chosen[0].domain}"
                for p in chosen:
                    p.extras["role_mailbox"] = box

    def mark_job_changes(self, share: float = 0.03) -> None:
        for p in self.people:
            if self.rng.random() < share:
                brand, brand_en = self.rng.choice(BRANDS)
                p.second_company = f"{brand}{self.rng.choice(INDUSTRY_WORDS)}有限公司"
                p.second_email = f"{p.email.split('@')[0]}@{brand_en}-new.com"


def _latin_key(gen: Generator, chinese: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(chinese)).lower().replace("ü", "v")


def _time(rng: random.Random, day: int, spread_hours: int = 9) -> dt.datetime:
    return BASE_TIME + dt.timedelta(days=day, minutes=rng.randrange(spread_hours * 60))


# -- writers -----------------------------------------------------------------


class Truth:
    def __init__(self, path: Path | None):
        self.handle = open(path, "w", encoding="utf-8", newline="") if path else None
        self.writer = csv.writer(self.handle) if self.handle else None
        if self.writer:
            self.writer.writerow(["source_file", "source_sheet", "source_row", "person_key", "case"])
        self.counts: dict[str, int] = {}

    def add(self, file: str, sheet: str, row: int, person: Person | None, case: str) -> None:
        self.counts[case] = self.counts.get(case, 0) + 1
        if self.writer:
            self.writer.writerow([file, sheet, row, person.key if person else "", case])

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def write_xlsx(path: Path, title: str | None, blank_after_title: bool, headers: list[str],
               sheets: list[tuple[str, list[list]]], *, hidden_sheet: tuple[str, list[list]] | None = None,
               empty_sheet: str | None = None) -> list[int]:
    """Write sheets; returns the Excel row number of each sheet's first data row."""
    from openpyxl import Workbook

    total = sum(len(rows) for _, rows in sheets)
    write_only = total > 20000
    workbook = Workbook(write_only=write_only)
    if not write_only:
        workbook.remove(workbook.active)
    first_rows = []
    for name, rows in sheets:
        sheet = workbook.create_sheet(name)
        row = 1
        if title:
            sheet.append([title])
            if not write_only:
                sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
            row += 1
            if blank_after_title:
                sheet.append([])
                row += 1
        sheet.append(headers)
        first_rows.append(row + 1)
        for values in rows:
            sheet.append(values)
    if hidden_sheet:
        sheet = workbook.create_sheet(hidden_sheet[0])
        for values in hidden_sheet[1]:
            sheet.append(values)
        if not write_only:
            sheet.sheet_state = "hidden"
    if empty_sheet and not write_only:
        workbook.create_sheet(empty_sheet)
    workbook.save(path)
    return first_rows


def generate(out_dir: str | Path, *, people: int = 300, seed: int = 7, events: int | None = None,
             truth_path: str | Path | None = None, xlsx_max_rows: int = 200_000) -> dict:
    """Write every export file into out_dir; returns {'files': [...], 'rows': n, 'cases': {case: n}}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(people, seed)
    gen.mark_shared_identifiers()
    gen.mark_job_changes()
    rng = gen.rng
    truth = Truth(Path(truth_path) if truth_path else None)
    files: list[str] = []
    persons = gen.people

    def pick(share: float) -> list[Person]:
        return [p for p in persons if rng.random() < share]

    # Trade show 1: real datetimes, phones partly as numbers, two days, a hidden notes sheet.
    expo1 = "2026上海工博会_展会名单.xlsx"
    headers1 = ["姓名", "公司名称", "职位", "手机", "邮箱", "城市", "扫码时间"]
    everyone = pick(0.35)
    attendees, overflow1 = everyone[: xlsx_max_rows // 2], everyone[xlsx_max_rows // 2:]
    days: list[tuple[str, list[list]]] = []
    day_people: list[list[tuple[Person | None, str]]] = []
    for day_index, day_name in enumerate(["第一天", "第二天"]):
        rows, who = [], []
        for p in attendees[day_index::2]:
            values, case = gen.contact_row(p, allow_number=True)
            rows.append([values["name"], values["company"], p.title, values["phone"], values["email"], p.city,
                         _time(rng, 15 + day_index)])
            who.append((p, case))
        if day_index == 0 and people <= 20000:  # dirt: a row with no identifier, an unreadable time
            rows.append(["王先生", "某某机械厂", "采购", None, None, "上海", _time(rng, 15)])
            who.append((None, "bad_row"))
        days.append((day_name, rows))
        day_people.append(who)
    firsts = write_xlsx(out / expo1, "2026 上海工博会 展会名单", False, headers1, days,
                        hidden_sheet=("备注", [["说明"], ["内部使用，请勿外传"]]), empty_sheet="空白页")
    for (sheet_name, _rows), who, first in zip(days, day_people, firsts):
        for offset, (p, case) in enumerate(who):
            truth.add(expo1, sheet_name, first + offset, p, case)
    files.append(expo1)

    def expo1_row(p: Person) -> tuple[list, str]:
        values, case = gen.contact_row(p, allow_number=False)
        return [values["name"], values["company"], p.title, values["phone"], values["email"], p.city,
                _time(rng, 15).strftime("%Y-%m-%d %H:%M:%S")], case

    spill_to_csv(out / "2026上海工博会_展会名单_续.csv", headers1, overflow1, expo1_row, truth, files)

    # Trade show 2: sign-in list with text times and a blank row under the title, three days.
    expo2 = "2026深圳高交会_签到表.xlsx"
    headers2 = ["序号", "姓名", "单位", "职务", "手机号码", "电子邮箱", "签到时间"]
    everyone = pick(0.25)
    visitors, overflow2 = everyone[: xlsx_max_rows // 4], everyone[xlsx_max_rows // 4:]
    days2, who2 = [], []
    for day_index, day_name in enumerate(["第一天", "第二天", "第三天"]):
        rows, who = [], []
        for n, p in enumerate(visitors[day_index::3], start=1):
            values, case = gen.contact_row(p, allow_number=False)
            moment = _time(rng, 75 + day_index)
            rows.append([n, values["name"], values["company"], p.title, values["phone"], values["email"],
                         f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02d}"])
            who.append((p, case))
        if day_index == 1 and people <= 20000:
            p = visitors[0] if visitors else persons[0]
            rows.append([len(rows) + 1, p.name, p.company, p.title, p.mobile, "zhang.at.qq.com", "下周一"])
            who.append((p, "bad_row"))
        days2.append((day_name, rows))
        who2.append(who)
    firsts = write_xlsx(out / expo2, "2026 深圳高交会 签到表", True, headers2, days2)
    for (sheet_name, _rows), who, first in zip(days2, who2, firsts):
        for offset, (p, case) in enumerate(who):
            truth.add(expo2, sheet_name, first + offset, p, case)
    files.append(expo2)

    def expo2_row(p: Person) -> tuple[list, str]:
        values, case = gen.contact_row(p, allow_number=False)
        moment = _time(rng, 75)
        return ["", values["name"], values["company"], p.title, values["phone"], values["email"],
                f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02d}"], case

    spill_to_csv(out / "2026深圳高交会_签到表_续.csv", headers2, overflow2, expo2_row, truth, files)

    # Web forms: GB18030 CSV as Excel on Chinese Windows saves it.
    form = "官网表单导出_2026Q3.csv"
    with open(out / form, "w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["提交时间", "表单名称", "姓名", "手机号", "邮箱", "公司", "职位", "行业", "省份", "城市",
                         "utm_source", "utm_medium", "utm_campaign", "是否同意接收营销信息"])
        line = 1
        for p in pick(0.45):
            for _ in range(1 + (rng.random() < 0.2)):
                values, case = gen.contact_row(p, allow_number=False)
                source, medium = rng.choice(UTM)
                moment = _time(rng, rng.randrange(0, 80), 14)
                writer.writerow([moment.strftime("%Y-%m-%d %H:%M:%S"), rng.choice(FORMS), values["name"], values["phone"],
                                 values["email"], values["company"], p.title, p.industry, p.province, p.city, source,
                                 medium, f"2026q3_{source}", "是" if p.consent else "否"])
                line += 1
                truth.add(form, "", line, p, case)
    files.append(form)

    # Webinar 1 (xlsx): registrations, attendance, replay.
    webinar1 = "直播_智能制造研讨会.xlsx"
    headers_w = ["昵称", "真实姓名", "手机", "公司", "职位", "报名时间", "首次进入时间", "观看时长(分钟)", "是否观看回放"]
    rows, who = [], []
    everyone = pick(0.3)
    for p in everyone[: xlsx_max_rows // 4]:
        values, case = gen.contact_row(p, allow_number=True)
        registered = _time(rng, 40)
        attended = rng.random() < 0.6
        minutes = rng.randrange(1, 95) if attended else 0
        rows.append([f"{p.surname}{rng.choice(['_', '', '~'])}{rng.randrange(100)}", values["name"], values["phone"],
                     values["company"], p.title, registered, registered + dt.timedelta(days=2, hours=1) if attended else None,
                     minutes, "是" if rng.random() < 0.2 else "否"])
        who.append((p, case))
    firsts = write_xlsx(out / webinar1, None, False, headers_w, [("报名观看数据", rows)])
    for offset, (p, case) in enumerate(who):
        truth.add(webinar1, "报名观看数据", firsts[0] + offset, p, case)
    files.append(webinar1)

    def webinar1_row(p: Person) -> tuple[list, str]:
        values, case = gen.contact_row(p, allow_number=False)
        registered = _time(rng, 40)
        minutes = rng.randrange(1, 95) if rng.random() < 0.6 else 0
        entered = (registered + dt.timedelta(days=2, hours=1)).strftime("%Y-%m-%d %H:%M") if minutes else ""
        return [f"{p.surname}{rng.randrange(100)}", values["name"], values["phone"], values["company"], p.title,
                registered.strftime("%Y-%m-%d %H:%M"), entered, minutes, "是" if rng.random() < 0.2 else "否"], case

    spill_to_csv(out / "直播_智能制造研讨会_续.csv", headers_w, everyone[xlsx_max_rows // 4:], webinar1_row, truth, files)

    # Webinar 2 (CSV, UTF-8 with BOM).
    webinar2 = "webinar_数字化转型.csv"
    with open(out / webinar2, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers_w)
        line = 1
        for p in pick(0.25):
            values, case = gen.contact_row(p, allow_number=False)
            registered = _time(rng, 60)
            attended = rng.random() < 0.55
            minutes = rng.randrange(1, 70) if attended else 0
            entered = (registered + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M") if attended else ""
            writer.writerow([f"用户{rng.randrange(10**6)}", values["name"], values["phone"], values["company"], p.title,
                             registered.strftime("%Y-%m-%d %H:%M"), entered, minutes, "是" if rng.random() < 0.25 else "否"])
            line += 1
            truth.add(webinar2, "", line, p, case)
    files.append(webinar2)

    # CRM export: long ids as text, owner, stage, notes with reject reasons.
    crm = "crm_contacts_export.csv"
    with open(out / crm, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["CRM ID", "Contact Name", "Account Name", "Title", "Mobile", "Email", "Owner", "Stage",
                         "Last Modified", "Notes"])
        line = 1
        for n, p in enumerate(pick(0.2)):
            stage = rng.choice(STAGES)
            note = rng.choice(["预算不足", "暂无需求", "联系不上"]) if stage == "Recycled" else ""
            writer.writerow([f"{9_000_000_000_000_000 + n * 7919:018d}", p.name, p.company, p.title, p.mobile, p.email,
                             rng.choice(OWNERS), stage, _time(rng, 85).strftime("%Y-%m-%d %H:%M"), note])
            line += 1
            truth.add(crm, "", line, p, "crm")
    files.append(crm)

    # Email engagement log: opens, clicks (some on the pricing page), bounces, unsubscribes.
    engagement = "email_engagement_log.csv"
    event_rows = events if events is not None else people * 2
    write_engagement(out / engagement, persons, event_rows, rng, truth)
    files.append(engagement)
    truth.close()
    return {"files": files, "rows": sum(truth.counts.values()), "cases": dict(sorted(truth.counts.items()))}


def spill_to_csv(path: Path, headers: list[str], overflow: list[Person], row_for, truth: Truth,
                 files: list[str]) -> None:
    """Rows beyond the xlsx cap go to a UTF-8-BOM CSV twin (as exports split by size do): xlsx stays small."""
    if not overflow:
        return
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for line, p in enumerate(overflow, start=2):
            values, case = row_for(p)
            writer.writerow(values)
            truth.add(path.name, "", line, p, case)
    files.append(path.name)


def write_engagement(path: Path, persons: list[Person], count: int, rng: random.Random, truth: Truth) -> None:
    actions = ["open"] * 6 + ["click"] * 3 + ["bounce", "unsubscribe"]
    campaigns = ["2026-09 新品发布", "2026-10 智能制造月刊", "2026-11 年终促销"]
    urls = ["https://example.com/pricing", "https://example.com/whitepaper", "https://example.com/case-study"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Event", "Campaign", "Time", "URL"])
        for line in range(2, count + 2):
            p = persons[rng.randrange(len(persons))]
            action = rng.choice(actions)
            moment = _time(rng, rng.randrange(0, 85), 24)
            writer.writerow([p.email, action, rng.choice(campaigns), moment.strftime("%Y-%m-%d %H:%M:%S"),
                             rng.choice(urls) if action == "click" else ""])
            truth.add(path.name, "", line, p, "engagement")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.datagen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=300, help="number of real people (default 300)")
    parser.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same files")
    parser.add_argument("--out", required=True, help="folder to write the export files into")
    parser.add_argument("--truth", help="CSV file for the ground truth (which rows are the same person)")
    parser.add_argument("--events", type=int, help="rows of the email engagement log (default: 2 per person)")
    parser.add_argument("--xlsx-max-rows", type=int, default=200_000,
                        help="cap on data rows written to .xlsx files (default 200000); rows beyond go to *_续.csv twins")
    args = parser.parse_args(argv)
    result = generate(args.out, people=args.people, seed=args.seed, events=args.events, truth_path=args.truth,
                      xlsx_max_rows=args.xlsx_max_rows)
    print(f"wrote {len(result['files'])} files, {result['rows']} rows to {args.out}")
    for case, count in result["cases"].items():
        print(f"  {case:20} {count}")


if __name__ == "__main__":
    main()
