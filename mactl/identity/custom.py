"""Recipe-defined match rules for other record shapes (surname, given name, date of birth, address …).

A recipe names extra fields (``identity.fields``: field → column header or built-in field) and
rules over them (``identity.match_rules``): records whose normalised block fields are all equal
are candidates, and a candidate pair links when every comparison reaches its minimum similarity.

Normalisation runs once per merge over DISTINCT raw values (names through normalize_name, dates
to ISO, text through NFKC + OpenCC + no spaces or punctuation) and is joined back in SQL; blocks
are DuckDB joins; similarities come from rapidfuzz's batch ``process.cpdist``. Pairs become
matching.WeakPair objects between strong components, so clusters.join_weak applies the usual
guards (conflicting mobiles or genders, cannot-link decisions, one pair at a time).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, StringConstraints
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from mactl.identity import normalize
from mactl.identity.matching import STAGE, WeakPair
from mactl.recipe import StrictModel
from mactl.workspace import Workspace, quote_ident

if TYPE_CHECKING:  # merge imports this module; only the type is needed here
    import pandas as pd

    from mactl.identity.merge import IdentityRecipe

FULL_NAME = "full_name"  # derived: the name column, or surname + given name when there is none
# source_record columns a field may name instead of a header
SOURCE_FIELDS = (
    "name", "nickname", "email", "phone", "landline", "company", "title", "department", "industry", "province",
    "city", "country", "wechat_openid", "wechat_unionid", "crm_id",
)
# compare methods → rapidfuzz scorers (0-100; Jaro-Winkler is scaled from 0-1)
SCORERS = {"ratio": fuzz.ratio, "partial_ratio": fuzz.partial_ratio, "token_sort_ratio": fuzz.token_sort_ratio,
           "token_set_ratio": fuzz.token_set_ratio, "jaro_winkler": JaroWinkler.normalized_similarity}

FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
ColumnName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# one header, or several (first non-empty wins) when files name the column differently
FieldColumns = Annotated[list[ColumnName], BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
                         Field(min_length=1)]


class Comparison(StrictModel):
    field: FieldName
    method: Literal["ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio", "jaro_winkler"]
    min: float = Field(ge=0, le=100, description="lowest similarity (0-100) that passes")


class MatchRule(StrictModel):
    id: FieldName
    block_on: list[FieldName] = Field(min_length=1)
    compare: list[Comparison] = Field(default_factory=list)

    def fields(self) -> list[str]:
        return list(dict.fromkeys([*self.block_on, *(c.field for c in self.compare)]))


def check_match_rules(rules: list[MatchRule], fields: dict[str, list[str]] | None,
                      reserved: tuple[str, ...]) -> list[MatchRule]:
    """Rules name defined fields and have unique ids that are not built-in rule names."""
    if fields is None:  # `fields` itself is invalid and already reported
        return rules
    known = {FULL_NAME, *fields}
    problems, seen = [], set()
    for index, rule in enumerate(rules):
        where = f"match_rules[{index}] ({rule.id})"
        if rule.id in reserved or rule.id in seen:
            problems.append(f"{where}: id '{rule.id}' is {'a built-in rule' if rule.id in reserved else 'used twice'}")
        seen.add(rule.id)
        unknown = [f for f in rule.fields() if f not in known]
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(unknown)}; define them under identity.fields "
                            f"(defined: {', '.join(sorted(known))})")
    if problems:
        raise ValueError("; ".join(problems))
    return rules


def check_fields(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    if FULL_NAME in fields:
        raise ValueError(f"'{FULL_NAME}' is derived (from name, or surname + given_name); map 'name' instead")
    return fields


# -- normalisation of single values ------------------------------------------------

_DATE_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def normalize_birth_date(text: str | None) -> str | None:
    """ISO date from 1990-01-02, 1990/1/2, 1990.1.2, 1990年1月2日, 19900102 or an Excel serial; None if not a date."""
    if text is None:
        return None
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    raw = re.sub(r"^(\d+)\.0+$", r"\1", raw)  # 19900102.0 / 32875.0 from a number cell
    try:
        match = _DATE_YMD.match(raw)
        if match:
            return dt.date(*map(int, match.groups())).isoformat()
        if re.fullmatch(r"\d{8}", raw):
            return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:])).isoformat()
        if re.fullmatch(r"\d{1,5}", raw) and int(raw) > 60:  # Excel serial (1900-03-01 on; 1..60 are Lotus-bugged)
            return (_EXCEL_EPOCH + dt.timedelta(days=int(raw))).isoformat()
    except ValueError:  # month 13, 2月30日 …
        return None
    return None


_NOT_WORD = re.compile(r"[\W_]+")


def _text_key(text: str) -> str:
    """NFKC, lower case, no spaces or punctuation (OpenCC runs afterwards, in bulk)."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", str(text)).lower())


