"""`mactl import`: read export files into the workspace."""

from __future__ import annotations
