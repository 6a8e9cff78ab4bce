"""What people do with merges: explain them, review unsure pairs, link, split, undo, export.

Every decision is stored as an override (must_link / cannot_link between records),
which wins over the rules in every later merge; each operation then re-merges.
"""

from __future__ import annotations

from pathlib import Path

from mactl.errors import InputFileError, NotFoundError, UsageError
from mactl.exporting import write_query, write_xlsx
from mactl.identity.matching import STAGE
from mactl.identity.merge import MergeSummary, last_identity_recipe, merge
from mactl.workspace import Workspace, utc_now

LINK_WORDS = {"link", "same", "merge", "yes", "y", "是", "合并", "同一人"}
SEPARATE_WORDS = {"separate", "different", "no", "n", "否", "不合并", "不是"}
REVIEW_SIDE = ("person_id", "name", "company", "email", "phone", "channel", "source")


def resolve_person(ws: Workspace, person_id: str) -> tuple[str, str | None]:
    """The current id of a person (following merges), and a note when it was merged away."""
    if ws.scalar(STAGE, "find person", "SELECT count(*) FROM person WHERE person_id = ?", [person_id]):
        return person_id, None
    row = ws.fetchone(STAGE, "find alias", "SELECT person_id, merged_at FROM person_alias WHERE old_person_id = ?", [person_id])
    if row and ws.scalar(STAGE, "find person", "SELECT count(*) FROM person WHERE person_id = ?", [row[0]]):
        return row[0], f"{person_id} was merged into {row[0]} on {row[1]:%Y-%m-%d %H:%M} UTC"
    raise NotFoundError(f"no person {person_id} in this workspace. Find ids with 'mactl export people --out people.csv'")


def explain(ws: Workspace, person_id: str) -> dict:
    current, note = resolve_person(ws, person_id)
    person = ws.fetchone(STAGE, "person", "SELECT * FROM person WHERE person_id = ?", [current])
    columns = [d[0] for d in ws.con.description]
    records = ws.fetchall(STAGE, "members", """
        SELECT s.record_id, s.source_file, s.source_sheet, s.source_row, s.channel, s.name, s.email, s.phone, s.company,
               s.record_time
        FROM person_record pr JOIN source_record s USING (record_id) WHERE pr.person_id = ? ORDER BY s.record_id""", [current])
    links = ws.fetchall(STAGE, "links", """
        SELECT l.record_id, l.other_record_id, l.rule, l.strength, l.score, l.detail
        FROM identity_link l JOIN person_record pr ON pr.record_id = l.record_id
        WHERE pr.person_id = ? ORDER BY l.record_id, l.other_record_id""", [current])
    overrides = ws.fetchall(STAGE, "overrides", """
        SELECT o.kind, o.record_id, o.other_record_id, o.reason, o.created_at FROM identity_override o
        JOIN person_record pr ON pr.record_id = o.record_id OR pr.record_id = o.other_record_id
        WHERE pr.person_id = ? AND o.active ORDER BY o.override_id""", [current])
    aliases = [r[0] for r in ws.fetchall(STAGE, "aliases", "SELECT old_person_id FROM person_alias WHERE person_id = ? ORDER BY 1", [current])]
    record_keys = ("record_id", "source_file", "source_sheet", "source_row", "channel", "name", "email", "phone", "company", "record_time")
    return {
        "person_id": current,
        "note": note,
        "person": dict(zip(columns, person)),
        "merged_ids": aliases,
        "records": [dict(zip(record_keys, r)) for r in records],
        "links": [dict(zip(("record_id", "other_record_id", "rule", "strength", "score", "detail"), r)) for r in links],
        "overrides": [dict(zip(("kind", "record_id", "other_record_id", "reason", "created_at"), r)) for r in overrides],
    }