def normalize_texts(values: list[str]) -> list[str | None]:
    """Addresses and other text: NFKC, traditional → simplified, lower case, spaces and punctuation removed.

    One OpenCC call for all values (a call per value costs more than the conversion)."""
    keys = [_text_key(v) for v in values]
    converted = normalize._opencc().convert("\n".join(keys)).split("\n") if keys else []
    if len(converted) != len(keys):  # pragma: no cover - OpenCC keeps lines; fall back value by value
        converted = [normalize._opencc().convert(k) for k in keys]
    return [c or None for c in converted]


def _name_text(name: str | None, surname: str | None, given_name: str | None) -> str | None:
    """The name to normalise: the name, or surname + given name (Latin as 'Surname, Given')."""
    if name is not None and str(name).strip():
        return str(name)
    surname, given_name = (str(v).strip() if v is not None else "" for v in (surname, given_name))
    if not surname or not given_name:
        return None
    return f"{surname}, {given_name}" if re.search(r"[A-Za-z]", surname + given_name) else surname + given_name


def compose_full_name(name: str | None, surname: str | None, given_name: str | None) -> str | None:
    """The full-name key of a record (normalize_name's form); None for a surname-only name (张先生)."""
    text = _name_text(name, surname, given_name)
    if text is None:
        return None
    result = normalize.normalize_name(text)
    return None if result.surname_only or not result.given_name else result.name


def field_kind(name: str) -> str:
    """How a field is normalised, from its name: dates (birth_date, *_date) or text."""
    return "date" if name == "birth_date" or name.endswith("_date") else "text"


# -- SQL builders ----------------------------------------------------------------------


def _column_sql(columns: list[str], params: list) -> str:
    """First non-empty of the named columns: a source_record field, else an attribute (header)."""
    if not columns:  # a name part the recipe does not map
        return "CAST(NULL AS VARCHAR)"
    parts = []
    for column in columns:
        if column in SOURCE_FIELDS:
            parts.append(f"NULLIF(trim(s.{quote_ident(column)}), '')")
        else:
            params.append('$."' + column.replace('"', '\\"') + '"')
            parts.append("NULLIF(trim(json_extract_string(s.attributes, ?)), '')")
    return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"


def raw_fields_sql(columns: dict[str, list[str]]) -> tuple[str, list]:
    """_id_craw: per record of _id_all, the raw text of each field (and of the name parts)."""
    params: list = []
    selects = [f"{_column_sql(cols, params)} AS {quote_ident(name)}" for name, cols in columns.items()]
    sql = f"""
        CREATE OR REPLACE TEMP TABLE _id_craw AS
        SELECT s.record_id, {', '.join(selects)}
        FROM source_record s SEMI JOIN _id_all a ON a.record_id = s.record_id"""
    return sql, params


def field_table_sql(fields: list[str]) -> str:
    """_id_cfield: per record, the normalised value of each field, joined back from the per-value tables."""
    selects, joins = ["r.record_id"], []
    for index, name in enumerate(fields):
        column = quote_ident(name)
        if name == FULL_NAME:
            selects.append(f"v{index}.value AS {column}")
            joins.append(f"""LEFT JOIN _id_cnorm_{index} v{index}
                ON v{index}.name IS NOT DISTINCT FROM r."_name" AND v{index}.surname IS NOT DISTINCT FROM r."_surname"
               AND v{index}.given_name IS NOT DISTINCT FROM r."_given_name\"""")
        else:
            selects.append(f"v{index}.value AS {column}")
            joins.append(f"LEFT JOIN _id_cnorm_{index} v{index} ON v{index}.raw = r.{column}")
    return f"""
        CREATE OR REPLACE TEMP TABLE _id_cfield AS
        SELECT {', '.join(selects)} FROM _id_craw r {' '.join(joins)}"""


