"""Running a recipe: lock, log, one transaction per step, stop at the first failure.

The run log (mactl_run, mactl_run_step) is written in its own small committed
transactions around each step, so a run killed inside a step leaves its step
'running'; the next run marks it 'killed' and does the work again.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mactl.errors import MactlError
from mactl.progress import Progress
from mactl.runs.lock import LockInfo
from mactl.runs.recipe import RunRecipe
from mactl.runs.steps import STEPS, StepContext
from mactl.workspace import Workspace, utc_now

STAGE = "runs"
KILL_HOOK_ENV = "MACTL_TEST_KILL_AFTER_STEP"  # tests: die inside this step, before its commit


@dataclass
class StepResult:
    step: str
    status: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    counts: dict = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunSummary:
    run_id: int
    recipe: str
    output_dir: str
    status: str
    seconds: float
    steps: list[StepResult]
    notes: list[str] = field(default_factory=list)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)

    def text(self) -> str:
        """The short plain summary cron mails and --log files get."""
        lines = [f"mactl run {self.run_id} {self.status} in {self.seconds:.1f} s: {self.recipe}",
                 f"  output: {self.output_dir}"]
        for s in self.steps:
            counts = ", ".join(f"{k}={v}" for k, v in s.counts.items() if isinstance(v, (int, float)))
            lines.append(f"  {s.step:<19} {s.status:<8} {s.seconds:7.2f} s  {counts}")
            if s.error:
                lines.append(f"    {s.error}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def mark_killed_runs(ws: Workspace) -> list[int]:
    """Runs still 'running' when we hold the lock died without finishing: say so."""
    rows = ws.fetchall(STAGE, "find killed runs", "SELECT run_id FROM mactl_run WHERE status = 'running' ORDER BY run_id")
    killed = [r[0] for r in rows]
    if killed:
        with ws.transaction():
            ws.sql(STAGE, "mark killed runs", "UPDATE mactl_run SET status = 'killed' WHERE status = 'running'")
            ws.sql(STAGE, "mark killed steps", "UPDATE mactl_run_step SET status = 'killed' WHERE status = 'running'")
            ws.sql(STAGE, "skip unreached steps", "UPDATE mactl_run_step SET status = 'skipped' WHERE status = 'pending'")
    return killed


def _start_run(ws: Workspace, recipe: RunRecipe, output_dir: Path, as_of: datetime | None) -> int:
    with ws.transaction():
        run_id = ws.scalar(STAGE, "next run id", "SELECT coalesce(max(run_id), 0) + 1 FROM mactl_run")
        ws.sql(STAGE, "start run",
               "INSERT INTO mactl_run (run_id, recipe, output_dir, as_of, pid, host, started_at, status) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, 'running')",
               [run_id, str(recipe.path), str(output_dir), as_of, os.getpid(), socket.gethostname(), utc_now()])
        for number, spec in enumerate(recipe.steps, 1):
            ws.sql(STAGE, "plan step", "INSERT INTO mactl_run_step (run_id, step_no, step, status) VALUES (?, ?, ?, 'pending')",
                   [run_id, number, spec.step])
    return run_id


def _set_step(ws: Workspace, run_id: int, number: int, result: StepResult, *, started: bool = False) -> None:
    with ws.transaction():
        if started:
            ws.sql(STAGE, "step running",
                   "UPDATE mactl_run_step SET status = 'running', started_at = ? WHERE run_id = ? AND step_no = ?",
                   [utc_now(), run_id, number])
            return
        ws.sql(STAGE, "step done",
               "UPDATE mactl_run_step SET status = ?, finished_at = ?, seconds = ?, peak_rss_mb = ?, counts = ?, error = ? "
               "WHERE run_id = ? AND step_no = ?",
               [result.status, utc_now(), round(result.seconds, 3), round(result.peak_rss_mb, 1),
                json.dumps(result.counts, ensure_ascii=False, default=str), result.error, run_id, number])


def _finish_run(ws: Workspace, run_id: int, status: str, seconds: float, error: str | None) -> None:
    with ws.transaction():
        ws.sql(STAGE, "finish run",
               "UPDATE mactl_run SET status = ?, finished_at = ?, seconds = ?, error = ? WHERE run_id = ?",
               [status, utc_now(), round(seconds, 3), error, run_id])
        ws.sql(STAGE, "skip rest", "UPDATE mactl_run_step SET status = 'skipped' WHERE run_id = ? AND status = 'pending'",
               [run_id])


# import commits one transaction per file (a bad file must not undo the good ones), so a kill loses at
# most the file being read. merge and score work in temp tables first and write their results in one
# transaction (DuckDB scans tables made inside an open transaction with one thread). Every other step
# is one transaction.
OWN_TRANSACTIONS = {"import", "merge", "score"}


def _run_step(ctx: StepContext, name: str) -> dict:
    if name in OWN_TRANSACTIONS:
        if name != "import":  # the test kill comes before the step's last commit, as for the others
            ctx.ws.before_commit = lambda: _kill_hook(name)
        try:
            counts = STEPS[name](ctx)
        finally:
            ctx.ws.before_commit = None
        _kill_hook(name)
        return counts
    with ctx.ws.transaction():
        counts = STEPS[name](ctx)
        _kill_hook(name)
    return counts


def _kill_hook(name: str) -> None:
    if os.environ.get(KILL_HOOK_ENV) == name:
        os._exit(137)  # as if killed by the OS before the step's commit


def run_recipe(
    ws: Workspace,
    recipe: RunRecipe,
    *,
    as_of: datetime | None = None,
    stale_lock: LockInfo | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Run every step of the recipe in order; the caller holds the run lock."""
    clock = time.monotonic()
    notes = []
    if stale_lock is not None:
        notes.append(f"took over a lock left by dead process {stale_lock.pid} (started {stale_lock.started_at})")
    killed = mark_killed_runs(ws)
    if killed:
        notes.append(f"run(s) {', '.join(map(str, killed))} had been killed; this run completes their work")
    output_dir = recipe.output_dir(as_of, utc_now())
    output_dir.mkdir(parents=True, exist_ok=True)
    run_id = _start_run(ws, recipe, output_dir, as_of)
    results: list[StepResult] = []
    status, error = "ok", None
    for number, spec in enumerate(recipe.steps, 1):
        _set_step(ws, run_id, number, StepResult(spec.step, "running"), started=True)
        started = time.monotonic()
        ctx = StepContext(ws, recipe, spec, output_dir, as_of, progress)
        try:
            result = StepResult(spec.step, "ok", counts=_run_step(ctx, spec.step))
        except MactlError as exc:
            message = exc.message if exc.message.startswith(f"step '{spec.step}'") else f"step '{spec.step}': {exc.message}"
            result = StepResult(spec.step, "failed", error=message)
        except Exception as exc:  # a bug in a stage: log it as the step's failure, never half-commit
            result = StepResult(spec.step, "failed", error=f"step '{spec.step}': internal error {type(exc).__name__}: {exc}")
        result.seconds = time.monotonic() - started
        result.peak_rss_mb = peak_rss_mb()
        _set_step(ws, run_id, number, result)
        results.append(result)
        if result.status == "failed":
            status, error = "failed", result.error
            results += [StepResult(s.step, "skipped") for s in recipe.steps[number:]]
            break
    seconds = time.monotonic() - clock
    _finish_run(ws, run_id, status, seconds, error)
    return RunSummary(run_id, str(recipe.path), str(output_dir), status, seconds, results, notes)


