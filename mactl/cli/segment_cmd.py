"""`mactl segment build|list|show|preview`."""

from __future__ import annotations
