"""SQL builders: the model compiled into parameterised statements (values never pasted into SQL).

The point builders serve two callers with the same SQL, so explain replays a run exactly:
`score` (every person, keyed through its temp tables `person_key` and `record_person`) and
`explain` (one person id, a parameter).
"""

from __future__ import annotations

from datetime import datetime

from mactl.scoring.model import Condition, ScoringModel
from mactl.workspace import quote_ident

RULE_COLUMNS = (
    ("rule_idx", "INTEGER"), ("factor", "VARCHAR"), ("rule_id", "VARCHAR"), ("label", "VARCHAR"),
    ("label_rank", "INTEGER"), ("event_type", "VARCHAR"), ("raw_points", "DOUBLE"), ("half_life", "DOUBLE"),
    ("cap", "DOUBLE"), ("period_days", "DOUBLE"), ("period_cap", "DOUBLE"),
)


def text_sql(column: str) -> str:
    """A column as text for comparisons that ignore case and surrounding spaces."""
    return f"lower(trim(CAST({column} AS VARCHAR)))"


def condition_sql(column: str, cond: Condition, params: list, text: str | None = None) -> str:
    """One condition on a column expression; appends its values to params. ``text``: the column's
    text_sql() already computed (a keyword list then does not lower-case the column once per keyword)."""
    text = text or text_sql(column)
    number = f"TRY_CAST({column} AS DOUBLE)"
    op, value = cond.op, cond.value
    if op == "is_empty":
        return f"({column} IS NULL OR {text} = '')"
    if op == "not_empty":
        return f"({column} IS NOT NULL AND {text} <> '')"
    if op in ("gte", "lte"):
        params.append(float(value))
        return f"{number} {'>=' if op == 'gte' else '<='} ?"
    if op == "between":
        params.extend([float(value[0]), float(value[1])])
        return f"{number} BETWEEN ? AND ?"
    if op in ("equals", "not_equals"):
        params.append(str(value).lower())
        return f"coalesce({text} {'=' if op == 'equals' else '<>'} ?, false)"
    if op == "starts_with":
        params.append(str(value).lower())
        return f"coalesce(starts_with({text}, ?), false)"
    values = [str(v).lower() for v in value]
    params.extend(values)
    marks = ", ".join("?" for _ in values)
    if op == "in":
        return f"coalesce({text} IN ({marks}), false)"
    return "(" + " OR ".join(f"coalesce(contains({text}, ?), false)" for _ in values) + ")"


# -- rules ------------------------------------------------------------------

def rule_rows(model: ScoringModel) -> list[tuple]:
    """Every rule as one row (see RULE_COLUMNS): fit rules first, then engagement rules, numbered from 1."""
    rows = []
    for rule in model.fit:
        rows.append(["fit", rule.id, rule.label or rule.id, None, float(rule.points), None, None, None, None])
    for rule in model.engagement.rules:
        half_life = rule.half_life_days or model.engagement.half_life_days
        period = rule.period_cap
        rows.append(["engagement", rule.id, rule.label or rule.id, rule.event, float(rule.points),
                     float(half_life) if half_life else None, rule.cap, period.days if period else None,
                     period.cap if period else None])
    # Top reasons break ties of equal points by label: a rank lets SQL compare small integers instead.
    ranks = {key: n for n, key in enumerate(sorted((r[2], r[1]) for r in rows), start=1)}
    return [(idx, *row[:3], ranks[(row[2], row[1])], *row[3:]) for idx, row in enumerate(rows, start=1)]


def rules_sql(model: ScoringModel, params: list) -> str:
    """The model's rules as a small table (columns RULE_COLUMNS), for joins instead of one query per rule."""
    rows = rule_rows(model)
    if not rows:
        return "SELECT " + ", ".join(f"NULL::{sql_type} AS {name}" for name, sql_type in RULE_COLUMNS) + " WHERE false"
    for row in rows:
        params.extend(row)
    typed = "(" + ", ".join(f"?::{sql_type}" for _, sql_type in RULE_COLUMNS) + ")"
    return f"SELECT * FROM (VALUES {', '.join(typed for _ in rows)}) AS t({', '.join(n for n, _ in RULE_COLUMNS)})"