# -- dry run -------------------------------------------------------------


@dataclass
class RunPlan:
    recipe: str
    output_dir: str
    new_files: list[str]
    already_imported: list[str]
    missing: list[str]
    steps: list[str]

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)

    def text(self) -> str:
        lines = [f"plan for {self.recipe}", f"  output: {self.output_dir}",
                 f"  files to import: {len(self.new_files)}"]
        lines += [f"    + {f}" for f in self.new_files]
        lines.append(f"  already imported (skipped): {len(self.already_imported)}")
        lines += [f"    = {f}" for f in self.already_imported]
        lines += [f"  not found: {m}" for m in self.missing]
        lines.append("  steps: " + " -> ".join(self.steps))
        return "\n".join(lines)


def plan_run(ws: Workspace | None, recipe: RunRecipe, *, as_of: datetime | None = None) -> RunPlan:
    """What a run would do, without writing anything: new files by content hash, and the steps."""
    from mactl.importing.stage import expand_paths, file_sha256, imported_hashes

    files, missing = expand_paths(recipe.inbox()) if recipe.section.inbox else ([], [])
    known = imported_hashes(ws) if ws is not None and ws.table_exists("import_batch") else set()
    new, seen = [], []
    for path in files:
        (seen if file_sha256(path) in known else new).append(str(path))
    return RunPlan(str(recipe.path), str(recipe.output_dir(as_of, utc_now())), new, seen, missing,
                   [s.step for s in recipe.steps])


def run_history(ws: Workspace, limit: int = 20) -> list[dict]:
    """The latest runs, newest first, each with its steps."""
    if not ws.table_exists("mactl_run"):
        return []
    runs = ws.fetchall(STAGE, "runs", "SELECT run_id, recipe, output_dir, started_at, finished_at, seconds, status, error "
                                      "FROM mactl_run ORDER BY run_id DESC LIMIT ?", [limit])
    steps = ws.fetchall(STAGE, "steps", "SELECT run_id, step_no, step, status, seconds, peak_rss_mb, counts, error "
                                        "FROM mactl_run_step WHERE run_id >= ? ORDER BY run_id, step_no",
                        [runs[-1][0] if runs else 0])
    by_run: dict[int, list[dict]] = {}
    for run_id, number, step, status, seconds, rss, counts, error in steps:
        by_run.setdefault(run_id, []).append({"step_no": number, "step": step, "status": status, "seconds": seconds,
                                              "peak_rss_mb": rss, "counts": json.loads(counts) if counts else {},
                                              "error": error})
    keys = ("run_id", "recipe", "output_dir", "started_at", "finished_at", "seconds", "status", "error")
    return [{**dict(zip(keys, r)), "steps": by_run.get(r[0], [])} for r in runs]
