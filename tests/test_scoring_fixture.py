"""Builds person / person_record / source_record / event rows directly (no import or merge needed)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

NOW = datetime(2026, 1, 1)


class People:
    def __init__(self, ws):
        self.ws = ws
        self.next_record = 1
        self.next_event = 1

    def person(self, person_id: str, attributes: dict | None = None, **fields) -> int:
        columns = {"person_id": person_id, "record_count": 1, "created_at": NOW, "updated_at": NOW, **fields}
        names = ", ".join(columns)
        self.ws.con.execute(f"INSERT INTO person ({names}) VALUES ({', '.join('?' for _ in columns)})", list(columns.values()))
        record_id = self.next_record
        self.next_record += 1
        self.ws.con.execute("INSERT INTO person_record VALUES (?, ?)", [record_id, person_id])
        self.ws.con.execute(
            "INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row, file_sha256, channel, "
            "attributes, record_time, imported_at) VALUES (?, 1, 'f.csv', '', 2, 'x', 'web_form', ?, ?, ?)",
            [record_id, json.dumps(attributes or {}, ensure_ascii=False), NOW, NOW])
        return record_id

    def event(self, person_id: str, event_type: str, occurred_at: datetime, channel: str = "web_form", **fields) -> int:
        record_id = self.ws.scalar("t", "r", "SELECT min(record_id) FROM person_record WHERE person_id = ?", [person_id])
        event_id = self.next_event
        self.next_event += 1
        columns = {"event_id": event_id, "record_id": record_id, "batch_id": 1, "event_type": event_type,
                   "occurred_at": occurred_at, "channel": channel, **fields}
        self.ws.con.execute(f"INSERT INTO event ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                            list(columns.values()))
        return event_id


def write_model(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path
