"""`mactl assign`; `mactl export assignments`."""

from __future__ import annotations