def block_pairs_sql(rule: MatchRule) -> str:
    """Record pairs of different components with equal block fields (blocks over $max_block records skipped).

    Returns a, b (component labels), the block values of x, then each compared field of x and y."""
    keys = [quote_ident(f) for f in rule.block_on]
    compared = [quote_ident(c.field) for c in rule.compare]
    not_null = " AND ".join(f"f.{k} IS NOT NULL" for k in keys)
    partition = ", ".join(keys)
    same_block = " AND ".join(f"x.{k} = y.{k}" for k in keys)
    both_present = "".join(f" AND x.{c} IS NOT NULL AND y.{c} IS NOT NULL" for c in compared)
    values = ", ".join([*(f"x.{k}" for k in keys), *(f"x.{c}, y.{c}" for c in compared)])
    return f"""
        WITH b AS (
            SELECT f.*, l.label FROM _id_cfield f JOIN _id_label l USING (record_id) WHERE {not_null}),
        sized AS (SELECT *, count(*) OVER (PARTITION BY {partition}) AS block FROM b)
        SELECT DISTINCT x.label AS a, y.label AS b, {values}
        FROM sized x JOIN sized y ON {same_block} AND x.label < y.label
        WHERE x.block <= ?{both_present}"""


def scope_sql(rule: MatchRule) -> str:
    """People with a record sharing the rule's block values with a seed record, added to _id_hop."""
    keys = [quote_ident(f) for f in rule.block_on]
    not_null = " AND ".join(f"f.{k} IS NOT NULL" for k in keys)
    return f"""
        INSERT INTO _id_hop
        SELECT DISTINCT pr.person_id FROM person_record pr SEMI JOIN (
            SELECT f.record_id FROM _id_cfield f SEMI JOIN (
                SELECT DISTINCT {', '.join(f'f.{k}' for k in keys)}
                FROM _id_cfield f SEMI JOIN _id_seed s USING (record_id) WHERE {not_null}) sb
            ON {' AND '.join(f'f.{k} = sb.{k}' for k in keys)}) t USING (record_id)
        EXCEPT SELECT person_id FROM _id_hop"""


# -- running -------------------------------------------------------------------------------


def build_field_table(ws: Workspace, recipe: IdentityRecipe) -> None:
    """Fill _id_cfield(record_id, <field> …) for every record of _id_all with the fields the rules use."""
    used = list(dict.fromkeys(f for rule in recipe.match_rules for f in rule.fields()))
    columns = {name: recipe.fields[name] for name in used if name != FULL_NAME}
    if FULL_NAME in used:
        columns["_name"] = recipe.fields.get("name", ["name"])
        columns["_surname"] = recipe.fields.get("surname", [])
        columns["_given_name"] = recipe.fields.get("given_name", [])
    sql, params = raw_fields_sql(columns)
    ws.sql(STAGE, "custom fields: raw", sql, params)
    for index, name in enumerate(used):
        if name == FULL_NAME:
            frame = _full_name_frame(ws)
        else:
            frame = _value_frame(ws, name)
        ws.load_frame(STAGE, f"_id_cnorm_{index}", frame, select=", ".join(
            f"CAST({c} AS VARCHAR) AS {c}" for c in frame.columns))
    ws.sql(STAGE, "custom fields: normalised", field_table_sql(used))
    for index in range(len(used)):
        ws.sql(STAGE, "drop temp", f"DROP TABLE _id_cnorm_{index}")
    ws.sql(STAGE, "drop temp", "DROP TABLE _id_craw")


