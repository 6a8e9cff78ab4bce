"""Scoring benchmark: generate people / person_record / event rows directly in DuckDB, time `score`.

    .venv/bin/python benchmarks/bench_scoring.py --people 1000000 --events 10000000 --threads 2

Prints a table (wall and CPU seconds, the process's peak memory so far, load average: the machine may be
shared). Set MACTL_PROFILE=/tmp/prof.tsv for the seconds of every statement.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mactl.scoring import score  # noqa: E402
from mactl.workspace import Workspace  # noqa: E402

AS_OF = datetime(2026, 6, 1)


def generate(ws: Workspace, people: int, events: int) -> None:
    ws.sql("bench", "people", """
        INSERT INTO person (person_id, name, email, title, industry, province, company_size, email_is_role,
                            email_is_freemail, record_count, created_at, updated_at, last_seen)
        SELECT printf('P%07d', i), 'n' || i, 'u' || i || '@x.com',
               ['销售总监', '工程师', 'IT Manager', '学生', 'CEO', '采购经理'][i % 6 + 1],
               ['制造业', '化工', '零售', '金融', '汽车'][i % 5 + 1],
               ['上海', '北京', '广东', '四川'][i % 4 + 1], ['50-99', '500-999', '1000+'][i % 3 + 1],
               i % 17 = 0, i % 5 = 0, 1, TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01'
        FROM range(?) t(i)""", [people])
    ws.sql("bench", "records", "INSERT INTO person_record SELECT i, printf('P%07d', i) FROM range(?) t(i)", [people])
    ws.sql("bench", "sources", """
        INSERT INTO source_record (record_id, batch_id, source_file, source_sheet, source_row, file_sha256, channel,
                                   imported_at) SELECT i, 1, 'f', '', 2, 'x', 'web_form', TIMESTAMP '2026-01-01' FROM range(?) t(i)""",
           [people])
    ws.sql("bench", "events", """
        INSERT INTO event (event_id, record_id, batch_id, event_type, occurred_at, channel, form_name, url, watch_minutes,
                           crm_stage, detail)
        SELECT i, hash(i) % ?, 1,
               ['form_submit', 'webinar_attend', 'badge_scan', 'page_view', 'email_click', 'email_open',
                'content_download', 'unsubscribe', 'crm_update', 'email_open'][i % 10 + 1],
               TIMESTAMP '2026-06-01' - INTERVAL (hash(i * 7) % 200) DAY,
               ['web_form', 'webinar', 'event', 'engagement'][i % 4 + 1],
               CASE WHEN i % 3 = 0 THEN 'Demo申请' ELSE '白皮书' END,
               CASE WHEN i % 2 = 0 THEN 'https://x.com/pricing' ELSE 'https://x.com/blog' END,
               (i % 90)::DOUBLE, ['SAL', 'SQL', 'Rejected', 'Customer'][i % 4 + 1], 'reason'
        FROM range(?) t(i)""", [people, events])


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace(Path(folder) / "bench.duckdb")
        ws.con.execute(f"SET threads = {int(args.threads)}")
        started = time.perf_counter()
        generate(ws, args.people, args.events)
        generated = time.perf_counter() - started
        rows = []
        for label in ("first run", "second run (same as-of)"):
            wall, cpu0 = time.perf_counter(), cpu()
            summary = score(ws, as_of=AS_OF)
            rows.append((label, time.perf_counter() - wall, cpu() - cpu0, peak_mb(), os.getloadavg()[0], summary.people))
        ws.close()
    print(f"# bench_scoring: {args.people:,} people, {args.events:,} events, {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f} (generation {generated:.1f} s)")
    print("| step | wall s | CPU s | peak MB | load | people |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, wall, cpu_s, peak, load, people in rows:
        print(f"| {label} | {wall:.1f} | {cpu_s:.1f} | {peak:,.0f} | {load:.1f} | {people:,} |")


if __name__ == "__main__":
    main()
