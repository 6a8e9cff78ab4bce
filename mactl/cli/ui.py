"""Terminal rendering shared by the commands: stderr console, tables, JSON, progress.

Stdout is data (tables, JSON); stderr is talk (progress, notes, errors).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mactl.workspace import Workspace, default_db_path, open_workspace


@dataclass
class Options:
    db: Path
    quiet: bool = False
    debug: bool = False


def options(ctx: typer.Context) -> Options:
    obj = ctx.find_root().obj
    if not isinstance(obj, Options):  # a command run without the root callback (tests)
        obj = Options(db=default_db_path())
    return obj


def out_console() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:  # cron logs and pipes: no wrapping at 80 columns
        console = Console(highlight=False, soft_wrap=False, width=200)
    return console


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


def note(ctx: typer.Context, message: str) -> None:
    """A remark for people on stderr, silent under --quiet."""
    if not options(ctx).quiet:
        typer.echo(message, err=True)


@contextmanager
def workspace(ctx: typer.Context, *, read_only: bool = False) -> Iterator[Workspace]:
    ws = open_workspace(options(ctx).db, read_only=read_only)
    try:
        yield ws
    finally:
        ws.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def print_heading(text: str) -> None:
    out_console().print(text, markup=False, highlight=False)


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[str] = ()) -> None:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        if column in numeric:
            table.add_column(column, justify="right", no_wrap=True)
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    out_console().print(table)


@contextmanager
def progress_bar(ctx: typer.Context) -> Iterator[Any]:
    """Yield a progress callback for the core; a no-op when quiet or not on a terminal."""
    console = err_console()
    if options(ctx).quiet or not console.is_terminal:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def callback(task: str, done: int, total: int | None) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=done, total=total)

        yield callback
