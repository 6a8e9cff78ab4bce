"""Send-list stage: per-channel send lists with consent, suppression, frequency caps and A/B arms.

One set-based pipeline: candidates -> channel address -> the FIRST failing check in
EXCLUSION_ORDER -> one row per address -> deterministic arms -> file + send log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mactl.errors import UsageError
from mactl.exporting import format_of, write_query
from mactl.workspace import Workspace, utc_now

STAGE = "sendlists"
SEND_CHANNELS = ("email", "sms", "wechat")
EXCLUSION_ORDER = (
    "no address",
    "invalid address",
    "role mailbox",
    "no consent",
    "unsubscribed",
    "bounced",
    "suppressed",
    "frequency cap",
    "duplicate address",
)
# Commercial SMS in China needs explicit prior consent; email and WeChat use it when configured.
DEFAULT_CONSENT_REQUIRED = {"email": False, "sms": True, "wechat": False}
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*d\s*$")
_PHONE_E164 = r"^\+[1-9][0-9]{6,14}$"
_EMAIL_OK = r"^[a-z0-9._%+\-'']+@[a-z0-9.\-]+\.[a-z]{2,}$"


@dataclass
class SendListSummary:
    channel: str
    list_name: str
    path: str | None
    rows: int
    excluded: dict[str, int]
    arms: dict[str, int]
    candidates: int
    dry_run: bool
    log_id: int | None = None
    replaced_log: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "list_name": self.list_name,
            "path": self.path,
            "candidates": self.candidates,
            "rows": self.rows,
            "excluded": dict(self.excluded),
            "excluded_total": sum(self.excluded.values()),
            "arms": dict(self.arms),
            "dry_run": self.dry_run,
            "log_id": self.log_id,
            "replaced_log": self.replaced_log,
        }


# ---------------------------------------------------------------- parsing


def parse_cap(cap: str | None) -> tuple[int, int] | None:
    """'2/7d' -> (2, 7): at most 2 lists per person per channel in the last 7 days."""
    if cap is None or str(cap).strip() == "":
        return None
    match = _CAP.match(str(cap))
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise UsageError(f"--cap {cap!r}: write it as N/Kd, e.g. 2/7d (at most 2 lists in 7 days)")
    return int(match.group(1)), int(match.group(2))


def parse_ab(ab: str | None) -> list[int]:
    """'50/50' -> [50, 50]; '40/30/30' -> three arms A, B, C. Shares must add up to 100."""
    if ab is None or str(ab).strip() == "":
        return [100]
    parts = str(ab).replace("%", "").split("/")
    try:
        shares = [int(p.strip()) for p in parts]
    except ValueError:
        shares = []
    if len(shares) < 1 or len(shares) > 26 or any(s <= 0 for s in shares) or sum(shares) != 100:
        raise UsageError(f"--ab {ab!r}: write whole percentages that add up to 100, e.g. 50/50 or 40/30/30")
    return shares


def parse_holdout(holdout: str | int | None) -> int:
    """'10%' -> 10 (percent of the eligible people kept out of the list as a control group)."""
    if holdout is None or str(holdout).strip() == "":
        return 0
    text = str(holdout).strip().rstrip("%").strip()
    if not text.isdigit() or not 0 <= int(text) < 100:
        raise UsageError(f"--holdout {holdout!r}: write a whole percentage below 100, e.g. 10%")
    return int(text)


def consent_required(channel: str, config: dict | None) -> bool:
    required = dict(DEFAULT_CONSENT_REQUIRED)
    required.update((config or {}).get("consent_required", {}))
    return bool(required.get(channel, False))


# ---------------------------------------------------------------- SQL builders


def address_sql(channel: str) -> str:
    if channel == "email":
        return "NULLIF(lower(trim(p.email)), '')"
    if channel == "sms":
        return "NULLIF(trim(p.phone), '')"
    return "COALESCE(NULLIF(trim(p.wechat_unionid), ''), NULLIF(trim(p.wechat_openid), ''))"


def candidates_sql(channel: str, segment: str | None) -> str:
    """People (of the segment) with their channel address."""
    where = "WHERE p.person_id IN (SELECT person_id FROM segment_member WHERE segment = $segment)" if segment else ""
    return f"""
        SELECT p.person_id, p.name, p.company, {address_sql(channel)} AS address,
               p.consent, COALESCE(p.email_is_role, false) AS email_is_role
        FROM person p {where}"""


def invalid_sql(channel: str) -> str:
    """TRUE when the address is unusable for the channel (a person_contact flag or the shape)."""
    if channel == "email":
        shape = f"NOT regexp_matches(c.address, '{_EMAIL_OK}')"
    elif channel == "sms":
        shape = f"NOT regexp_matches(c.address, '{_PHONE_E164}')"
    else:
        return "false"
    kind = "email" if channel == "email" else "phone"
    flagged = (f"EXISTS (SELECT 1 FROM person_contact pc WHERE pc.person_id = c.person_id AND pc.kind = '{kind}'"
               f" AND pc.value = c.address AND (NOT pc.is_valid OR pc.detail = 'landline'))")
    return f"({shape} OR {flagged})"


def role_sql(channel: str) -> str:
    if channel != "email":
        return "false"
    return ("(c.email_is_role OR EXISTS (SELECT 1 FROM person_contact pc WHERE pc.person_id = c.person_id"
            " AND pc.kind = 'email' AND pc.value = c.address AND pc.detail = 'role'))")


def unsubscribed_sql() -> str:
    """An unsubscribe later than the person's last consent=true record (or with none) withdraws consent."""
    return """EXISTS (
        SELECT 1 FROM person_record pr JOIN event e ON e.record_id = pr.record_id
        WHERE pr.person_id = c.person_id AND e.event_type = 'unsubscribe'
          AND (e.occurred_at IS NULL OR e.occurred_at >= COALESCE((
                SELECT max(COALESCE(sr.record_time, sr.imported_at))
                FROM person_record pr2 JOIN source_record sr ON sr.record_id = pr2.record_id
                WHERE pr2.person_id = c.person_id AND sr.consent), TIMESTAMP '0001-01-01')))"""


