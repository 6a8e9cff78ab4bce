"""Typed errors. Every failure a user can cause is a MactlError subclass.

The CLI maps each class to an exit code and prints ``Error: <message>`` on one
line, so messages must say what is wrong, where, and what to do about it.
A plain Python exception escaping the core means a bug in mactl.
"""

from __future__ import annotations

# Exit codes follow sysexits.h where one fits, so cron wrappers can tell
# "your input is bad" from "try again later".
EXIT_OK = 0
EXIT_FAILED = 1  # a step or some of the input failed; details were printed
EXIT_USAGE = 2  # bad command line (typer/click's own code)
EXIT_DATA = 65  # EX_DATAERR: a file the user gave cannot be used
EXIT_NO_INPUT = 66  # EX_NOINPUT: a file the user named does not exist
EXIT_CONFIG = 78  # EX_CONFIG: a recipe or model is invalid
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the workspace
EXIT_SOFTWARE = 70  # EX_SOFTWARE: an internal error (a bug)


class MactlError(Exception):
    """Base class of every error mactl reports to a user."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class InputFileError(MactlError):
    """A data file cannot be read: empty, corrupt, unsupported, no contact column."""

    exit_code = EXIT_DATA

    def __init__(self, path: str, problem: str, fix: str = ""):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        text = f"{self.path}: {problem}"
        if fix:
            text += f". {fix}"
        super().__init__(text)


class MissingInputError(InputFileError):
    exit_code = EXIT_NO_INPUT


class RecipeError(MactlError):
    """A recipe, scoring model or segment definition is invalid.

    ``problems`` holds one line per problem ("file:line: field: what is wrong"),
    so all problems are reported at once.
    """

    exit_code = EXIT_CONFIG

    def __init__(self, path: str, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = f"{self.path}: {self.problems[0]}"
        else:
            text = f"{self.path}: {len(self.problems)} problems:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(text)


class WorkspaceError(MactlError):
    """The workspace database cannot be opened or is from a newer mactl."""

    exit_code = EXIT_DATA


class WorkspaceLockedError(MactlError):
    """Another mactl process is writing to the same workspace."""

    exit_code = EXIT_LOCKED


class NotFoundError(MactlError):
    """A person, segment, batch or other object named on the command line does not exist."""

    exit_code = EXIT_DATA


class UsageError(MactlError):
    """Options that make no sense together, or a value out of range."""

    exit_code = EXIT_USAGE


class StageError(MactlError):
    """A SQL statement of a pipeline stage failed. Carries the stage and the SQL.

    This is a bug or a resource problem, not a user mistake; the SQL is kept for
    the developer (``--debug`` shows it), never the data.
    """

    exit_code = EXIT_SOFTWARE

    def __init__(self, stage: str, step: str, sql: str, cause: BaseException):
        self.stage = stage
        self.step = step
        self.sql = sql
        self.cause = cause
        super().__init__(f"{stage}: step {step!r} failed: {type(cause).__name__}: {cause}")
