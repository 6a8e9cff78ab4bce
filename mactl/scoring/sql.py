"""SQL builders: the model compiled into parameterised statements (values never pasted into SQL)."""

from __future__ import annotations

from mactl.scoring.model import Condition, EngagementRule, FitRule, ScoringModel
from mactl.workspace import quote_ident


def condition_sql(column: str, cond: Condition, params: list) -> str:
    """One condition on a column expression; appends its values to params."""
    text = f"lower(trim(CAST({column} AS VARCHAR)))"
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


def person_column(field: str) -> str:
    if field.startswith("attr."):
        return f"attrs.{quote_ident(field)}"
    return f"p.{quote_ident(field)}"


def attr_fields(model: ScoringModel) -> list[str]:
    fields = set(model.stages.mql.bant_fields and [f"attr.{f}" for f in model.stages.mql.bant_fields] or [])
    for rule in model.fit:
        for cond in [rule, *rule.when]:
            if cond.field.startswith("attr."):
                fields.add(cond.field)
    return sorted(fields)


def person_attrs_sql(model: ScoringModel, params: list) -> str:
    """Per person, the latest non-empty value of each attribute column the model uses (BANT etc.)."""
    fields = attr_fields(model)
    if not fields:
        return "SELECT person_id FROM person"
    columns = []
    for field in fields:
        params.append("$." + field[5:])
        columns.append(f"max_by(nullif(trim(json_extract_string(sr.attributes, ?)), ''), sr.record_time) "
                       f"FILTER (WHERE nullif(trim(json_extract_string(sr.attributes, ?)), '') IS NOT NULL) "
                       f"AS {quote_ident(field)}")
        params.insert(len(params) - 1, "$." + field[5:])  # same path twice (value and filter)
    return ("SELECT pr.person_id, " + ", ".join(columns) +
            " FROM person_record pr JOIN source_record sr ON sr.record_id = pr.record_id GROUP BY pr.person_id")


def fit_rule_sql(rule: FitRule, params: list) -> str:
    conds = [condition_sql(person_column(c.field), c, params) for c in [rule, *rule.when]]
    return ("SELECT p.person_id, 'fit' AS factor, ? AS rule_id, ? AS label, NULL::BIGINT AS event_id, "
            "NULL::TIMESTAMP AS occurred_at, ?::DOUBLE AS raw_points, 1.0::DOUBLE AS decay, 1.0::DOUBLE AS channel_weight, "
            "?::DOUBLE AS points FROM person p LEFT JOIN attrs ON attrs.person_id = p.person_id WHERE "
            + " AND ".join(conds)), [rule.id, rule.label or rule.id, rule.points, rule.points]


def fit_contributions_sql(model: ScoringModel, params: list) -> str:
    attr_params: list = []
    attrs = person_attrs_sql(model, attr_params)
    params.extend(attr_params)
    parts = []
    for rule in model.fit:
        cond_params: list = []
        body, head_params = fit_rule_sql(rule, cond_params)
        params.extend(head_params + cond_params)
        parts.append(body)
    if not parts:
        parts.append("SELECT NULL::VARCHAR, NULL, NULL, NULL, NULL::BIGINT, NULL::TIMESTAMP, 0.0, 0.0, 0.0, 0.0 WHERE false")
    return f"WITH attrs AS ({attrs}) " + " UNION ALL ".join(parts)


def channel_weight_sql(model: ScoringModel, params: list) -> str:
    weights = model.engagement.channel_weights
    if not weights:
        return "1.0::DOUBLE"
    cases = []
    for channel, weight in sorted(weights.items()):
        params.extend([channel, weight])
        cases.append("WHEN ? THEN ?::DOUBLE")
    return f"CASE e.channel {' '.join(cases)} ELSE 1.0::DOUBLE END"


