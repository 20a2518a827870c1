"""`board`, `demo`, `screenshot`, `serve`: the Textual board (issue 4 and 5)."""

from __future__ import annotations