def bounced_sql(channel: str) -> str:
    """A bounce of this very address (or of a record without an email) stops email to it."""
    if channel != "email":
        return "false"
    return """EXISTS (
        SELECT 1 FROM person_record pr JOIN event e ON e.record_id = pr.record_id
        JOIN source_record sr ON sr.record_id = e.record_id
        WHERE pr.person_id = c.person_id AND e.event_type = 'email_bounce'
          AND (NULLIF(trim(sr.email), '') IS NULL OR lower(trim(sr.email)) = c.address))"""


def suppressed_sql(channel: str) -> str:
    kinds = {"email": "'email'", "sms": "'phone'", "wechat": "'wechat'"}[channel]
    domain = " OR (s.kind = 'domain' AND s.value = split_part(c.address, '@', 2))" if channel == "email" else ""
    return (f"EXISTS (SELECT 1 FROM suppression s WHERE (s.kind = {kinds} AND s.value = c.address){domain})")


def over_cap_sql() -> str:
    """Lists already sent to the person on this channel in the window, not counting this list's own
    earlier run on the same day (which this run replaces)."""
    return """(SELECT count(DISTINCT l.log_id) FROM send_log_line l JOIN send_log g ON g.log_id = l.log_id
               WHERE l.person_id = c.person_id AND l.channel = $channel
                 AND l.sent_at > $as_of - to_days(CAST($cap_days AS INTEGER)) AND l.sent_at <= $as_of
                 AND NOT (g.list_name = $list_name AND CAST(g.as_of AS DATE) = CAST($as_of AS DATE))
              ) >= $cap_count"""