def engagement_rule_sql(model: ScoringModel, rule: EngagementRule, params: list) -> str:
    """Per matching event: raw points × decay × channel weight (events after as-of do not exist yet)."""
    half_life = rule.half_life_days or model.engagement.half_life_days
    params.extend([rule.id, rule.label or rule.id, rule.points])
    if half_life:
        params.append(float(half_life))
        decay = "power(0.5, (epoch(a.as_of) - epoch(e.occurred_at)) / 86400.0 / ?)"
    else:
        decay = "1.0::DOUBLE"
    weight = channel_weight_sql(model, params)
    params.append(rule.event)
    conds = [condition_sql(f"e.{quote_ident(c.field)}", c, params) for c in rule.where]
    where = "".join(f" AND {c}" for c in conds)
    return (f"SELECT pr.person_id, 'engagement' AS factor, ? AS rule_id, ? AS label, e.event_id, e.occurred_at, "
            f"?::DOUBLE AS raw_points, {decay} AS decay, {weight} AS channel_weight "
            f"FROM event e JOIN person_record pr ON pr.record_id = e.record_id CROSS JOIN as_of_param a "
            f"WHERE e.event_type = ? AND e.occurred_at IS NOT NULL AND e.occurred_at <= a.as_of{where}")


def engagement_contributions_sql(model: ScoringModel, params: list) -> str:
    """Event contributions plus negative '(cap)' rows: first per period, then per rule, so explain still adds up."""
    parts, caps = [], []
    for rule in model.engagement.rules:
        parts.append(engagement_rule_sql(model, rule, params))
        if rule.cap is not None or rule.period_cap is not None:
            period = rule.period_cap
            caps.append((rule.id, rule.cap, period.days if period else None, period.cap if period else None))
    if not parts:
        return ("SELECT NULL::VARCHAR person_id, NULL::VARCHAR factor, NULL::VARCHAR rule_id, NULL::VARCHAR label, NULL::BIGINT event_id, "
                "NULL::TIMESTAMP occurred_at, 0.0 raw_points, 0.0 decay, 0.0 channel_weight, 0.0 points WHERE false")
    events = " UNION ALL ".join(parts)
    cap_values = " UNION ALL ".join(
        "SELECT ?::VARCHAR AS rule_id, ?::DOUBLE AS cap, ?::DOUBLE AS period_days, ?::DOUBLE AS period_cap" for _ in caps) or \
        "SELECT NULL::VARCHAR AS rule_id, NULL::DOUBLE AS cap, NULL::DOUBLE AS period_days, NULL::DOUBLE AS period_cap WHERE false"
    for values in caps:
        params.extend(values)
    return f"""
        WITH hits AS (SELECT *, raw_points * decay * channel_weight AS points FROM ({events})),
        caps AS ({cap_values}),
        period_over AS (
            SELECT h.person_id, h.rule_id, any_value(h.label) AS label, sum(h.points) - any_value(c.period_cap) AS excess
            FROM hits h JOIN caps c ON c.rule_id = h.rule_id CROSS JOIN as_of_param a
            WHERE c.period_cap IS NOT NULL
            GROUP BY h.person_id, h.rule_id, floor((epoch(a.as_of) - epoch(h.occurred_at)) / 86400.0 / c.period_days)
            HAVING sum(h.points) > any_value(c.period_cap)),
        after_period AS (
            SELECT person_id, rule_id, label, points FROM hits
            UNION ALL SELECT person_id, rule_id, label, -excess FROM period_over),
        over AS (
            SELECT h.person_id, h.rule_id, any_value(h.label) AS label, sum(h.points) - any_value(c.cap) AS excess
            FROM after_period h JOIN caps c ON c.rule_id = h.rule_id
            WHERE c.cap IS NOT NULL
            GROUP BY h.person_id, h.rule_id HAVING sum(h.points) > any_value(c.cap))
        SELECT person_id, factor, rule_id, label, event_id, occurred_at, raw_points, decay, channel_weight, points FROM hits
        UNION ALL
        SELECT person_id, 'engagement', rule_id, label || ' (period cap)', NULL, NULL, 0.0, 1.0, 1.0, -sum(excess)
        FROM period_over GROUP BY person_id, rule_id, label
        UNION ALL
        SELECT person_id, 'engagement', rule_id, label || ' (cap)', NULL, NULL, 0.0, 1.0, 1.0, -excess FROM over"""
