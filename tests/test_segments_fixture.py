"""Tiny fixture builder for segment and assignment tests: people, scores, records and events as rows."""

from __future__ import annotations

from datetime import datetime

NOW = datetime(2026, 3, 1, 12, 0)


def add_person(ws, person_id, *, score=None, **fields):
    row = {"person_id": person_id, "record_count": 1, "created_at": NOW, "updated_at": NOW, **fields}
    names = ", ".join(row)
    ws.sql("test", "person", f"INSERT INTO person ({names}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    if score:
        total, grade, stage = score
        ws.sql("test", "score", "INSERT INTO person_score VALUES (?, 0, 0, ?, ?, ?, NULL, ?, NULL, ?, ?, 'm', 1)",
               [person_id, total, grade, stage, f"+{total} reasons", NOW, NOW])


def add_event(ws, person_id, event_type, occurred_at, attributes=None, **fields):
    rid = ws.scalar("test", "next id", "SELECT COALESCE(max(record_id), 0) + 1 FROM source_record")
    ws.sql("test", "record", """INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row,
           file_sha256, channel, attributes, imported_at) VALUES (?, 1, 'f.xlsx', 'S', ?, 'x', 'event', ?, ?)""",
           [rid, rid, attributes, NOW])
    ws.sql("test", "link", "INSERT INTO person_record VALUES (?, ?)", [rid, person_id])
    row = {"event_id": rid, "record_id": rid, "batch_id": 1, "event_type": event_type, "occurred_at": occurred_at,
           "channel": "event", **fields}
    ws.sql("test", "event", f"INSERT INTO event ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
           list(row.values()))