def reason_sql(channel: str, *, needs_consent: bool, capped: bool) -> str:
    checks = [
        ("no address", "c.address IS NULL"),
        ("invalid address", invalid_sql(channel)),
        ("role mailbox", role_sql(channel)),
        ("no consent", "c.consent IS NOT TRUE" if needs_consent else "false"),
        ("unsubscribed", unsubscribed_sql()),
        ("bounced", bounced_sql(channel)),
        ("suppressed", suppressed_sql(channel)),
        ("frequency cap", over_cap_sql() if capped else "false"),
    ]
    whens = "\n".join(f"WHEN {cond} THEN '{name}'" for name, cond in checks if cond != "false")
    return f"CASE {whens} ELSE NULL END" if whens else "NULL"


def arm_sql(shares: list[int], holdout: int) -> str:
    """Bucket 0..99 from md5(list_name|person_id): stable for the same list name on every re-run.
    Buckets below the hold-out share are the control group; the rest are split by the A/B shares."""
    bucket = "CAST(('0x' || left(md5($list_name || '|' || person_id), 8)) AS UBIGINT) % 100"
    parts = [f"WHEN {bucket} < {holdout} THEN 'holdout'"] if holdout else []
    eligible = 100 - holdout
    cumulative = 0
    for index, share in enumerate(shares[:-1]):
        cumulative += share
        # scale the bucket into the eligible range: bucket - holdout < cumulative% of eligible
        parts.append(f"WHEN ({bucket} - {holdout}) * 100 < {cumulative} * {eligible} THEN '{chr(65 + index)}'")
    last = f"'{chr(65 + len(shares) - 1)}'"
    return "CASE " + " ".join(parts) + f" ELSE {last} END" if parts else last


def classify_sql(channel: str, segment: str | None, *, needs_consent: bool, capped: bool,
                 shares: list[int], holdout: int) -> str:
    return f"""
        CREATE OR REPLACE TEMP TABLE send_candidate AS
        WITH c AS ({candidates_sql(channel, segment)}),
        checked AS (
            SELECT c.person_id, c.name, c.company, c.address,
                   {reason_sql(channel, needs_consent=needs_consent, capped=capped)} AS reason
            FROM c),
        deduped AS (
            SELECT *, CASE WHEN reason IS NULL AND row_number() OVER (
                         PARTITION BY address, reason IS NULL ORDER BY person_id) > 1
                      THEN 'duplicate address' ELSE reason END AS final_reason
            FROM checked)
        SELECT person_id, name, company, address, final_reason AS reason, $list_name AS list_name,
               CASE WHEN final_reason IS NULL THEN {arm_sql(shares, holdout)} END AS arm
        FROM deduped"""


def output_sql(channel: str) -> str:
    return f"""SELECT person_id, name, company, address, '{channel}' AS channel, arm
               FROM send_candidate WHERE reason IS NULL AND arm <> 'holdout' ORDER BY person_id"""


# ---------------------------------------------------------------- the export


