"""`mactl merge` and its subcommands (explain, review, link, split, undo); `mactl export identities|people`."""

from __future__ import annotations