def review_out(ws: Workspace, path: str | Path, limit: int | None = None) -> int:
    """Write the open review pairs side by side, with a decision column to fill in; returns how many.

    ``limit``: at most this many pairs, oldest records first (the same pairs until they are decided)."""
    side = lambda alias: ", ".join(  # noqa: E731
        f"{alias}.{c} AS {alias}_{c}" for c in REVIEW_SIDE
    )
    rows = ws.fetchall(STAGE, "open reviews", f"""
        WITH r AS (SELECT s.record_id, pr.person_id, s.name, s.company, s.email, s.phone, s.channel,
                          s.source_file || CASE WHEN s.source_sheet <> '' THEN ' / ' || s.source_sheet ELSE '' END
                              || ' row ' || s.source_row AS source
                   FROM source_record s JOIN person_record pr USING (record_id))
        SELECT v.record_id, v.other_record_id, v.rule, v.score, v.reason, {side('a')}, {side('b')}, '' AS decision
        FROM identity_review v JOIN r a ON a.record_id = v.record_id JOIN r b ON b.record_id = v.other_record_id
        WHERE v.status = 'open' ORDER BY v.record_id, v.other_record_id LIMIT ?""", [limit])
    columns = ["record_a", "record_b", "rule", "score", "reason"] + [f"a_{c}" for c in REVIEW_SIDE] + \
              [f"b_{c}" for c in REVIEW_SIDE] + ["decision"]
    help_rows = [
        ["Fill the 'decision' column of the review sheet: link (the same person) or separate (different people)."],
        ["Leave it empty to decide later. Then run: mactl merge review --apply THIS_FILE.xlsx"],
        ["Decisions are kept and win over the matching rules in every later merge."],
    ]
    write_xlsx(path, [("review", columns, rows), ("how to", ["说明 / how to"], help_rows)])
    return len(rows)


def review_apply(ws: Workspace, path: str | Path) -> tuple[int, int, MergeSummary]:
    """Read decisions from a review workbook, store them as overrides, and re-merge. Returns (links, separates, summary)."""
    from openpyxl import load_workbook

    path = Path(path)
    try:
        sheet = load_workbook(path, read_only=True)["review"]
    except (OSError, KeyError, ValueError) as exc:
        raise InputFileError(str(path), f"not a review workbook ({type(exc).__name__})",
                             "Use the file written by 'mactl merge review --out'") from None
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]] if rows else []
    if "decision" not in header or "record_a" not in header:
        raise InputFileError(str(path), "the review sheet has no record_a / decision columns",
                             "Use the file written by 'mactl merge review --out'")
    at = {name: header.index(name) for name in ("record_a", "record_b", "decision")}
    decisions, problems = [], []
    for number, row in enumerate(rows[1:], start=2):
        word = str(row[at["decision"]] or "").strip().lower()
        if not word:
            continue
        kind = "must_link" if word in LINK_WORDS else "cannot_link" if word in SEPARATE_WORDS else None
        if kind is None:
            problems.append(f"row {number}: decision '{word}' (use link or separate)")
            continue
        decisions.append((kind, int(row[at["record_a"]]), int(row[at["record_b"]])))
    if problems:
        raise InputFileError(str(path), "; ".join(problems[:5]), "Fix the decision cells and apply again")
    with ws.transaction():
        for kind, a, b in decisions:
            add_override(ws, kind, a, b, "review decision")
            ws.sql(STAGE, "close review", """
                UPDATE identity_review SET status = ?, decided_at = ?
                WHERE (record_id = ? AND other_record_id = ?) OR (record_id = ? AND other_record_id = ?)""",
                   ["linked" if kind == "must_link" else "separate", utc_now(), a, b, b, a])
        summary = merge(ws, recipe=last_identity_recipe(ws))
    links = sum(1 for k, _, _ in decisions if k == "must_link")
    return links, len(decisions) - links, summary


def add_override(ws: Workspace, kind: str, record_id: int, other_record_id: int, reason: str | None) -> None:
    next_id = int(ws.scalar(STAGE, "next override", "SELECT COALESCE(max(override_id), 0) + 1 FROM identity_override"))
    ws.sql(STAGE, "add override", "INSERT INTO identity_override VALUES (?, ?, ?, ?, ?, ?, true)",
           [next_id, kind, record_id, other_record_id, reason, utc_now()])


