"""How the core reports progress without knowing about terminals.

A core function takes ``progress: Progress | None`` and calls it as
``progress(task, done, total)``; ``total`` is None when unknown. The CLI passes
a callback that drives a rich progress bar; tests and scripts pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

Progress = Callable[[str, int, Optional[int]], None]


def report(progress: Progress | None, task: str, done: int, total: int | None = None) -> None:
    if progress is not None:
        progress(task, done, total)
