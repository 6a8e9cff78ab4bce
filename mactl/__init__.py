"""mactl: marketing-operations data toolkit (import, merge, score, segment, assign, export, run)."""

__version__ = "0.1.0"
