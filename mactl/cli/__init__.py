"""The `mactl` command line: parse arguments, call one core function, render its result.

Every MactlError raised by the core becomes ``Error: <message>`` on stderr and
the error's exit code, in one place (:class:`MactlGroup`). Tracebacks never
show local variables, which would hold people's personal data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from mactl import __version__
from mactl.cli.ui import Options
from mactl.errors import MactlError, StageError
from mactl.workspace import DB_ENV, DEFAULT_DB


class MactlGroup(TyperGroup):
    """Turns library errors into one clean line and an exit code."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except MactlError as exc:
            typer.echo(f"Error: {exc.message}", err=True)
            if isinstance(exc, StageError):
                debug = isinstance(ctx.obj, Options) and ctx.obj.debug
                if debug:
                    typer.echo(f"SQL:\n{exc.sql}", err=True)
                else:
                    typer.echo("This is a bug in mactl; run again with --debug to see the failing SQL.", err=True)
            raise typer.Exit(exc.exit_code) from None


def new_app(help_text: str) -> typer.Typer:
    """A typer app (or sub-app) with mactl's error handling and no locals in tracebacks."""
    return typer.Typer(
        cls=MactlGroup,
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        add_completion=False,
        rich_markup_mode=None,
    )


app = new_app(
    "mactl: turn marketing exports (trade-show scans, web forms, webinars, CRM, engagement logs) "
    "into one clean, scored, segmented list of people, assigned to sales and ready to send."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mactl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Optional[Path] = typer.Option(
        None,
        "--db",
        help=f"Workspace database file. Default: ${DB_ENV}, else ./{DEFAULT_DB}.",
        show_default=False,
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or notes on stderr."),
    debug: bool = typer.Option(False, "--debug", help="Show the failing SQL when a stage fails."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    ctx.obj = Options(db=db or Path(os.environ.get(DB_ENV) or DEFAULT_DB), quiet=quiet, debug=debug)


def _register() -> None:
    # One module per command (or command group); each adds itself to `app`.
    # Keep this list in pipeline order: it is the order of `mactl --help`.
    # A command module imports its stage inside the command function: every mactl command starts by
    # registering all of them, and importing every stage (pandas, numpy, rapidfuzz …) took ~0.9 s.
    from mactl.cli import (  # noqa: F401
        assign_cmd,
        export_cmd,
        import_cmd,
        merge_cmd,
        report_cmd,
        run_cmd,
        score_cmd,
        segment_cmd,
        sendlist_cmd,
        status_cmd,
    )


_register()


def main() -> None:
    app()
