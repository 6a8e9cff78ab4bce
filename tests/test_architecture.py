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


def loaded_after(imports: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` (or their submodules) a fresh interpreter has loaded after running ``imports``."""
    code = imports + (
        "\nimport sys\n"
        f"print(','.join(sorted(m for m in sys.modules if any(m == w or m.startswith(w + '.') for w in {modules!r}))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in result.stdout.strip().split(",") if m]


def test_core_does_not_import_terminal_libraries():
    imports = (
        "import importlib, pkgutil\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    if hasattr(module, '__path__'):\n"
        "        for info in pkgutil.walk_packages(module.__path__, name + '.'):\n"
        "            importlib.import_module(info.name)\n"
    )
    assert loaded_after(imports, ("typer", "rich", "click")) == []


def test_cli_start_up_does_not_import_the_stages():
    """Every command registers all commands first; a stage (and pandas, numpy …) loads only when used."""
    heavy = ("pandas", "numpy", "pyarrow", "rapidfuzz", "mactl.importing", "mactl.identity", "mactl.scoring",
             "mactl.segments", "mactl.assignment", "mactl.runs", "mactl.report")
    assert loaded_after("import mactl.cli", heavy) == []
    assert "mactl.identity" in loaded_after("import mactl.cli.merge_cmd\nimport mactl.identity", heavy)
