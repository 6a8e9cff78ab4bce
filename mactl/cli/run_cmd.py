"""`mactl run` and `mactl runs`."""

from __future__ import annotations