def export_send_list(
    ws: Workspace,
    *,
    channel: str,
    out: str | Path | None,
    segment: str | None = None,
    list_name: str | None = None,
    cap: str | None = None,
    ab: str | None = None,
    holdout: str | int | None = None,
    dry_run: bool = False,
    as_of: datetime | None = None,
    config: dict | None = None,
    progress: Any = None,
) -> SendListSummary:
    """Build, write and log one send list. dry_run: counts only, no file and no log."""
    if channel not in SEND_CHANNELS:
        raise UsageError(f"--channel {channel!r}: choose one of {', '.join(SEND_CHANNELS)}")
    if out is None and not dry_run:
        raise UsageError("send-list: no --out file; give --out FILE.csv or .xlsx (or use --dry-run)")
    if out is not None and format_of(out) == "parquet":
        raise UsageError(f"{out}: a send list is for people and platforms; write .csv or .xlsx")
    cap_rule = parse_cap(cap)
    shares, holdout_pct = parse_ab(ab), parse_holdout(holdout)
    as_of = as_of or utc_now()
    list_name = list_name or (Path(out).stem if out else f"{channel}_{segment or 'all'}")
    if segment and not ws.scalar(STAGE, "segment exists",
                                 "SELECT count(*) FROM segment_member WHERE segment = ?", [segment]):
        raise UsageError(f"--segment {segment!r}: no such segment or it has no members; run `mactl segment build`")
    params: dict[str, Any] = {"list_name": list_name}
    if segment:
        params["segment"] = segment
    if cap_rule:
        params.update(channel=channel, as_of=as_of, cap_count=cap_rule[0], cap_days=cap_rule[1])
    with ws.transaction():
        ws.sql(STAGE, "classify", classify_sql(channel, segment, needs_consent=consent_required(channel, config),
                                                capped=cap_rule is not None, shares=shares,
                                                holdout=holdout_pct), params)
        summary = _summarise(ws, channel, list_name, dry_run)
        if not dry_run:
            summary.path = str(out)
            summary.rows = write_query(ws, STAGE, output_sql(channel), None, out)
            summary.log_id, summary.replaced_log = _log_export(ws, summary, segment, as_of)
        ws.sql(STAGE, "cleanup", "DROP TABLE IF EXISTS send_candidate")
    return summary


def _summarise(ws: Workspace, channel: str, list_name: str, dry_run: bool) -> SendListSummary:
    by_reason = dict(ws.fetchall(STAGE, "count reasons",
                                 "SELECT reason, count(*) FROM send_candidate WHERE reason IS NOT NULL GROUP BY reason"))
    arms = dict(ws.fetchall(STAGE, "count arms",
                            "SELECT arm, count(*) FROM send_candidate WHERE reason IS NULL GROUP BY arm ORDER BY arm"))
    candidates = int(ws.scalar(STAGE, "count candidates", "SELECT count(*) FROM send_candidate"))
    excluded = {reason: int(by_reason.get(reason, 0)) for reason in EXCLUSION_ORDER}
    rows = sum(n for arm, n in arms.items() if arm != "holdout")
    return SendListSummary(channel=channel, list_name=list_name, path=None, rows=rows, excluded=excluded,
                           arms={k: int(v) for k, v in arms.items()}, candidates=candidates, dry_run=dry_run)


def _log_export(ws: Workspace, summary: SendListSummary, segment: str | None, as_of: datetime) -> tuple[int, bool]:
    """Log the export; the same list re-run on the same day replaces its earlier log (no double counting)."""
    same_day = ws.fetchall(STAGE, "find same-day log",
                           "SELECT log_id FROM send_log WHERE list_name = ? AND channel = ? "
                           "AND CAST(as_of AS DATE) = CAST(? AS DATE)", [summary.list_name, summary.channel, as_of])
    ids = [row[0] for row in same_day]
    if ids:
        ws.sql(STAGE, "replace log lines", "DELETE FROM send_log_line WHERE log_id IN (SELECT unnest(?))", [ids])
        ws.sql(STAGE, "replace log", "DELETE FROM send_log WHERE log_id IN (SELECT unnest(?))", [ids])
    log_id = int(ws.scalar(STAGE, "next log id", "SELECT COALESCE(max(log_id), 0) + 1 FROM send_log"))
    ws.sql(STAGE, "log export",
           "INSERT INTO send_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
           [log_id, summary.list_name, summary.channel, segment, summary.path, summary.rows, as_of, utc_now()])
    ws.sql(STAGE, "log lines",
           "INSERT INTO send_log_line SELECT ?, person_id, ?, address, arm, ? FROM send_candidate "
           "WHERE reason IS NULL AND arm <> 'holdout'", [log_id, summary.channel, as_of])
    return log_id, bool(ids)


from mactl.sendlists.suppression import suppress_add, suppress_list, suppress_remove  # noqa: E402

__all__ = [
    "EXCLUSION_ORDER",
    "SendListSummary",
    "export_send_list",
    "suppress_add",
    "suppress_list",
    "suppress_remove",
]
