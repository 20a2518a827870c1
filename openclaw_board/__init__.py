"""openclaw-board: a ledger, a supervisor and a live terminal board for detached work."""

__version__ = "0.1.0"
