"""Benchmark a full `mactl run` on generated exports: time and peak memory per step.

    python -m benchmarks.bench_run --people 1000000 --events 10000000     # generates benchmarks/data/run_<N>/ once
    python -m benchmarks.bench_run --data benchmarks/data/run_1000000 --steps import,merge,report

Runs `mactl run --json` in a fresh process on a fresh workspace with a recipe
written for the data folder, then prints each step's seconds and the process's
peak RSS after the step (from the run log: mactl_run_step.peak_rss_mb, which
is cumulative, so a step's own peak is at most its value). Steps whose stage
is not part of this mactl fail the run: choose the steps with --steps.
Nothing here is a test: it prints a table (and --json writes it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALL_STEPS = "import,merge,score,segments,assign,export_assignments,send_list,export_people,report"


def generate(people: int, events: int) -> Path:
    folder = REPO / "benchmarks" / "data" / f"run_{people}_{events}"
    if not (folder / ".done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "benchmarks.datagen", "--people", str(people), "--events", str(events),
                        "--out", str(folder), "--truth", str(folder.parent / f"run_{people}_{events}_truth.csv")],
                       cwd=REPO, check=True)
        (folder / ".done").write_text("ok\n")
    return folder


def write_recipe(folder: Path, data: Path, steps: list[str]) -> Path:
    lines = ["run:", f"  inbox: [{json.dumps(str(data))}]", "  output: out/{date}", "  steps:"]
    # at this size the people go to CSV: half a million rows is no spreadsheet to open, and openpyxl
    # takes minutes to write one (the demo writes people.xlsx)
    special = {"send_list": "    - send_list: {channel: email}", "export_people": "    - export_people: {out: people.csv}"}
    for step in steps:
        lines.append(special.get(step, f"    - {step}"))
    recipe = folder / "bench_run.yaml"
    recipe.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return recipe


def run(data: Path, steps: list[str], as_of: str, keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="mactl-bench-run-") as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "bench.duckdb"
        if db.exists():
            sys.exit(f"{db} exists: --keep needs a folder without a workspace")
        recipe = write_recipe(folder, data, steps)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "mactl", "--db", str(db), "--quiet", "run", str(recipe), "--json",
                               "--as-of", as_of], cwd=REPO, capture_output=True, text=True)
        wall = time.monotonic() - started
        if not done.stdout.strip():
            sys.exit(f"mactl run produced no summary (exit {done.returncode}): {done.stderr.strip()}")
        summary = json.loads(done.stdout)
        summary["wall_seconds"] = wall
        summary["exit_code"] = done.returncode
        return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000, help="people to generate (records are ~1.2-2 per person)")
    parser.add_argument("--events", type=int, default=10_000_000, help="rows of the engagement log to generate")
    parser.add_argument("--data", type=Path, help="an existing folder of exports (skips generation)")
    parser.add_argument("--steps", default=ALL_STEPS, help=f"comma-separated steps (default {ALL_STEPS})")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    # a fixed date: scores decay with time, so "now" would move MQL counts (and the later steps' work) between runs
    parser.add_argument("--as-of", default="2026-12-01", help="the run's as-of date (default 2026-12-01, after the generated data)")
    parser.add_argument("--keep", type=Path, help="keep the workspace and outputs in this (new) folder, to look at")
    args = parser.parse_args()
    data = (args.data or generate(args.people, args.events)).resolve()
    summary = run(data, [s.strip() for s in args.steps.split(",") if s.strip()], args.as_of, args.keep)
    print(f"mactl run on {data}: {summary['status']} (exit {summary['exit_code']}), "
          f"wall {summary['wall_seconds']:.1f} s incl. start-up")
    print(f"{'step':<20}{'status':<9}{'seconds':>9}{'peak RSS MB':>13}  counts")
    for step in summary["steps"]:
        counts = ", ".join(f"{k}={v}" for k, v in step["counts"].items() if isinstance(v, (int, float)))
        print(f"{step['step']:<20}{step['status']:<9}{step['seconds']:>9.1f}{step['peak_rss_mb']:>13.0f}  {counts}")
        if step.get("error"):
            print(f"    {step['error']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
