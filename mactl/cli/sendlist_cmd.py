"""`mactl export send-list`; `mactl suppress`."""

from __future__ import annotations