# -- fit --------------------------------------------------------------------

def points_column(rule_idx: int) -> str:
    """A rule's column in the per-person tables (fit_columns_sql, engagement_columns_sql): NULL = no points row."""
    return f"points_{rule_idx}"


def fit_fields(model: ScoringModel) -> tuple[list[str], list[str]]:
    """Person columns and attr.<column> fields the fit rules read."""
    fields = {cond.field for rule in model.fit for cond in [rule, *rule.when]}
    return sorted(f for f in fields if not f.startswith("attr.")), sorted(f for f in fields if f.startswith("attr."))


def records_sql(params: list, person_id: str | None = None) -> str:
    """record_id → person_key: every person's (score's temp table record_person), or one person's (key 0)."""
    if person_id is None:
        return "record_person"
    params.append(person_id)
    return "(SELECT record_id, 0::BIGINT AS person_key FROM person_record WHERE person_id = ?)"


def person_attrs_sql(fields: list[str], params: list, person_id: str | None = None) -> str:
    """Per person, the latest non-empty value of each attribute column (BANT etc.)."""
    columns, filled = [], []
    for field in fields:
        params.extend(["$." + field[5:], "$." + field[5:]])  # same path twice (value and filter)
        columns.append(f"max_by(nullif(trim(json_extract_string(sr.attributes, ?)), ''), sr.record_time) "
                       f"FILTER (WHERE nullif(trim(json_extract_string(sr.attributes, ?)), '') IS NOT NULL) "
                       f"AS {quote_ident(field)}")
    records = records_sql(params, person_id)
    for field in fields:  # only records with any of them filled (most have none)
        params.append("$." + field[5:])
        filled.append("nullif(trim(json_extract_string(sr.attributes, ?)), '') IS NOT NULL")
    return (f"SELECT rp.person_key, {', '.join(columns)} FROM {records} rp "
            f"JOIN source_record sr ON sr.record_id = rp.record_id WHERE {' OR '.join(filled)} GROUP BY rp.person_key")


def text_column(field: str) -> str:
    return f"{field} (text)"


def fit_input_sql(model: ScoringModel, params: list, person_id: str | None = None) -> str:
    """One row per person: person_key, every column the fit rules read (attributes as "attr.<column>") and
    each also as text (text_column), computed once for all the rules and keywords that read it."""
    person_fields, attr_fields = fit_fields(model)
    columns = [f"{source}.{quote_ident(f)}" for source, fields in (("p", person_fields), ("attrs", attr_fields))
               for f in fields]
    columns += [f"{text_sql(column)} AS {quote_ident(text_column(field))}"
                for column, field in zip(columns, person_fields + attr_fields)]
    head, join = "", ""
    if attr_fields:
        head = f"WITH attrs AS ({person_attrs_sql(attr_fields, params, person_id)}) "
        join = " LEFT JOIN attrs ON attrs.person_key = p.person_key"
    if person_id is None:  # the key score's person_key table gave each person: its row id
        source = "(SELECT rowid AS person_key, * FROM person)"
        where = ""
    else:
        params.append(person_id)
        source, where = "(SELECT 0::BIGINT AS person_key, * FROM person)", " WHERE p.person_id = ?"
    return f"{head}SELECT {', '.join(['p.person_key', *columns])} FROM {source} p{join}{where}"


