"""The core must not know about terminals: importing it must not import typer or rich."""

import subprocess
import sys

CORE_MODULES = [
    "mactl.workspace",
    "mactl.schema",
    "mactl.errors",
    "mactl.recipe",
    "mactl.exporting",
    "mactl.status",
    "mactl.importing",
    "mactl.identity",
    "mactl.scoring",
    "mactl.segments",
    "mactl.assignment",
    "mactl.sendlists",
    "mactl.runs",
    "mactl.report",
]


def test_core_does_not_import_terminal_libraries():
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    if hasattr(module, '__path__'):\n"
        "        for info in pkgutil.walk_packages(module.__path__, name + '.'):\n"
        "            importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_cli_start_up_does_not_import_the_stages():
    """Every command registers all commands first; a stage (and pandas, numpy …) loads only when used."""
    code = (
        "import sys\n"
        "import mactl.cli\n"
        "heavy = ('pandas', 'numpy', 'pyarrow', 'rapidfuzz', 'mactl.importing', 'mactl.identity', 'mactl.scoring',\n"
        "         'mactl.segments', 'mactl.assignment', 'mactl.runs', 'mactl.report')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