def _records_of(ws: Workspace, person_id: str) -> list[int]:
    return [r[0] for r in ws.fetchall(STAGE, "records of person",
                                     "SELECT record_id FROM person_record WHERE person_id = ? ORDER BY record_id", [person_id])]


def link_people(ws: Workspace, first: str, second: str, reason: str | None = None) -> MergeSummary:
    """Make two people one (the older id survives)."""
    with ws.transaction():
        a, _ = resolve_person(ws, first)
        b, _ = resolve_person(ws, second)
        if a == b:
            raise UsageError(f"{first} and {second} are already the same person ({a})")
        add_override(ws, "must_link", _records_of(ws, a)[0], _records_of(ws, b)[0], reason or "manual link")
        return merge(ws, recipe=last_identity_recipe(ws))


def split_person(ws: Workspace, person_id: str, record_ids: list[int], reason: str | None = None) -> MergeSummary:
    """Take records out of a person into a person of their own; kept apart in every later merge."""
    with ws.transaction():
        current, _ = resolve_person(ws, person_id)
        members = _records_of(ws, current)
        moving = sorted(set(record_ids))
        outside = [r for r in moving if r not in members]
        if outside:
            raise UsageError(f"record(s) {', '.join(map(str, outside))} do not belong to {current}; "
                             f"see 'mactl merge explain {current}'")
        staying = [r for r in members if r not in moving]
        if not staying:
            raise UsageError(f"that would move every record of {current}; name only the records to take out")
        for r in moving:
            for s in staying:
                add_override(ws, "cannot_link", r, s, reason or "manual split")
        for r in moving[1:]:
            add_override(ws, "must_link", moving[0], r, reason or "manual split")
        return merge(ws, recipe=last_identity_recipe(ws))


def undo_merge(ws: Workspace, person_id: str) -> tuple[str, MergeSummary]:
    """Undo the last merge into this person: the merged person comes back with its old id."""
    with ws.transaction():
        current, _ = resolve_person(ws, person_id)
        event = ws.fetchone(STAGE, "last merge", """
            SELECT merge_run, merged_person_id, merged_records FROM identity_merge_event
            WHERE person_id = ? AND NOT undone ORDER BY merge_run DESC, merged_person_id LIMIT 1""", [current])
        if event is None:
            raise NotFoundError(f"{current} has no merge to undo")
        run, merged_id, merged_records = event
        staying = [r for r in _records_of(ws, current) if r not in merged_records]
        for r in merged_records:
            for s in staying:
                add_override(ws, "cannot_link", r, s, f"undo merge of {merged_id}")
        # give the records back to their old person, so the id survives the re-merge
        ws.sql(STAGE, "restore records", "UPDATE person_record SET person_id = ? WHERE list_contains(?, record_id)",
               [merged_id, merged_records])
        ws.sql(STAGE, "drop alias", "DELETE FROM person_alias WHERE old_person_id = ?", [merged_id])
        ws.sql(STAGE, "mark undone", "UPDATE identity_merge_event SET undone = true WHERE merge_run = ? AND merged_person_id = ?",
               [run, merged_id])
        return merged_id, merge(ws, recipe=last_identity_recipe(ws))


def export_identities(ws: Workspace, path: str | Path) -> int:
    """One row per imported record: where it came from and which person it is."""
    return write_query(ws, STAGE, """
        SELECT s.source_file, s.source_sheet, s.source_row, pr.person_id
        FROM source_record s JOIN person_record pr USING (record_id) ORDER BY s.record_id""", None, path,
                       sheet_name="identities")


def export_people(ws: Workspace, path: str | Path) -> int:
    return write_query(ws, STAGE, """
        SELECT person_id, name, email, phone, company, title, department, industry, company_size, province, city,
               country, wechat_unionid, wechat_openid, crm_id, crm_owner, crm_stage, consent, email_is_role,
               email_is_freemail, array_to_string(channels, ', ') AS channels, record_count, first_seen, last_seen
        FROM person ORDER BY person_id""", None, path, sheet_name="people")