def fit_points_sql(model: ScoringModel, params: list, person_id: str | None = None) -> str:
    """Per person and fit rule that holds: person_key, rule_idx, points. Persons are read once for all rules."""
    if not model.fit:
        return "SELECT NULL::BIGINT AS person_key, NULL::INTEGER AS rule_idx, NULL::DOUBLE AS points WHERE false"
    head = f"WITH fit_input AS MATERIALIZED ({fit_input_sql(model, params, person_id)}) "
    parts = []
    for idx, rule in enumerate(model.fit, start=1):
        params.append(float(rule.points))
        conds = [condition_sql(f"p.{quote_ident(c.field)}", c, params, f"p.{quote_ident(text_column(c.field))}")
                 for c in [rule, *rule.when]]
        parts.append(f"SELECT p.person_key, {idx} AS rule_idx, ?::DOUBLE AS points FROM fit_input p WHERE "
                     + " AND ".join(conds))
    return head + " UNION ALL ".join(parts)


def fit_columns_sql(model: ScoringModel, params: list) -> str:
    """One row per person (person_key): one column of points per fit rule (points_column), NULL where the rule
    does not hold; the rows fit_points_sql gives, as columns. Persons are read once for all rules."""
    if not model.fit:
        return "SELECT NULL::BIGINT AS person_key WHERE false"
    head = f"WITH fit_input AS ({fit_input_sql(model, params)}) "
    columns = []
    for idx, rule in enumerate(model.fit, start=1):
        conds = [condition_sql(f"p.{quote_ident(c.field)}", c, params, f"p.{quote_ident(text_column(c.field))}")
                 for c in [rule, *rule.when]]
        params.append(float(rule.points))
        columns.append(f"CASE WHEN {' AND '.join(conds)} THEN ?::DOUBLE END AS {points_column(idx)}")
    return f"{head}SELECT p.person_key, {', '.join(columns)} FROM fit_input p"


# -- engagement --------------------------------------------------------------

def channel_weight_sql(model: ScoringModel, params: list) -> str:
    weights = model.engagement.channel_weights
    if not weights:
        return "1.0::DOUBLE"
    cases = []
    for channel, weight in sorted(weights.items()):
        params.extend([channel, weight])
        cases.append("WHEN ? THEN ?::DOUBLE")
    return f"CASE e.channel {' '.join(cases)} ELSE 1.0::DOUBLE END"


def matching_rules_sql(model: ScoringModel, params: list) -> str:
    """Per event, the list of engagement rules (their rule_idx) it matches: by event type, then the rule's
    `where:` conditions, evaluated on the scanned events before any row is multiplied."""
    by_type: dict[str, list[tuple[int, object]]] = {}
    for idx, rule in enumerate(model.engagement.rules, start=len(model.fit) + 1):
        by_type.setdefault(rule.event, []).append((idx, rule))
    whens = []
    for event_type, rules in by_type.items():
        params.append(event_type)
        items = []
        for idx, rule in rules:
            if rule.where:
                conds = [condition_sql(f"e.{quote_ident(c.field)}", c, params) for c in rule.where]
                items.append(f"CASE WHEN {' AND '.join(conds)} THEN {idx} END")
            else:
                items.append(str(idx))
        whens.append(f"WHEN ? THEN list_filter([{', '.join(items)}], x -> x IS NOT NULL)")
    return f"CASE e.event_type {' '.join(whens)} END" if whens else "[]::INTEGER[]"



def exact_sum(expr: str, where: str | None = None) -> str:
    """A sum that does not depend on the order rows arrive in. Floating-point sums do: two runs over
    the same events could differ in the last bit, and a score on a .xx5 boundary then rounds the other
    way (an MQL that comes and goes). Each term counts to a millionth of a point, summed as a decimal."""
    only = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(sum(CAST({expr} AS DECIMAL(18, 6))){only} AS DOUBLE)"

# An event's age at as-of (a parameter), in days.
AGE_DAYS = "(epoch(?::TIMESTAMP) - epoch(e.occurred_at)) / 86400.0"


def decay_sql(age_days: str, half_life: str) -> str:
    """0.5 ^ (age / half-life). The run's wide path and explain's per-event rows share it (and event_points_sql,
    cap_excess_sql), so both compute the same floating-point numbers."""
    return f"power(0.5, {age_days} / {half_life})"


