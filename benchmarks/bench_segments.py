"""Benchmark `build_segments`: 20 groups over N people and 10·N events, generated in SQL.

    python -m benchmarks.bench_segments --people 1000000     # the issue's target: ≤ 10 s
    python -m benchmarks.bench_segments --people 100000      # a quick look

The data is made directly in DuckDB (person, person_score, person_record, source_record,
event); the 20 groups mix field conditions, event windows with counts and properties,
silence and in_segment references. Prints wall and CPU seconds for a first build and a
rebuild (which records entered/left). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

from mactl.segments import build_segments
from mactl.workspace import Workspace

AS_OF = datetime(2026, 3, 1, 12, 0)

GROUPS = """segments:
  - {name: golden_48h, where: {event: {type: [form_submit, badge_scan], within_days: 2}}}
  - {name: demand_2_4w, where: {all: [{event: {within_days: 28}}, {no_activity_days: 14}]}}
  - {name: nurture, where: {all: [{field: grade, op: in, value: [C, D]}, {not: {in_segment: customers}}]}}
  - {name: silent_30, where: {no_activity_days: 30}}
  - {name: silent_60, where: {no_activity_days: 60}}
  - {name: silent_90, where: {no_activity_days: 90}}
  - {name: mql_ready, where: {all: [{field: stage, op: equals, value: MQL}, {not: {in_segment: customers}}]}}
  - {name: customers, where: {field: stage, op: in, value: [Customer, Opportunity]}}
  - {name: shanghai_a, where: {all: [{field: province, op: equals, value: 上海}, {field: grade, op: equals, value: A}]}}
  - {name: east, where: {field: province, op: in, value: [上海, 江苏, 浙江]}}
  - {name: manufacturing, where: {field: industry, op: starts_with, value: 制造}}
  - {name: directors, where: {field: title, op: contains, value: 总监}}
  - {name: high_score, where: {field: total, op: between, value: [70, 100]}}
  - {name: deep_watchers, where: {event: {type: webinar_attend, where: [{field: watch_minutes, op: gte, value: 30}], within_days: 90}}}
  - {name: repeat_visitors, where: {event: {type: page_view, within_days: 30, min_count: 3}}}
  - {name: one_timers, where: {event: {max_count: 1}}}
  - {name: q1_show, where: {event: {type: badge_scan, between: [2026-01-01, 2026-02-15]}}}
  - {name: no_email, where: {field: email, op: empty}}
  - {name: east_hot, where: {all: [{in_segment: east}, {in_segment: high_score}]}}
  - {name: owned, where: {any: [{field: crm_owner, op: not_empty}, {field: crm_stage, op: in, value: [SAL, SQL]}]}}
"""


def generate(ws: Workspace, people: int) -> None:
    events = people * 10
    ws.sql("bench", "person", """INSERT INTO person (person_id, email, province, industry, title, crm_owner, crm_stage,
            record_count, created_at, updated_at)
        SELECT 'P' || lpad(i::VARCHAR, 7, '0'), CASE WHEN i % 7 = 0 THEN NULL ELSE 'u' || i || '@x.cn' END,
               ['上海', '江苏', '浙江', '广东', '北京'][i % 5 + 1], ['制造', '医疗', '制造业', '金融'][i % 4 + 1],
               ['总监', '经理', '工程师'][i % 3 + 1], CASE WHEN i % 11 = 0 THEN 'rep' END, NULL, 1,
               TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-01'
        FROM range(?) t(i)""", [people])
    ws.sql("bench", "score", """INSERT INTO person_score SELECT 'P' || lpad(i::VARCHAR, 7, '0'), 0, 0, i % 101,
               ['A', 'B', 'C', 'D'][i % 4 + 1], ['MQL', 'MIL', 'Customer', 'VISIT', 'Opportunity'][i % 5 + 1],
               NULL, NULL, NULL, TIMESTAMP '2026-03-01', TIMESTAMP '2026-03-01', 'm', 1 FROM range(?) t(i)""", [people])
    ws.sql("bench", "records", "INSERT INTO person_record SELECT i, 'P' || lpad(i::VARCHAR, 7, '0') FROM range(?) t(i)",
           [people])
    ws.sql("bench", "events", """INSERT INTO event (event_id, record_id, batch_id, event_type, occurred_at, channel,
            watch_minutes)
        SELECT j, (hash(j) % ?)::BIGINT, 1,
               ['page_view', 'email_open', 'form_submit', 'badge_scan', 'webinar_attend'][(hash(j * 7) % 5)::BIGINT + 1],
               TIMESTAMP '2026-03-01 12:00' - INTERVAL ((hash(j * 13) % 4320)::BIGINT) HOUR, 'web', (hash(j) % 60)::DOUBLE
        FROM range(?) t(j)""", [people, events])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mactl-bench-") as tmp:
        recipe = Path(tmp) / "segments.yaml"
        recipe.write_text(GROUPS, encoding="utf-8")
        with Workspace(Path(tmp) / "bench.duckdb") as ws:
            start = time.perf_counter()
            generate(ws, args.people)
            print(f"generated {args.people:,} people, {args.people * 10:,} events in {time.perf_counter() - start:.1f} s")
            print("| build | people | events | groups | wall s | CPU s | load avg |")
            print("|---|---|---|---|---|---|---|")
            for label, as_of in (("first", AS_OF), ("rebuild (+1 day)", datetime(2026, 3, 2, 12, 0))):
                cpu, wall = time.process_time(), time.perf_counter()
                summary = build_segments(ws, recipe_path=recipe, as_of=as_of)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(f"| {label} | {args.people:,} | {args.people * 10:,} | {len(summary.segments)} | {wall:.1f} | "
                      f"{cpu:.1f} | {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    main()
