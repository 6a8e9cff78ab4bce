"""Benchmark `mactl import` on generated exports of a chosen size.

    python -m benchmarks.bench_import --people 1000000            # generates benchmarks/data/<N>/ once, then times
    python -m benchmarks.bench_import --data benchmarks/data/1m   # times an existing folder

Each measurement runs `mactl import` in a fresh process on a fresh workspace and
reports wall time, rows and peak memory (max RSS of that process), per format:
all CSV files, then all .xlsx files. Nothing here is a test: it prints a table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_import(files: list[Path]) -> tuple[float, float, float, dict]:
    """Import files into a new workspace in a child process; returns (wall s, CPU s, peak MB, summary).

    CPU seconds (user + system of the child) are reported beside wall time because on a
    shared machine wall time mostly measures the neighbours.
    """
    import json

    with tempfile.TemporaryDirectory(prefix="mactl-bench-") as tmp:
        db = Path(tmp) / "bench.duckdb"
        command = [sys.executable, "-m", "mactl", "--db", str(db), "--quiet", "import", "--json", *map(str, files)]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        stdout = process.stdout.read().decode()
        stderr = process.stderr.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"import failed ({os.waitstatus_to_exitcode(status)}):\n{stderr[-2000:]}")
        return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, json.loads(stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_import", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000, help="people to generate when --data is not given")
    parser.add_argument("--events", type=int, help="engagement-log rows (default: as many as people)")
    parser.add_argument("--data", type=Path, help="an existing folder of exports (from benchmarks.datagen)")
    args = parser.parse_args(argv)
    data = args.data
    if data is None:
        data = REPO / "benchmarks" / "data" / f"people-{args.people}"
        if not data.exists():
            from benchmarks.datagen import generate

            print(f"generating {args.people} people into {data} …", file=sys.stderr)
            generate(data, people=args.people, seed=1, events=args.events or args.people)
    csv_files = sorted(data.glob("*.csv"))
    xlsx_files = sorted(data.glob("*.xlsx"))
    rows = []
    for label, files in (("CSV", csv_files), ("XLSX", xlsx_files), ("all", csv_files + xlsx_files)):
        seconds, cpu, peak_mb, summary = run_import(files)
        source_rows = sum(s["rows"] for f in summary["files"] for s in f["sheets"])
        rows.append((label, len(files), source_rows, summary["records"], seconds, cpu, source_rows / seconds, peak_mb))
    load = os.getloadavg()[0]
    print(f"\nmactl import on {data} ({os.cpu_count()} cores, load average {load:.1f} at the end)\n")
    print(f"| {'format':6} | files | {'rows':>9} | {'records':>9} | {'wall s':>7} | {'CPU s':>7} | {'rows/s':>9} | {'peak MB':>7} |")
    print("|--------|-------|-----------|-----------|---------|---------|-----------|---------|")
    for label, count, source_rows, records, seconds, cpu, rate, peak in rows:
        print(f"| {label:6} | {count:5} | {source_rows:9,} | {records:9,} | {seconds:7.2f} | {cpu:7.2f} | {rate:9,.0f} | {peak:7.0f} |")


if __name__ == "__main__":
    main()