def event_points_sql(raw_points: str, decay: str, channel_weight: str) -> str:
    return f"{raw_points} * {decay} * {channel_weight}"


def cap_excess_sql(points_before_caps: str, period_excess: str, cap: str) -> str:
    """Points over the rule's cap, after the period caps (0 without a cap: the comparison is NULL)."""
    return (f"CASE WHEN {points_before_caps} - {period_excess} > {cap} "
            f"THEN {points_before_caps} - {period_excess} - {cap} ELSE 0.0 END")


def scored_events_sql(model: ScoringModel, params: list, as_of: datetime, person_id: str | None = None,
                      max_event_id: int | None = None) -> str:
    """FROM … WHERE of the events the engagement rules can score (alias e, person key rp.person_key): of the
    rules' event types, up to as-of (and, for explain, up to the run's newest event)."""
    records = records_sql(params, person_id)
    event_types = list(dict.fromkeys(rule.event for rule in model.engagement.rules)) or [None]
    params.extend([*event_types, as_of])
    scope = ""
    if max_event_id is not None:
        params.append(max_event_id)
        scope = " AND e.event_id <= ?"
    return (f"FROM event e JOIN {records} rp ON rp.record_id = e.record_id "
            f"WHERE e.event_type IN ({', '.join('?' for _ in event_types)}) AND e.occurred_at IS NOT NULL "
            f"AND e.occurred_at <= ?::TIMESTAMP{scope}")


def engagement_ctes_sql(model: ScoringModel, params: list, as_of: datetime, person_id: str | None = None,
                        max_event_id: int | None = None) -> str:
    """CTEs rules, hits (one row per event and matching rule) and capped (per person and rule).

    All rules share one scan of event ⋈ person records: each event lists the rules it matches
    (matching_rules_sql), one row per match. Per event: raw points × decay × channel weight, decay = 0.5 ^ (age days / half-life);
    events after as-of do not exist yet. Caps apply first per period (counted back from as-of), then per rule.
    """
    rules = rules_sql(model, params)
    periods = any(rule.period_cap for rule in model.engagement.rules)
    period_no = "CASE WHEN r.period_days IS NULL THEN 0 ELSE floor(m.age_days / r.period_days) END" if periods else "0"
    params.append(as_of)  # a parameter, not a join to a one-row table: the scan filters on it directly
    weight = channel_weight_sql(model, params)
    matching = matching_rules_sql(model, params)
    scan = scored_events_sql(model, params, as_of, person_id, max_event_id)
    if periods:
        sums = f"""
        periods AS (
            SELECT person_key, rule_idx, count(*) AS events, {exact_sum('points')} AS points FROM hits
            GROUP BY person_key, rule_idx, period_no),
        rule_sums AS (
            SELECT p.person_key, p.rule_idx, sum(p.events) AS events, {exact_sum('p.points')} AS points_before_caps,
                   {exact_sum('CASE WHEN p.points > r.period_cap THEN p.points - r.period_cap ELSE 0.0 END')} AS period_excess
            FROM periods p JOIN rules r ON r.rule_idx = p.rule_idx GROUP BY p.person_key, p.rule_idx)"""
    else:
        sums = f"""
        rule_sums AS (
            SELECT person_key, rule_idx, count(*) AS events, {exact_sum('points')} AS points_before_caps,
                   0.0::DOUBLE AS period_excess
            FROM hits GROUP BY person_key, rule_idx)"""
    return f"""
        rules AS ({rules}),
        hits AS (
            SELECT *, {event_points_sql('raw_points', 'decay', 'channel_weight')} AS points FROM (
                SELECT m.person_key, r.rule_idx, m.event_id, m.occurred_at, r.raw_points,
                       CASE WHEN r.half_life IS NULL THEN 1.0::DOUBLE ELSE {decay_sql('m.age_days', 'r.half_life')} END AS decay,
                       m.channel_weight, {period_no} AS period_no
                FROM (SELECT rp.person_key, e.event_id, e.occurred_at, {AGE_DAYS} AS age_days,
                             {weight} AS channel_weight, unnest({matching}) AS rule_idx
                      {scan}) m
                JOIN rules r ON r.rule_idx = m.rule_idx)),{sums},
        capped AS (
            SELECT s.*, {cap_excess_sql('s.points_before_caps', 's.period_excess', 'r.cap')} AS cap_excess
            FROM rule_sums s JOIN rules r ON r.rule_idx = s.rule_idx)"""


