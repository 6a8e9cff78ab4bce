"""Shared fixtures. Stage-specific fixtures live in the stage's own test modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mactl.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
RECIPES = REPO / "recipes"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ws.duckdb"


@pytest.fixture
def workspace(db_path: Path):
    """A fresh, migrated workspace; closed after the test."""
    ws = Workspace(db_path)
    yield ws
    ws.close()


class Cli:
    """Runs `mactl --db <tmp> ...` in-process and keeps stdout and stderr apart."""

    def __init__(self, db: Path):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        from mactl.cli import app

        return self.runner.invoke(app, ["--db", str(self.db), *map(str, args)], input=input)


@pytest.fixture
def cli(db_path: Path) -> Cli:
    return Cli(db_path)
