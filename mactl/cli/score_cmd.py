"""`mactl score` and `mactl score explain`."""

from __future__ import annotations