def engagement_points_sql(model: ScoringModel, params: list, as_of: datetime) -> str:
    """Per person (person_key) and engagement rule: events, points before caps, caps taken off, points."""
    ctes = engagement_ctes_sql(model, params, as_of)
    return f"""WITH {ctes}
        SELECT person_key, rule_idx, events, points_before_caps, 0.0 - period_excess AS period_capped,
               0.0 - cap_excess AS capped, points_before_caps - period_excess - cap_excess AS points
        FROM capped"""


def engagement_columns_sql(model: ScoringModel, params: list, as_of: datetime) -> str:
    """Per person (person_key) with scored events: one column of points after caps per engagement rule
    (points_column), the numbers engagement_points_sql gives per person and rule.

    Without period caps the events are summed straight into the columns: each rule's points per event
    (CASE on its event type and `where:`), grouped by person alone. Period caps need sums per person, rule
    and period first: those models take engagement_points_sql's rows and turn them into the columns.
    """
    rules = list(enumerate(model.engagement.rules, start=len(model.fit) + 1))
    if not rules:
        return "SELECT NULL::BIGINT AS person_key WHERE false"
    if any(rule.period_cap for _, rule in rules):
        per_rule = engagement_points_sql(model, params, as_of)
        columns = [f"max(points) FILTER (WHERE rule_idx = {idx}) AS {points_column(idx)}" for idx, _ in rules]
        return f"SELECT person_key, {', '.join(columns)} FROM ({per_rule}) GROUP BY person_key"
    # parameters in the order the statement reads them: caps (outer select), rule points, the scan
    cap_params: list = []
    capped = []
    for idx, rule in rules:
        cap_params.extend([rule.cap, rule.cap])
        before = points_column(idx)
        capped.append(f"{before} - 0.0::DOUBLE - {cap_excess_sql(before, '0.0::DOUBLE', '?::DOUBLE')} AS {before}")
    sums = ", ".join(f"{exact_sum(points_column(idx))} AS {points_column(idx)}" for idx, _ in rules)
    point_params: list = []
    points = []
    for idx, rule in rules:
        point_params.append(rule.event)
        conds = ["m.event_type = ?", *(condition_sql(f"m.{quote_ident(c.field)}", c, point_params) for c in rule.where)]
        half_life = rule.half_life_days or model.engagement.half_life_days
        point_params.append(float(rule.points))
        decay = "1.0::DOUBLE"
        if half_life:
            point_params.append(float(half_life))
            decay = decay_sql("m.age_days", "?::DOUBLE")
        points.append(f"CASE WHEN {' AND '.join(conds)} THEN {event_points_sql('?::DOUBLE', decay, 'm.channel_weight')} "
                      f"END AS {points_column(idx)}")
    scan_params: list = [as_of]
    weight = channel_weight_sql(model, scan_params)
    scan = scored_events_sql(model, scan_params, as_of)
    params.extend([*cap_params, *point_params, *scan_params])
    fields = sorted({cond.field for _, rule in rules for cond in rule.where})
    event_fields = "".join(f", e.{quote_ident(f)}" for f in fields)
    return f"""
        SELECT person_key, {', '.join(capped)} FROM (
            SELECT person_key, {sums} FROM (
                SELECT m.person_key, {', '.join(points)}
                FROM (SELECT rp.person_key, e.event_type{event_fields}, {AGE_DAYS} AS age_days, {weight} AS channel_weight
                      {scan}) m)
            GROUP BY person_key)"""


