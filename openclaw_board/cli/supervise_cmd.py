"""`supervise`: run queued work (issue 3)."""

from __future__ import annotations