def _value_frame(ws: Workspace, name: str) -> pd.DataFrame:
    column = quote_ident(name)
    raw = [r[0] for r in ws.fetchall(STAGE, f"custom fields: distinct {name}",
                                     f"SELECT DISTINCT {column} FROM _id_craw WHERE {column} IS NOT NULL")]
    values = [normalize_birth_date(v) for v in raw] if field_kind(name) == "date" else normalize_texts(raw)
    import pandas as pd

    return pd.DataFrame({"raw": raw, "value": values}, dtype=object)


def _full_name_frame(ws: Workspace) -> pd.DataFrame:
    rows = ws.fetchall(STAGE, "custom fields: distinct names", """
        SELECT DISTINCT "_name", "_surname", "_given_name" FROM _id_craw
        WHERE "_name" IS NOT NULL OR ("_surname" IS NOT NULL AND "_given_name" IS NOT NULL)""")
    texts = [_name_text(*row) for row in rows]
    # one OpenCC call for all names, as normalize_records does
    normalize._prime_simplified([normalize._cjk_name_text(unicodedata.normalize("NFKC", t).strip()) for t in texts if t])
    try:
        values = [compose_full_name(*row) for row in rows]
    finally:
        normalize._SIMPLIFIED.clear()
    import pandas as pd

    return pd.DataFrame({
        "name": [r[0] for r in rows], "surname": [r[1] for r in rows], "given_name": [r[2] for r in rows],
        "value": values,
    }, dtype=object)


def add_to_scope(ws: Workspace, recipe: IdentityRecipe | None) -> None:
    """Incremental merge: people sharing a match rule's block values with a seed record join _id_hop."""
    if recipe is None or not recipe.match_rules:
        return
    if not ws.scalar(STAGE, "scope: any seed", "SELECT count(*) FROM _id_seed"):
        return  # nothing new: the scope is empty and no pairs will be asked for
    build_field_table(ws, recipe)
    for rule in recipe.match_rules:
        ws.sql(STAGE, f"scope: custom rule {rule.id}", scope_sql(rule))


def custom_pairs(ws: Workspace, recipe: IdentityRecipe) -> list[WeakPair]:
    """Weak pairs of the recipe's match rules between the strong components in _id_label."""
    if not recipe.match_rules:
        return []
    if not ws.table_exists("_id_cfield"):  # a full merge: scope did not need it
        build_field_table(ws, recipe)
    pairs: list[WeakPair] = []
    for rule in recipe.match_rules:
        rows = ws.fetchall(STAGE, f"custom rule {rule.id}: blocks", block_pairs_sql(rule), [recipe.max_block])
        pairs.extend(_score(rule, rows))
    ws.sql(STAGE, "drop temp", "DROP TABLE _id_cfield")
    return pairs


def _score(rule: MatchRule, rows: list[tuple]) -> list[WeakPair]:
    """Every comparison scored in one cpdist call; the best passing record pair per component pair."""
    if not rows:
        return []
    width = len(rule.block_on)
    passing = np.ones(len(rows), dtype=bool)
    total = np.zeros(len(rows))
    for index, comparison in enumerate(rule.compare):
        left = [r[2 + width + 2 * index] for r in rows]
        right = [r[3 + width + 2 * index] for r in rows]
        scores = process.cpdist(left, right, scorer=SCORERS[comparison.method], workers=-1).astype(float)
        if comparison.method == "jaro_winkler":
            scores *= 100
        passing &= scores >= comparison.min
        total += scores
    mean = total / len(rule.compare) if rule.compare else np.full(len(rows), 100.0)
    best: dict[tuple[int, int], WeakPair] = {}
    for position in np.flatnonzero(passing):
        row = rows[position]
        score = round(float(mean[position]), 1)
        key = (row[0], row[1])
        if key not in best or score > best[key].score:
            best[key] = WeakPair(row[0], row[1], rule.id, score, _detail(rule, row))
    return list(best.values())


def _detail(rule: MatchRule, row: tuple) -> str:
    width = len(rule.block_on)
    same = ", ".join(f"{name} '{value}'" for name, value in zip(rule.block_on, row[2:2 + width]))
    compared = "; ".join(f"{c.field} '{row[2 + width + 2 * i]}' ~ '{row[3 + width + 2 * i]}'"
                         for i, c in enumerate(rule.compare))
    return f"same {same}" + (f"; {compared}" if compared else "")