def explain_contributions_sql(model: ScoringModel, params: list, as_of: datetime, person_id: str,
                              max_event_id: int | None) -> str:
    """One person's contributions as scored: fit rules, every scored event, and negative '(period cap)' and
    '(cap)' rows so the points still add up. Same builders as the run, filtered to the person."""
    ctes = engagement_ctes_sql(model, params, as_of, person_id, max_event_id)
    fit = fit_points_sql(model, params, person_id)
    return f"""WITH {ctes},
        fit AS ({fit})
        SELECT 'fit' AS factor, r.rule_id, r.label, NULL::BIGINT AS event_id, NULL::TIMESTAMP AS occurred_at,
               r.raw_points, 1.0::DOUBLE AS decay, 1.0::DOUBLE AS channel_weight, f.points
        FROM fit f JOIN rules r ON r.rule_idx = f.rule_idx
        UNION ALL
        SELECT 'engagement', r.rule_id, r.label, h.event_id, h.occurred_at, h.raw_points, h.decay, h.channel_weight, h.points
        FROM hits h JOIN rules r ON r.rule_idx = h.rule_idx
        UNION ALL
        SELECT 'engagement', r.rule_id, r.label || ' (period cap)', NULL, NULL, 0.0, 1.0, 1.0, 0.0 - c.period_excess
        FROM capped c JOIN rules r ON r.rule_idx = c.rule_idx WHERE c.period_excess > 0
        UNION ALL
        SELECT 'engagement', r.rule_id, r.label || ' (cap)', NULL, NULL, 0.0, 1.0, 1.0, 0.0 - c.cap_excess
        FROM capped c JOIN rules r ON r.rule_idx = c.rule_idx WHERE c.cap_excess > 0"""


# -- per person ---------------------------------------------------------------

def exact_row_sum(columns: list[str]) -> str:
    """exact_sum across a row's columns (NULL counts as no term): the same decimal terms, so the same total."""
    if not columns:
        return "0.0::DOUBLE"
    terms = " + ".join(f"coalesce(CAST({column} AS DECIMAL(18, 6)), 0)" for column in columns)
    return f"CAST(CAST({terms} AS DECIMAL(38, 6)) AS DOUBLE)"


def _not_picked(n: int, label_rank: int) -> str:
    """Whether a rule is none of the first n-1 top reasons."""
    return " AND ".join(f"rank_at_{m} <> {label_rank}" for m in range(1, n)) or "true"


def person_totals_sql(model: ScoringModel, params: list, source: str, keep: list[str]) -> str:
    """Per row of ``source`` (every rule's points in its points_column, NULL = no points): the ``keep`` columns, fit
    and engagement (exact sums) and the top three reasons: the rules with the largest net points, ties by label,
    rules that net to 0 (to the cent) left out, as '+30 demo request; +25 title: decision maker'.

    The three are picked across the columns, with no row per rule: the largest absolute points among the rules
    not picked yet, the first rule in label order with those points; one printf writes all of them."""
    rows = rule_rows(model)
    kept = "".join(f"{column}, " for column in keep)
    if not rows:
        return f"SELECT {kept}0.0::DOUBLE AS fit, 0.0::DOUBLE AS engagement, NULL::VARCHAR AS top_reasons FROM ({source})"
    ranked = sorted((row[4], row[0], row[3]) for row in rows)  # (label_rank, rule_idx, label)
    sizes = ", ".join(f"CASE WHEN round({points_column(idx)}, 2) <> 0 THEN abs({points_column(idx)}) END AS size_{idx}"
                      for _, idx, _ in ranked)
    relation = f"SELECT *, {sizes} FROM ({source})"
    for n in (1, 2, 3):
        largest = ", ".join(f"CASE WHEN {_not_picked(n, rank)} THEN size_{idx} END" for rank, idx, _ in ranked)
        first = " ".join(f"WHEN size_{idx} = size_at_{n} AND {_not_picked(n, rank)} THEN {rank}" for rank, idx, _ in ranked)
        relation = f"SELECT *, CASE {first} END AS rank_at_{n} FROM (SELECT *, greatest({largest}) AS size_at_{n} FROM ({relation}))"
    points = " ".join(f"WHEN {rank} THEN {points_column(idx)}" for rank, idx, _ in ranked)
    labels = " ".join(f"WHEN {rank} THEN ?" for rank, _, _ in ranked)
    formats = []
    for count in (3, 2, 1):
        values = []
        for n in range(1, count + 1):
            values += [f"CASE rank_at_{n} {points} END", f"CASE rank_at_{n} {labels} END"]
            params.extend(label for _, _, label in ranked)
        formats.append(f"WHEN rank_at_{count} IS NOT NULL THEN printf('{'; '.join(['%+.0f %s'] * count)}', {', '.join(values)})")
    by_factor = {factor: [points_column(row[0]) for row in rows if row[1] == factor] for factor in ("fit", "engagement")}
    return f"""
        SELECT {kept}{exact_row_sum(by_factor['fit'])} AS fit, {exact_row_sum(by_factor['engagement'])} AS engagement,
               CASE {' '.join(formats)} END AS top_reasons
        FROM ({relation})"""


