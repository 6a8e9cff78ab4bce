"""One run at a time per workspace: a lock file beside the database.

``<db>.lock`` is created with O_EXCL and holds the owner's pid, host and start
time. A lock whose process is dead (same host) is stale and taken over.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from mactl.errors import WorkspaceLockedError
from mactl.workspace import utc_now


@dataclass
class LockInfo:
    pid: int
    host: str
    started_at: str


def lock_path(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def read_lock(path: Path) -> LockInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockInfo(int(data["pid"]), str(data["host"]), str(data["started_at"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return LockInfo(0, "", "unknown")  # half-written by a process killed while writing


class RunLock:
    """Context manager holding the workspace's run lock. ``stale`` describes a lock taken over."""

    def __init__(self, db_path: str | Path):
        self.path = lock_path(db_path)
        self.stale: LockInfo | None = None
        self._held = False

    def acquire(self) -> RunLock:
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = read_lock(self.path)
                if holder is None:
                    continue  # released meanwhile
                if _is_stale(holder):
                    self.stale = holder
                    self.path.unlink(missing_ok=True)
                    continue
                raise WorkspaceLockedError(
                    f"{self.path.with_suffix('')}: another mactl run is in progress "
                    f"(process {holder.pid} on {holder.host}, started {holder.started_at} UTC). "
                    f"Wait for it to finish; if that process is gone, delete {self.path}"
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                           "started_at": utc_now().isoformat(timespec="seconds")}, handle)
            self._held = True
            return self
        raise WorkspaceLockedError(f"{self.path}: could not take the run lock; try again")

    def release(self) -> None:
        if self._held:
            holder = read_lock(self.path)
            if holder is not None and holder.pid == os.getpid():
                self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _is_stale(holder: LockInfo) -> bool:
    if holder.pid <= 0:
        return True
    if holder.host != socket.gethostname():
        return False  # cannot check a process on another machine
    return not _alive(holder.pid)
