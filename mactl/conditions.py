"""The condition language shared by segments, assignment rules and send lists.

A condition is a YAML tree:

- ``{all: [...]}``, ``{any: [...]}``, ``{not: condition}``
- ``{field: province, op: in, value: [上海, 江苏]}`` on person / score fields
- ``{attribute: 展位标签, op: contains, value: VIP}`` on unrecognised source columns (tags)
- ``{event: {type: webinar_attend, where: [...], within_days: 30, min_count: 2}}``
- ``{no_activity_days: 30}``
- ``{in_segment: golden_48h}``

:func:`compile_condition` turns it into a SQL predicate over a person row ``p``
left-joined with its score ``s``; every value is a parameter and every field
is checked against an allow-list, so recipes cannot inject SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from mactl.workspace import quote_ident

PERSON_FIELDS = {
    "person_id", "name", "email", "phone", "company", "title", "department", "industry", "company_size",
    "province", "city", "country", "crm_id", "crm_owner", "crm_stage", "consent", "email_is_role",
    "email_is_freemail", "channels", "record_count", "first_seen", "last_seen", "created_at", "updated_at",
}
SCORE_FIELDS = {"fit", "engagement", "total", "grade", "stage", "temperature", "last_activity_at"}
EVENT_FIELDS = {
    "event_type", "occurred_at", "channel", "campaign", "form_name", "utm_source", "url", "watch_minutes",
    "crm_stage", "crm_owner", "detail",
}
LIST_FIELDS = {"channels"}

OPERATOR_ALIASES = {
    "equals": "equals", "eq": "equals", "=": "equals", "==": "equals",
    "not_equals": "not_equals", "ne": "not_equals", "!=": "not_equals",
    "in": "in", "not_in": "not_in", "not in": "not_in",
    "contains": "contains", "not_contains": "not_contains",
    "starts_with": "starts_with", "starts with": "starts_with",
    "gt": "gt", ">": "gt", "gte": "gte", ">=": "gte", "lt": "lt", "<": "lt", "lte": "lte", "<=": "lte",
    "between": "between", "empty": "empty", "not_empty": "not_empty", "not empty": "not_empty",
}
COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
NO_VALUE = {"empty", "not_empty"}
EVENT_KEYS = {"type", "where", "within_days", "between", "min_count", "max_count"}


class ConditionError(ValueError):
    """A bad condition; ``path`` says where in the tree (``all[1].any[0].op``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass
class Compiled:
    sql: str
    params: list[Any] = field(default_factory=list)
    segments: set[str] = field(default_factory=set)  # groups referenced by in_segment


def compile_condition(cond: Any, as_of: datetime, *, path: str = "where",
                      segment_table: str = "segment_member", last_activity_table: str | None = None) -> Compiled:
    """Compile a condition tree into ``(sql, params)`` over ``p`` (person) and ``s`` (person_score).

    ``last_activity_table`` (made by :func:`last_activity_sql`) answers ``no_activity_days`` for a caller
    that evaluates many conditions: otherwise each such condition joins every event to its person."""
    compiler = _Compiler(as_of, segment_table, last_activity_table)
    sql = compiler.node(cond, path)
    return Compiled(sql, compiler.params, compiler.segments)


def last_activity_sql(table: str) -> str:
    """A temp table of each person's latest event time: ``no_activity_days`` is then one lookup per group."""
    return f"""CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT pr.person_id, max(e.occurred_at) AS last_at
        FROM person_record pr JOIN event e ON e.record_id = pr.record_id
        GROUP BY pr.person_id"""


def uses_no_activity_days(cond: Any) -> bool:
    """Whether a condition has a ``no_activity_days`` anywhere in it; no validation."""
    return any("no_activity_days" in node for node in _mappings(cond))


def referenced_segments(cond: Any) -> set[str]:
    """Names of the groups a condition reads (for build order); no validation."""
    return {node["in_segment"] for node in _mappings(cond) if isinstance(node.get("in_segment"), str)}


def _mappings(cond: Any) -> Iterator[dict]:
    """Every mapping in a condition tree, the tree's own first."""
    if isinstance(cond, dict):
        yield cond
        for value in cond.values():
            yield from _mappings(value)
    elif isinstance(cond, list):
        for item in cond:
            yield from _mappings(item)


class _Compiler:
    def __init__(self, as_of: datetime, segment_table: str, last_activity_table: str | None = None):
        self.as_of = as_of
        self.segment_table = segment_table
        self.last_activity_table = last_activity_table
        self.params: list[Any] = []
        self.segments: set[str] = set()

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def node(self, cond: Any, path: str) -> str:
        if not isinstance(cond, dict) or not cond:
            raise ConditionError(path, "expected a condition (a mapping such as {field: ..., op: ..., value: ...})")
        if "all" in cond or "any" in cond:
            key = "all" if "all" in cond else "any"
            self._only(cond, {key}, path)
            items = cond[key]
            if not isinstance(items, list) or not items:
                raise ConditionError(f"{path}.{key}", "expected a non-empty list of conditions")
            parts = [self.node(item, f"{path}.{key}[{i}]") for i, item in enumerate(items)]
            return "(" + (" AND " if key == "all" else " OR ").join(parts) + ")"
        if "not" in cond:
            self._only(cond, {"not"}, path)
            return f"(NOT COALESCE({self.node(cond['not'], f'{path}.not')}, FALSE))"
        if "field" in cond:
            self._only(cond, {"field", "op", "value"}, path)
            column = self._person_column(cond["field"], f"{path}.field")
            return self.comparison(column, cond, path, is_list=cond["field"] in LIST_FIELDS)
        if "attribute" in cond:
            self._only(cond, {"attribute", "op", "value"}, path)
            return self.attribute(cond, path)
        if "event" in cond:
            self._only(cond, {"event"}, path)
            return self.event(cond["event"], f"{path}.event")
        if "no_activity_days" in cond:
            self._only(cond, {"no_activity_days"}, path)
            days = self._number(cond["no_activity_days"], f"{path}.no_activity_days")
            since = self.param(self.as_of - timedelta(days=days))
            if self.last_activity_table:  # the same set: people whose latest event is that recent
                return f"(p.person_id NOT IN (SELECT person_id FROM {self.last_activity_table} WHERE last_at >= {since}))"
            # uncorrelated sets join as hashes; much faster than a correlated EXISTS over 10M events
            return ("(p.person_id NOT IN (SELECT pr.person_id FROM person_record pr JOIN event e "
                    f"ON e.record_id = pr.record_id WHERE e.occurred_at >= {since}))")
        if "in_segment" in cond:
            self._only(cond, {"in_segment"}, path)
            name = cond["in_segment"]
            if not isinstance(name, str) or not name:
                raise ConditionError(f"{path}.in_segment", "expected a group name")
            self.segments.add(name)
            return (f"(EXISTS (SELECT 1 FROM {self.segment_table} m WHERE m.segment = {self.param(name)} "
                    "AND m.person_id = p.person_id))")
        raise ConditionError(path, f"unknown condition {sorted(cond)}; use all, any, not, field, attribute, "
                                   "event, no_activity_days or in_segment")

    def _only(self, cond: dict, allowed: set[str], path: str) -> None:
        extra = sorted(set(cond) - allowed)
        if extra:
            raise ConditionError(f"{path}.{extra[0]}", f"unexpected key next to {sorted(allowed)[0]}")

    def _person_column(self, name: Any, path: str) -> str:
        if name in PERSON_FIELDS:
            return f"p.{quote_ident(name)}"
        if name in SCORE_FIELDS:
            return f"s.{quote_ident(name)}"
        raise ConditionError(path, f"unknown field {name!r}; known: {', '.join(sorted(PERSON_FIELDS | SCORE_FIELDS))}")

    def _number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConditionError(path, f"expected a non-negative number, got {value!r}")
        return value

    def comparison(self, column: str, cond: dict, path: str, *, is_list: bool = False) -> str:
        raw_op = cond.get("op", "equals")
        op = OPERATOR_ALIASES.get(raw_op) if isinstance(raw_op, str) else None
        if op is None:
            raise ConditionError(f"{path}.op", f"unknown operator {raw_op!r}; use one of "
                                               "equals, not_equals, in, not_in, contains, starts_with, gt, gte, lt, "
                                               "lte, between, empty, not_empty")
        if op in NO_VALUE:
            if is_list:
                test = f"(COALESCE(len({column}), 0) = 0)"
            else:
                test = f"({column} IS NULL OR CAST({column} AS VARCHAR) = '')"
            return test if op == "empty" else f"(NOT {test})"
        if "value" not in cond:
            raise ConditionError(f"{path}.value", f"operator {raw_op!r} needs a value")
        value = cond["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ConditionError(f"{path}.value", f"operator {raw_op!r} needs a non-empty list")
            values = [_scalar(v, f"{path}.value[{i}]") for i, v in enumerate(value)]
            if is_list:
                test = f"list_has_any({column}, {self.param([str(v) for v in values])})"
            else:
                test = f"({column} IN ({', '.join(self.param(v) for v in values)}))"
            return test if op == "in" else f"(NOT COALESCE({test}, FALSE))"
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ConditionError(f"{path}.value", "between needs a list of two values [low, high]")
            low, high = (_scalar(v, f"{path}.value[{i}]") for i, v in enumerate(value))
            return f"({column} BETWEEN {self.param(low)} AND {self.param(high)})"
        value = _scalar(value, f"{path}.value")
        if op in ("contains", "not_contains"):
            if is_list:
                test = f"list_contains({column}, {self.param(str(value))})"
            else:
                test = f"contains(CAST({column} AS VARCHAR), {self.param(str(value))})"
            return test if op == "contains" else f"(NOT COALESCE({test}, FALSE))"
        if op == "starts_with":
            return f"starts_with(CAST({column} AS VARCHAR), {self.param(str(value))})"
        if op == "equals":
            return f"({column} = {self.param(value)})"
        if op == "not_equals":
            return f"({column} IS DISTINCT FROM {self.param(value)})"
        return f"({column} {COMPARISONS[op]} {self.param(value)})"

    def attribute(self, cond: dict, path: str) -> str:
        key = cond["attribute"]
        if not isinstance(key, str) or not key:
            raise ConditionError(f"{path}.attribute", "expected the name of a source column")
        json_path = '$."' + key.replace('"', '\\"') + '"'
        column = f"json_extract_string(sr.attributes, {self.param(json_path)})"
        test = self.comparison(column, cond, path)
        return ("(EXISTS (SELECT 1 FROM person_record pr JOIN source_record sr ON sr.record_id = pr.record_id "
                f"WHERE pr.person_id = p.person_id AND {test}))")

    def event(self, spec: Any, path: str) -> str:
        if not isinstance(spec, dict):
            raise ConditionError(path, "expected a mapping with type, where, within_days, between, min_count, max_count")
        extra = sorted(set(spec) - EVENT_KEYS)
        if extra:
            raise ConditionError(f"{path}.{extra[0]}", f"unknown key; use {', '.join(sorted(EVENT_KEYS))}")
        filters: list[str] = []
        if "type" in spec:
            types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
            if not types or not all(isinstance(t, str) and t for t in types):
                raise ConditionError(f"{path}.type", "expected an event type or a list of them")
            filters.append(f"e.event_type IN ({', '.join(self.param(t) for t in types)})")
        if "within_days" in spec and "between" in spec:
            raise ConditionError(f"{path}.between", "use within_days or between, not both")
        if "within_days" in spec:
            days = self._number(spec["within_days"], f"{path}.within_days")
            filters.append(f"e.occurred_at >= {self.param(self.as_of - timedelta(days=days))}")
            filters.append(f"e.occurred_at <= {self.param(self.as_of)}")
        if "between" in spec:
            bounds = spec["between"]
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise ConditionError(f"{path}.between", "expected [from, to] dates")
            low, high = (_as_datetime(b, f"{path}.between[{i}]") for i, b in enumerate(bounds))
            if _is_whole_day(bounds[1]):
                high = high + timedelta(days=1) - timedelta(microseconds=1)  # a date includes its whole day
            filters.append(f"e.occurred_at BETWEEN {self.param(low)} AND {self.param(high)}")
        where = spec.get("where", [])
        if not isinstance(where, list):
            raise ConditionError(f"{path}.where", "expected a list of {field, op, value} conditions on the event")
        for i, item in enumerate(where):
            item_path = f"{path}.where[{i}]"
            if not isinstance(item, dict) or "field" not in item:
                raise ConditionError(item_path, "expected {field: ..., op: ..., value: ...}")
            self._only(item, {"field", "op", "value"}, item_path)
            if item["field"] not in EVENT_FIELDS:
                raise ConditionError(f"{item_path}.field", f"unknown event field {item['field']!r}; known: "
                                                           f"{', '.join(sorted(EVENT_FIELDS))}")
            filters.append(self.comparison(f"e.{quote_ident(item['field'])}", item, item_path))
        min_count = spec.get("min_count")
        max_count = spec.get("max_count")
        for key, value in (("min_count", min_count), ("max_count", max_count)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ConditionError(f"{path}.{key}", f"expected a whole number ≥ 0, got {value!r}")
        people = "SELECT pr.person_id FROM person_record pr JOIN event e ON e.record_id = pr.record_id"
        if filters:
            people += " WHERE " + " AND ".join(filters)
        # min_count defaults to 1 ("did it"), or to 0 when only a maximum is given ("at most N times")
        low = min_count if min_count is not None else (1 if max_count is None else 0)
        if max_count is None:
            if low == 0:  # always true; the set keeps the filter parameters in place
                return f"(TRUE OR p.person_id IN ({people}))"
            having = f" GROUP BY pr.person_id HAVING count(*) >= {self.param(low)}" if low > 1 else ""
            return f"(p.person_id IN ({people}{having}))"
        if low == 0:  # zero events also counts: exclude only those above the maximum
            return f"(p.person_id NOT IN ({people} GROUP BY pr.person_id HAVING count(*) > {self.param(max_count)}))"
        return (f"(p.person_id IN ({people} GROUP BY pr.person_id "
                f"HAVING count(*) BETWEEN {self.param(low)} AND {self.param(max_count)}))")


def _scalar(value: Any, path: str) -> Any:
    if isinstance(value, (str, int, float, bool, datetime, date)):
        return value
    raise ConditionError(path, f"expected a single value, got {value!r}")


def _as_datetime(value: Any, path: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ConditionError(path, f"expected a date such as 2026-03-01, got {value!r}")


def _is_whole_day(value: Any) -> bool:
    """A bare date as upper bound means 'through the end of that day'."""
    if isinstance(value, datetime):
        return False
    return isinstance(value, date) or (isinstance(value, str) and len(value.strip()) == 10)