def crm_map_sql(model: ScoringModel, params: list) -> str:
    crm_map = sorted((k.lower(), v) for k, v in model.stages.crm_stage_map.items())
    if not crm_map:
        return "SELECT NULL::VARCHAR AS crm_key, NULL::VARCHAR AS mapped WHERE false"
    params.extend(x for pair in crm_map for x in pair)
    return " UNION ALL ".join("SELECT ?::VARCHAR AS crm_key, ?::VARCHAR AS mapped" for _ in crm_map)


def person_events_sql(model: ScoringModel, params: list, as_of: datetime, passive_events: tuple[str, ...]) -> str:
    """Per person, from the events up to as-of: last own activity (not CRM updates or bounces) and the latest
    CRM feedback, forward (SAL … Customer) and recycling (with its reason). Activity is reduced per record
    before records are mapped to people; CRM feedback reads only crm_update events."""
    params.extend([as_of, *passive_events])
    passive = ", ".join("?" for _ in passive_events)
    crm_map = crm_map_sql(model, params)
    params.append(as_of)
    return f"""
        WITH activity AS (
            SELECT rp.person_key, max(r.last_activity_at) AS last_activity_at
            FROM (SELECT e.record_id, max(e.occurred_at) AS last_activity_at FROM event e
                  WHERE e.occurred_at <= ?::TIMESTAMP AND e.event_type NOT IN ({passive}) GROUP BY e.record_id) r
            JOIN record_person rp ON rp.record_id = r.record_id GROUP BY rp.person_key),
        crm_map AS ({crm_map}),
        crm AS (
            SELECT rp.person_key,
                   max_by(m.mapped, e.occurred_at) FILTER (WHERE m.mapped <> 'Recycled') AS forward_stage,
                   max(e.occurred_at) FILTER (WHERE m.mapped <> 'Recycled') AS forward_at,
                   max(e.occurred_at) FILTER (WHERE m.mapped = 'Recycled') AS recycled_at,
                   max_by(coalesce(e.detail, e.crm_stage), e.occurred_at) FILTER (WHERE m.mapped = 'Recycled') AS recycled_reason
            FROM event e JOIN record_person rp ON rp.record_id = e.record_id
            JOIN crm_map m ON m.crm_key = lower(trim(e.crm_stage))
            WHERE e.event_type = 'crm_update' AND e.occurred_at <= ?::TIMESTAMP
            GROUP BY rp.person_key)
        SELECT coalesce(activity.person_key, crm.person_key) AS person_key, activity.last_activity_at,
               crm.forward_stage, crm.forward_at, crm.recycled_at, crm.recycled_reason
        FROM activity FULL JOIN crm ON crm.person_key = activity.person_key"""
